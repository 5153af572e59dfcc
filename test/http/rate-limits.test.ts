/**
 * Per-client-address rate limits (SPEC §5, issue 16): login, registration, challenges and
 * client-signed assertions share one counter per address and window; 429 with Retry-After past
 * it; X-Forwarded-For counts only when COFFER_TRUST_PROXY says to believe it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { makeKey, selfSignedJwt } from '../helpers/key-client.js';
import { expectProblem } from '../helpers/problem.js';
import { ADMIN_PASSWORD, bearer, startServer, type TestServer } from '../helpers/server.js';

const json = (body: unknown, headers: Record<string, string> = {}) => ({ method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
const login = (s: TestServer, headers: Record<string, string> = {}) => s.fetch('/v1/login', json({ username: 'admin', password: ADMIN_PASSWORD }, headers));

describe('without a trusted proxy', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ COFFER_RATE_LIMIT: '4', COFFER_RATE_LIMIT_WINDOW: '60', COFFER_OPEN_REGISTRATION: 'true' });
  });
  after(() => server.close());

  test('login, registration and challenges share one counter per address: the 5th request in the window is 429 with Retry-After', async () => {
    assert.equal((await login(server)).status, 200);
    assert.equal((await server.fetch('/v1/register', json({ username: 'one', password: 'one-password-1' }))).status, 201);
    assert.equal((await server.fetch('/api/v1/auth', json({ user: 'one', operation: 'upload' }))).status, 200);
    assert.equal((await login(server)).status, 200);
    const refused = await login(server);
    const problem = await expectProblem(refused, 429, 'too_many_requests');
    const retryAfter = Number(refused.headers.get('retry-after'));
    assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter}`);
    assert.match(problem.detail, /try again in \d+ s/);
    await expectProblem(await server.fetch('/api/v1/auth', json({ user: 'one', operation: 'upload' })), 429, 'too_many_requests');
  });

  test('routes that cost no password or signature are not limited', async () => {
    for (let i = 0; i < 10; i++) assert.equal((await server.fetch('/v1/ping')).status, 200);
  });

  test('X-Forwarded-For is not believed: another claimed address is still the same address', async () => {
    await expectProblem(await login(server, { 'x-forwarded-for': '203.0.113.9' }), 429, 'too_many_requests');
  });
});

describe('behind a trusted proxy (COFFER_TRUST_PROXY=127.0.0.1)', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ COFFER_RATE_LIMIT: '2', COFFER_TRUST_PROXY: '127.0.0.1' });
  });
  after(() => server.close());

  test('each client address named by the proxy has its own counter', async () => {
    for (const client of ['198.51.100.1', '198.51.100.2']) {
      assert.equal((await login(server, { 'x-forwarded-for': client })).status, 200);
      assert.equal((await login(server, { 'x-forwarded-for': client })).status, 200);
      await expectProblem(await login(server, { 'x-forwarded-for': client }), 429, 'too_many_requests');
    }
    assert.equal((await login(server, { 'x-forwarded-for': '198.51.100.3' })).status, 200);
  });
});

describe('client-signed assertions', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ COFFER_RATE_LIMIT: '3' });
  });
  after(() => server.close());

  test('count before their signature is checked; access tokens on the same route do not count', async () => {
    const admin = await server.adminToken();
    const token = await server.createUser('signer');
    const key = makeKey('ed25519');
    const added = await server.fetch('/v1/keys', json({ key: key.raw.toString('hex') }, bearer(token)));
    assert.equal(added.status, 201);
    // The admin token and the user's login spent 2 of the 3; plain access tokens on presign spend none.
    for (let i = 0; i < 5; i++) assert.equal((await server.fetch('/v1/presign', json({ path: `p${i}`, method: 'PUT' }, bearer(admin)))).status, 200);
    const now = Math.floor(Date.now() / 1000);
    const assertion = selfSignedJwt(key, { sub: 'signer', iat: now, exp: now + 60 });
    assert.equal((await server.fetch('/v1/presign', json({ file: 'a.bin' }, bearer(assertion)))).status, 200);
    await expectProblem(await server.fetch('/v1/presign', json({ file: 'b.bin' }, bearer(assertion))), 429, 'too_many_requests');
    const forged = selfSignedJwt(makeKey('ed25519'), { sub: 'signer', iat: now, exp: now + 60 });
    await expectProblem(await server.fetch('/v1/presign', json({ file: 'c.bin' }, bearer(forged))), 429, 'too_many_requests', 'refused before the signature is checked');
  });
});

describe('forged assertions', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ COFFER_RATE_LIMIT: '3' });
  });
  after(() => server.close());

  test('spend the budget of their address too: three 401s, then 429 before any signature work', async () => {
    const now = Math.floor(Date.now() / 1000);
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      const forged = selfSignedJwt(makeKey('ed25519'), { sub: `nobody${i}`, iat: now, exp: now + 60 });
      const res = await server.fetch('/v1/presign', json({ file: `f${i}.bin` }, bearer(forged)));
      statuses.push(res.status);
      await res.arrayBuffer();
    }
    assert.deepEqual(statuses, [401, 401, 401, 429]);
  });
});

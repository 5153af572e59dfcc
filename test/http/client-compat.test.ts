/** What clients of other services do by habit, and what Coffer must still get right for them. */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { bearer, startServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
let token: string;
before(async () => {
  server = await startServer({ COFFER_HEADERS_TIMEOUT_MS: '1000' });
  token = await server.createUser('compat', 'compat-password');
});
after(() => server.close());

const json = (body: unknown, headers: Record<string, string> = {}) => ({ headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

test('a Basic Authorization kept by a client session does not hide x-access-tokens', async () => {
  const basic = `Basic ${Buffer.from('compat:compat-password').toString('base64')}`;
  const res = await server.fetch('/v1/verify', { headers: { authorization: basic, 'x-access-tokens': token } });
  assert.equal(res.status, 202);
});

test('Content-Type: application/json on a request with no body is no body', async () => {
  await server.fetch('/v1/data/empty-json', { method: 'PUT', ...json({ value: 1 }, bearer(token)) });
  const del = await server.fetch('/v1/data/empty-json', { method: 'DELETE', headers: bearer(token, { 'content-type': 'application/json' }) });
  assert.equal(del.status, 200);
});

test('login without credentials is 401 with a Basic challenge', async () => {
  const res = await server.fetch('/v1/login', { method: 'POST' });
  assert.equal(res.status, 401);
  assert.match(res.headers.get('www-authenticate') ?? '', /^Basic realm="coffer"/);
});

test('PATCH /v1/users/me changes the caller\'s own password', async () => {
  const me = await server.createUser('selfie', 'selfie-old-pass');
  const res = await server.fetch('/v1/users/me', { method: 'PATCH', ...json({ password: 'selfie-new-pass', current_password: 'selfie-old-pass' }, bearer(me)) });
  assert.equal(res.status, 200);
  assert.equal(((await res.json()) as { username: string }).username, 'selfie');
  assert.ok(await server.login('selfie', 'selfie-new-pass'));
});

test('DELETE with If-Match deletes only the version the client saw', async () => {
  const put = await server.fetch('/v1/data/cas', { method: 'PUT', ...json({ value: 'v1' }, bearer(token)) });
  const etag = put.headers.get('etag')!;
  await server.fetch('/v1/data/cas', { method: 'PUT', ...json({ value: 'v2' }, bearer(token)) });
  const stale = await server.fetch('/v1/data/cas', { method: 'DELETE', headers: bearer(token, { 'if-match': etag }) });
  assert.equal(stale.status, 412);
  const fresh = (await server.fetch('/v1/data/cas', { headers: bearer(token) })).headers.get('etag')!;
  assert.equal((await server.fetch('/v1/data/cas', { method: 'DELETE', headers: bearer(token, { 'if-match': fresh }) })).status, 200);
  assert.equal((await server.fetch('/v1/data/cas', { method: 'DELETE', headers: bearer(token, { 'if-match': '*' }) })).status, 412);
});

test('GET /v1/data (no trailing slash) lists the root', async () => {
  await server.fetch('/v1/data/rootkey', { method: 'PUT', ...json({ value: 1 }, bearer(token)) });
  await server.fetch('/v1/data/rootkey2', { method: 'PUT', ...json({ value: 2 }, bearer(token)) });
  const res = await server.fetch('/v1/data', { headers: bearer(token) });
  assert.equal(res.status, 200);
  assert.ok(((await res.json()) as { keys: string[] }).keys.includes('rootkey'));
  const page = (await (await server.fetch('/v1/data?limit=1', { headers: bearer(token) })).json()) as { keys: string[]; dirs: string[]; cursor: string | null };
  assert.equal(page.keys.length + page.dirs.length, 1, 'the query works there too');
  assert.equal(typeof page.cursor, 'string');
});

test('a raw value varies by Accept, so caches keep the raw and JSON forms apart', async () => {
  await server.fetch('/v1/data/raw', { method: 'PUT', headers: bearer(token, { 'content-type': 'text/plain' }), body: 'hi' });
  assert.equal((await server.fetch('/v1/data/raw', { headers: bearer(token) })).headers.get('vary'), 'accept');
  assert.equal((await server.fetch('/v1/data/raw', { headers: bearer(token, { accept: 'application/json' }) })).headers.get('vary'), 'accept');
});

test('grants as one form string, and a user without grants can still log in and read /v1/users/me', async () => {
  const admin = await server.adminToken();
  const create = await server.fetch('/v1/users', {
    method: 'POST',
    headers: bearer(admin, { 'content-type': 'application/x-www-form-urlencoded' }),
    body: new URLSearchParams({ username: 'formgrants', password: 'formgrants-pw', grants: 'kv:read kv:write' }).toString(),
  });
  assert.equal(create.status, 201);
  assert.deepEqual(((await create.json()) as { grants: string[] }).grants, ['kv:read', 'kv:write']);
  await server.fetch('/v1/users', { method: 'POST', ...json({ username: 'nogrants', password: 'nogrants-pw', grants: [] }, bearer(admin)) });
  const t = await server.login('nogrants', 'nogrants-pw');
  assert.equal((await server.fetch('/v1/users/me', { headers: bearer(t) })).status, 200);
  assert.equal((await server.fetch('/v1/data/', { headers: bearer(t) })).status, 403);
});

test('introspection reports token_type Bearer (RFC 7662 uses the RFC 6749 type)', async () => {
  const res = await server.fetch('/v1/introspect', { method: 'POST', ...json({ token }, bearer(token)) });
  const body = (await res.json()) as { active: boolean; token_type: string };
  assert.deepEqual([body.active, body.token_type], [true, 'Bearer']);
});

test('rotating keys in HS256 mode says how instead of failing', async () => {
  const hs = await startServer({ COFFER_JWT_ALG: 'HS256', COFFER_JWT_SECRET: randomBytes(32).toString('hex') });
  try {
    const res = await hs.fetch('/v1/admin/signing-keys/rotate', { method: 'POST', headers: bearer(await hs.adminToken()) });
    assert.equal(res.status, 409);
    assert.match(((await res.json()) as { detail: string }).detail, /COFFER_JWT_SECRET/);
  } finally {
    await hs.close();
  }
});

test('the headers timeout answers problem+json too', async () => {
  const { hostname, port } = new URL(server.base);
  const response = await new Promise<string>((resolve, reject) => {
    let text = '';
    const socket = connect(Number(port), hostname, () => socket.write('GET /v1/ping HTTP/1.1\r\nHost: x\r\n'));
    socket.on('data', (d) => (text += d));
    socket.on('error', reject);
    socket.on('close', () => resolve(text));
  });
  assert.match(response, /^HTTP\/1\.1 408/);
  assert.match(response, /content-type: application\/problem\+json/i);
  assert.match(response, /"code":"request_timeout"/);
});

test('CORS is off by default and answers the configured origins when set (SPEC §6)', async () => {
  const preflight = (s: TestServer) =>
    s.fetch('/v1/data/x', { method: 'OPTIONS', headers: { origin: 'https://app.example', 'access-control-request-method': 'PUT', 'access-control-request-headers': 'authorization' } });
  assert.equal((await preflight(server)).headers.get('access-control-allow-origin'), null);
  const cors = await startServer({ COFFER_CORS_ORIGINS: 'https://app.example' });
  try {
    const res = await preflight(cors);
    assert.equal(res.headers.get('access-control-allow-origin'), 'https://app.example');
    const get = await cors.fetch('/v1/ping', { headers: { origin: 'https://evil.example' } });
    assert.equal(get.headers.get('access-control-allow-origin'), null, 'other origins get no CORS header');
    // The docs are answered by an instance of their own (api-docs.ts): the CORS headers still come.
    const doc = await cors.fetch('/openapi.json', { headers: { origin: 'https://app.example' } });
    assert.equal(doc.status, 200);
    assert.equal(doc.headers.get('access-control-allow-origin'), 'https://app.example');
    assert.match(doc.headers.get('vary') ?? '', /origin/i);
    await doc.body?.cancel();
  } finally {
    await cors.close();
  }
});

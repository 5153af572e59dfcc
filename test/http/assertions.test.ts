/**
 * Client-signed assertions (SPEC §2, §4): a JWT the client signs with its own registered key, as
 * the presign prototype's client.py does, accepted as a bearer token on POST /v1/presign only and
 * granting the presign scope only. The client side is written with node:crypto (key-client.ts);
 * the key pair of the prototype-like flow comes from the real `coffer keygen` CLI.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHmac, createPrivateKey, createPublicKey, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { freshBucket, startRgw, type Rgw } from '../helpers/ceph.js';
import { challengeHeaders, makeKey, selfSignedJwt, type KeyHolder } from '../helpers/key-client.js';
import { bearer, startServer, type TestServer } from '../helpers/server.js';
import { expectProblem as assertProblem } from '../helpers/problem.js';

const MAIN = path.resolve('src/main.ts');

let rgw: Rgw | undefined;
let scratch: string | undefined;
const scratchDir = async () => (scratch ??= await mkdtemp(path.join(tmpdir(), 'coffer-assertions-')));
after(async () => {
  await rgw?.stop();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

const backends: Array<{ name: string; env(): Promise<Record<string, string>> }> = [
  { name: 'fs', env: async () => ({}) },
  { name: 's3 (Ceph RGW)', env: async () => (rgw ??= await startRgw()).settings(freshBucket('coffer-assert')) },
];

/** Runs the real CLI (`node --import tsx src/main.ts ...`), as cli-e2e.test.ts does. */
function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], { env: process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr })));
}

/** `coffer keygen --location DIR --user NAME`: the RSA pair the presign prototype's client reads. */
async function keygen(user: string, where: string): Promise<{ holder: KeyHolder; publicPem: string }> {
  const dir = path.join(await scratchDir(), where);
  const run = await cli(['keygen', '--location', dir, '--user', user]);
  assert.equal(run.code, 0, `coffer keygen failed: ${run.stderr}`);
  const privateFile = path.join(dir, `${user}_private.pem`);
  assert.equal((await stat(privateFile)).mode & 0o777, 0o600, 'the private key is 0600');
  const privateKey = createPrivateKey(await readFile(privateFile, 'utf8'));
  const publicPem = await readFile(path.join(dir, `${user}_public.pem`), 'utf8');
  const publicKey = createPublicKey(publicPem);
  assert.equal(publicKey.asymmetricKeyType, 'rsa');
  return { holder: { type: 'rsa', privateKey, publicKey, raw: publicKey.export({ format: 'der', type: 'spki' }) }, publicPem };
}

const now = () => Math.floor(Date.now() / 1000);
/** The claims client.py signs: sub = username, iat, exp. */
const claimsOf = (sub: string, ttl = 300) => ({ sub, iat: now(), exp: now() + ttl });
const b64json = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');

interface Presigned {
  url: string;
  method: string;
  headers: Record<string, string>;
  expires_at: string;
  presigned_url: string;
}

function presignRequest(server: TestServer, token: string, body: unknown): Promise<Response> {
  return server.fetch('/v1/presign', {
    method: 'POST',
    headers: bearer(token, { 'content-type': 'application/json' }),
    body: JSON.stringify(body),
  });
}

/** A 200 with every field of the presign answer. */
async function presigned(res: Response): Promise<Presigned> {
  const text = await res.text();
  assert.equal(res.status, 200, text);
  const body = JSON.parse(text) as Presigned;
  for (const field of ['url', 'method', 'headers', 'expires_at', 'presigned_url'] as const) assert.ok(field in body, `answer has "${field}": ${text}`);
  assert.equal(body.presigned_url, body.url);
  assert.match(body.url, /^https?:\/\//);
  assert.ok(!Number.isNaN(Date.parse(body.expires_at)), 'expires_at is a date');
  return body;
}

async function registerPem(server: TestServer, username: string, pem: string): Promise<string> {
  const res = await server.fetch(`/v1/users/${username}/keys`, {
    method: 'POST',
    headers: bearer(await server.adminToken(), { 'content-type': 'text/plain' }),
    body: pem,
  });
  const text = await res.text();
  assert.equal(res.status, 201, text);
  return (JSON.parse(text) as { id: string }).id;
}

/** The user's own POST /v1/keys with the raw key as hex (SPKI DER for RSA). */
async function registerOwn(server: TestServer, token: string, holder: KeyHolder): Promise<string> {
  const res = await server.fetch('/v1/keys', {
    method: 'POST',
    headers: bearer(token, { 'content-type': 'application/json' }),
    body: JSON.stringify({ key: holder.raw.toString('hex'), label: `${holder.type} test key` }),
  });
  const text = await res.text();
  assert.equal(res.status, 201, text);
  const view = JSON.parse(text) as { id: string; type: string };
  assert.equal(view.type, holder.type);
  return view.id;
}

const pemOf = (holder: KeyHolder) => holder.publicKey.export({ format: 'pem', type: 'spki' }).toString();

for (const backend of backends) {
  describe(`the presign prototype's client on ${backend.name}`, () => {
    let server: TestServer;
    let holder: KeyHolder;
    const password = 'example-password-1';
    before(async () => {
      server = await startServer(await backend.env());
      await server.createUser('example', password);
      let publicPem: string;
      ({ holder, publicPem } = await keygen('example', `keys-${backend.name.slice(0, 2)}`));
      await registerPem(server, 'example', publicPem);
    });
    after(() => server.close());

    test('a keygen RSA key, a self-signed RS256 assertion and {file, user} presign a PUT; plain fetch uploads; the user reads the bytes back', async () => {
      const assertion = selfSignedJwt(holder, claimsOf('example'), 'RS256');
      const header = JSON.parse(Buffer.from(assertion.split('.')[0]!, 'base64url').toString()) as Record<string, unknown>;
      assert.deepEqual(header, { alg: 'RS256', typ: 'JWT' }, 'no kid, like PyJWT');
      const body = await presigned(await presignRequest(server, assertion, { file: 'uploads/report.bin', user: 'example' }));
      assert.equal(body.method, 'PUT');

      const bytes = randomBytes(70_000);
      const put = await fetch(body.presigned_url, { method: 'PUT', body: bytes });
      assert.equal(put.status, 200, await put.text());

      const token = await server.login('example', password);
      const got = await server.fetch('/v1/objects/uploads/report.bin', { headers: bearer(token) });
      assert.equal(got.status, 200);
      assert.ok(Buffer.from(await got.arrayBuffer()).equals(bytes), 'the same bytes come back');
    });

    test('a presigned PUT from an assertion takes an empty body with no Content-Type', async () => {
      const body = await presigned(await presignRequest(server, selfSignedJwt(holder, claimsOf('example')), { file: 'uploads/empty.bin', user: 'example' }));
      const put = await fetch(body.presigned_url, { method: 'PUT', body: new Uint8Array(0) });
      assert.equal(put.status, 200, await put.text());
      const token = await server.login('example', password);
      const got = await server.fetch('/v1/objects/uploads/empty.bin', { headers: bearer(token) });
      assert.equal(got.status, 200);
      assert.equal((await got.arrayBuffer()).byteLength, 0);
    });
  });
}

describe('client-signed assertions on POST /v1/presign (fs)', () => {
  let server: TestServer;
  let aliceToken: string;
  const alice = { rsa: makeKey('rsa'), p256: makeKey('p256'), ed25519: makeKey('ed25519') };
  const bobKey = makeKey('rsa');
  let n = 0;
  /** A fresh user with one RSA key registered by the admin, for tests that change the user. */
  const freshUser = async (extra: Record<string, unknown> = {}) => {
    const name = `user${++n}`;
    const token = await server.createUser(name, `${name}-password-1`, extra);
    const key = makeKey('rsa');
    const keyId = await registerPem(server, name, pemOf(key));
    return { name, token, key, keyId };
  };

  before(async () => {
    server = await startServer();
    aliceToken = await server.createUser('alice');
    for (const key of Object.values(alice)) await registerOwn(server, aliceToken, key);
    await server.createUser('bob');
    await registerPem(server, 'bob', pemOf(bobKey));
  });
  after(() => server.close());

  const file = () => `f/${randomBytes(4).toString('hex')}.bin`;
  const presignAs = (token: string, body: unknown = { file: file(), user: 'alice' }) => presignRequest(server, token, body);

  // 2. Each algorithm.
  for (const [alg, key] of [
    ['RS256', 'rsa'],
    ['PS256', 'rsa'],
    ['ES256', 'p256'],
    ['EdDSA', 'ed25519'],
  ] as const) {
    test(`${alg}: an assertion signed with the user's registered ${key} key presigns`, async () => {
      const body = await presigned(await presignAs(selfSignedJwt(alice[key], claimsOf('alice'), alg)));
      assert.equal(body.method, 'PUT');
      const put = await fetch(body.url, { method: 'PUT', body: Buffer.from(alg) });
      assert.equal(put.status, 200);
    });
  }

  // 3. Refusals.
  test('an assertion whose exp − iat exceeds 3600 s is refused', async () => {
    const iat = now();
    await assertProblem(await presignAs(selfSignedJwt(alice.rsa, { sub: 'alice', iat, exp: iat + 3601 })), 401);
  });

  test('an assertion whose exp − iat is exactly 3600 s is accepted', async () => {
    const iat = now();
    await presigned(await presignAs(selfSignedJwt(alice.rsa, { sub: 'alice', iat, exp: iat + 3600 })));
  });

  test('an expired assertion (exp beyond the 30 s clock skew) is refused', async () => {
    await assertProblem(await presignAs(selfSignedJwt(alice.rsa, { sub: 'alice', iat: now() - 600, exp: now() - 120 })), 401);
  });

  test('an assertion issued more than 3600 s ago is refused even with exp in the future', async () => {
    await assertProblem(await presignAs(selfSignedJwt(alice.rsa, { sub: 'alice', iat: now() - 3700, exp: now() + 60 })), 401);
  });

  test('an assertion without iat is refused', async () => {
    await assertProblem(await presignAs(selfSignedJwt(alice.rsa, { sub: 'alice', exp: now() + 300 })), 401);
  });

  test('an assertion without exp is refused', async () => {
    await assertProblem(await presignAs(selfSignedJwt(alice.rsa, { sub: 'alice', iat: now() })), 401);
  });

  test('an assertion without sub is refused', async () => {
    await assertProblem(await presignAs(selfSignedJwt(alice.rsa, { iat: now(), exp: now() + 300 }), { file: file() }), 401);
  });

  test("an assertion naming another user as sub, signed with my key, is refused", async () => {
    await assertProblem(await presignAs(selfSignedJwt(alice.rsa, claimsOf('bob')), { file: file(), user: 'bob' }), 401);
  });

  test('a "user" in the body that is not the assertion\'s sub is refused with 401', async () => {
    await assertProblem(await presignAs(selfSignedJwt(alice.rsa, claimsOf('alice')), { file: file(), user: 'bob' }), 401, 'invalid_token');
  });

  test('an assertion signed with a key registered to nobody is refused', async () => {
    await assertProblem(await presignAs(selfSignedJwt(makeKey('rsa'), claimsOf('alice'))), 401);
  });

  test("an assertion signed with another user's registered key is refused", async () => {
    await assertProblem(await presignAs(selfSignedJwt(bobKey, claimsOf('alice'))), 401);
  });

  test('an ES256 header over an RSA signature, for a user with only an RSA key, is refused', async () => {
    const u = await freshUser();
    await assertProblem(await presignRequest(server, selfSignedJwt(u.key, claimsOf(u.name), 'ES256'), { file: file(), user: u.name }), 401);
  });

  test('an unsigned assertion (alg "none") is refused', async () => {
    const unsigned = `${b64json({ alg: 'none', typ: 'JWT' })}.${b64json(claimsOf('alice'))}.`;
    await assertProblem(await presignAs(unsigned), 401);
  });

  test("an HS256 assertion keyed with the registered public key's PEM is refused", async () => {
    const input = `${b64json({ alg: 'HS256', typ: 'JWT' })}.${b64json(claimsOf('alice'))}`;
    const forged = `${input}.${createHmac('sha256', pemOf(alice.rsa)).update(input).digest('base64url')}`;
    await assertProblem(await presignAs(forged), 401);
  });

  test("an assertion carrying one of Coffer's signing kids is refused", async () => {
    const jwks = (await (await server.fetch('/.well-known/jwks.json')).json()) as { keys: Array<{ kid: string }> };
    const kid = jwks.keys[0]?.kid;
    assert.ok(kid, 'the JWKS names a kid');
    await assertProblem(await presignAs(selfSignedJwt(alice.rsa, claimsOf('alice'), 'RS256', { kid })), 401);
  });

  test('an assertion with a tampered payload is refused', async () => {
    const [h, , s] = selfSignedJwt(alice.rsa, claimsOf('alice', 60)).split('.');
    const tampered = `${h}.${b64json(claimsOf('alice', 3000))}.${s}`;
    await assertProblem(await presignAs(tampered), 401);
  });

  test("a disabled user's assertion is refused", async () => {
    const u = await freshUser();
    const assertion = selfSignedJwt(u.key, claimsOf(u.name));
    await presigned(await presignRequest(server, assertion, { file: file(), user: u.name }));
    const patch = await server.fetch(`/v1/users/${u.name}`, {
      method: 'PATCH',
      headers: bearer(await server.adminToken(), { 'content-type': 'application/json' }),
      body: JSON.stringify({ disabled: true }),
    });
    assert.equal(patch.status, 200, await patch.text());
    await assertProblem(await presignRequest(server, assertion, { file: file(), user: u.name }), 401);
  });

  test('an assertion stops working once its key is deleted', async () => {
    const u = await freshUser();
    const assertion = selfSignedJwt(u.key, claimsOf(u.name));
    await presigned(await presignRequest(server, assertion, { file: file(), user: u.name }));
    const del = await server.fetch(`/v1/keys/${u.keyId}`, { method: 'DELETE', headers: bearer(u.token) });
    assert.ok(del.status === 200 || del.status === 204, `delete key -> ${del.status}`);
    await assertProblem(await presignRequest(server, assertion, { file: file(), user: u.name }), 401);
  });

  test('an unknown sub, a disabled sub and a key that is not the sub\'s get one answer: nothing tells who exists', async () => {
    const disabled = await freshUser();
    const off = await server.fetch(`/v1/users/${disabled.name}`, {
      method: 'PATCH',
      headers: bearer(await server.adminToken(), { 'content-type': 'application/json' }),
      body: JSON.stringify({ disabled: true }),
    });
    assert.equal(off.status, 200);
    const stranger = makeKey('rsa');
    const answers: string[] = [];
    for (const [token, user] of [
      [selfSignedJwt(stranger, claimsOf('alice')), 'alice'], // exists, not her key
      [selfSignedJwt(stranger, claimsOf('nobody-by-this-name')), 'nobody-by-this-name'], // does not exist
      [selfSignedJwt(bobKey, claimsOf('alice')), 'alice'], // exists, another user's key
      [selfSignedJwt(disabled.key, claimsOf(disabled.name)), disabled.name], // exists, disabled, own key
    ] as const) {
      const res = await presignRequest(server, token, { file: file(), user });
      assert.equal(res.status, 401);
      const { detail, code } = (await res.json()) as { detail: string; code: string };
      assert.equal(code, 'invalid_token');
      answers.push(detail);
    }
    assert.equal(new Set(answers).size, 1, `one answer for all: ${JSON.stringify(answers)}`);
    assert.doesNotMatch(answers[0]!, /alice|nobody|user\d/, 'the answer does not echo the name');
  });

  test("an assertion carries its user's object grants: without objects:write it presigns no PUT, without objects:read no GET", async () => {
    const readOnly = await freshUser({ grants: ['presign', 'objects:read'] });
    const put = await presignRequest(server, selfSignedJwt(readOnly.key, claimsOf(readOnly.name)), { file: file(), user: readOnly.name });
    await assertProblem(put, 403, 'insufficient_scope');
    const writeOnly = await freshUser({ grants: ['presign', 'objects:write'] });
    const path = file();
    const up = await presigned(await presignRequest(server, selfSignedJwt(writeOnly.key, claimsOf(writeOnly.name)), { path, method: 'PUT' }));
    assert.equal((await fetch(up.url, { method: 'PUT', body: 'bytes' })).status, 200);
    const get = await presignRequest(server, selfSignedJwt(writeOnly.key, claimsOf(writeOnly.name)), { path, method: 'GET' });
    await assertProblem(get, 403, 'insufficient_scope');
  });

  test('a valid assertion of a user whose grants lack presign gets 403', async () => {
    const u = await freshUser({ grants: ['kv:read', 'kv:write', 'objects:read', 'objects:write'] });
    await assertProblem(await presignRequest(server, selfSignedJwt(u.key, claimsOf(u.name)), { file: file(), user: u.name }), 403, 'insufficient_scope');
  });

  // 4. Nowhere else.
  const otherRoutes: Array<[string, string, RequestInit?]> = [
    ['GET', '/v1/data/x'],
    ['PUT', '/v1/data/x', { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ value: 'v' }) }],
    ['GET', '/v1/objects/'],
    ['PUT', '/v1/objects/a', { body: Buffer.from('assertion bytes') }],
    ['GET', '/v1/users/me'],
    ['GET', '/v1/keys'],
    ['GET', '/v1/verify'],
    ['POST', '/v1/introspect', { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: 'x' }) }],
    ['POST', '/v1/logout'],
  ];
  for (const [method, route, init = {}] of otherRoutes) {
    test(`an assertion is refused on ${method} ${route}`, async () => {
      const assertion = selfSignedJwt(alice.rsa, claimsOf('alice'));
      const headers = { ...(init.headers as Record<string, string> | undefined), authorization: `Bearer ${assertion}` };
      await assertProblem(await server.fetch(route, { ...init, method, headers }), 401);
    });
  }

  test('the refused assertion on PUT /v1/objects/a stored nothing', async () => {
    const res = await server.fetch('/v1/objects/a', { headers: bearer(aliceToken) });
    assert.equal(res.status, 404);
  });

  test('an assertion used as X-Auth-Token on the parcel API, with X-Public-Key and X-Signature, is refused', async () => {
    const assertion = selfSignedJwt(alice.rsa, claimsOf('alice'));
    const id = `00000001${randomBytes(32).toString('hex').toUpperCase()}`;
    const res = await server.fetch(`/api/v1/parcels/${id}`, { headers: challengeHeaders(alice.rsa, assertion) });
    await assertProblem(res, 401);
  });

  test('an assertion presigns for at most an hour: expires_in above 3600 is a 400 (a token may still ask for 7 days)', async () => {
    const assertion = selfSignedJwt(alice.rsa, claimsOf('alice'));
    const long = await presignAs(assertion, { file: file(), user: 'alice', expires_in: 3601 });
    await assertProblem(long, 400, 'invalid_request');
    const hour = await presigned(await presignAs(assertion, { file: file(), user: 'alice', expires_in: 3600 }));
    assert.ok(Date.parse(hour.expires_at) - Date.now() <= 3600_000);
    await presigned(await presignAs(aliceToken, { file: file(), user: 'alice', expires_in: 7 * 86_400 }));
  });

  test('the prototype sends its local path as "file": "./x" and "/dir/x" name the objects x and dir/x', async () => {
    const name = `local-${randomBytes(4).toString('hex')}.bin`;
    const assertion = selfSignedJwt(alice.rsa, claimsOf('alice'));
    for (const [sent, stored] of [[`./${name}`, name], [`/tmp/${name}`, `tmp/${name}`]] as const) {
      const body = await presigned(await presignAs(assertion, { file: sent, user: 'alice' }));
      assert.equal((await fetch(body.url, { method: 'PUT', body: Buffer.from(sent) })).status, 200);
      const got = await server.fetch(`/v1/objects/${stored}`, { headers: bearer(aliceToken) });
      assert.equal(got.status, 200, stored);
      assert.equal(await got.text(), sent);
    }
    await assertProblem(await presignAs(assertion, { file: `../${name}`, user: 'alice' }), 400);
  });

  // 5. Access tokens still work.
  test('a normal access token presigns with {path, method}', async () => {
    const path = file();
    const put = await presigned(await presignAs(aliceToken, { path, method: 'PUT', expires_in: 600 }));
    assert.equal(put.method, 'PUT');
    assert.equal((await fetch(put.url, { method: 'PUT', body: Buffer.from('via token') })).status, 200);
    const get = await presigned(await presignAs(aliceToken, { path, method: 'GET' }));
    assert.equal(get.method, 'GET');
    const got = await fetch(get.url);
    assert.equal(got.status, 200);
    assert.equal(await got.text(), 'via token');
  });

  test("a normal access token with the prototype's {file, user} of that user presigns a PUT", async () => {
    const body = await presigned(await presignAs(aliceToken, { file: file(), user: 'alice' }));
    assert.equal(body.method, 'PUT');
    assert.equal((await fetch(body.url, { method: 'PUT', body: new Uint8Array(0) })).status, 200);
  });
});

/**
 * The good paths of Coffer's tokens (SPEC §2 "Login and tokens"): verify, the accepted headers,
 * offline verification with the JWKS, key rotation, HS256 mode, audience, RFC 7662 introspection.
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import {
  createLocalJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  generateKeyPair,
  jwtVerify,
  SignJWT,
  type JWK,
} from 'jose';
import { signWithServerKey } from '../helpers/forge.js';
import { TestClock } from '../helpers/clock.js';
import { ADMIN_PASSWORD, bearer, startServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
let aliceToken: string;
let bobToken: string;

before(async () => {
  server = await startServer();
  aliceToken = await server.createUser('alice', 'alice-password-1');
  bobToken = await server.createUser('bob', 'bob-password-1');
});
after(() => server.close());

async function jwks(s: TestServer = server): Promise<{ keys: JWK[] }> {
  const res = await s.fetch('/.well-known/jwks.json');
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /json/);
  return (await res.json()) as { keys: JWK[] };
}

async function verify(token: string, headers: Record<string, string> = bearer(token), s: TestServer = server) {
  const res = await s.fetch('/v1/verify', { headers });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function introspect(callerToken: string, init: { json?: unknown; form?: Record<string, string> }) {
  const res = await server.fetch('/v1/introspect', {
    method: 'POST',
    headers: bearer(callerToken, { 'content-type': init.json !== undefined ? 'application/json' : 'application/x-www-form-urlencoded' }),
    body: init.json !== undefined ? JSON.stringify(init.json) : new URLSearchParams(init.form).toString(),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

// ---------------------------------------------------------------------------------------------

test('GET /v1/verify → 202 with the claims', async () => {
  const { status, body } = await verify(aliceToken);
  assert.equal(status, 202);
  assert.equal(body.iss, 'coffer');
  assert.match(String(body.sub), /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  assert.equal(body.public_id, body.sub);
  assert.equal(body.username, 'alice');
  assert.equal(body.scope, 'kv:read kv:write objects:read objects:write presign');
  assert.equal(typeof body.iat, 'number');
  assert.equal(typeof body.exp, 'number');
  assert.equal((body.exp as number) - (body.iat as number), 2700);
  assert.ok(Math.abs((body.iat as number) - Date.now() / 1000) < 120);
  assert.equal(typeof body.jti, 'string');
  assert.ok((body.jti as string).length > 0);
  assert.ok(!('aud' in body), 'no aud claim by default');
  // the body is the token's own claims
  assert.deepEqual(body, decodeJwt(aliceToken));
  const header = decodeProtectedHeader(aliceToken);
  assert.equal(header.typ, 'at+jwt');

  const me = await server.fetch('/v1/users/me', { headers: bearer(aliceToken) });
  assert.equal(((await me.json()) as { public_id: string }).public_id, body.sub);
});

test('each login gets a distinct jti', async () => {
  const a = decodeJwt(await server.login('alice', 'alice-password-1'));
  const b = decodeJwt(await server.login('alice', 'alice-password-1'));
  assert.notEqual(a.jti, b.jti);
});

test('the token is accepted in Authorization: Bearer, x-access-tokens and X-Auth-Token', async () => {
  const variants: Record<string, string>[] = [
    { authorization: `Bearer ${aliceToken}` },
    { authorization: `bearer ${aliceToken}` },
    { 'x-access-tokens': aliceToken },
    { 'X-Auth-Token': aliceToken },
  ];
  for (const headers of variants) {
    const { status, body } = await verify(aliceToken, headers);
    assert.equal(status, 202, JSON.stringify(Object.keys(headers)));
    assert.equal(body.username, 'alice');
    const data = await server.fetch('/v1/data/', { headers });
    assert.equal(data.status, 200, JSON.stringify(Object.keys(headers)));
  }
});

test('offline verification with the JWKS alone, as another service would', async () => {
  const set = await jwks();
  assert.ok(set.keys.length >= 1);
  for (const k of set.keys) {
    assert.ok(k.kid);
    assert.equal(k.alg, 'EdDSA');
    assert.equal(k.kty, 'OKP');
    assert.equal(k.crv, 'Ed25519');
    assert.ok(!('d' in k), 'the JWKS never contains private key material');
  }
  const keySet = createLocalJWKSet(set as never);
  const { payload, protectedHeader } = await jwtVerify(aliceToken, keySet, { issuer: 'coffer', typ: 'at+jwt', algorithms: ['EdDSA'] });
  assert.equal(payload.username, 'alice');
  assert.equal(protectedHeader.alg, 'EdDSA');
  assert.ok(protectedHeader.kid);
  assert.ok(set.keys.some((k) => k.kid === protectedHeader.kid));
  // a verifier that expects no audience (PyJWT-style) is happy: the token has none
  assert.equal(payload.aud, undefined);
});

test('key rotation: new kid, both in JWKS, old token still works, new login carries the new kid', async () => {
  const s = await startServer();
  try {
    const admin = await s.adminToken();
    const userToken = await s.createUser('carol', 'carol-password-1');
    const oldKid = decodeProtectedHeader(userToken).kid!;
    assert.deepEqual((await jwks(s)).keys.map((k) => k.kid), [oldKid]);

    const res = await s.fetch('/v1/admin/signing-keys/rotate', { method: 'POST', headers: bearer(admin) });
    assert.equal(res.status, 200);
    const { kid: newKid } = (await res.json()) as { kid: string };
    assert.equal(typeof newKid, 'string');
    assert.notEqual(newKid, oldKid);

    const kids = (await jwks(s)).keys.map((k) => k.kid);
    assert.ok(kids.includes(oldKid), 'old kid still published');
    assert.ok(kids.includes(newKid), 'new kid published');

    // tokens issued before the rotation keep working (a token never seen before by the cache too)
    assert.equal((await verify(userToken, bearer(userToken), s)).status, 202);
    assert.equal((await verify(admin, bearer(admin), s)).status, 202);

    const fresh = await s.login('carol', 'carol-password-1');
    assert.equal(decodeProtectedHeader(fresh).kid, newKid);
    assert.equal((await verify(fresh, bearer(fresh), s)).status, 202);

    // both verify offline with the published set
    const keySet = createLocalJWKSet(await jwks(s) as never);
    await jwtVerify(userToken, keySet, { issuer: 'coffer' });
    await jwtVerify(fresh, keySet, { issuer: 'coffer' });
  } finally {
    await s.close();
  }
});

for (const [alg, kty] of [
  ['ES256', 'EC'],
  ['RS256', 'RSA'],
] as const) {
  test(`${alg} by configuration: tokens are ${alg} with a kid, the JWKS publishes an ${kty} key, they verify offline and at /v1/verify`, async () => {
    const s = await startServer({ COFFER_JWT_ALG: alg });
    try {
      const token = await s.createUser('erin', 'erin-password-1');
      const header = decodeProtectedHeader(token);
      assert.equal(header.alg, alg);
      assert.equal(header.typ, 'at+jwt');
      const set = await jwks(s);
      const published = set.keys.find((k) => k.kid === header.kid);
      assert.ok(published, 'the token\'s kid is published');
      assert.equal(published.kty, kty);
      assert.equal('d' in published, false, 'no private part in the JWKS');
      await jwtVerify(token, createLocalJWKSet(set as never), { issuer: 'coffer', algorithms: [alg] });
      assert.equal((await verify(token, bearer(token), s)).status, 202);
    } finally {
      await s.close();
    }
  });
}

test('HS256 mode: tokens are HS256 and verify with the secret; JWKS has no keys; EdDSA tokens are refused', async () => {
  const secret = randomBytes(36).toString('base64url');
  assert.equal(secret.length, 48);
  const hs = await startServer({ COFFER_JWT_ALG: 'HS256', COFFER_JWT_SECRET: secret });
  try {
    const token = await hs.createUser('dave', 'dave-password-1');
    const header = decodeProtectedHeader(token);
    assert.equal(header.alg, 'HS256');
    assert.equal(header.typ, 'at+jwt');
    const { payload } = await jwtVerify(token, new TextEncoder().encode(secret), { issuer: 'coffer', algorithms: ['HS256'] });
    assert.equal(payload.username, 'dave');
    assert.equal((await verify(token, bearer(token), hs)).status, 202);

    assert.deepEqual((await jwks(hs)).keys, []);

    // an EdDSA token from another server is refused
    const foreign = await verify(aliceToken, bearer(aliceToken), hs);
    assert.equal(foreign.status, 401);
    assert.equal(foreign.body.code, 'invalid_token');
    // an EdDSA token with dave's exact claims, signed by some Ed25519 key, is refused
    const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
    const t = Math.floor(Date.now() / 1000);
    const forged = await new SignJWT({ ...payload, iat: t, exp: t + 600, jti: randomUUID() })
      .setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', kid: 'hs256' })
      .sign(privateKey);
    const r = await verify(forged, bearer(forged), hs);
    assert.equal(r.status, 401);
    assert.equal(r.body.code, 'invalid_token');
    // a token signed with the secret and the same claims is accepted (the secret is what counts)
    const good = await new SignJWT({ ...payload, iat: t, exp: t + 600, jti: randomUUID() })
      .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt' })
      .sign(new TextEncoder().encode(secret));
    assert.equal((await verify(good, bearer(good), hs)).status, 202);
    // ...but not with another secret
    const bad = await new SignJWT({ ...payload, iat: t, exp: t + 600, jti: randomUUID() })
      .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt' })
      .sign(new TextEncoder().encode(randomBytes(36).toString('base64url')));
    assert.equal((await verify(bad, bearer(bad), hs)).status, 401);
  } finally {
    await hs.close();
  }
});

test('COFFER_JWT_AUDIENCE: tokens carry aud; a token without it (or with another) is refused', async () => {
  const s = await startServer({ COFFER_JWT_AUDIENCE: 'coffer-api' });
  try {
    const token = await s.createUser('erin', 'erin-password-1');
    const claims = decodeJwt(token);
    assert.equal(claims.aud, 'coffer-api');
    assert.equal((await verify(token, bearer(token), s)).status, 202);

    const t = Math.floor(Date.now() / 1000);
    const { aud: _aud, ...noAud } = claims;
    const control = await signWithServerKey(s, { ...claims, iat: t, exp: t + 600, jti: randomUUID() });
    assert.equal((await verify(control, bearer(control), s)).status, 202, 'control: forged with aud is accepted');

    const withoutAud = await signWithServerKey(s, { ...noAud, iat: t, exp: t + 600, jti: randomUUID() });
    const r1 = await verify(withoutAud, bearer(withoutAud), s);
    assert.equal(r1.status, 401);
    assert.equal(r1.body.code, 'invalid_token');

    const otherAud = await signWithServerKey(s, { ...noAud, aud: 'someone-else', iat: t, exp: t + 600, jti: randomUUID() });
    const r2 = await verify(otherAud, bearer(otherAud), s);
    assert.equal(r2.status, 401);
    assert.equal(r2.body.code, 'invalid_token');

    // offline verification with the audience
    const keySet = createLocalJWKSet(await jwks(s) as never);
    await jwtVerify(token, keySet, { issuer: 'coffer', audience: 'coffer-api' });
  } finally {
    await s.close();
  }
});

test('refresh gives a working new access token with the same identity and a new jti', async () => {
  const res = await server.fetch('/v1/login', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'alice', password: 'alice-password-1' }),
  });
  const first = (await res.json()) as { access_token: string; refresh_token: string };
  const r = await server.fetch('/v1/token/refresh', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ refresh_token: first.refresh_token }).toString(),
  });
  assert.equal(r.status, 200);
  const next = (await r.json()) as Record<string, unknown>;
  assert.equal(next.token_type, 'Bearer');
  assert.equal(next.expires_in, 2700);
  assert.equal(next.jwt, next.access_token);
  assert.equal(next.token, next.access_token);
  const a = decodeJwt(first.access_token);
  const b = decodeJwt(next.access_token as string);
  assert.equal(b.sub, a.sub);
  assert.equal(b.scope, a.scope);
  assert.notEqual(b.jti, a.jti);
  assert.equal((await verify(next.access_token as string)).status, 202);
  // the access token of the first pair still works (rotation is not revocation)
  assert.equal((await verify(first.access_token)).status, 202);
});

// ---------------------------------------------------------------------------------------------
// introspection (RFC 7662)

test('introspect: own token → active with its claims (token as JSON and as form field)', async () => {
  const viaJson = await introspect(aliceToken, { json: { token: aliceToken } });
  assert.equal(viaJson.status, 200);
  assert.equal(viaJson.body.active, true);
  const claims = decodeJwt(aliceToken);
  for (const [k, v] of Object.entries(claims)) assert.deepEqual(viaJson.body[k], v, `claim ${k}`);

  const other = await server.login('alice', 'alice-password-1');
  const viaForm = await introspect(aliceToken, { form: { token: other, token_type_hint: 'access_token' } });
  assert.equal(viaForm.status, 200);
  assert.equal(viaForm.body.active, true);
  assert.equal(viaForm.body.jti, decodeJwt(other).jti);
  assert.equal(viaForm.body.username, 'alice');
});

test('introspect: garbage, expired or revoked tokens → {active:false} and nothing else', async () => {
  for (const token of ['garbage', 'a.b.c', aliceToken.slice(0, -4) + 'AAAA']) {
    const r = await introspect(aliceToken, { json: { token } });
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, { active: false });
  }
  const t = Math.floor(Date.now() / 1000);
  const expired = await signWithServerKey(server, { ...decodeJwt(aliceToken), iat: t - 4000, exp: t - 300, jti: randomUUID() });
  const e = await introspect(aliceToken, { json: { token: expired } });
  assert.equal(e.status, 200);
  assert.deepEqual(e.body, { active: false });

  const victim = await server.login('alice', 'alice-password-1');
  const out = await server.fetch('/v1/logout', { method: 'POST', headers: bearer(victim) });
  assert.ok(out.status === 200 || out.status === 204);
  const r = await introspect(aliceToken, { form: { token: victim } });
  assert.equal(r.status, 200);
  assert.deepEqual(r.body, { active: false });
});

test("introspect: a non-admin introspecting another user's valid token → {active:false}", async () => {
  const r = await introspect(aliceToken, { json: { token: bobToken } });
  assert.equal(r.status, 200);
  assert.deepEqual(r.body, { active: false });
  const r2 = await introspect(bobToken, { form: { token: aliceToken } });
  assert.deepEqual(r2.body, { active: false });
  // and bob's token is nonetheless valid
  assert.equal((await verify(bobToken)).status, 202);
});

test("introspect: an admin introspecting another user's token → active with the claims", async () => {
  const admin = await server.adminToken();
  const r = await introspect(admin, { json: { token: bobToken } });
  assert.equal(r.status, 200);
  assert.equal(r.body.active, true);
  assert.equal(r.body.username, 'bob');
  assert.equal(r.body.sub, decodeJwt(bobToken).sub);
  const r2 = await introspect(admin, { form: { token: aliceToken } });
  assert.equal(r2.body.active, true);
  assert.equal(r2.body.username, 'alice');
});

test('introspect needs a valid caller token', async () => {
  const res = await server.fetch('/v1/introspect', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token: aliceToken }),
  });
  assert.equal(res.status, 401);
  assert.equal(((await res.json()) as { code: string }).code, 'invalid_token');
});

test('time runs out: an access token past exp + clock skew, and a refresh token past its session, are refused (a controlled clock)', async () => {
  const clock = new TestClock();
  const timed = await startServer({ COFFER_ACCESS_TOKEN_TTL: '60', COFFER_REFRESH_TOKEN_TTL: '120', COFFER_CLOCK_SKEW: '5' }, { clock });
  try {
    const login = await timed.fetch('/v1/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: ADMIN_PASSWORD }) });
    const { access_token: access, refresh_token: refresh } = (await login.json()) as { access_token: string; refresh_token: string };
    clock.advance(64_000); // within exp + skew
    assert.equal((await verify(access, bearer(access), timed)).status, 202);
    clock.advance(2_000); // past it
    const expired = await verify(access, bearer(access), timed);
    assert.deepEqual([expired.status, expired.body.code, expired.body.detail], [401, 'invalid_token', 'The access token has expired.']);
    const renewed = await timed.fetch('/v1/token/refresh', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ refresh_token: refresh }) });
    assert.equal(renewed.status, 200, 'the session (120 s) outlives the access token');
    const { refresh_token: next } = (await renewed.json()) as { refresh_token: string };
    clock.advance(60_000); // 126 s after the login: the session is over, refreshing did not extend it
    const late = await timed.fetch('/v1/token/refresh', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ refresh_token: next }) });
    assert.equal(late.status, 401);
    assert.deepEqual(await late.json().then((b: { code: string; detail: string }) => [b.code, b.detail]), ['invalid_grant', 'The refresh token has expired.']);
  } finally {
    await timed.close();
  }
});

/**
 * Attacks on Coffer's tokens and login (SPEC §2 "Login and tokens", "Scopes"; §6 errors), over
 * real HTTP. Forged tokens are signed with the server's real private key (read from
 * <dataDir>/keys/jwt-signing-keys.json) so that each one is well formed and fails for exactly one
 * reason; a control test shows that such a forgery with correct claims is accepted.
 */
import assert from 'node:assert/strict';
import { createPublicKey, randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { base64url, decodeJwt, exportSPKI, generateKeyPair, importJWK, SignJWT, type JWK, type JWTPayload } from 'jose';
import { currentSigningKey, signWithServerKey } from '../helpers/forge.js';
import { expectProblem } from '../helpers/problem.js';
import { bearer, startServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
let victimToken: string;

before(async () => {
  server = await startServer();
  victimToken = await server.createUser('victim', 'victim-password-1');
});
after(() => server.close());

// ---------------------------------------------------------------------------------------------
// helpers

const now = () => Math.floor(Date.now() / 1000);

/** Signs `claims` with the server's real key; header defaults to what Coffer itself writes. */
const forge = (claims: JWTPayload, header: Record<string, unknown> = {}, s: TestServer = server) => signWithServerKey(s, claims, header);

/** Valid claims for `token`'s user, freshly dated, with a new jti. */
function claimsLike(token: string, overrides: JWTPayload = {}): JWTPayload {
  const c = decodeJwt(token);
  const t = now();
  return { ...c, iat: t, exp: t + 600, jti: randomUUID(), ...overrides };
}

const b64json = (o: unknown) => base64url.encode(JSON.stringify(o));

async function expectInvalidToken(token: string, route = '/v1/data/', headers?: Record<string, string>) {
  return expectProblem(await server.fetch(route, { headers: headers ?? bearer(token) }), 401, 'invalid_token', `${route} should refuse the token`);
}

async function expectAccepted(token: string) {
  const res = await server.fetch('/v1/verify', { headers: bearer(token) });
  assert.equal(res.status, 202, `token should be accepted, got ${res.status} ${await res.clone().text()}`);
  return (await res.json()) as Record<string, unknown>;
}

async function login(username: string, password: string, extra: Record<string, string> = {}) {
  const res = await server.fetch('/v1/login', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password, ...extra }),
  });
  assert.equal(res.status, 200, `login ${username}: ${res.status} ${await res.clone().text()}`);
  return (await res.json()) as { access_token: string; refresh_token: string; scope: string; token_type: string; expires_in: number; jwt: string; token: string };
}

async function refresh(refreshToken: string) {
  const res = await server.fetch('/v1/token/refresh', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ refresh_token: refreshToken }),
  });
  const text = await res.text();
  return { status: res.status, body: JSON.parse(text) as Record<string, unknown> & { access_token: string; refresh_token: string; scope: string; code?: string } };
}

async function expectInvalidGrant(refreshToken: string) {
  const r = await refresh(refreshToken);
  assert.equal(r.status, 401, `refresh should fail: ${JSON.stringify(r.body)}`);
  assert.equal(r.body.code, 'invalid_grant');
}

let counter = 0;
async function freshUser(prefix: string, password?: string) {
  const username = `${prefix}${++counter}`;
  const pwd = password ?? `${username}-password-1`;
  const token = await server.createUser(username, pwd);
  return { username, password: pwd, token };
}

async function adminPatch(username: string, body: Record<string, unknown>) {
  const res = await server.fetch(`/v1/users/${username}`, {
    method: 'PATCH',
    headers: bearer(await server.adminToken(), { 'content-type': 'application/json' }),
    body: JSON.stringify(body),
  });
  assert.equal(res.status, 200, `PATCH ${username}: ${res.status} ${await res.clone().text()}`);
}

// ---------------------------------------------------------------------------------------------
// control

test('control: a token forged with the real key and correct claims is accepted (the forgeries below fail for one reason each)', async () => {
  const claims = await expectAccepted(await forge(claimsLike(victimToken)));
  assert.equal(claims.username, 'victim');
  const res = await server.fetch('/v1/data/', { headers: bearer(await forge(claimsLike(victimToken))) });
  assert.equal(res.status, 200);
});

test('no token at all → 401 invalid_token, naming all three headers a token may come in', async () => {
  const res = await server.fetch('/v1/data/');
  assert.equal(res.status, 401);
  const body = (await res.json()) as { code: string; detail: string };
  assert.equal(body.code, 'invalid_token');
  for (const header of ['Authorization: Bearer', 'x-access-tokens', 'X-Auth-Token']) assert.ok(body.detail.includes(header), `"${header}" in: ${body.detail}`);
});

// ---------------------------------------------------------------------------------------------
// algorithm attacks

test('alg "none" with otherwise valid claims is refused', async () => {
  const claims = claimsLike(victimToken);
  const { kid } = await currentSigningKey(server);
  for (const header of [{ alg: 'none', typ: 'at+jwt' }, { alg: 'none', typ: 'at+jwt', kid }, { alg: 'None', typ: 'at+jwt', kid }, { alg: 'NONE', typ: 'at+jwt' }]) {
    const token = `${b64json(header)}.${b64json(claims)}.`;
    await expectInvalidToken(token, '/v1/data/');
    await expectInvalidToken(token, '/v1/verify');
  }
});

test('alg "none" carrying the original signature is refused', async () => {
  const [, , sig] = victimToken.split('.');
  const token = `${b64json({ alg: 'none', typ: 'at+jwt' })}.${b64json(claimsLike(victimToken))}.${sig}`;
  await expectInvalidToken(token, '/v1/verify');
});

async function publicJwk(): Promise<JWK> {
  const res = await server.fetch('/.well-known/jwks.json');
  assert.equal(res.status, 200);
  const { keys } = (await res.json()) as { keys: JWK[] };
  assert.ok(keys.length > 0);
  return keys[0]!;
}

test('HS256 signed with the server public key as PEM (SPKI) text is refused (HS/RS confusion)', async () => {
  const jwk = await publicJwk();
  const pem = await exportSPKI((await importJWK({ ...jwk }, jwk.alg)) as never);
  const claims = claimsLike(victimToken);
  for (const secret of [pem, pem.trim(), pem.replace(/\n/g, '\r\n')]) {
    const token = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid: jwk.kid! }).sign(new TextEncoder().encode(secret));
    await expectInvalidToken(token, '/v1/verify');
    const noKid = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'at+jwt' }).sign(new TextEncoder().encode(secret));
    await expectInvalidToken(noKid, '/v1/verify');
  }
});

test('HS256 signed with the server public key as SPKI DER bytes is refused', async () => {
  const jwk = await publicJwk();
  const der = createPublicKey({ key: jwk as never, format: 'jwk' }).export({ type: 'spki', format: 'der' });
  const token = await new SignJWT(claimsLike(victimToken)).setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid: jwk.kid! }).sign(new Uint8Array(der));
  await expectInvalidToken(token, '/v1/verify');
});

test('HS256 signed with the raw JWK "x" bytes (and the "x" string) of the public key is refused', async () => {
  const jwk = await publicJwk();
  const claims = claimsLike(victimToken);
  for (const secret of [base64url.decode(jwk.x!), new TextEncoder().encode(jwk.x!), new TextEncoder().encode(JSON.stringify(jwk))]) {
    const token = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid: jwk.kid! }).sign(secret);
    await expectInvalidToken(token, '/v1/verify');
  }
});

test('a token signed by another Ed25519 key under the real kid is refused', async () => {
  const { kid } = await currentSigningKey(server);
  const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
  const token = await new SignJWT(claimsLike(victimToken)).setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', kid }).sign(privateKey);
  await expectInvalidToken(token, '/v1/verify');
});

test('a token with an embedded "jwk" header (self-supplied key) is refused', async () => {
  const { kid } = await currentSigningKey(server);
  const { privateKey, publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
  const { exportJWK } = await import('jose');
  const jwk = await exportJWK(publicKey);
  const token = await new SignJWT(claimsLike(victimToken)).setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', kid, jwk }).sign(privateKey);
  await expectInvalidToken(token, '/v1/verify');
});

// ---------------------------------------------------------------------------------------------
// claims and header checks (signed with the real key)

test('an expired token (exp beyond the 30 s skew) is refused', async () => {
  const t = now();
  await expectInvalidToken(await forge(claimsLike(victimToken, { iat: t - 3000, exp: t - 120 })));
  await expectInvalidToken(await forge(claimsLike(victimToken, { iat: t - 3000, exp: t - 120 })), '/v1/verify');
});

test('a token that is not yet valid (nbf 10 minutes ahead) is refused', async () => {
  const t = now();
  await expectInvalidToken(await forge(claimsLike(victimToken, { nbf: t + 600, exp: t + 1200 })));
});

test('a token without exp is refused', async () => {
  const { exp: _exp, ...claims } = claimsLike(victimToken);
  await expectInvalidToken(await forge(claims), '/v1/verify');
});

test('tampered payload (username, sub, scope changed; signature kept) is refused', async () => {
  const [h, p, sig] = victimToken.split('.') as [string, string, string];
  const original = decodeJwt(victimToken);
  const me = (await (await server.fetch('/v1/users', { headers: bearer(await server.adminToken()) })).json()) as { users: { username: string; public_id: string }[] };
  const admin = me.users.find((u) => u.username === 'admin')!;
  const variants: JWTPayload[] = [
    { ...original, username: 'admin' },
    { ...original, sub: admin.public_id, public_id: admin.public_id, username: 'admin' },
    { ...original, scope: `${String(original.scope)} admin` },
    { ...original, exp: (original.exp ?? 0) + 86_400 },
  ];
  for (const v of variants) {
    const token = `${h}.${b64json(v)}.${sig}`;
    assert.notEqual(token, victimToken);
    await expectInvalidToken(token, '/v1/verify');
  }
  // and the untouched token is still fine
  assert.equal((await server.fetch('/v1/data/', { headers: bearer(victimToken) })).status, 200);
  assert.equal(p, victimToken.split('.')[1]);
});

test('tampered header (typ/kid rewritten, signature kept) is refused', async () => {
  const [, p, sig] = victimToken.split('.') as [string, string, string];
  const header = JSON.parse(Buffer.from(victimToken.split('.')[0]!, 'base64url').toString()) as Record<string, unknown>;
  await expectInvalidToken(`${b64json({ ...header, extra: 1 })}.${p}.${sig}`, '/v1/verify');
});

test('wrong issuer (signed with the real key) is refused', async () => {
  await expectInvalidToken(await forge(claimsLike(victimToken, { iss: 'evil' })));
  await expectInvalidToken(await forge(claimsLike(victimToken, { iss: 'Coffer' })), '/v1/verify');
});

test('missing issuer (signed with the real key) is refused', async () => {
  const { iss: _iss, ...claims } = claimsLike(victimToken);
  await expectInvalidToken(await forge(claims), '/v1/verify');
});

test('typ "JWT" instead of "at+jwt" is refused', async () => {
  await expectInvalidToken(await forge(claimsLike(victimToken), { typ: 'JWT' }));
});

test('missing typ header is refused', async () => {
  await expectInvalidToken(await forge(claimsLike(victimToken), { typ: undefined }), '/v1/verify');
});

test('an unknown kid is refused', async () => {
  await expectInvalidToken(await forge(claimsLike(victimToken), { kid: 'no-such-key' }));
});

test('a missing kid is refused (asymmetric mode)', async () => {
  await expectInvalidToken(await forge(claimsLike(victimToken), { kid: undefined }), '/v1/verify');
});

test('a token whose sub and public_id differ is refused', async () => {
  await expectInvalidToken(await forge(claimsLike(victimToken, { public_id: randomUUID() })), '/v1/verify');
});

test('a token for a user id that does not exist is refused', async () => {
  const id = randomUUID();
  await expectInvalidToken(await forge(claimsLike(victimToken, { sub: id, public_id: id })), '/v1/verify');
});

test('a token claiming an older token version (ver) is refused', async () => {
  const ver = decodeJwt(victimToken).ver as number;
  await expectInvalidToken(await forge(claimsLike(victimToken, { ver: ver + 1 })), '/v1/verify');
});

test('a token that claims scopes the user does not hold does not get them', async () => {
  const forged = await forge(claimsLike(victimToken, { scope: 'kv:read kv:write admin' }));
  const res = await server.fetch('/v1/users', { headers: bearer(forged) });
  assert.equal(res.status, 403);
  assert.equal(((await res.json()) as { code: string }).code, 'insufficient_scope');
});

// ---------------------------------------------------------------------------------------------
// live state: revocation

test('token of a deleted user stops working at once', async () => {
  const u = await freshUser('deleted');
  assert.equal((await server.fetch('/v1/data/', { headers: bearer(u.token) })).status, 200);
  const del = await server.fetch(`/v1/users/${u.username}`, { method: 'DELETE', headers: bearer(await server.adminToken()) });
  assert.equal(del.status, 200);
  await expectInvalidToken(u.token);
  await expectInvalidToken(u.token, '/v1/verify');
});

test('token of a disabled user stops working at once, and its refresh token too', async () => {
  const u = await freshUser('disabled');
  const session = await login(u.username, u.password);
  assert.equal((await server.fetch('/v1/data/', { headers: bearer(u.token) })).status, 200);
  await adminPatch(u.username, { disabled: true });
  await expectInvalidToken(u.token);
  await expectInvalidToken(session.access_token, '/v1/verify');
  await expectInvalidGrant(session.refresh_token);
  // re-enabling does not resurrect the old tokens
  await adminPatch(u.username, { disabled: false });
  await expectInvalidToken(u.token, '/v1/verify');
});

test('a disabled user cannot log in (401, same answer as a wrong password)', async () => {
  const u = await freshUser('nologin');
  await adminPatch(u.username, { disabled: true });
  const res = await server.fetch('/v1/login', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: u.username, password: u.password }),
  });
  assert.equal(res.status, 401);
  assert.equal(((await res.json()) as { code: string }).code, 'invalid_credentials');
});

test('after a password change (self PATCH with current_password) the old token is dead at once', async () => {
  const u = await freshUser('pwchange');
  const session = await login(u.username, u.password);
  const res = await server.fetch(`/v1/users/${u.username}`, {
    method: 'PATCH',
    headers: bearer(u.token, { 'content-type': 'application/json' }),
    body: JSON.stringify({ password: 'a-brand-new-password-2', current_password: u.password }),
  });
  assert.equal(res.status, 200);
  await expectInvalidToken(u.token);
  await expectInvalidToken(session.access_token, '/v1/verify');
  await expectInvalidGrant(session.refresh_token);
  // the new password works, the old one does not
  const fresh = await login(u.username, 'a-brand-new-password-2');
  await expectAccepted(fresh.access_token);
});

test('self password change with a wrong current_password is refused and changes nothing', async () => {
  const u = await freshUser('pwwrong');
  const res = await server.fetch(`/v1/users/${u.username}`, {
    method: 'PATCH',
    headers: bearer(u.token, { 'content-type': 'application/json' }),
    body: JSON.stringify({ password: 'a-brand-new-password-2', current_password: 'not-the-password' }),
  });
  assert.equal(res.status, 403);
  await expectAccepted(u.token);
});

test('POST /v1/logout revokes the very token presented', async () => {
  const u = await freshUser('logout');
  const res = await server.fetch('/v1/logout', { method: 'POST', headers: bearer(u.token) });
  assert.ok(res.status === 200 || res.status === 204, `logout → ${res.status}`);
  await expectInvalidToken(u.token);
  await expectInvalidToken(u.token, '/v1/verify');
  // and through the other accepted headers
  await expectInvalidToken(u.token, '/v1/verify', { 'x-access-tokens': u.token });
  await expectInvalidToken(u.token, '/v1/verify', { 'x-auth-token': u.token });
});

test('a refresh token used as an access token is refused', async () => {
  const u = await freshUser('rtaccess');
  const session = await login(u.username, u.password);
  await expectInvalidToken(session.refresh_token);
  await expectInvalidToken(session.refresh_token, '/v1/verify');
  await expectInvalidToken(session.refresh_token, '/v1/verify', { 'x-access-tokens': session.refresh_token });
});

test('an access token used as a refresh token → 401 invalid_grant', async () => {
  const u = await freshUser('atrefresh');
  await expectInvalidGrant(u.token);
  // form body too
  const res = await server.fetch('/v1/token/refresh', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ refresh_token: u.token }).toString(),
  });
  assert.equal(res.status, 401);
  assert.equal(((await res.json()) as { code: string }).code, 'invalid_grant');
});

test('a malformed Authorization header is refused, not ignored', async () => {
  for (const value of [`Bearer`, `Bearer ${victimToken} extra`, `Token ${victimToken}`, `Basic ${Buffer.from('victim:victim-password-1').toString('base64')}`]) {
    const res = await server.fetch('/v1/data/', { headers: { authorization: value } });
    assert.equal(res.status, 401, `Authorization: ${value.slice(0, 20)}… → ${res.status}`);
  }
});

// ---------------------------------------------------------------------------------------------
// refresh tokens

test('refresh rotates: a new, different refresh token; the old one is then refused', async () => {
  const u = await freshUser('rotate');
  const s1 = await login(u.username, u.password);
  const r = await refresh(s1.refresh_token);
  assert.equal(r.status, 200);
  assert.notEqual(r.body.refresh_token, s1.refresh_token);
  assert.notEqual(r.body.access_token, s1.access_token);
  assert.equal(r.body.token_type, 'Bearer');
  await expectAccepted(r.body.access_token);
  await expectInvalidGrant(s1.refresh_token);
});

test('reuse of a used refresh token revokes the whole family', async () => {
  const u = await freshUser('reuse');
  const s1 = await login(u.username, u.password);
  const r2 = await refresh(s1.refresh_token);
  assert.equal(r2.status, 200);
  const r3 = await refresh(r2.body.refresh_token);
  assert.equal(r3.status, 200);
  await expectAccepted(r3.body.access_token);
  // the thief replays the first one
  await expectInvalidGrant(s1.refresh_token);
  // the newest refresh token of that family is dead too
  await expectInvalidGrant(r3.body.refresh_token);
  // and every access token issued in the family stops working
  await expectInvalidToken(s1.access_token, '/v1/verify');
  await expectInvalidToken(r2.body.access_token, '/v1/verify');
  await expectInvalidToken(r3.body.access_token);
  // another session of the same user is not affected
  const other = await login(u.username, u.password);
  await expectAccepted(other.access_token);
  assert.equal((await refresh(other.refresh_token)).status, 200);
});

test('concurrent use of one refresh token: exactly one succeeds, and then the family is revoked', async () => {
  const u = await freshUser('race');
  const s1 = await login(u.username, u.password);
  const results = await Promise.all([refresh(s1.refresh_token), refresh(s1.refresh_token), refresh(s1.refresh_token)]);
  const ok = results.filter((r) => r.status === 200);
  // The first to spend the token wins; the others are reuse, which revokes the whole family.
  assert.equal(ok.length, 1, `${ok.length} concurrent refreshes succeeded`);
  await expectInvalidToken(s1.access_token, '/v1/verify');
  for (const r of results.filter((x) => x.status !== 200)) {
    assert.equal(r.status, 401);
    assert.equal(r.body.code, 'invalid_grant');
  }
  for (const r of ok) await expectInvalidGrant(r.body.refresh_token);
});

test('logout revokes the refresh family of the access token', async () => {
  const u = await freshUser('logoutfam');
  const s1 = await login(u.username, u.password);
  const res = await server.fetch('/v1/logout', { method: 'POST', headers: bearer(s1.access_token) });
  assert.ok(res.status === 200 || res.status === 204);
  await expectInvalidGrant(s1.refresh_token);
  await expectInvalidToken(s1.access_token, '/v1/verify');
  // the other session (from createUser) lives on
  await expectAccepted(u.token);
});

test('logout after a refresh revokes the rotated family (access tokens of the family die too)', async () => {
  const u = await freshUser('logoutrot');
  const s1 = await login(u.username, u.password);
  const r2 = await refresh(s1.refresh_token);
  assert.equal(r2.status, 200);
  const res = await server.fetch('/v1/logout', { method: 'POST', headers: bearer(r2.body.access_token) });
  assert.ok(res.status === 200 || res.status === 204);
  await expectInvalidGrant(r2.body.refresh_token);
  await expectInvalidToken(s1.access_token, '/v1/verify');
});

test('logout with {refresh_token} also revokes that (other) session of the caller', async () => {
  const u = await freshUser('logoutrt');
  const a = await login(u.username, u.password);
  const b = await login(u.username, u.password);
  const res = await server.fetch('/v1/logout', {
    method: 'POST',
    headers: bearer(a.access_token, { 'content-type': 'application/json' }),
    body: JSON.stringify({ refresh_token: b.refresh_token }),
  });
  assert.ok(res.status === 200 || res.status === 204);
  await expectInvalidGrant(a.refresh_token);
  await expectInvalidGrant(b.refresh_token);
});

test("logout with another user's refresh_token does not revoke that user's session", async () => {
  const attacker = await freshUser('logoutatk');
  const target = await freshUser('logouttgt');
  const victimSession = await login(target.username, target.password);
  const res = await server.fetch('/v1/logout', {
    method: 'POST',
    headers: bearer(attacker.token, { 'content-type': 'application/json' }),
    body: JSON.stringify({ refresh_token: victimSession.refresh_token }),
  });
  assert.ok(res.status < 500);
  const r = await refresh(victimSession.refresh_token);
  assert.equal(r.status, 200, JSON.stringify(r.body));
});

test('unknown or garbage refresh token → 401 invalid_grant', async () => {
  for (const t of ['garbage', 'crt_' + 'A'.repeat(43), 'crt_', '', 'x'.repeat(5000)]) {
    await expectInvalidGrant(t);
  }
});

test('a refresh token for a deleted user → 401 invalid_grant', async () => {
  const u = await freshUser('rtdeleted');
  const s1 = await login(u.username, u.password);
  const del = await server.fetch(`/v1/users/${u.username}`, { method: 'DELETE', headers: bearer(await server.adminToken()) });
  assert.equal(del.status, 200);
  await expectInvalidGrant(s1.refresh_token);
});

// ---------------------------------------------------------------------------------------------
// scopes

test('login with scope "kv:read" (form field) reads KV but gets 403 insufficient_scope on PUT', async () => {
  const u = await freshUser('narrow');
  const put0 = await server.fetch('/v1/data/k', { method: 'PUT', headers: bearer(u.token, { 'content-type': 'application/json' }), body: JSON.stringify({ value: 'v' }) });
  assert.equal(put0.status, 201);
  const res = await server.fetch('/v1/login', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ username: u.username, password: u.password, scope: 'kv:read' }).toString(),
  });
  assert.equal(res.status, 200);
  const { access_token } = (await res.json()) as { access_token: string };
  assert.equal(decodeJwt(access_token).scope, 'kv:read');
  const get = await server.fetch('/v1/data/k', { headers: bearer(access_token) });
  assert.equal(get.status, 200);
  assert.deepEqual(await get.json(), { key: 'k', value: 'v' });
  const put = await server.fetch('/v1/data/k', { method: 'PUT', headers: bearer(access_token, { 'content-type': 'application/json' }), body: JSON.stringify({ value: 'w' }) });
  assert.equal(put.status, 403);
  assert.equal(((await put.json()) as { code: string }).code, 'insufficient_scope');
  const del = await server.fetch('/v1/data/k', { method: 'DELETE', headers: bearer(access_token) });
  assert.equal(del.status, 403);
  // nothing changed
  const again = await server.fetch('/v1/data/k', { headers: bearer(u.token) });
  assert.deepEqual(await again.json(), { key: 'k', value: 'v' });
});

test('a non-admin token gets 403 on GET /v1/users (and on admin-only actions)', async () => {
  const u = await freshUser('plain');
  const res = await server.fetch('/v1/users', { headers: bearer(u.token) });
  assert.equal(res.status, 403);
  assert.equal(((await res.json()) as { code: string }).code, 'insufficient_scope');
  const rotate = await server.fetch('/v1/admin/signing-keys/rotate', { method: 'POST', headers: bearer(u.token) });
  assert.equal(rotate.status, 403);
  const patchOther = await server.fetch('/v1/users/victim', {
    method: 'PATCH',
    headers: bearer(u.token, { 'content-type': 'application/json' }),
    body: JSON.stringify({ disabled: true }),
  });
  assert.equal(patchOther.status, 403);
  const selfAdmin = await server.fetch(`/v1/users/${u.username}`, {
    method: 'PATCH',
    headers: bearer(u.token, { 'content-type': 'application/json' }),
    body: JSON.stringify({ admin: true }),
  });
  assert.equal(selfAdmin.status, 403);
  await expectAccepted(victimToken);
});

test('a non-admin asking for scope "admin" at login does not get it', async () => {
  const u = await freshUser('wantadmin');
  const res = await server.fetch('/v1/login', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: u.username, password: u.password, scope: 'admin kv:read' }),
  });
  assert.equal(res.status, 200);
  const { access_token } = (await res.json()) as { access_token: string };
  assert.ok(!String(decodeJwt(access_token).scope).split(' ').includes('admin'));
  // Narrowed to what was asked and is held: kv:read alone.
  assert.equal(decodeJwt(access_token).scope, 'kv:read');
  assert.equal((await server.fetch('/v1/users', { headers: bearer(access_token) })).status, 403);
});

test('scope at login is space-separated: "kv:read objects:read" narrows to exactly those two', async () => {
  const u = await freshUser('twoscopes');
  const res = await server.fetch('/v1/login', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: u.username, password: u.password, scope: 'kv:read objects:read' }),
  });
  assert.equal(res.status, 200);
  const { access_token, scope } = (await res.json()) as { access_token: string; scope: string };
  assert.equal(scope, 'kv:read objects:read');
  assert.equal(decodeJwt(access_token).scope, 'kv:read objects:read');
  assert.equal((await server.fetch('/v1/data/', { headers: bearer(access_token) })).status, 200);
  assert.equal((await server.fetch('/v1/objects/', { headers: bearer(access_token) })).status, 200);
  const write = await server.fetch('/v1/data/x', { method: 'PUT', headers: bearer(access_token, { 'content-type': 'application/json' }), body: '{"value":1}' });
  assert.equal(write.status, 403);
  assert.equal(((await write.json()) as { code: string }).code, 'insufficient_scope');
});

test('an admin token narrowed to kv:read loses admin rights', async () => {
  const s = await login('admin', 'admin-password-for-tests', { scope: 'kv:read' });
  const res = await server.fetch('/v1/users', { headers: bearer(s.access_token) });
  assert.equal(res.status, 403);
  assert.equal(((await res.json()) as { code: string }).code, 'insufficient_scope');
});

test('refresh does not widen a narrowed scope', async () => {
  const u = await freshUser('narrowrt');
  const s1 = await login(u.username, u.password, { scope: 'kv:read' });
  assert.equal(s1.scope, 'kv:read');
  const r = await refresh(s1.refresh_token);
  assert.equal(r.status, 200);
  assert.equal(decodeJwt(r.body.access_token).scope, 'kv:read');
  const put = await server.fetch('/v1/data/x', { method: 'PUT', headers: bearer(r.body.access_token, { 'content-type': 'application/json' }), body: JSON.stringify({ value: 1 }) });
  assert.equal(put.status, 403);
  assert.equal(((await put.json()) as { code: string }).code, 'insufficient_scope');
  // a scope field sent with the refresh is not honoured to widen it
  const res = await server.fetch('/v1/token/refresh', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ refresh_token: r.body.refresh_token, scope: 'kv:read kv:write admin' }),
  });
  if (res.status === 200) {
    const body = (await res.json()) as { access_token: string };
    assert.equal(decodeJwt(body.access_token).scope, 'kv:read');
  } else {
    assert.ok(res.status === 400 || res.status === 401);
  }
});

test('revoking a grant takes effect on existing tokens', async () => {
  const u = await freshUser('grantcut');
  await adminPatch(u.username, { grants: ['kv:read'] });
  const put = await server.fetch('/v1/data/x', { method: 'PUT', headers: bearer(u.token, { 'content-type': 'application/json' }), body: JSON.stringify({ value: 1 }) });
  assert.equal(put.status, 403);
  assert.equal((await server.fetch('/v1/data/', { headers: bearer(u.token) })).status, 200);
});

// ---------------------------------------------------------------------------------------------
// login

test('unknown user and wrong password: same status (401) and byte-identical body', async () => {
  await freshUser('known');
  const attempt = async (username: string, password: string) => {
    const res = await server.fetch('/v1/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username, password }),
    });
    return { status: res.status, type: res.headers.get('content-type'), body: await res.text() };
  };
  const wrong = await attempt(`known${counter}`, 'wrong-password-123');
  const unknown = await attempt('no-such-user-anywhere', 'wrong-password-123');
  assert.equal(wrong.status, 401);
  assert.equal(unknown.status, 401);
  assert.equal(unknown.body, wrong.body);
  assert.equal(unknown.type, wrong.type);
  assert.equal((JSON.parse(wrong.body) as { code: string }).code, 'invalid_credentials');
  // HTTP Basic too
  const basic = async (cred: string) => {
    const res = await server.fetch('/v1/login', { method: 'POST', headers: { authorization: `Basic ${Buffer.from(cred).toString('base64')}` } });
    return { status: res.status, body: await res.text() };
  };
  const bw = await basic(`known${counter}:wrong-password-123`);
  const bu = await basic('no-such-user-either:wrong-password-123');
  assert.equal(bw.status, 401);
  assert.deepEqual(bu, bw);
  assert.equal(bw.body, wrong.body);
});

test('unknown user and wrong password take comparable time', async () => {
  const u = await freshUser('timing');
  const time = async (username: string) => {
    const t0 = performance.now();
    const res = await server.fetch('/v1/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username, password: 'wrong-password-123' }),
    });
    await res.text();
    assert.equal(res.status, 401);
    return performance.now() - t0;
  };
  await time('warmup-unknown'); // the dummy hash is computed once, lazily
  const known: number[] = [];
  const unknown: number[] = [];
  for (let i = 0; i < 3; i++) {
    known.push(await time(u.username));
    unknown.push(await time(`ghost-${i}`));
  }
  const med = (a: number[]) => a.sort((x, y) => x - y)[1]!;
  const ratio = med(unknown) / med(known);
  assert.ok(ratio > 0.33 && ratio < 3, `unknown ${med(unknown).toFixed(1)} ms vs wrong password ${med(known).toFixed(1)} ms`);
});

test('throttling: 5 wrong → 401, the 6th → 429 with Retry-After; right password then 429; other accounts unaffected', async () => {
  const u = await freshUser('throttled');
  const bystander = await freshUser('bystander');
  const attempt = (username: string, password: string) =>
    server.fetch('/v1/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username, password }),
    });
  for (let i = 1; i <= 5; i++) {
    const res = await attempt(u.username, `wrong-password-${i}`);
    assert.equal(res.status, 401, `attempt ${i}`);
    await res.body?.cancel();
  }
  const sixth = await attempt(u.username, 'wrong-password-6');
  assert.equal(sixth.status, 429);
  const retryAfter = sixth.headers.get('retry-after');
  assert.ok(retryAfter !== null, 'Retry-After header present');
  assert.match(retryAfter, /^\d+$/);
  assert.ok(Number(retryAfter) >= 1 && Number(retryAfter) <= 900, `Retry-After ${retryAfter}`);
  assert.equal(((await sixth.json()) as { code: string }).code, 'too_many_requests');

  const right = await attempt(u.username, u.password);
  assert.equal(right.status, 429, 'the right password is throttled too');
  assert.ok(right.headers.get('retry-after'));
  await right.body?.cancel();

  const basic = await server.fetch('/v1/login', { method: 'POST', headers: { authorization: `Basic ${Buffer.from(`${u.username}:${u.password}`).toString('base64')}` } });
  assert.equal(basic.status, 429, 'HTTP Basic is throttled too');
  await basic.body?.cancel();

  // the failures were on this account only
  const other = await attempt(bystander.username, bystander.password);
  assert.equal(other.status, 200);
  await other.body?.cancel();
  // existing tokens of the throttled account keep working
  await expectAccepted(u.token);
});

test('throttling holds against a burst: 20 concurrent wrong guesses get the password checked 5 times, the rest 429', async () => {
  const u = await freshUser('burst');
  const guesses = await Promise.all(
    Array.from({ length: 20 }, async (_, i) => {
      const res = await server.fetch('/v1/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: u.username, password: `guess-${i}` }) });
      await res.body?.cancel();
      return res.status;
    }),
  );
  assert.equal(guesses.filter((s) => s === 401).length, 5, `statuses: ${guesses.join(' ')}`);
  assert.equal(guesses.filter((s) => s === 429).length, 15, `statuses: ${guesses.join(' ')}`);
  const right = await server.fetch('/v1/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: u.username, password: u.password }) });
  assert.equal(right.status, 429, 'the account stays locked for the window');
  await right.body?.cancel();
});

test('a burst of right passwords on one account (workers sharing it) all get in: attempts wait their turn, none is refused', async () => {
  const u = await freshUser('workers');
  const logins = await Promise.all(
    Array.from({ length: 12 }, async () => {
      const res = await server.fetch('/v1/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: u.username, password: u.password }) });
      await res.body?.cancel();
      return res.status;
    }),
  );
  assert.deepEqual(logins, Array(12).fill(200));
});

test('throttling counts failures for unknown accounts the same way (no user enumeration through 429)', async () => {
  const attempt = (username: string) =>
    server.fetch('/v1/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username, password: 'wrong-password-x' }),
    });
  const statuses: number[] = [];
  for (let i = 0; i < 6; i++) {
    const res = await attempt('ghost-throttle');
    statuses.push(res.status);
    await res.body?.cancel();
  }
  assert.deepEqual(statuses, [401, 401, 401, 401, 401, 429]);
});

test('login via HTTP Basic, form and JSON all work and answer the documented token response', async () => {
  const u = await freshUser('ways');
  const requests: [string, RequestInit][] = [
    ['basic', { method: 'POST', headers: { authorization: `Basic ${Buffer.from(`${u.username}:${u.password}`).toString('base64')}` } }],
    ['form', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ username: u.username, password: u.password }).toString() }],
    ['json', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: u.username, password: u.password }) }],
    ['json name alias', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: u.username, password: u.password }) }],
  ];
  for (const [how, init] of requests) {
    const res = await server.fetch('/v1/login', init);
    assert.equal(res.status, 200, `${how}: ${res.status}`);
    const body = (await res.json()) as Record<string, unknown>;
    assert.equal(typeof body.access_token, 'string', how);
    assert.equal(body.token_type, 'Bearer', how);
    assert.equal(body.expires_in, 2700, how);
    assert.equal(typeof body.refresh_token, 'string', how);
    assert.notEqual(body.refresh_token, body.access_token, how);
    assert.equal(body.jwt, body.access_token, how);
    assert.equal(body.token, body.access_token, how);
    const claims = decodeJwt(body.access_token as string);
    assert.equal(claims.username, u.username, how);
    assert.equal((claims.exp ?? 0) - (claims.iat ?? 0), 2700, how);
    await expectAccepted(body.access_token as string);
  }
});

test('a login response is never cached', async () => {
  const u = await freshUser('nocache');
  const res = await server.fetch('/v1/login', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: u.username, password: u.password }),
  });
  assert.equal(res.status, 200);
  await res.body?.cancel();
  assert.match(res.headers.get('cache-control') ?? '', /no-store/);
});

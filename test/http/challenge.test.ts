/**
 * The challenge flow of SPEC §2 and the older parcel API of SPEC §4, over real HTTP: a client that
 * holds a key pair asks POST /api/v1/auth for a token, signs its exact bytes, and uploads,
 * downloads and removes parcels with X-Auth-Token / X-Public-Key / X-Signature. The client side
 * uses node:crypto only (test/helpers/key-client.ts), never the server's helpers.
 */
import assert from 'node:assert/strict';
import { createHash, createPublicKey, generateKeyPairSync, randomBytes, verify } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import pg from 'pg';
import {
  challengeHeaders,
  encode,
  flipS,
  isHighS,
  makeKey,
  signBytes,
  type Encoding,
  type KeyHolder,
  type SignOptions,
} from '../helpers/key-client.js';
import { bearer, startServer, type TestServer } from '../helpers/server.js';
import { TestClock } from '../helpers/clock.js';
import { expectProblem } from '../helpers/problem.js';
import {
  askChallenge,
  challengeFor,
  decodeJwtPart,
  expectStatus,
  JSON_HEADERS,
  ownerOf,
  parcelIdOf,
  registerKey,
  sha256,
  signedBy,
  uploadAs,
  uploadJson,
  uploadRaw,
  usernames,
  type Signer,
} from '../helpers/amo-client.js';

// ---------------------------------------------------------------------------------------------
// the servers and keys shared by the tests

/** Default settings: self-registration by key is off (COFFER_OPEN_REGISTRATION is false). */
let server: TestServer;
/** COFFER_PUBKEY_SELF_REGISTRATION=true (open registration stays off). */
let selfReg: TestServer;

let flowToken: string;
let keys: { ed25519: KeyHolder; p256: KeyHolder; rsa: KeyHolder };
/** Users of the negative tests: alice holds an Ed25519 key, bob a P-256 key. */
let alice: Signer;
let bob: Signer;

before(async () => {
  server = await startServer();
  selfReg = await startServer({ COFFER_PUBKEY_SELF_REGISTRATION: 'true' });

  // One key of each type for the whole-flow tests (RSA keys are slow to make: once).
  keys = { ed25519: makeKey('ed25519'), p256: makeKey('p256'), rsa: makeKey('rsa') };
  flowToken = await server.createUser('flow');
  // Registered in three different ways: JSON base64, admin JSON hex, a PEM body.
  await registerKey(server, flowToken, keys.ed25519.raw.toString('base64'));
  const byAdmin = await server.fetch('/v1/users/flow/keys', {
    method: 'POST',
    headers: bearer(await server.adminToken(), JSON_HEADERS),
    body: JSON.stringify({ key: keys.p256.raw.toString('hex') }),
  });
  await expectStatus(byAdmin, 201, 'admin POST /v1/users/flow/keys');
  const pem = await server.fetch('/v1/keys', {
    method: 'POST',
    headers: bearer(flowToken, { 'content-type': 'application/x-pem-file' }),
    body: keys.rsa.publicKey.export({ format: 'pem', type: 'spki' }),
  });
  await expectStatus(pem, 201, 'POST /v1/keys (PEM)');

  alice = { holder: makeKey('ed25519') };
  bob = { holder: makeKey('p256') };
  await registerKey(server, await server.createUser('alice'), alice.holder.raw.toString('hex'));
  await registerKey(server, await server.createUser('bob'), bob.holder.raw.toString('base64url'));
});

after(async () => {
  await server?.close();
  await selfReg?.close();
});

// ---------------------------------------------------------------------------------------------
// 1. the whole flow, for each key type, signature form and encoding

interface Mode {
  name: string;
  key: () => KeyHolder;
  options: SignOptions;
}

const MODES: Mode[] = [
  { name: 'Ed25519', key: () => keys.ed25519, options: {} },
  { name: 'P-256 (raw r‖s signatures)', key: () => keys.p256, options: { p256Form: 'raw' } },
  { name: 'P-256 (DER signatures)', key: () => keys.p256, options: { p256Form: 'der' } },
  { name: 'RSA (PKCS#1 v1.5 signatures)', key: () => keys.rsa, options: { rsaPadding: 'pkcs1' } },
  { name: 'RSA (PSS signatures)', key: () => keys.rsa, options: { rsaPadding: 'pss' } },
];
const ENCODINGS: Encoding[] = ['hex', 'HEX', 'base64', 'base64url'];

for (const mode of MODES) {
  for (const encoding of ENCODINGS) {
    test(`whole flow (upload JSON, download JSON and raw, remove) with ${mode.name}, key and signature in ${encoding}`, async () => {
      const signer: Signer = { holder: mode.key(), encoding, options: mode.options };
      const data = Buffer.concat([Buffer.from(`${mode.name}/${encoding}:`), randomBytes(300)]);
      const id = parcelIdOf(data);
      // Hashes and ids are compared case-insensitively: vary the case the client uses.
      const upper = encoding === 'HEX' || encoding === 'base64';
      const metadata = { name: `${encoding}.bin`, n: 1, nested: { ok: true } };

      const up = await challengeFor(server, 'flow', { name: 'upload', hash: upper ? sha256(data).toUpperCase() : sha256(data) });
      const res = await uploadJson(server, signedBy(signer, up), { owner: 'flow', metadata, data: data.toString('hex') });
      const body = JSON.parse(await expectStatus(res, 200, 'upload')) as Record<string, unknown>;
      assert.deepEqual(body, { id });
      assert.equal(id.length, 72);

      const urlId = upper ? id.toLowerCase() : id;
      const tokenId = upper ? id : id.toLowerCase();
      const down = await challengeFor(server, 'flow', { name: 'download', id: tokenId });
      const json = await server.fetch(`/api/v1/parcels/${urlId}`, { headers: signedBy(signer, down) });
      const parcel = JSON.parse(await expectStatus(json, 200, 'JSON download')) as Record<string, unknown>;
      assert.deepEqual(parcel, { id, owner: 'flow', metadata, data: data.toString('hex') });

      const downRaw = await challengeFor(server, 'flow', { name: 'download', id: tokenId });
      const raw = await server.fetch(`/api/v1/parcels/${urlId}`, { headers: { ...signedBy(signer, downRaw), accept: 'application/octet-stream' } });
      assert.equal(raw.status, 200);
      assert.ok(Buffer.from(await raw.arrayBuffer()).equals(data), 'the raw download is the bytes uploaded');

      const removal = await challengeFor(server, 'flow', { name: 'remove', id: tokenId });
      const del = await server.fetch(`/api/v1/parcels/${urlId}`, { method: 'DELETE', headers: signedBy(signer, removal) });
      await expectStatus(del, 204, 'remove');
      assert.equal((await ownerOf(server, id)).status, 404, 'the parcel is gone');
    });
  }
}

test('a raw-body upload streams and yields the same id; the parcel is also the owner’s object parcels/{id}', async () => {
  const signer: Signer = { holder: keys.ed25519 };
  const data = randomBytes(200_000);
  const id = parcelIdOf(data);
  const up = await challengeFor(server, 'flow', { name: 'upload', hash: sha256(data) });
  assert.deepEqual(JSON.parse(await expectStatus(await uploadRaw(server, signedBy(signer, up), data), 200, 'raw upload')), { id });
  const obj = await server.fetch(`/v1/objects/parcels/${id}?meta`, { headers: bearer(flowToken) });
  const view = JSON.parse(await expectStatus(obj, 200, 'object meta')) as { size: number; sha256: string };
  assert.deepEqual([view.size, view.sha256], [data.length, sha256(data)]);
  const meta = await server.fetch(`/api/v1/parcels/${id}?key=metadata`);
  assert.deepEqual(JSON.parse(await expectStatus(meta, 200)), { metadata: {} });
  const removal = await challengeFor(server, 'flow', { name: 'remove', id });
  await expectStatus(await server.fetch(`/api/v1/parcels/${id}`, { method: 'DELETE', headers: signedBy(signer, removal) }), 204);
  await expectStatus(await server.fetch(`/v1/objects/parcels/${id}?meta`, { headers: bearer(flowToken) }), 404, 'object gone too');
});

// ---------------------------------------------------------------------------------------------
// 2. an AMO-like client: P-256, lowercase hex, raw r‖s high-S signatures, the address as user

test('AMO-like client: the P-256 address self-registers; upload, download, inspect and remove with hex high-S r‖s signatures', async () => {
  const holder = makeKey('p256');
  const address = holder.address!;
  assert.match(address, /^[0-9A-F]{40}$/);
  assert.ok(!(await usernames(selfReg)).includes(address));
  const key = holder.raw.toString('hex');
  /** AMO signs with Go/elliptic: raw r‖s in lowercase hex, not normalised; force the form wanted. */
  const amoHeaders = (token: string, high: boolean) => {
    let sig = signBytes(holder, Buffer.from(token, 'ascii'), { p256Form: 'raw' });
    if (isHighS(sig) !== high) sig = flipS(sig);
    assert.equal(isHighS(sig), high);
    return { 'x-auth-token': token, 'x-public-key': key, 'x-signature': sig.toString('hex') };
  };

  const data = Buffer.from(`{"doc": "AMO parcel", "rand": "${randomBytes(8).toString('hex')}"}`);
  const id = parcelIdOf(data);
  const metadata = { name: 'doc.json', type: 'application/json', tags: ['a', 'b'], size: data.length, nested: { x: null } };

  const up = await challengeFor(selfReg, address, { name: 'upload', hash: sha256(data) });
  const res = await uploadJson(selfReg, amoHeaders(up, true), { owner: address, metadata, data: data.toString('hex') });
  const upBody = JSON.parse(await expectStatus(res, 200, 'first (self-registering) upload')) as Record<string, unknown>;
  assert.deepEqual(upBody, { id });
  assert.ok(!('error' in upBody));

  // The user named by the address now exists, with the key registered.
  const adminToken = await selfReg.adminToken();
  const list = (await (await selfReg.fetch('/v1/users', { headers: bearer(adminToken) })).json()) as { users: { username: string; public_id: string; admin: boolean }[] };
  const created = list.users.find((u) => u.username === address);
  assert.ok(created, 'GET /v1/users lists the address');
  assert.equal(created.admin, false);
  const stored = await selfReg.coffer.internals.stores.keys.list(created.public_id);
  assert.deepEqual(stored.map((k) => [k.type, k.address]), [['p256', address]]);
  const again = await selfReg.fetch(`/v1/users/${address}/keys`, { method: 'POST', headers: bearer(adminToken, JSON_HEADERS), body: JSON.stringify({ key }) });
  await expectStatus(again, 409, 'the key is registered to the address user already');

  const down = await challengeFor(selfReg, address, { name: 'download', id });
  const got = await selfReg.fetch(`/api/v1/parcels/${id}`, { headers: amoHeaders(down, false) });
  const parcel = JSON.parse(await expectStatus(got, 200, 'JSON download')) as Record<string, unknown>;
  assert.deepEqual(parcel, { id, owner: address, metadata, data: data.toString('hex') });
  assert.match(parcel.data as string, /^[0-9a-f]*$/, 'data is lowercase hex');

  const meta = await selfReg.fetch(`/api/v1/parcels/${id}?key=metadata`);
  assert.deepEqual(JSON.parse(await expectStatus(meta, 200, '?key=metadata')), { metadata });
  assert.deepEqual(await ownerOf(selfReg, id), { status: 200, owner: address });
  assert.equal((await ownerOf(selfReg, id.toLowerCase())).status, 200, 'ids are case-insensitive');
  await expectProblem(await selfReg.fetch(`/api/v1/parcels/${id}?key=data`), 400, undefined, '?key=data');

  const removal = await challengeFor(selfReg, address, { name: 'remove', id });
  const del = await selfReg.fetch(`/api/v1/parcels/${id}`, { method: 'DELETE', headers: amoHeaders(removal, true) });
  await expectStatus(del, 204, 'remove');
  assert.equal((await ownerOf(selfReg, id)).status, 404);
  assert.equal((await usernames(selfReg)).filter((u) => u === address).length, 1, 'the user was created once');
});

test('AMO-like client: the address may be sent in lowercase; it names the same (uppercase) user', async () => {
  const holder = makeKey('p256');
  const address = holder.address!;
  const first = Buffer.from(`first ${randomBytes(8).toString('hex')}`);
  const t1 = await challengeFor(selfReg, address.toLowerCase(), { name: 'upload', hash: sha256(first) });
  await expectStatus(await uploadJson(selfReg, challengeHeaders(holder, t1), { owner: address.toLowerCase(), data: first.toString('hex') }), 200, 'lowercase user');
  const second = Buffer.from(`second ${randomBytes(8).toString('hex')}`);
  const t2 = await challengeFor(selfReg, address, { name: 'upload', hash: sha256(second) });
  await expectStatus(await uploadJson(selfReg, challengeHeaders(holder, t2), { owner: address, data: second.toString('hex') }), 200, 'uppercase user');
  assert.deepEqual(await ownerOf(selfReg, parcelIdOf(first)), { status: 200, owner: address });
  assert.deepEqual(await ownerOf(selfReg, parcelIdOf(second)), { status: 200, owner: address });
  const names = await usernames(selfReg);
  assert.equal(names.filter((u) => u.toUpperCase() === address).length, 1);
  assert.ok(names.includes(address));
});

test('AMO-like client: the compressed (33-byte) form of the key names the same address user', async () => {
  const holder = makeKey('p256');
  const address = holder.address!;
  const x = holder.raw.subarray(1, 33);
  const y = holder.raw.subarray(33);
  const compressed = Buffer.concat([Buffer.from([2 + (y[31]! & 1)]), x]);
  const ids: string[] = [];
  for (const key of [compressed.toString('hex'), holder.raw.toString('hex'), compressed.toString('base64')]) {
    const data = randomBytes(24);
    const token = await challengeFor(selfReg, address, { name: 'upload', hash: sha256(data) });
    const headers = { ...challengeHeaders(holder, token), 'x-public-key': key };
    await expectStatus(await uploadJson(selfReg, headers, { owner: address, data: data.toString('hex') }), 200, `key ${key.slice(0, 10)}…`);
    ids.push(parcelIdOf(data));
  }
  for (const id of ids) assert.deepEqual(await ownerOf(selfReg, id), { status: 200, owner: address });
  assert.equal((await usernames(selfReg)).filter((u) => u === address).length, 1);
});

test('AMO-like client: 10 concurrent first requests of a new address all succeed and create one user with one key', async () => {
  const holder = makeKey('p256');
  const address = holder.address!;
  const items = await Promise.all(
    Array.from({ length: 10 }, async () => {
      const data = randomBytes(24);
      return { data, token: await challengeFor(selfReg, address, { name: 'upload', hash: sha256(data) }) };
    }),
  );
  const statuses = await Promise.all(
    items.map(async ({ data, token }) => {
      const res = await uploadJson(selfReg, challengeHeaders(holder, token, 'hex', { highS: true }), { owner: address, data: data.toString('hex') });
      const text = await res.text();
      return `${res.status}${res.status === 200 ? '' : ' ' + text}`;
    }),
  );
  assert.deepEqual(statuses, Array(10).fill('200'));
  for (const { data } of items) assert.deepEqual(await ownerOf(selfReg, parcelIdOf(data)), { status: 200, owner: address });
  const list = (await (await selfReg.fetch('/v1/users', { headers: bearer(await selfReg.adminToken()) })).json()) as { users: { username: string; public_id: string }[] };
  const created = list.users.filter((u) => u.username === address);
  assert.equal(created.length, 1);
  assert.equal((await selfReg.coffer.internals.stores.keys.list(created[0]!.public_id)).length, 1, 'the key is registered once');
});

test('the AMO test vector’s signature verifies (its token is AMO’s, so Coffer refuses it with 401, not 400 or 500)', async () => {
  // SPEC §2 test vector: an HS256 token of AMO's, signed with the P-256 key below.
  const T =
    'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ1c2VyIjoiMUU2QzE1MjhFNEMwNEY1Qzg3OUJFMzBGNUE2MjEyMUNFMzQzMzA4QiIsIm9wZXJhdGlvbiI6eyJuYW1lIjoidXBsb2FkIiwiaGFzaCI6IjI1ZmMwZTcwOTZmYzY1MzcxODIwMmRjMzBiMGM1ODBiOGFiODdlYWMxMWE3MDBjYmEwM2E3YzAyMWJjMzViMGMifSwiaXNzIjoiYW1vLXN0b3JhZ2UiLCJqdGkiOiIwZDIzMmYwNS1lNDFkLTRjOTQtOTE2Yy1hMzUyY2VmODRjZjIiLCJpYXQiOjE2MjE5Mjg5NDl9.QXsw0KZ8wp1pvSiNDRydz3h7iMJ1kZ_ws65aYdnp6Qs';
  const K = '043d1eb42f40fd27c1fb59179445179365f6212e1a0c5013487b50ce3144ed301d423499aaa77443c3f4d9877bb05210748fdeaf92a5a37947204c5461ba8a79d9';
  const S = 'cb7cd4dcd55d707b88f66a5ed5dc62a834781c334fedcf19bfa25b75a3c8a901567c5661f6ded29307880f5cfc93085bad2ac881560b2982e409914606f1c476';
  // The vector itself, checked with node:crypto: the address and the signature.
  assert.equal(createHash('sha256').update(Buffer.from(K, 'hex')).digest().subarray(0, 20).toString('hex').toUpperCase(), '1E6C1528E4C04F5C879BE30F5A62121CE343308B');
  const spki = Buffer.concat([Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200', 'hex'), Buffer.from(K, 'hex')]);
  const pub = createPublicKey({ key: spki, format: 'der', type: 'spki' });
  assert.ok(verify('sha256', Buffer.from(T, 'ascii'), { key: pub, dsaEncoding: 'ieee-p1363' }, Buffer.from(S, 'hex')));
  const res = await uploadJson(selfReg, { 'x-auth-token': T, 'x-public-key': K, 'x-signature': S }, { data: '00' });
  await expectProblem(res, 401, 'invalid_token', 'a foreign token');
  assert.ok(!(await usernames(selfReg)).includes('1E6C1528E4C04F5C879BE30F5A62121CE343308B'), 'no user created for a refused token');
});

// ---------------------------------------------------------------------------------------------
// 3. refusals

/** A fresh upload challenge for alice over `data`, and the signed headers. */
async function aliceUpload(data: Buffer, s: TestServer = server): Promise<{ token: string; headers: Record<string, string> }> {
  const token = await challengeFor(s, 'alice', { name: 'upload', hash: sha256(data) });
  return { token, headers: signedBy(alice, token) };
}

for (const header of ['x-auth-token', 'x-public-key', 'x-signature']) {
  test(`a signed request without ${header} is 401 problem+json`, async () => {
    const data = randomBytes(32);
    const { headers } = await aliceUpload(data);
    delete headers[header];
    await expectProblem(await uploadJson(server, headers, { data: data.toString('hex') }), 401, 'invalid_token', `no ${header}`);
    await expectProblem(await uploadJson(server, { ...headers, [header]: '   ' }, { data: data.toString('hex') }), 401, 'invalid_token', `blank ${header}`);
    assert.equal((await ownerOf(server, parcelIdOf(data))).status, 404);
  });
}

test('a challenge token is not an access token: Bearer on /v1/data/x and /v1/users/me is 401', async () => {
  const token = await challengeFor(server, 'alice', 'download');
  await expectProblem(await server.fetch('/v1/data/x', { headers: bearer(token) }), 401, undefined, '/v1/data/x');
  await expectProblem(await server.fetch('/v1/users/me', { headers: bearer(token) }), 401, undefined, '/v1/users/me');
  await expectProblem(await server.fetch('/v1/users/me', { headers: { 'x-auth-token': token } }), 401, undefined, '/v1/users/me with X-Auth-Token');
  await expectProblem(await server.fetch('/v1/objects', { headers: { 'x-access-tokens': token } }), 401, undefined, '/v1/objects with x-access-tokens');
});

test('an access token from /v1/login used as X-Auth-Token (and signed with a registered key) is 401', async () => {
  const access = await server.login('alice', 'alice-password-1');
  const data = randomBytes(32);
  await expectProblem(await uploadJson(server, signedBy(alice, access), { data: data.toString('hex') }), 401, 'invalid_token', 'upload');
  const id = parcelIdOf(data);
  await expectProblem(await server.fetch(`/api/v1/parcels/${id}`, { headers: signedBy(alice, access) }), 401, 'invalid_token', 'download');
  await expectProblem(await server.fetch(`/api/v1/parcels/${id}`, { method: 'DELETE', headers: signedBy(alice, access) }), 401, 'invalid_token', 'remove');
  assert.equal((await ownerOf(server, id)).status, 404);
});

test('refresh tokens and challenge tokens are never taken for each other: 401 both ways', async () => {
  const session = await server.fetch('/v1/login', { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify({ username: 'alice', password: 'alice-password-1' }) });
  const { refresh_token: refresh } = (await session.json()) as { refresh_token: string };
  const data = randomBytes(32);
  // A refresh token, signed with alice's registered key, as the challenge of an upload.
  await expectProblem(await uploadJson(server, signedBy(alice, refresh), { data: data.toString('hex') }), 401, 'invalid_token', 'refresh token as X-Auth-Token');
  // A challenge token as a refresh token.
  const challenge = await challengeFor(server, 'alice', { name: 'upload', hash: sha256(data) });
  const asRefresh = await server.fetch('/v1/token/refresh', { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify({ refresh_token: challenge }) });
  await expectProblem(asRefresh, 401, 'invalid_grant', 'challenge token as refresh token');
  // Neither was spent by the attempt: the challenge still works.
  await expectStatus(await uploadJson(server, signedBy(alice, challenge), { data: data.toString('hex') }), 200, 'the challenge afterwards');
});

test('a token issued for one user, signed with the key of another user, is 401', async () => {
  const data = randomBytes(32);
  const forAlice = await challengeFor(server, 'alice', { name: 'upload', hash: sha256(data) });
  await expectProblem(await uploadJson(server, signedBy(bob, forAlice), { data: data.toString('hex') }), 401, undefined, "alice's token, bob's key");
  const forBob = await challengeFor(server, 'bob', { name: 'upload', hash: sha256(data) });
  await expectProblem(await uploadJson(server, signedBy(alice, forBob), { data: data.toString('hex') }), 401, undefined, "bob's token, alice's key");
  // Bob's token with bob's key but owner alice: another user's name in "owner" is refused.
  const owned = await challengeFor(server, 'bob', { name: 'upload', hash: sha256(data) });
  await expectProblem(await uploadJson(server, signedBy(bob, owned), { owner: 'alice', data: data.toString('hex') }), 403, undefined, 'owner of another');
  assert.equal((await ownerOf(server, parcelIdOf(data))).status, 404);
});

test('a token for another operation is 401: a download token on upload, an upload token on DELETE', async () => {
  const data = randomBytes(32);
  const id = await uploadAs(server, 'alice', alice, data);
  const down = await challengeFor(server, 'alice', { name: 'download', id });
  await expectProblem(await uploadJson(server, signedBy(alice, down), { data: randomBytes(8).toString('hex') }), 401, 'invalid_token', 'download token on upload');
  const up = await challengeFor(server, 'alice', { name: 'upload', hash: sha256(data) });
  await expectProblem(await server.fetch(`/api/v1/parcels/${id}`, { method: 'DELETE', headers: signedBy(alice, up) }), 401, 'invalid_token', 'upload token on DELETE');
  const bare = await challengeFor(server, 'alice', 'download');
  await expectProblem(await server.fetch(`/api/v1/parcels/${id}`, { method: 'DELETE', headers: signedBy(alice, bare) }), 401, 'invalid_token', 'bare download token on DELETE');
  const rmToken = await challengeFor(server, 'alice', { name: 'remove', id });
  await expectProblem(await server.fetch(`/api/v1/parcels/${id}`, { headers: signedBy(alice, rmToken) }), 401, 'invalid_token', 'remove token on GET');
  assert.deepEqual(await ownerOf(server, id), { status: 200, owner: 'alice' }, 'the parcel is still there');
});

test('a token for another parcel id is 401 (download id A used on GET B, remove id A on DELETE B)', async () => {
  const a = await uploadAs(server, 'alice', alice, randomBytes(40));
  const b = await uploadAs(server, 'alice', alice, randomBytes(40));
  const downA = await challengeFor(server, 'alice', { name: 'download', id: a });
  await expectProblem(await server.fetch(`/api/v1/parcels/${b}`, { headers: signedBy(alice, downA) }), 401, 'invalid_token', 'GET B with A');
  const rmA = await challengeFor(server, 'alice', { name: 'remove', id: a });
  await expectProblem(await server.fetch(`/api/v1/parcels/${b}`, { method: 'DELETE', headers: signedBy(alice, rmA) }), 401, 'invalid_token', 'DELETE B with A');
  assert.equal((await ownerOf(server, a)).status, 200);
  assert.equal((await ownerOf(server, b)).status, 200);
});

test('another user may not download or remove a parcel (403), even with a valid challenge of their own', async () => {
  const id = await uploadAs(server, 'alice', alice, randomBytes(40));
  const down = await challengeFor(server, 'bob', { name: 'download', id });
  await expectProblem(await server.fetch(`/api/v1/parcels/${id}`, { headers: signedBy(bob, down) }), 403, undefined, 'download');
  const removal = await challengeFor(server, 'bob', { name: 'remove', id });
  await expectProblem(await server.fetch(`/api/v1/parcels/${id}`, { method: 'DELETE', headers: signedBy(bob, removal) }), 403, undefined, 'remove');
  assert.deepEqual(await ownerOf(server, id), { status: 200, owner: 'alice' });
});

test('the same owner uploading the same data again gets 200 and the same id; another owner gets 409', async () => {
  const data = randomBytes(40);
  const metadata = { first: true };
  const id = await uploadAs(server, 'alice', alice, data, metadata);
  assert.equal(await uploadAs(server, 'alice', alice, data, { second: true }), id);
  const token = await challengeFor(server, 'bob', { name: 'upload', hash: sha256(data) });
  await expectProblem(await uploadJson(server, signedBy(bob, token), { data: data.toString('hex') }), 409, undefined, "bob uploads alice's data");
  assert.deepEqual(await ownerOf(server, id), { status: 200, owner: 'alice' });
});

test('JSON upload whose data hash differs from the token’s is 400 hash_mismatch and stores nothing', async () => {
  const userToken = await server.createUser('mismatch-json');
  const signer: Signer = { holder: makeKey('ed25519') };
  await registerKey(server, userToken, signer.holder.raw.toString('hex'));
  const announced = randomBytes(64);
  const sent = randomBytes(64);
  const token = await challengeFor(server, 'mismatch-json', { name: 'upload', hash: sha256(announced) });
  await expectProblem(await uploadJson(server, signedBy(signer, token), { data: sent.toString('hex') }), 400, 'hash_mismatch', 'mismatch');
  assert.equal((await ownerOf(server, parcelIdOf(sent))).status, 404);
  assert.equal((await ownerOf(server, parcelIdOf(announced))).status, 404);
  const objects = await server.fetch('/v1/objects', { headers: bearer(userToken) });
  assert.deepEqual((JSON.parse(await expectStatus(objects, 200)) as { objects: unknown[] }).objects, []);
});

test('raw upload whose data hash differs from the token’s is 400 hash_mismatch and stores nothing', async () => {
  const userToken = await server.createUser('mismatch-raw');
  const signer: Signer = { holder: makeKey('p256'), options: { p256Form: 'der' } };
  await registerKey(server, userToken, signer.holder.raw.toString('hex'));
  const sent = randomBytes(100_000);
  const token = await challengeFor(server, 'mismatch-raw', { name: 'upload', hash: sha256(randomBytes(10)) });
  await expectProblem(await uploadRaw(server, signedBy(signer, token), sent), 400, 'hash_mismatch', 'raw mismatch');
  assert.equal((await ownerOf(server, parcelIdOf(sent))).status, 404);
  const objects = await server.fetch('/v1/objects', { headers: bearer(userToken) });
  assert.deepEqual((JSON.parse(await expectStatus(objects, 200)) as { objects: unknown[] }).objects, []);
});

test('a failed check after the token is spent still uses it up: hash mismatch, then the right data with the same token is 401', async () => {
  const data = randomBytes(48);
  const { headers } = await aliceUpload(data);
  await expectProblem(await uploadJson(server, headers, { data: randomBytes(48).toString('hex') }), 400, 'hash_mismatch', 'first try');
  await expectProblem(await uploadJson(server, headers, { data: data.toString('hex') }), 401, 'invalid_token', 'same token, right data');
  assert.equal((await ownerOf(server, parcelIdOf(data))).status, 404);
});

test('a signature by a key not registered to the user is 401', async () => {
  const data = randomBytes(32);
  const token = await challengeFor(server, 'alice', { name: 'upload', hash: sha256(data) });
  for (const type of ['ed25519', 'p256'] as const) {
    const stranger: Signer = { holder: makeKey(type) };
    await expectProblem(await uploadJson(server, signedBy(stranger, token), { data: data.toString('hex') }), 401, undefined, type);
  }
  // alice's own key, but the token names a user that does not exist.
  const ghost = await challengeFor(server, 'ghost', { name: 'upload', hash: sha256(data) });
  await expectProblem(await uploadJson(server, signedBy(alice, ghost), { data: data.toString('hex') }), 401, undefined, 'unknown user');
  // The refusals did not spend the token: alice can still use it.
  await expectStatus(await uploadJson(server, signedBy(alice, token), { data: data.toString('hex') }), 200, 'alice with her token');
});

test('a signature over different bytes is 401 invalid_signature', async () => {
  const data = randomBytes(32);
  const { token } = await aliceUpload(data);
  const other = await challengeFor(server, 'alice', { name: 'upload', hash: sha256(data) });
  const key = encode(alice.holder.raw, 'hex');
  for (const [what, message] of [
    ['another token', other],
    ['the token plus a byte', `${token}.`],
    ['the token in UTF-16', Buffer.from(token, 'utf16le').toString('latin1')],
    ['the token’s payload only', token.split('.')[1]!],
  ] as const) {
    const signature = signBytes(alice.holder, Buffer.from(message, 'latin1')).toString('hex');
    const res = await uploadJson(server, { 'x-auth-token': token, 'x-public-key': key, 'x-signature': signature }, { data: data.toString('hex') });
    await expectProblem(res, 401, 'invalid_signature', what);
  }
  // The RSA key: PSS and PKCS#1 signatures of other bytes.
  const rsaToken = await challengeFor(server, 'flow', { name: 'upload', hash: sha256(data) });
  for (const rsaPadding of ['pkcs1', 'pss'] as const) {
    const bad = signBytes(keys.rsa, Buffer.from(rsaToken + 'x'), { rsaPadding }).toString('base64');
    const res = await uploadJson(server, { 'x-auth-token': rsaToken, 'x-public-key': keys.rsa.raw.toString('base64'), 'x-signature': bad }, { data: data.toString('hex') });
    await expectProblem(res, 401, 'invalid_signature', `rsa ${rsaPadding}`);
  }
});

test('an expired challenge token is 401 (COFFER_CHALLENGE_TTL=5; the access tokens\' clock skew does not stretch it)', async () => {
  const clock = new TestClock();
  const short = await startServer({ COFFER_CHALLENGE_TTL: '5' }, { clock });
  try {
    const signer: Signer = { holder: makeKey('ed25519') };
    await registerKey(short, await short.createUser('hasty'), signer.holder.raw.toString('hex'));
    const data = randomBytes(32);
    const token = await challengeFor(short, 'hasty', { name: 'upload', hash: sha256(data) });
    const claims = decodeJwtPart(token, 1);
    assert.equal((claims.exp as number) - (claims.iat as number), 5);
    const control = await challengeFor(short, 'hasty', { name: 'upload', hash: sha256(data) });
    clock.advance(6_200);
    const res = await uploadJson(short, signedBy(signer, token), { data: data.toString('hex') });
    await expectProblem(res, 401, 'invalid_token', 'expired');
    await expectProblem(await uploadJson(short, signedBy(signer, control), { data: data.toString('hex') }), 401, 'invalid_token', 'expired control');
    assert.equal((await ownerOf(short, parcelIdOf(data))).status, 404);
    const fresh = await challengeFor(short, 'hasty', { name: 'upload', hash: sha256(data) });
    await expectStatus(await uploadJson(short, signedBy(signer, fresh), { data: data.toString('hex') }), 200, 'a fresh token works');
  } finally {
    await short.close();
  }
});

test('a replay after success is 401 (upload, download and remove)', async () => {
  const data = randomBytes(32);
  const { headers } = await aliceUpload(data);
  const id = JSON.parse(await expectStatus(await uploadJson(server, headers, { data: data.toString('hex') }), 200)).id as string;
  await expectProblem(await uploadJson(server, headers, { data: data.toString('hex') }), 401, 'invalid_token', 'upload replay');
  const down = signedBy(alice, await challengeFor(server, 'alice', { name: 'download', id }));
  await expectStatus(await server.fetch(`/api/v1/parcels/${id}`, { headers: down }), 200);
  await expectProblem(await server.fetch(`/api/v1/parcels/${id}`, { headers: down }), 401, 'invalid_token', 'download replay');
  const removal = signedBy(alice, await challengeFor(server, 'alice', { name: 'remove', id }));
  await expectStatus(await server.fetch(`/api/v1/parcels/${id}`, { method: 'DELETE', headers: removal }), 204);
  await expectProblem(await server.fetch(`/api/v1/parcels/${id}`, { method: 'DELETE', headers: removal }), 401, 'invalid_token', 'remove replay');
});

/** Sends 50 identical signed uploads at once (spread over `servers`); returns the statuses. */
async function replayStorm(servers: TestServer[], headers: Record<string, string>, data: Buffer): Promise<number[]> {
  const body = JSON.stringify({ data: data.toString('hex') });
  const responses = await Promise.all(
    Array.from({ length: 50 }, (_, i) =>
      servers[i % servers.length]!.fetch('/api/v1/parcels', { method: 'POST', headers: { ...headers, ...JSON_HEADERS }, body }).then(async (res) => {
        const text = await res.text();
        if (res.status !== 200) assert.equal(res.status, 401, `a replay is 401, not ${res.status} ${text}`);
        return res.status;
      }),
    ),
  );
  return responses;
}

test('50 concurrent replays of one token: exactly one 200 and 49 401', async () => {
  const data = randomBytes(64);
  const { headers } = await aliceUpload(data);
  const statuses = await replayStorm([server], headers, data);
  assert.deepEqual([statuses.filter((s) => s === 200).length, statuses.filter((s) => s === 401).length], [1, 49]);
  assert.deepEqual(await ownerOf(server, parcelIdOf(data)), { status: 200, owner: 'alice' });
});

test('malformed public keys are 400 or 401, never 500', async () => {
  const data = randomBytes(16);
  const weakRsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'der', type: 'spki' });
  const x25519 = generateKeyPairSync('x25519').publicKey.export({ format: 'der', type: 'spki' });
  const p384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).publicKey.export({ format: 'der', type: 'spki' });
  const cases: [string, string][] = [
    ['not hex nor base64', 'not a key!'],
    ['odd-length hex that is not base64 either', 'abc$'],
    ['3 bytes', 'AAAA'],
    ['31 bytes', 'ab'.repeat(31)],
    ['33 bytes of garbage', '05' + 'ab'.repeat(32)],
    ['64 bytes', 'cd'.repeat(64)],
    ['off-curve 65-byte point', '04' + '11'.repeat(64)],
    ['65 bytes of zeros', '00'.repeat(65)],
    ['compressed point off the curve', '02' + 'ff'.repeat(32)],
    ['RSA 1024', weakRsa.toString('hex')],
    ['RSA 1024 in base64', weakRsa.toString('base64')],
    ['X25519', x25519.toString('base64url')],
    ['P-384', p384.toString('hex')],
    ['a PEM header without a body', '-----BEGIN PUBLIC KEY-----'],
    ['4 KB of garbage', randomBytes(4096).toString('hex')],
  ];
  for (const [what, key] of cases) {
    const token = await challengeFor(server, 'alice', { name: 'upload', hash: sha256(data) });
    const signature = signBytes(alice.holder, Buffer.from(token)).toString('hex');
    const res = await uploadJson(server, { 'x-auth-token': token, 'x-public-key': key, 'x-signature': signature }, { data: data.toString('hex') });
    const text = await res.text();
    assert.ok(res.status === 400 || res.status === 401, `${what}: expected 400 or 401, got ${res.status} ${text}`);
    assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/, what);
  }
  assert.equal((await ownerOf(server, parcelIdOf(data))).status, 404);
});

test('malformed signatures are 400 or 401, never 500, for each key type', async () => {
  const data = randomBytes(16);
  const flowSigners: [string, KeyHolder][] = [
    ['ed25519', keys.ed25519],
    ['p256', keys.p256],
    ['rsa', keys.rsa],
  ];
  const garbage = ['garbage!', '=', '00', 'AA', '-_', '00'.repeat(63), '00'.repeat(64), 'ff'.repeat(64), '00'.repeat(65), '30' + '00'.repeat(70), 'ab'.repeat(256), 'ab'.repeat(255), randomBytes(3000).toString('base64')];
  for (const [type, holder] of flowSigners) {
    for (const signature of garbage) {
      const token = await challengeFor(server, 'flow', { name: 'upload', hash: sha256(data) });
      const res = await uploadJson(server, { 'x-auth-token': token, 'x-public-key': holder.raw.toString('hex'), 'x-signature': signature }, { data: data.toString('hex') });
      const text = await res.text();
      assert.ok(res.status === 400 || res.status === 401, `${type} ${signature.slice(0, 20)}: expected 400 or 401, got ${res.status} ${text}`);
    }
    // A real signature with its last byte cut off: refused.
    const token = await challengeFor(server, 'flow', { name: 'upload', hash: sha256(data) });
    const good = signBytes(holder, Buffer.from(token));
    const truncated = good.subarray(0, good.length - 1).toString('hex');
    await expectProblem(await uploadJson(server, { 'x-auth-token': token, 'x-public-key': holder.raw.toString('hex'), 'x-signature': truncated }, { data: data.toString('hex') }), 401, undefined, `${type} truncated`);
  }
  assert.equal((await ownerOf(server, parcelIdOf(data))).status, 404);
});

test('malformed X-Auth-Token values are 401, never 500', async () => {
  const data = randomBytes(16);
  const good = await challengeFor(server, 'alice', { name: 'upload', hash: sha256(data) });
  const [h, p, s] = good.split('.') as [string, string, string];
  const header = decodeJwtPart(good, 0);
  const payload = decodeJwtPart(good, 1);
  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const tokens = [
    'x',
    'a.b.c',
    `${h}.${p}`,
    `${h}.${p}.`,
    `${b64({ ...header, alg: 'none' })}.${p}.`,
    `${h}.${b64({ ...payload, user: 'bob' })}.${s}`,
    `${b64({ ...header, typ: 'at+jwt' })}.${p}.${s}`,
    'e'.repeat(9000),
  ];
  for (const token of tokens) {
    const res = await uploadJson(server, signedBy(alice, token), { data: data.toString('hex') });
    await expectProblem(res, 401, undefined, token.slice(0, 40));
  }
  // None of them spent the real token.
  await expectStatus(await uploadJson(server, signedBy(alice, good), { data: data.toString('hex') }), 200);
});

test('with self-registration off (the default) an unknown address is 401 and no user is created', async () => {
  const holder = makeKey('p256');
  const address = holder.address!;
  const data = randomBytes(32);
  const token = await challengeFor(server, address, { name: 'upload', hash: sha256(data) });
  await expectProblem(await uploadJson(server, challengeHeaders(holder, token, 'hex', { highS: true }), { owner: address, data: data.toString('hex') }), 401, 'invalid_signature', 'unknown address');
  assert.ok(!(await usernames(server)).some((u) => u.toUpperCase() === address), 'no user named by the address');
  assert.equal((await ownerOf(server, parcelIdOf(data))).status, 404);
  // An admin onboards the key holder by creating the user named by the address; then it works.
  const create = await server.fetch('/v1/users', { method: 'POST', headers: bearer(await server.adminToken(), JSON_HEADERS), body: JSON.stringify({ username: address, password: 'some-password-1' }) });
  await expectStatus(create, 201, 'admin creating the address user');
  const again = await challengeFor(server, address, { name: 'upload', hash: sha256(data) });
  await expectStatus(await uploadJson(server, challengeHeaders(holder, again, 'hex', { highS: true }), { owner: address, data: data.toString('hex') }), 200, 'the key holder, once the admin made the user');
  assert.deepEqual(await ownerOf(server, parcelIdOf(data)), { status: 200, owner: address });
});

test('a P-256 key registered to a username works with U = that username, and with U = its address (bob acts, SPEC §2)', async () => {
  const data = randomBytes(32);
  const id = await uploadAs(server, 'bob', bob, data);
  assert.deepEqual(await ownerOf(server, id), { status: 200, owner: 'bob' });
  // AMO's clients always send the address: it resolves to the user who registered the key.
  const token = await challengeFor(server, bob.holder.address!, { name: 'download', id });
  const got = await server.fetch(`/api/v1/parcels/${id}`, { headers: { ...signedBy(bob, token), accept: 'application/octet-stream' } });
  await expectStatus(got.clone(), 200, 'the address of a registered key');
  assert.ok(Buffer.from(await got.arrayBuffer()).equals(data));
});

test("an AMO key registered by a person: the client's address lands in that person's namespace, even with self-registration on; nobody else may register the key", async () => {
  const holder = makeKey('p256');
  const personToken = await selfReg.createUser('amo-person');
  await registerKey(selfReg, personToken, holder.raw.toString('hex'));
  const data = randomBytes(48);
  // What amo-client-js and amo-client-go send: user = the address, owner = the address.
  const token = await challengeFor(selfReg, holder.address!, { name: 'upload', hash: sha256(data) });
  await expectStatus(await uploadJson(selfReg, challengeHeaders(holder, token, 'hex', { highS: true }), { owner: holder.address, metadata: {}, data: data.toString('hex') }), 200, 'AMO upload');
  assert.deepEqual(await ownerOf(selfReg, parcelIdOf(data)), { status: 200, owner: 'amo-person' });
  assert.ok(!(await usernames(selfReg)).includes(holder.address!), 'no second user named by the address');
  const asObject = await selfReg.fetch(`/v1/objects/parcels/${parcelIdOf(data)}?meta`, { headers: bearer(personToken) });
  assert.equal(asObject.status, 200, "the parcel is the person's own object");

  // One holder per key: another user (or the same one again) registering it is 409.
  const other = await selfReg.createUser('amo-other');
  const again = await selfReg.fetch('/v1/keys', { method: 'POST', headers: bearer(other, JSON_HEADERS), body: JSON.stringify({ key: holder.raw.toString('base64') }) });
  await expectProblem(again, 409, 'conflict', 'another user registering the key');
  const byAdmin = await selfReg.fetch('/v1/users/amo-other/keys', { method: 'POST', headers: bearer(await selfReg.adminToken(), JSON_HEADERS), body: JSON.stringify({ key: holder.raw.toString('hex') }) });
  await expectProblem(byAdmin, 409, 'conflict', 'an admin registering it for another user');

  // The holder disabled: the address does not fall back to an address user; it is refused.
  const off = await selfReg.fetch('/v1/users/amo-person', { method: 'PATCH', headers: bearer(await selfReg.adminToken(), JSON_HEADERS), body: JSON.stringify({ disabled: true }) });
  assert.equal(off.status, 200);
  const more = randomBytes(8);
  const refused = await challengeFor(selfReg, holder.address!, { name: 'upload', hash: sha256(more) });
  await expectProblem(await uploadJson(selfReg, challengeHeaders(holder, refused), { data: more.toString('hex') }), 401, 'invalid_signature', 'disabled holder');
  assert.ok(!(await usernames(selfReg)).includes(holder.address!), 'still no address user');
});

test('a key self-registered by its address user cannot be registered by a person (409); its address keeps naming the address user', async () => {
  const holder = makeKey('p256');
  const data = randomBytes(20);
  const token = await challengeFor(selfReg, holder.address!, { name: 'upload', hash: sha256(data) });
  await expectStatus(await uploadJson(selfReg, challengeHeaders(holder, token), { data: data.toString('hex') }), 200, 'self-registration');
  const person = await selfReg.createUser('would-be-holder');
  const res = await selfReg.fetch('/v1/keys', { method: 'POST', headers: bearer(person, JSON_HEADERS), body: JSON.stringify({ key: holder.raw.toString('hex') }) });
  await expectProblem(res, 409, 'conflict');
  assert.deepEqual(await ownerOf(selfReg, parcelIdOf(data)), { status: 200, owner: holder.address });
});

test('an unregistered key, an unknown address and a bad signature get the same answer (no probing for users or keys)', async () => {
  const stranger = makeKey('p256');
  const bodies: string[] = [];
  for (const [user, holder, sign] of [
    ['alice', stranger, true], // a key alice does not hold
    [stranger.address!, stranger, true], // an address with no user (self-registration off)
    ['nobody-at-all', stranger, true], // no such user
    ['alice', alice.holder, false], // alice's key, bad signature
  ] as const) {
    const data = randomBytes(16);
    const token = await challengeFor(server, user, { name: 'upload', hash: sha256(data) });
    const headers = challengeHeaders(holder, token);
    if (!sign) headers['x-signature'] = challengeHeaders(holder, token + 'x')['x-signature']!;
    const res = await uploadJson(server, headers, { data: data.toString('hex') });
    assert.equal(res.status, 401);
    const { detail, code } = (await res.json()) as { detail: string; code: string };
    bodies.push(`${code} ${detail}`);
  }
  assert.equal(new Set(bodies).size, 1, bodies.join('\n'));
});

// ---------------------------------------------------------------------------------------------
// 4. POST /api/v1/auth

test('POST /api/v1/auth refuses malformed requests with 400 problem+json', async () => {
  const hash = sha256(Buffer.from('x'));
  const id = parcelIdOf(Buffer.from('x'));
  const cases: [string, unknown][] = [
    ['no user', { operation: 'upload' }],
    ['empty user', { user: '', operation: 'upload' }],
    ['numeric user', { user: 42, operation: 'upload' }],
    ['no operation', { user: 'alice' }],
    ['null operation', { user: 'alice', operation: null }],
    ['operation a list', { user: 'alice', operation: ['upload'] }],
    ['unknown operation name (string)', { user: 'alice', operation: 'steal' }],
    ['unknown operation name (object)', { user: 'alice', operation: { name: 'steal' } }],
    ['operation without name', { user: 'alice', operation: { hash } }],
    ['hash of 63 hex digits', { user: 'alice', operation: { name: 'upload', hash: hash.slice(1) } }],
    ['hash not hex', { user: 'alice', operation: { name: 'upload', hash: 'z'.repeat(64) } }],
    ['hash a number', { user: 'alice', operation: { name: 'upload', hash: 12 } }],
    ['upload with an id', { user: 'alice', operation: { name: 'upload', id } }],
    ['id of 71 hex digits', { user: 'alice', operation: { name: 'download', id: id.slice(1) } }],
    ['id not hex', { user: 'alice', operation: { name: 'remove', id: 'g'.repeat(72) } }],
    ['download with a hash', { user: 'alice', operation: { name: 'download', hash } }],
  ];
  for (const [what, body] of cases) await expectProblem(await askChallenge(server, body), 400, undefined, what);
  await expectProblem(await server.fetch('/api/v1/auth', { method: 'POST', headers: JSON_HEADERS, body: '{"user": "alice",' }), 400, undefined, 'broken JSON');
});

test('POST /api/v1/auth answers 200 with a token for a user that does not exist (existence is not revealed)', async () => {
  const known = await askChallenge(server, { user: 'alice', operation: 'upload' });
  const unknown = await askChallenge(server, { user: 'nobody-at-all', operation: 'upload' });
  const address = await askChallenge(server, { user: makeKey('p256').address, operation: { name: 'download', id: parcelIdOf(Buffer.from('y')) } });
  for (const res of [known, unknown, address]) {
    assert.equal(res.status, 200);
    const body = (await res.json()) as Record<string, unknown>;
    assert.deepEqual(Object.keys(body), ['token']);
    assert.equal((body.token as string).split('.').length, 3);
  }
});

test('a challenge token carries iss, user, operation, jti, exp (exp − iat = 60) and is not typ at+jwt', async () => {
  const hash = sha256(Buffer.from('claims')).toUpperCase();
  const token = await challengeFor(server, 'alice', { name: 'upload', hash });
  const header = decodeJwtPart(token, 0);
  const claims = decodeJwtPart(token, 1);
  assert.notEqual(header.typ, 'at+jwt');
  assert.notEqual(String(header.typ).toLowerCase(), 'jwt', 'a type of its own');
  assert.notEqual(header.alg, 'none');
  for (const claim of ['iss', 'user', 'operation', 'jti', 'exp', 'iat']) assert.ok(claim in claims, `has ${claim}`);
  assert.equal(claims.user, 'alice');
  assert.equal(claims.iss, 'coffer');
  assert.deepEqual(claims.operation, { name: 'upload', hash: hash.toLowerCase() });
  assert.equal((claims.exp as number) - (claims.iat as number), 60);
  assert.ok(Math.abs((claims.iat as number) - Date.now() / 1000) < 30);
  const other = decodeJwtPart(await challengeFor(server, 'alice', { name: 'upload', hash }), 1);
  assert.notEqual(other.jti, claims.jti, 'every token has its own jti');
  const bare = decodeJwtPart(await challengeFor(server, 'alice', 'remove'), 1);
  assert.equal(bare.operation, 'remove');
});

// ---------------------------------------------------------------------------------------------
// 5. usernames that are addresses

test('admins may create users named by an address only in uppercase (as self-registration names them); 39 and 41 hex digits are plain names', async () => {
  const admin = await server.adminToken();
  const create = (username: string) =>
    server.fetch('/v1/users', { method: 'POST', headers: bearer(admin, JSON_HEADERS), body: JSON.stringify({ username, password: 'some-password-1' }) });
  const hex40 = randomBytes(20).toString('hex');
  await expectProblem(await create(hex40), 400, undefined, 'lowercase address');
  await expectStatus(await create(hex40.toUpperCase()), 201, 'uppercase address');
  await expectStatus(await create(hex40.slice(1)), 201, '39 hex digits');
  await expectStatus(await create(hex40 + 'a'), 201, '41 hex digits');
  const names = await usernames(server);
  assert.ok(!names.includes(hex40) && names.includes(hex40.toUpperCase()));
});

test('with open registration: /v1/register refuses an address name, and an address self-registers by default', async () => {
  const open = await startServer({ COFFER_OPEN_REGISTRATION: 'true' });
  try {
    const holder = makeKey('p256');
    const reg = await open.fetch('/v1/register', { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify({ username: holder.address, password: 'some-password-1' }) });
    await expectProblem(reg, 400, undefined, 'register an address');
    const data = randomBytes(32);
    const token = await challengeFor(open, holder.address!, { name: 'upload', hash: sha256(data) });
    await expectStatus(await uploadJson(open, challengeHeaders(holder, token), { data: data.toString('hex') }), 200, 'self-registration follows open registration');
    assert.deepEqual(await ownerOf(open, parcelIdOf(data)), { status: 200, owner: holder.address });
  } finally {
    await open.close();
  }
});

// ---------------------------------------------------------------------------------------------
// 6. two nodes on one PostgreSQL database

test('across two nodes on one PostgreSQL database, 50 concurrent replays of one token split between them: exactly one success', async () => {
  const PG_URL = process.env.COFFER_TEST_DATABASE_URL ?? 'postgres://root@127.0.0.1:5432/test';
  const schema = `coffer_challenge_${randomBytes(6).toString('hex')}`;
  const db = new pg.Client({ connectionString: PG_URL });
  await db.connect();
  await db.query(`create schema ${schema}`);
  // The nodes share the database and the data directory (hence the signing key file and the
  // blobs), as nodes behind one load balancer do. The second starts once the first made the key.
  const shared = await mkdtemp(path.join(tmpdir(), 'coffer-challenge-nodes-'));
  const url = new URL(PG_URL);
  url.searchParams.set('options', `-c search_path=${schema}`);
  const env = { COFFER_DATABASE_URL: url.toString(), COFFER_DATA_DIR: shared };
  const nodes: TestServer[] = [];
  try {
    nodes.push(await startServer(env));
    nodes.push(await startServer(env));
    const [a, b] = nodes as [TestServer, TestServer];
    const signer: Signer = { holder: makeKey('p256'), options: { p256Form: 'raw', highS: true } };
    await registerKey(a, await a.createUser('pgnode'), signer.holder.raw.toString('hex'));

    const data = randomBytes(256);
    const token = await challengeFor(a, 'pgnode', { name: 'upload', hash: sha256(data) });
    const statuses = await replayStorm([a, b], signedBy(signer, token), data);
    assert.deepEqual([statuses.filter((s) => s === 200).length, statuses.filter((s) => s === 401).length], [1, 49]);
    const used = await db.query(`select count(*)::int as n from ${schema}.used_challenges`);
    assert.equal(used.rows[0].n, 1, 'the jti was spent once, in PostgreSQL');

    // Each node reads what the other wrote, and takes the other's tokens.
    const id = parcelIdOf(data);
    assert.deepEqual(await ownerOf(b, id), { status: 200, owner: 'pgnode' });
    const down = await challengeFor(b, 'pgnode', { name: 'download', id });
    const got = await a.fetch(`/api/v1/parcels/${id}`, { headers: { ...signedBy(signer, down), accept: 'application/octet-stream' } });
    assert.equal(got.status, 200);
    assert.ok(Buffer.from(await got.arrayBuffer()).equals(data));
    await expectProblem(await b.fetch(`/api/v1/parcels/${id}`, { headers: signedBy(signer, down) }), 401, 'invalid_token', 'replay on the other node');
    const removal = await challengeFor(a, 'pgnode', { name: 'remove', id });
    await expectStatus(await b.fetch(`/api/v1/parcels/${id}`, { method: 'DELETE', headers: signedBy(signer, removal) }), 204);
    assert.equal((await ownerOf(a, id)).status, 404);
  } finally {
    for (const n of nodes) await n.close();
    await rm(shared, { recursive: true, force: true });
    await db.query(`drop schema ${schema} cascade`);
    await db.end();
  }
});

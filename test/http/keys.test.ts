/** Public keys over HTTP: register in every form, list, remove, admin registration, refusals. */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { after, before, test } from 'node:test';
import { bearer, startServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
let token: string;
before(async () => {
  server = await startServer();
  token = await server.createUser('holder');
});
after(() => server.close());

const post = (body: unknown, t = token, url = '/v1/keys') =>
  server.fetch(url, { method: 'POST', headers: bearer(t, { 'content-type': 'application/json' }), body: JSON.stringify(body) });

interface KeyView {
  id: string;
  type: string;
  label: string | null;
  address?: string;
  created_at: string;
}

test('keys of each type register (JSON, or a PEM body), list and delete; the same key twice is 409', async () => {
  const ed = generateKeyPairSync('ed25519').publicKey;
  const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey;
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey;
  const jwk = ec.export({ format: 'jwk' });
  const point = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url')]).toString('hex');

  const a = await post({ key: Buffer.from(ed.export({ format: 'jwk' }).x!, 'base64url').toString('base64'), label: 'laptop' });
  assert.equal(a.status, 201);
  const edView = (await a.json()) as KeyView;
  assert.deepEqual([edView.type, edView.label, edView.address], ['ed25519', 'laptop', undefined]);
  assert.match(edView.id, /^[0-9a-f]{64}$/);
  assert.match(edView.created_at, /Z$/);

  const b = await post({ key: point });
  const ecView = (await b.json()) as KeyView;
  assert.deepEqual([b.status, ecView.type], [201, 'p256']);
  assert.match(ecView.address!, /^[0-9A-F]{40}$/);

  const c = await server.fetch('/v1/keys', { method: 'POST', headers: bearer(token, { 'content-type': 'application/x-pem-file' }), body: rsa.export({ format: 'pem', type: 'spki' }) });
  assert.equal(c.status, 201);
  const again = await server.fetch('/v1/keys', { method: 'POST', headers: bearer(token, { 'content-type': 'text/plain' }), body: rsa.export({ format: 'pem', type: 'pkcs1' }) });
  assert.equal(again.status, 409, 'the same RSA key in another form is the same key');

  const list = (await (await server.fetch('/v1/keys', { headers: bearer(token) })).json()) as { keys: KeyView[] };
  assert.deepEqual(list.keys.map((k) => k.type).sort(), ['ed25519', 'p256', 'rsa']);

  const other = await server.createUser('stranger');
  assert.equal((await server.fetch(`/v1/keys/${edView.id}`, { method: 'DELETE', headers: bearer(other) })).status, 404, "another user cannot remove it");
  assert.equal((await server.fetch(`/v1/keys/${edView.id}`, { method: 'DELETE', headers: bearer(token) })).status, 204);
  assert.equal((await server.fetch(`/v1/keys/${edView.id}`, { method: 'DELETE', headers: bearer(token) })).status, 404);
});

test('malformed, weak and unsupported keys are 400 with a reason, never 500', async () => {
  const weak = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'pem', type: 'spki' });
  for (const key of [weak, '04' + '11'.repeat(64), 'not a key!', '', 'AAAA', 42]) {
    const res = await post({ key });
    assert.equal(res.status, 400, String(key).slice(0, 20));
    const body = (await res.json()) as { code: string; detail: string };
    assert.ok(body.detail.length > 10);
  }
  assert.equal((await post({ key: '04' + '11'.repeat(64), label: 7 })).status, 400);
});

test('an admin registers a key for a user; a non-admin may not', async () => {
  const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ format: 'pem', type: 'spki' }).toString();
  const byAdmin = await post({ key: ec }, await server.adminToken(), '/v1/users/holder/keys');
  assert.equal(byAdmin.status, 201);
  const id = ((await byAdmin.json()) as KeyView).id;
  const list = (await (await server.fetch('/v1/keys', { headers: bearer(token) })).json()) as { keys: KeyView[] };
  assert.ok(list.keys.some((k) => k.id === id), 'the user sees it');
  assert.equal((await post({ key: ec }, token, '/v1/users/holder/keys')).status, 403);
  assert.equal((await post({ key: ec }, await server.adminToken(), '/v1/users/nobody/keys')).status, 404);
});

/**
 * SPEC §3: each user has a private namespace; nobody else, admins included, reads or lists it.
 * SPEC §2: the KV routes need kv:read / kv:write (403 insufficient_scope without).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startServer, type TestServer } from '../helpers/server.js';
import { expectProblem as assertProblem } from '../helpers/problem.js';

interface Listing {
  dir: string;
  keys: string[];
  dirs: string[];
  cursor: string | null;
}

const enc = (key: string) => key.split('/').map(encodeURIComponent).join('/');

function client(s: TestServer, token: string) {
  const auth = { authorization: `Bearer ${token}` };
  const url = (key: string, query?: string) => `/v1/data/${enc(key)}${query ? `?${query}` : ''}`;
  return {
    auth,
    put: (key: string, value: unknown, headers: Record<string, string> = {}, method = 'PUT') =>
      s.fetch(url(key), { method, headers: { ...auth, 'content-type': 'application/json', ...headers }, body: JSON.stringify({ value }) }),
    get: (key: string) => s.fetch(url(key), { headers: auth }),
    list: async (dir: string, query?: string) => {
      const res = await s.fetch(`/v1/data/${dir === '' ? '' : enc(dir.replace(/\/$/, '')) + '/'}${query ? `?${query}` : ''}`, { headers: auth });
      const text = await res.text();
      assert.equal(res.status, 200, text);
      return JSON.parse(text) as Listing;
    },
    del: (key: string, query?: string) => s.fetch(url(key, query), { method: 'DELETE', headers: auth }),
  };
}
type Client = ReturnType<typeof client>;

let server: TestServer;
let alice: Client;
let bob: Client;
let admin: Client;
let aliceEtag: string;

before(async () => {
  server = await startServer();
  alice = client(server, await server.createUser('alice'));
  bob = client(server, await server.createUser('bob'));
  admin = client(server, await server.adminToken());
  const res = await alice.put('secret', 'alice-secret');
  assert.equal(res.status, 201);
  aliceEtag = res.headers.get('etag')!;
  for (const k of ['private/a', 'private/b', 'private/deep/c', 'raw-thing']) assert.equal((await alice.put(k, `alice:${k}`)).status, 201);
});
after(() => server.close());

/** Alice's data is exactly as she wrote it. */
async function aliceIntact(): Promise<void> {
  assert.deepEqual(await (await alice.get('secret')).json(), { key: 'secret', value: 'alice-secret' });
  assert.deepEqual(await alice.list('', 'recursive=true'), {
    dir: '',
    keys: ['private/a', 'private/b', 'private/deep/c', 'raw-thing', 'secret'],
    dirs: [],
    cursor: null,
  });
}

describe('isolation between users', () => {
  test("another user cannot read a user's key: 404, not the value", async () => {
    const res = await bob.get('secret');
    await assertProblem(res, 404);
    await assertProblem(await bob.get('private/deep/c'), 404);
  });

  test("another user's root listing does not show a user's keys or dirs", async () => {
    assert.deepEqual(await bob.list(''), { dir: '', keys: [], dirs: [], cursor: null });
    assert.deepEqual(await bob.list('', 'recursive=true'), { dir: '', keys: [], dirs: [], cursor: null });
  });

  test("another user's directory listing does not show a user's keys", async () => {
    assert.deepEqual(await bob.list('private/'), { dir: 'private/', keys: [], dirs: [], cursor: null });
    assert.deepEqual(await bob.list('private/', 'recursive=true'), { dir: 'private/', keys: [], dirs: [], cursor: null });
  });

  test("POST of the same key name by another user creates that user's own key (201, no 409 that would reveal it)", async () => {
    const res = await bob.put('secret', 'bob-secret', {}, 'POST');
    assert.equal(res.status, 201);
    assert.deepEqual(await (await bob.get('secret')).json(), { key: 'secret', value: 'bob-secret' });
    await aliceIntact();
    assert.equal((await bob.del('secret')).status, 200);
  });

  test('the same key name holds two values for two users, and PUT by one does not replace the other', async () => {
    assert.equal((await bob.put('both', 'bob')).status, 201);
    assert.equal((await alice.put('both', 'alice')).status, 201); // created, not replaced
    assert.deepEqual(await (await alice.get('both')).json(), { key: 'both', value: 'alice' });
    assert.deepEqual(await (await bob.get('both')).json(), { key: 'both', value: 'bob' });
    assert.equal((await alice.del('both')).status, 200);
    assert.deepEqual(await (await bob.get('both')).json(), { key: 'both', value: 'bob' });
    assert.equal((await bob.del('both')).status, 200);
  });

  test("If-Match with a user's ETag by another user -> 412 (the key does not exist for them); nothing changes", async () => {
    await assertProblem(await bob.put('secret', 'overwritten', { 'if-match': aliceEtag }), 412);
    await assertProblem(await bob.put('secret', 'overwritten', { 'if-match': '*' }), 412);
    await assertProblem(await bob.get('secret'), 404);
    await aliceIntact();
  });

  test("If-None-Match: * on a user's key name by another user -> 201 (it does not exist for them)", async () => {
    assert.equal((await bob.put('secret', 'bob-own', { 'if-none-match': '*' })).status, 201);
    await aliceIntact();
    assert.equal((await bob.del('secret')).status, 200);
  });

  test("another user cannot delete a user's key: 404, and it survives", async () => {
    await assertProblem(await bob.del('secret'), 404);
    await assertProblem(await bob.del('private/a'), 404);
    await aliceIntact();
  });

  test("another user's recursive delete does not touch a user's directory", async () => {
    const res = await bob.del('private/', 'recursive=true');
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { dir: 'private/', deleted: 0 });
    const root = await server.fetch('/v1/data/?recursive=true', { method: 'DELETE', headers: bob.auth });
    assert.equal(root.status, 200);
    assert.deepEqual(await root.json(), { dir: '', deleted: 0 });
    await aliceIntact();
  });
});

describe('the admin has no access to user data', () => {
  test("the admin cannot read a user's key", async () => {
    await assertProblem(await admin.get('secret'), 404);
    await assertProblem(await admin.get('private/a'), 404);
  });

  test("the admin's listings do not show a user's keys", async () => {
    const root = await admin.list('', 'recursive=true');
    assert.ok(!root.keys.includes('secret'), JSON.stringify(root));
    assert.ok(!root.keys.some((k) => k.startsWith('private/')), JSON.stringify(root));
    assert.deepEqual(await admin.list('private/'), { dir: 'private/', keys: [], dirs: [], cursor: null });
  });

  test("the admin cannot delete or conditionally overwrite a user's key", async () => {
    await assertProblem(await admin.del('secret'), 404);
    await assertProblem(await admin.put('secret', 'admin-was-here', { 'if-match': aliceEtag }), 412);
    const res = await admin.del('private/', 'recursive=true');
    assert.deepEqual(await res.json(), { dir: 'private/', deleted: 0 });
    await aliceIntact();
  });

  test("the admin's own key of the same name is separate from the user's", async () => {
    assert.equal((await admin.put('secret', 'admin-secret', {}, 'POST')).status, 201);
    assert.deepEqual(await (await admin.get('secret')).json(), { key: 'secret', value: 'admin-secret' });
    await aliceIntact();
    assert.equal((await admin.del('secret')).status, 200);
    await aliceIntact();
  });
});

describe('scopes', () => {
  let reader: Client;
  let writer: Client;
  before(async () => {
    reader = client(server, await server.createUser('reader', 'reader-password-1', { grants: ['kv:read'] }));
    writer = client(server, await server.createUser('writer', 'writer-password-1', { grants: ['kv:write'] }));
  });

  test('kv:read only: GET of a listing -> 200', async () => {
    assert.deepEqual(await reader.list(''), { dir: '', keys: [], dirs: [], cursor: null });
  });

  test('kv:read only: GET of a key -> 404 for a missing key, not 403', async () => {
    await assertProblem(await reader.get('nothing'), 404);
  });

  test('kv:read only: PUT -> 403 insufficient_scope and nothing is stored', async () => {
    await assertProblem(await reader.put('k', 'v'), 403, 'insufficient_scope');
    await assertProblem(await reader.get('k'), 404);
  });

  test('kv:read only: POST -> 403 insufficient_scope', async () => {
    await assertProblem(await reader.put('k', 'v', {}, 'POST'), 403, 'insufficient_scope');
  });

  test('kv:read only: form and raw writes -> 403 insufficient_scope', async () => {
    const form = await server.fetch('/v1/data/k', { method: 'PUT', headers: { ...reader.auth, 'content-type': 'application/x-www-form-urlencoded' }, body: 'value=v' });
    await assertProblem(form, 403, 'insufficient_scope');
    const raw = await server.fetch('/v1/data/k', { method: 'PUT', headers: { ...reader.auth, 'content-type': 'application/octet-stream' }, body: 'v' });
    await assertProblem(raw, 403, 'insufficient_scope');
  });

  test('kv:read only: DELETE of a key and recursive DELETE -> 403 insufficient_scope', async () => {
    await assertProblem(await reader.del('k'), 403, 'insufficient_scope');
    await assertProblem(await reader.del('dir/', 'recursive=true'), 403, 'insufficient_scope');
  });

  test('a token narrowed to kv:read at login: GET of an existing key -> 200, writes -> 403', async () => {
    const res = await server.fetch('/v1/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'alice', password: 'alice-password-1', scope: 'kv:read' }),
    });
    assert.equal(res.status, 200);
    const narrowed = client(server, ((await res.json()) as { access_token: string }).access_token);
    assert.deepEqual(await (await narrowed.get('secret')).json(), { key: 'secret', value: 'alice-secret' });
    await assertProblem(await narrowed.put('secret', 'changed'), 403, 'insufficient_scope');
    await assertProblem(await narrowed.del('secret'), 403, 'insufficient_scope');
    await aliceIntact();
  });

  test('kv:write only: GET -> 403 insufficient_scope, PUT -> 201', async () => {
    assert.equal((await writer.put('w', 'v')).status, 201);
    await assertProblem(await writer.get('w'), 403, 'insufficient_scope');
    await assertProblem(await server.fetch('/v1/data/', { headers: writer.auth }), 403, 'insufficient_scope');
  });

  test('no token -> 401 on every KV method', async () => {
    for (const method of ['GET', 'PUT', 'POST', 'DELETE']) {
      const res = await server.fetch('/v1/data/secret', {
        method,
        ...(method === 'PUT' || method === 'POST' ? { headers: { 'content-type': 'application/json' }, body: '{"value":1}' } : {}),
      });
      await assertProblem(res, 401, 'invalid_token');
    }
    await aliceIntact();
  });
});

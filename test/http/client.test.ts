/**
 * The TypeScript client (`coffer/client`, src/client) against a real server on both blob
 * backends (the filesystem, and S3 on a real Ceph RGW): every method, over real HTTP. The only
 * wrapper around fetch counts requests; nothing is mocked. Also: the client's module graph pulls
 * no Node built-in and no server code, so it bundles for a browser.
 */
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { eventually, openFsBackend, openS3Backend, type BackendFixture } from '../helpers/backends.js';
import { startRgw, type Rgw } from '../helpers/ceph.js';
import { ADMIN_PASSWORD, type TestServer } from '../helpers/server.js';
import { Coffer, CofferError, importSigner, type SessionTokens } from '../../src/client/index.js';

const MiB = 1024 * 1024;
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

let rgw: Rgw | undefined;
after(() => rgw?.stop());

const backends: Array<{ name: string; open(): Promise<BackendFixture> }> = [
  { name: 'fs', open: () => openFsBackend() },
  { name: 's3 (Ceph RGW)', open: async () => openS3Backend((rgw ??= await startRgw()), 'coffer-client') },
];

/** A fetch that counts what it sends, by "METHOD /path", around the real one. */
function countingFetch() {
  const counts = new Map<string, number>();
  const statuses: number[] = [];
  const f: typeof fetch = async (input, init) => {
    const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
    const key = `${init?.method ?? 'GET'} ${url.pathname}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
    const res = await fetch(input, init);
    statuses.push(res.status);
    return res;
  };
  return { fetch: f, count: (key: string) => counts.get(key) ?? 0, statuses };
}

/** Rejects with a CofferError of this status and code. */
async function rejectsWith(p: Promise<unknown>, status: number, code: string): Promise<CofferError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof CofferError, `a CofferError, got ${String(e)}`);
    assert.equal(e.status, status, `status: ${e.code} ${e.detail}`);
    assert.equal(e.code, code, `code: ${e.detail}`);
    assert.ok(e.detail.length > 0);
    return e;
  }
  assert.fail(`expected ${status} ${code}, it succeeded`);
}

async function readAll(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** `size` bytes in 1 MiB chunks, as an async iterable (slowly, when asked). */
async function* chunks(bytes: Uint8Array, delayMs = 0): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += MiB) {
    if (delayMs) await sleep(delayMs);
    yield bytes.subarray(i, Math.min(i + MiB, bytes.length));
  }
}

function checkProgress(calls: Array<[number, number | undefined]>, size: number, total: number | undefined) {
  assert.ok(calls.length > 1, `progress called more than once (${calls.length})`);
  for (let i = 1; i < calls.length; i++) assert.ok(calls[i]![0] > calls[i - 1]![0], 'increasing');
  assert.equal(calls.at(-1)![0], size, 'ends at the size');
  for (const [, t] of calls) assert.equal(t, total);
}

for (const backend of backends) {
  describe(`client on ${backend.name}`, () => {
    let fixture: BackendFixture;
    let server: TestServer;
    let admin: Coffer;
    let alice: Coffer;
    const alicePassword = 'alice-password-1';
    const client = (extra: Partial<ConstructorParameters<typeof Coffer>[0]> = {}) => new Coffer({ url: server.base, ...extra });

    before(async () => {
      fixture = await backend.open();
      server = fixture.server;
      admin = client();
      await admin.login('admin', ADMIN_PASSWORD);
      await admin.users.create({ username: 'alice', password: alicePassword });
      alice = client();
      await alice.login('alice', alicePassword);
    });
    after(() => fixture?.close());

    describe('login, tokens, logout', () => {
      test('login with a password: the token pair is kept and reported to onTokens', async () => {
        const seen: Array<SessionTokens | undefined> = [];
        const c = client({ onTokens: (t) => seen.push(t) });
        assert.equal(c.tokens(), undefined);
        const answer = await c.login('alice', alicePassword);
        assert.equal(answer.token_type, 'Bearer');
        assert.equal(answer.jwt, answer.access_token);
        const t = c.tokens()!;
        assert.equal(t.accessToken, answer.access_token);
        assert.equal(t.refreshToken, answer.refresh_token);
        assert.ok(Math.abs(t.expiresAt! - (Date.now() + answer.expires_in * 1000)) < 5000);
        assert.deepEqual(seen, [t]);
        assert.equal((await c.me()).username, 'alice');
      });

      test('login with HTTP Basic, narrowed by scope', async () => {
        const c = client();
        const answer = await c.login('alice', alicePassword, { basic: true, scope: 'kv:read' });
        assert.equal(answer.scope, 'kv:read');
        assert.equal((await c.verify()).scope, 'kv:read');
        await rejectsWith(c.kv.put('nope', 1), 403, 'insufficient_scope');
      });

      test('a wrong password: 401 invalid_credentials, no session', async () => {
        const c = client();
        await rejectsWith(c.login('alice', 'wrong-password'), 401, 'invalid_credentials');
        await rejectsWith(c.login('alice', 'wrong-password', { basic: true }), 401, 'invalid_credentials');
        assert.equal(c.tokens(), undefined);
      });

      test('20 calls racing with a dead access token and a good refresh token: one refresh, all succeed', async () => {
        const seed = client();
        const pair = await seed.login('alice', alicePassword);
        await alice.kv.put('race/key', 'v');
        const counter = countingFetch();
        const seen: Array<SessionTokens | undefined> = [];
        const c = client({ accessToken: 'not-a-token', refreshToken: pair.refresh_token, fetch: counter.fetch, onTokens: (t) => seen.push(t) });
        const results = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? c.kv.get('race/key') : c.me())));
        assert.equal(results.length, 20);
        assert.equal(counter.count('POST /v1/token/refresh'), 1);
        assert.equal(seen.length, 1);
        assert.notEqual(c.tokens()!.refreshToken, pair.refresh_token, 'the refresh token rotated');
        assert.equal(counter.statuses.filter((s) => s === 401).length, 20, 'each call met one 401');
        assert.equal(counter.count('GET /v1/users/me') + counter.count('GET /v1/data/race/key'), 40, 'and was retried once');
      });

      test('20 calls racing with an access token known to be expired: one refresh before they go, no 401', async () => {
        const pair = await client().login('alice', alicePassword);
        const counter = countingFetch();
        const c = client({ accessToken: pair.access_token, refreshToken: pair.refresh_token, expiresAt: Date.now() - 1000, fetch: counter.fetch });
        await Promise.all(Array.from({ length: 20 }, () => c.verify()));
        assert.equal(counter.count('POST /v1/token/refresh'), 1);
        assert.equal(counter.count('GET /v1/verify'), 20);
        assert.ok(!counter.statuses.includes(401));
      });

      test('refresh() called 10 times at once sends one request and gives everyone the same pair', async () => {
        const pair = await client().login('alice', alicePassword);
        const counter = countingFetch();
        const c = client({ accessToken: pair.access_token, refreshToken: pair.refresh_token, fetch: counter.fetch });
        const answers = await Promise.all(Array.from({ length: 10 }, () => c.refresh()));
        assert.equal(counter.count('POST /v1/token/refresh'), 1);
        assert.equal(new Set(answers.map((a) => a.access_token)).size, 1);
        // and the next refresh is a new one
        await c.refresh();
        assert.equal(counter.count('POST /v1/token/refresh'), 2);
      });

      test('a dead refresh token: the call fails with invalid_grant and the session is forgotten', async () => {
        const seen: Array<SessionTokens | undefined> = [];
        const c = client({ accessToken: 'not-a-token', refreshToken: 'not-a-refresh-token', onTokens: (t) => seen.push(t) });
        await rejectsWith(c.me(), 401, 'invalid_grant');
        assert.equal(c.tokens(), undefined);
        assert.deepEqual(seen, [undefined]);
        await rejectsWith(c.refresh(), 401, 'invalid_grant');
      });

      test('without a refresh token a 401 is the answer: invalid_token', async () => {
        await rejectsWith(client({ accessToken: 'not-a-token' }).me(), 401, 'invalid_token');
      });

      test('logout: the session ends on the server and here', async () => {
        const seen: Array<SessionTokens | undefined> = [];
        const c = client({ onTokens: (t) => seen.push(t) });
        const pair = await c.login('alice', alicePassword);
        await c.logout();
        assert.equal(c.tokens(), undefined);
        assert.equal(seen.at(-1), undefined);
        await rejectsWith(client({ accessToken: pair.access_token }).verify(), 401, 'invalid_token');
        await rejectsWith(client({ accessToken: 'x', refreshToken: pair.refresh_token }).refresh(), 401, 'invalid_grant');
        await c.logout(); // no session: nothing to do
      });

      test('verify, introspect, me, jwks', async () => {
        const claims = await alice.verify();
        assert.equal(claims.username, 'alice');
        const me = await alice.me();
        assert.equal(claims.sub, me.public_id);
        assert.equal(me.admin, false);
        const own = await alice.introspect();
        assert.equal(own.active, true);
        assert.equal(own.username, 'alice');
        assert.deepEqual(await alice.introspect('not-a-token'), { active: false });
        const jwks = await client().jwks();
        assert.ok(jwks.keys.length >= 1);
        assert.ok(jwks.keys.every((k) => typeof k.kid === 'string'));
        const rotated = await admin.rotateSigningKey();
        assert.ok((await client().jwks()).keys.some((k) => k.kid === rotated.kid));
        await rejectsWith(alice.rotateSigningKey(), 403, 'insufficient_scope');
      });

      test('a server that is not there: network_error, status 0', async () => {
        const e = await rejectsWith(new Coffer({ url: 'http://127.0.0.1:9' }).jwks(), 0, 'network_error');
        assert.match(e.detail, /ECONNREFUSED|reach/);
      });

      test('a bad URL is refused at once', () => {
        assert.throws(() => new Coffer({ url: 'ftp://x' }), TypeError);
      });
    });

    describe('key/value store', () => {
      test('put, get, create, delete; ETags and CAS', async () => {
        const put = await alice.kv.put('notes/today', { todo: ['milk'] });
        assert.equal(put.created, true);
        assert.ok(put.etag);
        assert.deepEqual(put.answer, { key: 'notes/today', value: { todo: ['milk'] } });
        const got = await alice.kv.get('notes/today');
        assert.deepEqual(got, { key: 'notes/today', value: { todo: ['milk'] }, etag: put.etag, contentType: null });

        const replaced = await alice.kv.put('notes/today', 'plain', { ifMatch: got.etag! });
        assert.equal(replaced.created, false);
        assert.notEqual(replaced.etag, got.etag);
        const stale = await rejectsWith(alice.kv.put('notes/today', 'late', { ifMatch: got.etag! }), 412, 'precondition_failed');
        assert.equal(stale.problem?.status, 412);
        await rejectsWith(alice.kv.put('notes/today', 'x', { ifNoneMatch: '*' }), 412, 'precondition_failed');
        assert.equal((await alice.kv.put('notes/new', 'x', { ifNoneMatch: '*' })).created, true);

        assert.equal((await alice.kv.create('notes/once', 42)).created, true);
        await rejectsWith(alice.kv.create('notes/once', 43), 409, 'conflict');
        assert.equal((await alice.kv.get('notes/once')).value, 42);

        await rejectsWith(alice.kv.delete('notes/once', { ifMatch: '"stale"' }), 412, 'precondition_failed');
        await alice.kv.delete('notes/once', { ifMatch: (await alice.kv.get('notes/once')).etag! });
        await rejectsWith(alice.kv.get('notes/once'), 404, 'not_found');
        await rejectsWith(alice.kv.delete('notes/once'), 404, 'not_found');
        await rejectsWith(alice.kv.get('bad/../key'), 400, 'invalid_key');
      });

      test('keys with spaces, %, ?, # and non-ASCII round-trip', async () => {
        for (const key of ['odd/a b', 'odd/100%', 'odd/what?', 'odd/#hash', 'odd/café/🙂']) {
          await alice.kv.put(key, key);
          assert.equal((await alice.kv.get(key)).value, key);
        }
        assert.deepEqual((await alice.kv.list('odd')).keys, ['odd/#hash', 'odd/100%', 'odd/a b', 'odd/what?']);
      });

      test('raw bytes with a content type; getBytes of every kind of value', async () => {
        const bytes = new Uint8Array(randomBytes(1000));
        const w = await alice.kv.put('raw/logo.png', bytes, { contentType: 'image/png' });
        assert.deepEqual(w.answer, { key: 'raw/logo.png', size: 1000, content_type: 'image/png' });
        const got = await alice.kv.get('raw/logo.png');
        assert.deepEqual(got.value, bytes);
        assert.equal(got.contentType, 'image/png');
        const b = await alice.kv.getBytes('raw/logo.png');
        assert.deepEqual(b.bytes, bytes);
        assert.equal(b.contentType, 'image/png');
        await alice.kv.put('raw/blob', new Blob([new Uint8Array([1, 2, 3])], { type: 'application/x-thing' }), { contentType: 'application/x-thing' });
        assert.deepEqual((await alice.kv.getBytes('raw/blob')).bytes, new Uint8Array([1, 2, 3]));
        await alice.kv.put('raw/text', 'héllo');
        assert.equal(new TextDecoder().decode((await alice.kv.getBytes('raw/text')).bytes), 'héllo');
        await alice.kv.put('raw/json', { a: [1] });
        assert.equal(new TextDecoder().decode((await alice.kv.getBytes('raw/json')).bytes), '{"a":[1]}');
        assert.equal((await alice.kv.getBytes('raw/json')).contentType, 'application/json');
      });

      test('ttl: the key disappears', async () => {
        await alice.kv.put('ttl/short', 'x', { ttl: 1 });
        await alice.kv.create('ttl/created', 'x', { ttl: 1 });
        await alice.kv.put('ttl/long', 'x', { ttl: 3600 });
        assert.equal((await alice.kv.get('ttl/short')).value, 'x');
        await eventually(async () => {
          await rejectsWith(alice.kv.get('ttl/short'), 404, 'not_found');
          await rejectsWith(alice.kv.get('ttl/created'), 404, 'not_found');
        }, 5000);
        assert.equal((await alice.kv.get('ttl/long')).value, 'x');
        await rejectsWith(alice.kv.put('ttl/bad', 'x', { ttl: 0 }), 400, 'invalid_request');
      });

      test('list one level, recursive, in pages; listAll pages through; deleteDir', async () => {
        for (const k of ['tree/a', 'tree/b', 'tree/c', 'tree/d/e', 'tree/d/f', 'tree/g/h']) await alice.kv.put(k, k);
        const top = await alice.kv.list('tree');
        assert.deepEqual(top, { dir: 'tree/', keys: ['tree/a', 'tree/b', 'tree/c'], dirs: ['tree/d/', 'tree/g/'], cursor: null });
        const page = await alice.kv.list('tree/', { limit: 2 });
        assert.equal(page.keys.length + page.dirs.length, 2);
        assert.ok(page.cursor);
        const rest = await alice.kv.list('tree/', { cursor: page.cursor! });
        assert.deepEqual([...page.keys, ...rest.keys], top.keys);
        assert.deepEqual((await alice.kv.list('tree', { recursive: true })).keys, ['tree/a', 'tree/b', 'tree/c', 'tree/d/e', 'tree/d/f', 'tree/g/h']);

        const counter = countingFetch();
        const paged = new Coffer({ url: server.base, ...alice.tokens(), fetch: counter.fetch });
        const all: string[] = [];
        for await (const k of paged.kv.listAll('tree', { pageSize: 2 })) all.push(k);
        assert.deepEqual(all, ['tree/a', 'tree/b', 'tree/c', 'tree/d/', 'tree/g/']);
        assert.equal(counter.count('GET /v1/data/tree/'), 3);
        const deep: string[] = [];
        for await (const k of alice.kv.listAll('tree', { recursive: true })) deep.push(k);
        assert.equal(deep.length, 6);

        const root = await alice.kv.list('');
        assert.equal(root.dir, '');
        assert.ok(root.dirs.includes('tree/'));

        assert.equal(await alice.kv.deleteDir('tree/d'), 2);
        assert.equal(await alice.kv.deleteDir('tree'), 4);
        assert.deepEqual((await alice.kv.list('tree')).keys, []);
      });
    });

    describe('objects', () => {
      const size = 5 * MiB + 123;
      let bytes: Uint8Array;
      before(() => {
        bytes = new Uint8Array(randomBytes(size));
      });

      test('upload a Uint8Array with progress, download it with progress: the same SHA-256', async () => {
        const sent: Array<[number, number | undefined]> = [];
        const up = await alice.objects.upload('big/one.bin', bytes, { contentType: 'application/x-test', onProgress: (n, t) => sent.push([n, t]) });
        assert.equal(up.created, true);
        assert.equal(up.size, size);
        assert.equal(up.sha256, sha256(bytes));
        assert.equal(up.content_type, 'application/x-test');
        checkProgress(sent, size, size);

        const received: Array<[number, number | undefined]> = [];
        const down = await alice.objects.download('big/one.bin', { onProgress: (n, t) => received.push([n, t]) });
        assert.equal(down.size, size);
        assert.equal(down.contentType, 'application/x-test');
        assert.equal(down.sha256, up.sha256);
        assert.equal(down.etag, up.etag);
        assert.equal(received.length, 0, 'nothing counted before the body is read');
        const got = await readAll(down.body);
        assert.equal(sha256(got), up.sha256);
        checkProgress(received, size, size);

        const again = await alice.objects.upload('big/one.bin', bytes, { contentType: 'application/x-test' });
        assert.equal(again.created, false);
      });

      test('upload a ReadableStream (chunked, no length) and an async iterable with its size and SHA-256', async () => {
        const source = chunks(bytes);
        const stream = new ReadableStream<Uint8Array>({
          async pull(controller) {
            const next = await source.next();
            if (next.done) controller.close();
            else controller.enqueue(next.value);
          },
        });
        const sent: Array<[number, number | undefined]> = [];
        const a = await alice.objects.upload('big/stream.bin', stream, { onProgress: (n, t) => sent.push([n, t]) });
        assert.equal(a.sha256, sha256(bytes));
        assert.equal(a.content_type, 'application/octet-stream');
        checkProgress(sent, size, undefined);
        const b = await alice.objects.upload('big/iter.bin', chunks(bytes), { size, sha256: sha256(bytes) });
        assert.equal(b.size, size);
        assert.equal((await alice.objects.inspect('big/iter.bin')).sha256, sha256(bytes));
        const c = await alice.objects.upload('big/blob.bin', new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'text/x-blob' }));
        assert.equal(c.content_type, 'text/x-blob');
        assert.equal(c.size, size);
      });

      test('a wrong sha256: 400 hash_mismatch and nothing stored', async () => {
        await rejectsWith(alice.objects.upload('big/wrong.bin', bytes.subarray(0, 1000), { sha256: 'a'.repeat(64) }), 400, 'hash_mismatch');
        assert.equal(await alice.objects.exists('big/wrong.bin'), false);
      });

      test('abort mid-upload: rejects with aborted, and no object is left', async () => {
        const controller = new AbortController();
        const sent: number[] = [];
        const upload = alice.objects.upload('big/aborted.bin', chunks(bytes, 50), {
          size,
          signal: controller.signal,
          onProgress: (n) => {
            sent.push(n);
            if (n >= 2 * MiB) controller.abort();
          },
        });
        await rejectsWith(upload, 0, 'aborted');
        assert.ok(sent.at(-1)! < size);
        await eventually(async () => {
          assert.equal(await alice.objects.exists('big/aborted.bin'), false);
          assert.deepEqual(await fixture.leftovers(), []);
        });
        await rejectsWith(alice.objects.inspect('big/aborted.bin'), 404, 'not_found');
      });

      test('abort mid-download: the stream errors with aborted', async () => {
        const controller = new AbortController();
        const down = await alice.objects.download('big/one.bin', { signal: controller.signal });
        const reader = down.body.getReader();
        await reader.read();
        controller.abort();
        await rejectsWith(
          (async () => {
            for (;;) if ((await reader.read()).done) break;
          })(),
          0,
          'aborted',
        );
      });

      test('ranges, If-None-Match', async () => {
        const part = await alice.objects.download('big/one.bin', { range: { start: 10, end: 19 } });
        assert.equal(part.size, size);
        assert.equal(part.length, 10);
        assert.deepEqual(await readAll(part.body), bytes.subarray(10, 20));
        const tail = await alice.objects.download('big/one.bin', { range: { start: size - 5 } });
        assert.deepEqual(await readAll(tail.body), bytes.subarray(size - 5));
        await rejectsWith(alice.objects.download('big/one.bin', { range: { start: size + 1 } }), 416, 'range_not_satisfiable');
        const etag = (await alice.objects.inspect('big/one.bin')).etag;
        const same = await alice.objects.download('big/one.bin', { ifNoneMatch: etag });
        assert.equal(same.notModified, true);
        assert.equal((await readAll(same.body)).length, 0);
      });

      test('inspect, exists, list (flat, by folder, in pages), listAll, delete; content addressing', async () => {
        const info = await alice.objects.inspect('big/one.bin');
        assert.equal(info.path, 'big/one.bin');
        assert.equal(info.size, size);
        assert.match(info.updated_at, /Z$/);
        assert.equal(await alice.objects.exists('big/one.bin'), true);
        await alice.objects.upload('small/a/1', new Uint8Array([1]));
        await alice.objects.upload('small/a/2', new Uint8Array([2]));
        await alice.objects.upload('small/b', new Uint8Array([3]));
        const flat = await alice.objects.list({ prefix: 'small/' });
        assert.deepEqual(flat.objects.map((o) => o.path), ['small/a/1', 'small/a/2', 'small/b']);
        assert.equal(flat.cursor, null);
        const level = await alice.objects.list({ prefix: 'small/', delimiter: '/' });
        assert.deepEqual(level.prefixes, ['small/a/']);
        assert.deepEqual(level.objects.map((o) => o.path), ['small/b']);
        const page = await alice.objects.list({ prefix: 'small/', limit: 2 });
        assert.equal(page.objects.length, 2);
        assert.ok(page.cursor);
        const all: string[] = [];
        for await (const o of alice.objects.listAll({ prefix: 'small/', pageSize: 1 })) all.push(o.path);
        assert.deepEqual(all, ['small/a/1', 'small/a/2', 'small/b']);

        const ca = await alice.objects.uploadContent(new TextEncoder().encode('content'));
        assert.equal(ca.path, sha256(new TextEncoder().encode('content')));
        assert.equal(ca.created, true);
        assert.equal((await alice.objects.uploadContent(new TextEncoder().encode('content'))).created, false);

        await alice.objects.delete('small/b');
        await rejectsWith(alice.objects.delete('small/b'), 404, 'not_found');
        await rejectsWith(alice.objects.inspect('small/b'), 404, 'not_found');
        await rejectsWith(alice.objects.download('small/b'), 404, 'not_found');
        await rejectsWith(alice.objects.upload('small/../x', new Uint8Array([1])), 400, 'invalid_key');
      });

      test('presign GET and PUT: plain fetch, no token', async () => {
        const get = await alice.presign({ path: 'big/one.bin', method: 'GET', expiresIn: 600 });
        assert.equal(get.presigned_url, get.url);
        assert.equal(get.method, 'GET');
        assert.ok(Date.parse(get.expires_at) > Date.now());
        const res = await fetch(get.url);
        assert.equal(res.status, 200);
        assert.equal(sha256(new Uint8Array(await res.arrayBuffer())), sha256(bytes));

        const put = await alice.presign({ path: 'shared/upload.txt', method: 'PUT', contentType: 'text/plain' });
        const upload = await fetch(put.url, { method: 'PUT', headers: put.headers, body: 'from a presigned URL' });
        assert.equal(upload.status, 200, await upload.clone().text());
        await eventually(async () => {
          const d = await alice.objects.download('shared/upload.txt');
          assert.equal(await new Response(d.body).text(), 'from a presigned URL');
        });
        await rejectsWith(alice.presign({ path: 'x', method: 'GET', expiresIn: 8 * 86400 }), 400, 'invalid_request');
      });
    });

    describe('keys, signing, parcels', () => {
      test('keys add (PEM, raw hex, bytes), list, remove; a key held twice is a conflict', async () => {
        const ed = await importSigner(generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString());
        const p256 = await importSigner(generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ format: 'pem', type: 'sec1' }).toString());
        const k1 = await alice.keys.add(ed.publicKeyPem, { label: 'laptop' });
        assert.deepEqual([k1.id, k1.type, k1.label], [ed.id, 'ed25519', 'laptop']);
        const k2 = await alice.keys.add(Buffer.from(p256.publicKey).toString('hex'));
        assert.equal(k2.address, p256.address);
        assert.equal(k2.id, p256.id);
        await rejectsWith(alice.keys.add(ed.publicKeyPem), 409, 'conflict');
        await rejectsWith(alice.keys.add('not a key'), 400, 'invalid_request');
        assert.deepEqual((await alice.keys.list()).map((k) => k.id).sort(), [k1.id, k2.id].sort());
        await alice.keys.remove(k1.id);
        await rejectsWith(alice.keys.remove(k1.id), 404, 'not_found');
        assert.deepEqual((await alice.keys.list()).map((k) => k.id), [k2.id]);
        await alice.keys.remove(k2.id);
        const byAdmin = await admin.keys.add(ed.spki, { username: 'alice' });
        assert.equal(byAdmin.id, ed.id);
        assert.deepEqual((await alice.keys.list()).map((k) => k.id), [ed.id]);
        await alice.keys.remove(ed.id);
      });

      const forms = [
        { what: 'Ed25519 PKCS#8 PEM', make: () => generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString() },
        { what: 'P-256 SEC1 PEM', make: () => generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ format: 'pem', type: 'sec1' }).toString() },
        { what: 'P-256 PKCS#8 PEM', make: () => generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString() },
        { what: 'RSA PKCS#1 PEM', make: () => generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'pem', type: 'pkcs1' }).toString() },
        { what: 'RSA PKCS#8 DER', make: () => new Uint8Array(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'der', type: 'pkcs8' })) },
        {
          what: 'raw Ed25519 seed (hex)',
          type: 'ed25519' as const,
          make: () => Buffer.from(generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' }).d!, 'base64url').toString('hex'),
        },
        {
          what: 'raw P-256 scalar (bytes)',
          type: 'p256' as const,
          make: () => new Uint8Array(Buffer.from(generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ format: 'jwk' }).d!, 'base64url')),
        },
      ];
      for (const [i, form] of forms.entries()) {
        test(`the challenge signed from a ${form.what}: upload, inspect, download, remove a parcel`, async () => {
          const signer = await importSigner(form.make(), form.type ? { type: form.type } : {});
          const user = `signer${i}`;
          await admin.users.create({ username: user, password: `${user}-password` });
          await admin.keys.add(signer.publicKeyPem, { username: user });
          const data = new Uint8Array(randomBytes(3000));
          const id = await alice.parcels.upload(signer, data, { user, metadata: { name: 'a.bin' } });
          assert.equal(id.length, 72);
          assert.equal(id.slice(8), sha256(data).toUpperCase());
          assert.deepEqual(await alice.parcels.metadata(id), { name: 'a.bin' });
          assert.equal(await alice.parcels.owner(id), user);
          assert.deepEqual(await alice.parcels.download(signer, id, { user }), data);
          // The parcel is also the user's object parcels/{id}.
          const asUser = client();
          await asUser.login(user, `${user}-password`);
          assert.equal((await asUser.objects.inspect(`parcels/${id}`)).sha256, sha256(data));
          const raw = await alice.parcels.upload(signer, data.subarray(0, 100), { user });
          assert.deepEqual(await alice.parcels.metadata(raw), {});
          await alice.parcels.remove(signer, id, { user });
          await rejectsWith(alice.parcels.download(signer, id, { user }), 404, 'not_found');
          // A token signed by a key the user does not hold is refused.
          const stranger = await importSigner(generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString());
          await rejectsWith(alice.parcels.download(stranger, raw, { user }), 401, 'invalid_signature');
          // The headers by hand: challenge, then sign.
          const token = await alice.parcels.challenge(user, { name: 'download', id: raw });
          const headers = await signer.signedHeaders(token);
          const res = await fetch(`${server.base}/api/v1/parcels/${raw}`, { headers: { ...headers, accept: 'application/octet-stream' } });
          assert.equal(res.status, 200);
        });
      }

      test('a P-256 key acts through its address: the self-registered AMO flow', async () => {
        const signer = await importSigner(generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString());
        assert.match(signer.address!, /^[0-9A-F]{40}$/);
        await alice.keys.add(signer.publicKeyPem);
        const id = await client().parcels.upload(signer, new TextEncoder().encode('by address'));
        assert.equal(await client().parcels.owner(id), 'alice');
        assert.equal(new TextDecoder().decode(await client().parcels.download(signer, id)), 'by address');
        await client().parcels.remove(signer, id);
        await alice.keys.remove(signer.id);
      });

      test('presign with a JWT assertion the key signs (the presign prototype\'s flow)', async () => {
        for (const key of [
          generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
          generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
          generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
        ]) {
          const signer = await importSigner(key);
          await alice.keys.add(signer.publicKeyPem);
          const anonymous = client();
          const p = await anonymous.presign({ path: 'big/one.bin', method: 'GET', assertion: { signer, username: 'alice' } });
          const res = await fetch(p.url);
          assert.equal(res.status, 200);
          assert.equal(sha256(new Uint8Array(await res.arrayBuffer())), (await alice.objects.inspect('big/one.bin')).sha256);
          await rejectsWith(anonymous.presign({ path: 'big/one.bin', method: 'GET', assertion: { signer, username: 'admin' } }), 401, 'invalid_token');
          await alice.keys.remove(signer.id);
        }
      });

      test('importSigner refuses what it cannot use', async () => {
        await assert.rejects(importSigner(new Uint8Array(32)), /needs its type/);
        await assert.rejects(importSigner('-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----'), /private key is needed/);
        const p384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
        await assert.rejects(importSigner(p384), /P-256/);
      });
    });

    describe('users (admin)', () => {
      test('create, list, get, update, delete; non-admins are refused', async () => {
        const bob = await admin.users.create({ username: 'bob', password: 'bob-password-1', grants: ['kv:read', 'kv:write'] });
        assert.deepEqual([bob.username, bob.admin, bob.disabled, bob.grants.sort()], ['bob', false, false, ['kv:read', 'kv:write']]);
        await rejectsWith(admin.users.create({ username: 'bob', password: 'bob-password-1' }), 409, 'conflict');
        await rejectsWith(admin.users.create({ username: 'weak', password: 'x' }), 400, 'weak_password');
        assert.ok((await admin.users.list()).some((u) => u.username === 'bob'));
        assert.equal((await admin.users.get('bob')).public_id, bob.public_id);
        await rejectsWith(admin.users.get('nobody'), 404, 'not_found');

        const b = client();
        await b.login('bob', 'bob-password-1');
        await rejectsWith(b.objects.list(), 403, 'insufficient_scope');
        await rejectsWith(b.users.list(), 403, 'insufficient_scope');
        // self: a password change needs the current one
        await rejectsWith(b.users.update('bob', { password: 'bob-password-2' }), 403, 'forbidden');
        await b.users.update('bob', { password: 'bob-password-2', current_password: 'bob-password-1' });
        await rejectsWith(b.me(), 401, 'invalid_grant'); // a password change ends the sessions
        await b.login('bob', 'bob-password-2');
        const changed = await admin.users.update('bob', { grants: ['kv:read'], disabled: true });
        assert.deepEqual([changed.grants, changed.disabled], [['kv:read'], true]);
        await rejectsWith(b.me(), 401, 'invalid_grant'); // its session ended: the refresh is refused too
        await rejectsWith(client().login('bob', 'bob-password-2'), 401, 'invalid_credentials');
        await admin.users.update('bob', { disabled: false });
        await client().login('bob', 'bob-password-2');
        await admin.users.delete('bob');
        await rejectsWith(admin.users.get('bob'), 404, 'not_found');
        await rejectsWith(admin.users.delete('bob'), 404, 'not_found');
      });

      test('register: refused unless registration is open', async () => {
        await rejectsWith(client().register('newcomer', 'newcomer-password'), 403, 'registration_closed');
      });
    });
  });
}

describe('the client bundles for a browser', () => {
  const root = path.resolve('src/client');

  test('no module under src/client imports a Node built-in or server code at run time', async () => {
    const files = (await readdir(root)).filter((f) => f.endsWith('.ts'));
    assert.ok(files.includes('index.ts'));
    for (const f of files) {
      const source = (await readFile(path.join(root, f), 'utf8')).replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
      // Runtime imports: `import ... from`, `export ... from` and import() that are not type-only.
      for (const m of source.matchAll(/^\s*(import|export)\s+(?!type\b)([^;]*?)\s+from\s+'([^']+)'/gm)) {
        const spec = m[3]!;
        assert.ok(spec.startsWith('./') && !spec.includes('..'), `${f} imports ${spec} at run time`);
      }
      for (const m of source.matchAll(/(?<!type\s*\w*\s*=\s*)\bimport\(\s*'([^']+)'\s*\)(?!\.)/g)) assert.fail(`${f} has a dynamic import of ${m[1]}`);
      assert.doesNotMatch(source, /\brequire\(|\bBuffer\b|\bprocess\.|__dirname/, `${f} uses a Node global`);
    }
  });

  test('esbuild bundles src/client/index.ts for the browser from src/client alone', async () => {
    const esbuild = await import('esbuild');
    const result = await esbuild.build({
      entryPoints: [path.join(root, 'index.ts')],
      bundle: true,
      platform: 'browser',
      format: 'esm',
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    const inputs = Object.keys(result.metafile.inputs);
    assert.ok(inputs.length >= 5);
    for (const input of inputs) assert.match(input, /^src\/client\/[a-z-]+\.ts$/, `the bundle pulled in ${input}`);
    const code = result.outputFiles[0]!.text;
    assert.doesNotMatch(code, /from ['"]node:|require\(/);
    assert.ok(code.length < 60_000, `bundle size ${code.length}`);
  });
});

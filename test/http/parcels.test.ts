/**
 * The older parcel API of SPEC §4 (`/api/v1/parcels`) with the challenge flow of SPEC §2, over real
 * HTTP, signed by a client that holds its own key (test/helpers/key-client.ts, node:crypto only).
 * What concerns bytes (upload, download, remove, visibility as `/v1/objects`) runs on the
 * filesystem backend and on S3 against a real Ceph RADOS Gateway; pure API checks run on fs.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { eventually, openFsBackend, openS3Backend, type BackendFixture } from '../helpers/backends.js';
import { startRgw, type Rgw } from '../helpers/ceph.js';
import { challengeHeaders, makeKey, type KeyHolder, type KeyType } from '../helpers/key-client.js';
import { bearer, type TestServer } from '../helpers/server.js';
import { expectProblem as problem } from '../helpers/problem.js';

const MiB = 1024 * 1024;
const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
/** The id the server must give these bytes: storage id + uppercase SHA-256. */
const idOf = (data: Buffer, storageId = '00000001') => storageId + sha256(data).toUpperCase();

// ---------------------------------------------------------------------------------------------
// Backends

type Fixture = BackendFixture;

interface Backend {
  name: string;
  open(env?: Record<string, string>): Promise<Fixture>;
}

let rgw: Rgw | undefined;
after(() => rgw?.stop());

const backends: Backend[] = [
  { name: 'fs', open: openFsBackend },
  { name: 's3 (Ceph RGW)', open: async (env = {}) => openS3Backend((rgw ??= await startRgw()), 'coffer-parcels', env) },
];

/** A raw upload sent chunk by chunk, without Content-Length (chunked transfer encoding). */
function postChunked(server: TestServer, headers: Record<string, string>, chunks: Buffer[]): Promise<Response> {
  const pending = [...chunks];
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      const next = pending.shift();
      if (next) controller.enqueue(new Uint8Array(next));
      else controller.close();
    },
  });
  return server.fetch('/api/v1/parcels', {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/octet-stream' },
    body,
    duplex: 'half',
  } as RequestInit);
}

// ---------------------------------------------------------------------------------------------
// A key-holding client

interface Holder {
  name: string;
  /** The user's bearer token (for /v1). */
  token: string;
  key: KeyHolder;
}

let userCounter = 0;

/** A user with a registered key (Ed25519 or P-256). */
async function keyHolder(server: TestServer, type: KeyType = 'ed25519', extra: Record<string, unknown> = {}): Promise<Holder> {
  const name = `parcel-user-${++userCounter}`;
  const token = await server.createUser(name, undefined, extra);
  const key = makeKey(type);
  const res = await server.fetch('/v1/keys', {
    method: 'POST',
    headers: bearer(token, { 'content-type': 'application/json' }),
    body: JSON.stringify({ key: key.raw.toString('hex') }),
  });
  assert.equal(res.status, 201, await res.clone().text());
  return { name, token, key };
}

/** A challenge token for `operation`, and the three signed headers that present it. */
async function signed(server: TestServer, holder: Holder, operation: unknown, user = holder.name): Promise<Record<string, string>> {
  const res = await server.fetch('/api/v1/auth', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ user, operation }),
  });
  const body = await okJson<{ token: string }>(res);
  assert.equal(typeof body.token, 'string');
  return challengeHeaders(holder.key, body.token);
}

/** Asserts the status, parses the JSON body, and (for 2xx) that it carries no "error" key (SPEC §4). */
async function okJson<T = Record<string, unknown>>(res: Response, status = 200): Promise<T> {
  const text = await res.text();
  assert.equal(res.status, status, text);
  const body = JSON.parse(text) as T;
  if (status >= 200 && status < 300) {
    assert.ok(body !== null && typeof body === 'object' && !Array.isArray(body), `a JSON object: ${text.slice(0, 200)}`);
    assert.ok(!('error' in (body as object)), `a success body has no "error" key: ${text.slice(0, 200)}`);
  }
  return body;
}

type UploadForm = { form: 'json'; owner?: unknown; metadata?: unknown; omitData?: boolean; dataField?: unknown } | { form: 'raw'; contentType?: string };

/** POST /api/v1/parcels with a challenge for `hash` (the data's, unless given). */
async function upload(server: TestServer, holder: Holder, data: Buffer, form: UploadForm = { form: 'json' }, hash = sha256(data)): Promise<Response> {
  const headers = await signed(server, holder, { name: 'upload', hash });
  if (form.form === 'raw') {
    return server.fetch('/api/v1/parcels', {
      method: 'POST',
      headers: form.contentType === undefined ? headers : { ...headers, 'content-type': form.contentType },
      body: new Uint8Array(data),
    });
  }
  const body: Record<string, unknown> = {};
  if (form.owner !== undefined) body.owner = form.owner;
  if (form.metadata !== undefined) body.metadata = form.metadata;
  if (!form.omitData) body.data = form.dataField !== undefined ? form.dataField : data.toString('hex');
  return server.fetch('/api/v1/parcels', { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

async function uploadOk(server: TestServer, holder: Holder, data: Buffer, form: UploadForm = { form: 'json' }): Promise<string> {
  const { id } = await okJson<{ id: string }>(await upload(server, holder, data, form));
  return id;
}

async function download(server: TestServer, holder: Holder, id: string, headers: Record<string, string> = {}, tokenId = id): Promise<Response> {
  const auth = await signed(server, holder, { name: 'download', id: tokenId });
  return server.fetch(`/api/v1/parcels/${id}`, { headers: { ...auth, ...headers } });
}

async function remove(server: TestServer, holder: Holder, id: string, tokenId = id): Promise<Response> {
  const auth = await signed(server, holder, { name: 'remove', id: tokenId });
  return server.fetch(`/api/v1/parcels/${id}`, { method: 'DELETE', headers: auth });
}

/** GET /api/v1/parcels/{id}?key=… (no proof). */
const inspect = (server: TestServer, id: string, key: string) => server.fetch(`/api/v1/parcels/${id}?key=${encodeURIComponent(key)}`);

async function objectPaths(server: TestServer, holder: Holder, prefix = 'parcels/'): Promise<string[]> {
  const body = await okJson<{ objects: Array<{ path: string }> }>(
    await server.fetch(`/v1/objects/?prefix=${encodeURIComponent(prefix)}`, { headers: bearer(holder.token) }),
  );
  return body.objects.map((o) => o.path);
}

// ---------------------------------------------------------------------------------------------
// Bytes: on both backends

for (const backend of backends) {
  describe(`parcel API on ${backend.name}`, () => {
    let fx: Fixture;
    let server: TestServer;
    let alice: Holder;
    let bob: Holder;
    before(async () => {
      fx = await backend.open();
      server = fx.server;
      alice = await keyHolder(server, 'ed25519');
      bob = await keyHolder(server, 'p256');
    });
    after(() => fx.close());

    test('a JSON upload answers 200 {"id"}: "00000001" + the uppercase SHA-256 of the data (72 characters)', async () => {
      const data = randomBytes(1000);
      const res = await upload(server, alice, data, { form: 'json', owner: alice.name, metadata: { name: 'one.bin', tags: ['a', 1] } });
      const body = await okJson<{ id: string }>(res);
      assert.deepEqual(Object.keys(body), ['id']);
      assert.equal(body.id, idOf(data));
      assert.equal(body.id.length, 72);
      assert.match(body.id, /^00000001[0-9A-F]{64}$/);
    });

    for (const contentType of ['application/octet-stream', undefined, 'text/plain']) {
      test(`a raw upload (${contentType ?? 'no content type'}) answers the same id scheme, with metadata {}`, async () => {
        const data = randomBytes(50_000);
        const id = await uploadOk(server, alice, data, { form: 'raw', ...(contentType !== undefined ? { contentType } : {}) });
        assert.equal(id, idOf(data));
        assert.deepEqual(await okJson(await inspect(server, id, 'metadata')), { metadata: {} });
        const raw = await download(server, alice, id, { accept: 'application/octet-stream' });
        assert.equal(raw.status, 200);
        assert.ok(Buffer.from(await raw.arrayBuffer()).equals(data));
      });
    }

    test('the same owner uploading the same data again gets 200 and the same id', async () => {
      const data = randomBytes(3000);
      const first = await uploadOk(server, alice, data, { form: 'json', metadata: { v: 1 } });
      const again = await uploadOk(server, alice, data, { form: 'json', metadata: { v: 1 } });
      assert.equal(again, first);
      const raw = await uploadOk(server, alice, data, { form: 'raw', contentType: 'application/octet-stream' });
      assert.equal(raw, first);
      assert.equal((await objectPaths(server, alice)).filter((p) => p === `parcels/${first}`).length, 1);
    });

    test('another user uploading the same data gets 409, and nothing changes for the first owner', async () => {
      const data = randomBytes(3000);
      const id = await uploadOk(server, alice, data, { form: 'json', metadata: { by: 'alice' } });
      const blobsBefore = await fx.blobs();
      await problem(await upload(server, bob, data, { form: 'json', metadata: { by: 'bob' } }), 409);
      await problem(await upload(server, bob, data, { form: 'raw', contentType: 'application/octet-stream' }), 409);
      assert.deepEqual(await okJson(await inspect(server, id, 'owner')), { owner: alice.name });
      assert.deepEqual(await okJson(await inspect(server, id, 'metadata')), { metadata: { by: 'alice' } });
      const got = await okJson<{ data: string }>(await download(server, alice, id));
      assert.equal(got.data, data.toString('hex'));
      assert.ok(!(await objectPaths(server, bob)).includes(`parcels/${id}`), "the refused upload is not bob's object");
      assert.deepEqual(await fx.blobs(), blobsBefore, 'the refused uploads left no blob behind');
    });

    test('data whose hash differs from the challenge hash → 400 hash_mismatch, and nothing is stored (JSON and raw)', async () => {
      const announced = randomBytes(500);
      const sent = randomBytes(500);
      const blobsBefore = await fx.blobs();
      const objectsBefore = await objectPaths(server, alice);
      await problem(await upload(server, alice, sent, { form: 'json', metadata: { x: 1 } }, sha256(announced)), 400, 'hash_mismatch');
      await problem(await upload(server, alice, sent, { form: 'raw', contentType: 'application/octet-stream' }, sha256(announced)), 400, 'hash_mismatch');
      await problem(await upload(server, alice, sent, { form: 'raw' }, sha256(announced)), 400, 'hash_mismatch');
      for (const id of [idOf(sent), idOf(announced)]) {
        await problem(await inspect(server, id, 'owner'), 404);
        await problem(await inspect(server, id, 'metadata'), 404);
      }
      assert.deepEqual(await objectPaths(server, alice), objectsBefore);
      assert.deepEqual(await fx.blobs(), blobsBefore, 'no blob left behind');
    });

    test('GET /api/v1/parcels/{id} answers exactly {"id","owner","metadata","data": lowercase hex} as application/json with a matching Content-Length', async () => {
      const data = Buffer.from('ABCDEF parcel \u00e9\u00e8 bytes \x00\xff', 'latin1');
      const metadata = { name: 'n\u00e9.txt', nested: { list: [1, 'two', null, true] }, n: 1.5 };
      const id = await uploadOk(server, alice, data, { form: 'json', owner: alice.name, metadata });
      const res = await download(server, alice, id);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^application\/json\b/);
      const text = Buffer.from(await res.arrayBuffer());
      assert.equal(res.headers.get('content-length'), String(text.length));
      const body = JSON.parse(text.toString('utf8')) as Record<string, unknown>;
      assert.deepEqual(Object.keys(body).sort(), ['data', 'id', 'metadata', 'owner']);
      assert.deepEqual(body, { id, owner: alice.name, metadata, data: data.toString('hex') });
      assert.match(body.data as string, /^[0-9a-f]*$/);
      assert.ok(!('error' in body));
    });

    test('GET with Accept: application/octet-stream streams the raw bytes with Content-Length, and Range answers 206', async () => {
      const data = randomBytes(10_000);
      const id = await uploadOk(server, alice, data, { form: 'json' });
      const res = await download(server, alice, id, { accept: 'application/octet-stream' });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-length'), String(data.length));
      assert.ok(Buffer.from(await res.arrayBuffer()).equals(data));

      const part = await download(server, alice, id, { accept: 'application/octet-stream', range: 'bytes=100-199' });
      assert.equal(part.status, 206);
      assert.equal(part.headers.get('content-range'), `bytes 100-199/${data.length}`);
      assert.equal(part.headers.get('content-length'), '100');
      assert.ok(Buffer.from(await part.arrayBuffer()).equals(data.subarray(100, 200)));

      const tail = await download(server, alice, id, { accept: 'application/octet-stream', range: 'bytes=-10' });
      assert.equal(tail.status, 206);
      assert.ok(Buffer.from(await tail.arrayBuffer()).equals(data.subarray(data.length - 10)));
    });

    test('parcel ids are case-insensitive: in the URL and in the challenge operation id', async () => {
      const data = randomBytes(700);
      const id = await uploadOk(server, alice, data, { form: 'json' });
      const lower = id.toLowerCase();
      for (const [urlId, tokenId] of [
        [lower, lower],
        [lower, id],
        [id, lower],
      ] as const) {
        const body = await okJson<{ id: string; data: string }>(await download(server, alice, urlId, {}, tokenId));
        assert.equal(body.id, id, 'the answer names the id in its stored (uppercase) form');
        assert.equal(body.data, data.toString('hex'));
      }
      assert.deepEqual(await okJson(await inspect(server, lower, 'owner')), { owner: alice.name });
      const gone = await remove(server, alice, lower, lower);
      assert.equal(gone.status, 204, await gone.clone().text());
      await problem(await inspect(server, id, 'owner'), 404);
    });

    test('an 8 MiB raw upload downloads as JSON hex, streamed, with the right bytes', async () => {
      const data = randomBytes(8 * MiB);
      const id = await uploadOk(server, alice, data, { form: 'raw', contentType: 'application/octet-stream' });
      assert.equal(id, idOf(data));
      const res = await download(server, alice, id);
      assert.equal(res.status, 200);
      const text = await res.text();
      assert.equal(res.headers.get('content-length'), String(Buffer.byteLength(text)));
      const body = JSON.parse(text) as { id: string; owner: string; metadata: unknown; data: string };
      assert.equal(body.id, id);
      assert.equal(body.owner, alice.name);
      assert.deepEqual(body.metadata, {});
      assert.equal(body.data.length, 2 * data.length);
      assert.equal(sha256(Buffer.from(body.data, 'hex')), sha256(data));
    });

    test('?key=metadata and ?key=owner answer without any proof', async () => {
      const metadata = { filename: 'report.pdf', size: 42, deep: { a: [1, { b: 'c' }] } };
      const data = randomBytes(128);
      const id = await uploadOk(server, bob, data, { form: 'json', metadata });
      const meta = await inspect(server, id, 'metadata');
      assert.match(meta.headers.get('content-type') ?? '', /^application\/json\b/);
      assert.deepEqual(await okJson(meta), { metadata });
      assert.deepEqual(await okJson(await inspect(server, id, 'owner')), { owner: bob.name });
      const noMeta = await uploadOk(server, bob, randomBytes(64), { form: 'json' });
      assert.deepEqual(await okJson(await inspect(server, noMeta, 'metadata')), { metadata: {} }, 'absent metadata is {}');
    });

    test('download and remove by another user (with their own valid token) → 403; unknown id → 404', async () => {
      const data = randomBytes(256);
      const id = await uploadOk(server, alice, data, { form: 'json' });
      await problem(await download(server, bob, id), 403);
      await problem(await download(server, bob, id, { accept: 'application/octet-stream' }), 403);
      await problem(await remove(server, bob, id), 403);
      // still alice's
      assert.deepEqual(await okJson(await inspect(server, id, 'owner')), { owner: alice.name });
      const unknown = idOf(randomBytes(32));
      await problem(await download(server, alice, unknown), 404);
      await problem(await remove(server, alice, unknown), 404);
    });

    test('DELETE /api/v1/parcels/{id} → 204; then the object is gone from /v1/objects and ?key=owner → 404', async () => {
      const data = randomBytes(2048);
      const blobsBefore = await fx.blobs();
      const id = await uploadOk(server, alice, data, { form: 'raw', contentType: 'application/octet-stream' });
      assert.ok((await objectPaths(server, alice)).includes(`parcels/${id}`));
      const res = await remove(server, alice, id);
      assert.equal(res.status, 204, await res.clone().text());
      assert.equal(await res.text(), '');
      assert.ok(!(await objectPaths(server, alice)).includes(`parcels/${id}`));
      assert.equal((await server.fetch(`/v1/objects/parcels/${id}`, { headers: bearer(alice.token) })).status, 404);
      await problem(await inspect(server, id, 'owner'), 404);
      await problem(await inspect(server, id, 'metadata'), 404);
      await problem(await download(server, alice, id), 404);
      assert.deepEqual(await fx.blobs(), blobsBefore, 'the blob is deleted too');
    });

    test("a parcel is also its owner's object parcels/{ID}: readable and listed through /v1/objects", async () => {
      const data = randomBytes(4096);
      const id = await uploadOk(server, alice, data, { form: 'json', metadata: { k: 'v' } });
      const got = await server.fetch(`/v1/objects/parcels/${id}`, { headers: bearer(alice.token) });
      assert.equal(got.status, 200);
      assert.ok(Buffer.from(await got.arrayBuffer()).equals(data));
      const listing = await okJson<{ objects: Array<{ path: string; size: number; sha256: string }> }>(
        await server.fetch('/v1/objects/?prefix=parcels/', { headers: bearer(alice.token) }),
      );
      const entry = listing.objects.find((o) => o.path === `parcels/${id}`);
      assert.ok(entry, 'listed under parcels/');
      assert.equal(entry.size, data.length);
      assert.equal(entry.sha256, sha256(data));
      assert.equal((await server.fetch(`/v1/objects/parcels/${id}`, { headers: bearer(bob.token) })).status, 404, "not bob's object");
    });

    test('DELETE /v1/objects/parcels/{ID} removes the parcel too, and another user may then upload the same data', async () => {
      const data = randomBytes(1500);
      const id = await uploadOk(server, alice, data, { form: 'json' });
      const del = await server.fetch(`/v1/objects/parcels/${id}`, { method: 'DELETE', headers: bearer(alice.token) });
      assert.ok(del.status === 200 || del.status === 204, `${del.status}`);
      if (del.status === 200) await okJson(del);
      await problem(await inspect(server, id, 'owner'), 404);
      await problem(await download(server, alice, id), 404);
      assert.equal(await uploadOk(server, bob, data, { form: 'json' }), id);
      assert.deepEqual(await okJson(await inspect(server, id, 'owner')), { owner: bob.name });
      assert.ok((await objectPaths(server, bob)).includes(`parcels/${id}`));
      assert.ok(!(await objectPaths(server, alice)).includes(`parcels/${id}`));
    });

    test('a raw upload sent chunked (no Content-Length) streams through and gets the same id', async () => {
      const chunks = Array.from({ length: 40 }, () => randomBytes(64 * 1024));
      const data = Buffer.concat(chunks);
      const headers = await signed(server, alice, { name: 'upload', hash: sha256(data) });
      const res = await postChunked(server, headers, chunks);
      assert.equal((await okJson<{ id: string }>(res)).id, idOf(data));
      const back = await download(server, alice, idOf(data), { accept: 'application/octet-stream' });
      assert.equal(sha256(Buffer.from(await back.arrayBuffer())), sha256(data));
    });

    test('Accept negotiation: JSON unless application/octet-stream is preferred', async () => {
      const data = randomBytes(64);
      const id = await uploadOk(server, alice, data, { form: 'raw', contentType: 'application/octet-stream' });
      for (const accept of ['application/json', '*/*', 'application/json, application/octet-stream;q=0.5']) {
        const res = await download(server, alice, id, { accept });
        assert.match(res.headers.get('content-type') ?? '', /^application\/json\b/, accept);
        assert.equal((await okJson<{ data: string }>(res)).data, data.toString('hex'));
      }
      const raw = await download(server, alice, id, { accept: 'application/octet-stream, application/json;q=0.5' });
      assert.equal(raw.status, 200);
      assert.ok(Buffer.from(await raw.arrayBuffer()).equals(data));
    });

    test('two users uploading the same data at once: one 200, one 409, never a 500; one owner, one blob', async () => {
      const data = randomBytes(200_000);
      const blobsBefore = await fx.blobs();
      const [a, b] = await Promise.all([
        upload(server, alice, data, { form: 'raw', contentType: 'application/octet-stream' }),
        upload(server, bob, data, { form: 'raw', contentType: 'application/octet-stream' }),
      ]);
      const statuses = [a.status, b.status].sort();
      assert.deepEqual(statuses, [200, 409], `${a.status} ${await a.text()} / ${b.status} ${await b.text()}`);
      const winner = a.status === 200 ? alice : bob;
      const loser = a.status === 200 ? bob : alice;
      const id = idOf(data);
      assert.deepEqual(await okJson(await inspect(server, id, 'owner')), { owner: winner.name });
      assert.ok((await objectPaths(server, winner)).includes(`parcels/${id}`));
      assert.ok(!(await objectPaths(server, loser)).includes(`parcels/${id}`));
      assert.equal((await fx.blobs()).length, blobsBefore.length + 1);
      assert.equal((await remove(server, winner, id)).status, 204);
    });

    test('the same owner uploading the same data twice at once: both 200 with the same id, one blob', async () => {
      const data = randomBytes(200_000);
      const blobsBefore = await fx.blobs();
      const answers = await Promise.all([1, 2, 3].map(() => upload(server, alice, data, { form: 'raw', contentType: 'application/octet-stream' })));
      for (const res of answers) assert.equal((await okJson<{ id: string }>(res)).id, idOf(data));
      assert.equal((await fx.blobs()).length, blobsBefore.length + 1);
      const back = await download(server, alice, idOf(data), { accept: 'application/octet-stream' });
      assert.ok(Buffer.from(await back.arrayBuffer()).equals(data));
    });

    test('a chunked raw upload whose hash differs from the challenge → 400 hash_mismatch, no blob and no half-written upload left', async () => {
      const chunks = Array.from({ length: 24 }, () => randomBytes(256 * 1024));
      const data = Buffer.concat(chunks);
      const blobsBefore = await fx.blobs();
      const headers = await signed(server, alice, { name: 'upload', hash: sha256('something else') });
      const res = await postChunked(server, headers, chunks);
      await problem(res, 400, 'hash_mismatch');
      await problem(await inspect(server, idOf(data), 'owner'), 404);
      assert.ok(!(await objectPaths(server, alice)).includes(`parcels/${idOf(data)}`));
      await eventually(async () => {
        assert.deepEqual(await fx.leftovers(), [], 'no half-written blob stays');
        assert.deepEqual(await fx.blobs(), blobsBefore, 'no blob stays');
      });
    });

    test('a raw upload cut mid-body leaves nothing: no parcel, no object, no blob, no half-written upload', { timeout: 60_000 }, async () => {
      const blobsBefore = await fx.blobs();
      const objectsBefore = await objectPaths(server, alice);
      const headers = await signed(server, alice, 'upload');
      const { hostname, port } = new URL(server.base);
      const socket = net.connect(Number(port), hostname);
      socket.on('error', () => {});
      await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
      const received: Buffer[] = [];
      socket.on('data', (d: Buffer) => received.push(d));
      const head = Object.entries({ ...headers, 'content-type': 'application/octet-stream', 'content-length': String(16 * MiB) })
        .map(([k, v]) => `${k}: ${v}\r\n`)
        .join('');
      socket.write(`POST /api/v1/parcels HTTP/1.1\r\nHost: ${hostname}:${port}\r\n${head}\r\n`);
      for (let i = 0; i < 16; i++) {
        if (!socket.write(randomBytes(256 * 1024))) await new Promise<void>((resolve) => socket.once('drain', () => resolve()));
      }
      await sleep(300);
      assert.equal(Buffer.concat(received).toString(), '', 'the server waits for the rest of the body');
      socket.destroy();
      await eventually(async () => {
        assert.deepEqual(await fx.leftovers(), [], 'no half-written blob stays');
        assert.deepEqual(await fx.blobs(), blobsBefore, 'no blob of the cut upload stays');
      });
      assert.deepEqual(await objectPaths(server, alice), objectsBefore);
    });

    test("deleting the user (admin DELETE /v1/users/{name}) removes their parcels and their bytes", async () => {
      const carol = await keyHolder(server, 'p256');
      const blobsBefore = await fx.blobs();
      const ids = [
        await uploadOk(server, carol, randomBytes(900), { form: 'json', metadata: { n: 1 } }),
        await uploadOk(server, carol, randomBytes(90_000), { form: 'raw', contentType: 'application/octet-stream' }),
      ];
      assert.equal((await fx.blobs()).length, blobsBefore.length + 2);
      const res = await server.fetch(`/v1/users/${carol.name}`, { method: 'DELETE', headers: bearer(await server.adminToken()) });
      assert.ok(res.status === 200 || res.status === 204, `${res.status}`);
      if (res.status === 200) await okJson(res);
      for (const id of ids) {
        await problem(await inspect(server, id, 'owner'), 404);
        await problem(await inspect(server, id, 'metadata'), 404);
      }
      assert.deepEqual(await fx.blobs(), blobsBefore, "the user's blobs are deleted");
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Pure API checks: on fs

describe('parcel API checks (fs)', () => {
  let fx: Fixture;
  let server: TestServer;
  let alice: Holder;
  let bob: Holder;
  before(async () => {
    fx = await openFsBackend();
    server = fx.server;
    alice = await keyHolder(server, 'ed25519');
    bob = await keyHolder(server, 'p256');
  });
  after(() => fx.close());

  test('COFFER_PARCEL_STORAGE_ID=abcdef01 makes ids start with ABCDEF01', async () => {
    const other = await openFsBackend({ COFFER_PARCEL_STORAGE_ID: 'abcdef01' });
    try {
      const user = await keyHolder(other.server);
      const data = randomBytes(300);
      const id = await uploadOk(other.server, user, data, { form: 'json' });
      assert.equal(id, idOf(data, 'ABCDEF01'));
      const raw = randomBytes(300);
      assert.equal(await uploadOk(other.server, user, raw, { form: 'raw', contentType: 'application/octet-stream' }), idOf(raw, 'ABCDEF01'));
      const body = await okJson<{ id: string }>(await download(other.server, user, id.toLowerCase()));
      assert.equal(body.id, id);
    } finally {
      await other.close();
    }
  });

  test('an "owner" other than the challenge user → 403, nothing stored; an absent owner is the challenge user', async () => {
    const data = randomBytes(200);
    await problem(await upload(server, alice, data, { form: 'json', owner: bob.name }), 403);
    await problem(await upload(server, alice, data, { form: 'json', owner: 'nobody-at-all' }), 403);
    await problem(await inspect(server, idOf(data), 'owner'), 404);
    const id = await uploadOk(server, alice, data, { form: 'json', metadata: { a: 1 } });
    assert.deepEqual(await okJson(await inspect(server, id, 'owner')), { owner: alice.name });
  });

  test("an owner naming the signer's P-256 address while the challenge names his username → 403", async () => {
    // bob signs with a P-256 key registered to him: his username is the challenge user, his key's address is not.
    const data = randomBytes(200);
    await problem(await upload(server, bob, data, { form: 'json', owner: bob.key.address }), 403);
    const id = await uploadOk(server, bob, data, { form: 'json', owner: bob.name });
    assert.deepEqual(await okJson(await inspect(server, id, 'owner')), { owner: bob.name });
  });

  for (const [what, form] of [
    ['"data" not hex', { form: 'json', dataField: 'zz'.repeat(10) }],
    ['"data" of odd length', { form: 'json', dataField: 'abc' }],
    ['"data" missing', { form: 'json', omitData: true }],
    ['"data" not a string', { form: 'json', dataField: [1, 2, 3] }],
    ['"metadata" a string', { form: 'json', metadata: 'not an object' }],
    ['"metadata" an array', { form: 'json', metadata: [1, 2] }],
    ['"metadata" a number', { form: 'json', metadata: 7 }],
  ] as Array<[string, UploadForm]>) {
    test(`a JSON upload with ${what} → 400, nothing stored`, async () => {
      const data = randomBytes(100);
      const body = await problem(await upload(server, alice, data, form), 400);
      assert.ok(typeof body.error === 'string' && body.error.length > 0, 'the error says what is wrong');
      await problem(await inspect(server, idOf(data), 'owner'), 404);
    });
  }

  test('a JSON upload with "metadata": null is kept as {} (as the README says)', async () => {
    const data = randomBytes(100);
    const res = await upload(server, alice, data, { form: 'json', metadata: null });
    assert.equal(res.status, 200, await res.clone().text());
    await okJson(res);
    assert.deepEqual(await okJson(await inspect(server, idOf(data), 'metadata')), { metadata: {} });
  });

  for (const [what, text] of [
    ['invalid JSON', '{"data": "00",'],
    ['a JSON array', '["00"]'],
    ['a JSON string', '"00"'],
    ['JSON null', 'null'],
  ] as const) {
    test(`an upload whose body is ${what} → 400, never 500`, async () => {
      const headers = await signed(server, alice, 'upload');
      const res = await server.fetch('/api/v1/parcels', { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: text });
      await problem(res, 400);
    });
  }

  test('a JSON body above COFFER_PARCEL_JSON_MAX_BYTES → 413; a raw upload bigger than that limit still works', async () => {
    const small = await openFsBackend({ COFFER_PARCEL_JSON_MAX_BYTES: '4096' });
    try {
      const user = await keyHolder(small.server);
      const big = randomBytes(3000); // 6000 hex digits
      await problem(await upload(small.server, user, big, { form: 'json' }), 413);
      await problem(await inspect(small.server, idOf(big), 'owner'), 404);
      const fits = randomBytes(1500); // ~3 KiB of JSON
      assert.equal(await uploadOk(small.server, user, fits, { form: 'json' }), idOf(fits));
      const rawBig = randomBytes(256 * 1024);
      const id = await uploadOk(small.server, user, rawBig, { form: 'raw', contentType: 'application/octet-stream' });
      assert.equal(id, idOf(rawBig));
      const back = await download(small.server, user, id, { accept: 'application/octet-stream' });
      assert.equal(back.status, 200);
      assert.ok(Buffer.from(await back.arrayBuffer()).equals(rawBig));
    } finally {
      await small.close();
    }
  });

  test('?key= other than metadata or owner → 400; unknown id → 404; malformed id → 400; no auth needed', async () => {
    const id = await uploadOk(server, alice, randomBytes(64), { form: 'json' });
    await problem(await inspect(server, id, 'data'), 400);
    await problem(await inspect(server, id, ''), 400);
    await problem(await inspect(server, idOf(randomBytes(16)), 'metadata'), 404);
    await problem(await inspect(server, idOf(randomBytes(16)), 'owner'), 404);
    for (const bad of ['not-an-id', id.slice(1), `${id}0`, `${id.slice(0, 71)}G`]) {
      await problem(await inspect(server, bad, 'metadata'), 400);
    }
    // A malformed id on a signed GET or DELETE is 400 as well.
    await problem(await server.fetch('/api/v1/parcels/not-an-id'), 400);
    await problem(await server.fetch('/api/v1/parcels/not-an-id', { method: 'DELETE' }), 400);
  });

  test('a download without proof, or with a token for another operation or parcel, is refused with 401', async () => {
    const id = await uploadOk(server, alice, randomBytes(64), { form: 'json' });
    await problem(await server.fetch(`/api/v1/parcels/${id}`), 401);
    const wrongOp = await signed(server, alice, { name: 'remove', id });
    await problem(await server.fetch(`/api/v1/parcels/${id}`, { headers: wrongOp }), 401);
    const otherId = await signed(server, alice, { name: 'download', id: idOf(randomBytes(8)) });
    await problem(await server.fetch(`/api/v1/parcels/${id}`, { headers: otherId }), 401);
  });

  test('a disabled user is refused (401) even with a registered key and a fresh token', async () => {
    const dora = await keyHolder(server, 'ed25519');
    const id = await uploadOk(server, dora, randomBytes(64), { form: 'json' });
    const patch = await server.fetch(`/v1/users/${dora.name}`, {
      method: 'PATCH',
      headers: bearer(await server.adminToken(), { 'content-type': 'application/json' }),
      body: JSON.stringify({ disabled: true }),
    });
    await okJson(patch);
    await problem(await download(server, dora, id), 401);
    await problem(await upload(server, dora, randomBytes(64), { form: 'json' }), 401);
    await problem(await remove(server, dora, id), 401);
  });

  test('each challenge token works once', async () => {
    const id = await uploadOk(server, alice, randomBytes(64), { form: 'json' });
    const headers = await signed(server, alice, { name: 'download', id });
    assert.equal((await server.fetch(`/api/v1/parcels/${id}`, { headers })).status, 200);
    await problem(await server.fetch(`/api/v1/parcels/${id}`, { headers }), 401);
  });

  test('a bare "upload" operation (no hash) uploads the data as sent', async () => {
    const data = randomBytes(333);
    const headers = await signed(server, alice, 'upload');
    const res = await server.fetch('/api/v1/parcels', { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify({ data: data.toString('hex') }) });
    assert.equal((await okJson<{ id: string }>(res)).id, idOf(data));
  });

  test('the challenge hash is compared case-insensitively (an uppercase hash works)', async () => {
    const data = randomBytes(100);
    const id = await uploadOk(server, alice, data, { form: 'json' });
    assert.equal(id, idOf(data));
    const other = randomBytes(100);
    const res = await upload(server, alice, other, { form: 'raw', contentType: 'application/octet-stream' }, sha256(other).toUpperCase());
    assert.equal((await okJson<{ id: string }>(res)).id, idOf(other));
  });

  test('a P-256 key holder known by its address (self-registered) uploads with "owner" = the address in any case', async () => {
    const open = await openFsBackend({ COFFER_PUBKEY_SELF_REGISTRATION: 'true' });
    try {
      const key = makeKey('p256');
      const holder: Holder = { name: key.address!, token: '', key };
      const data = randomBytes(100);
      const headers = await signed(open.server, holder, { name: 'upload', hash: sha256(data) }, key.address!.toLowerCase());
      const res = await open.server.fetch('/api/v1/parcels', {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify({ owner: key.address!.toLowerCase(), metadata: { amo: true }, data: data.toString('hex') }),
      });
      const id = (await okJson<{ id: string }>(res)).id;
      assert.equal(id, idOf(data));
      assert.deepEqual(await okJson(await open.server.fetch(`/api/v1/parcels/${id}?key=owner`)), { owner: key.address });
      const body = await okJson<{ owner: string; data: string }>(await download(open.server, holder, id));
      assert.equal(body.owner, key.address);
      assert.equal(body.data, data.toString('hex'));
    } finally {
      await open.close();
    }
  });

  test('an empty parcel: JSON "data": "" and an empty raw body both answer the id of the empty string', async () => {
    const empty = Buffer.alloc(0);
    const id = await uploadOk(server, alice, empty, { form: 'json' });
    assert.equal(id, idOf(empty));
    assert.equal(await uploadOk(server, alice, empty, { form: 'raw', contentType: 'application/octet-stream' }), id);
    const body = await okJson<{ data: string }>(await download(server, alice, id));
    assert.equal(body.data, '');
    assert.equal((await remove(server, alice, id)).status, 204);
  });

  test('a large JSON body far above the limit → 413 promptly (not a reset connection)', async () => {
    const small = await openFsBackend({ COFFER_PARCEL_JSON_MAX_BYTES: '4096' });
    try {
      const user = await keyHolder(small.server);
      const data = randomBytes(4 * MiB);
      await problem(await upload(small.server, user, data, { form: 'json' }), 413);
    } finally {
      await small.close();
    }
  });

  test('PUT /v1/objects/parcels/{72 hex} (any case) → 400: the path is reserved for the parcel API', async () => {
    const hex = sha256(randomBytes(8));
    for (const id of [`00000001${hex.toUpperCase()}`, `00000001${hex}`, `AbCdEf01${hex.slice(0, 32).toUpperCase()}${hex.slice(32)}`]) {
      const res = await server.fetch(`/v1/objects/parcels/${id}`, { method: 'PUT', headers: bearer(alice.token, { 'content-type': 'application/octet-stream' }), body: 'x' });
      await problem(res, 400);
      await problem(await inspect(server, id, 'owner'), 404);
    }
    assert.deepEqual((await objectPaths(server, alice)).filter((p) => p.toLowerCase().includes(hex)), []);
  });

  test('PUT /v1/objects/parcels/{ID} of an existing parcel → 400 and the parcel keeps its bytes', async () => {
    const data = randomBytes(512);
    const id = await uploadOk(server, alice, data, { form: 'json' });
    await problem(await server.fetch(`/v1/objects/parcels/${id}`, { method: 'PUT', headers: bearer(alice.token), body: 'overwrite' }), 400);
    const body = await okJson<{ data: string }>(await download(server, alice, id));
    assert.equal(body.data, data.toString('hex'));
  });

  test('POST /v1/presign for a PUT of parcels/<72 hex> → 400', async () => {
    const hex = sha256(randomBytes(8));
    for (const p of [`parcels/00000001${hex.toUpperCase()}`, `parcels/00000001${hex}`]) {
      const res = await server.fetch('/v1/presign', {
        method: 'POST',
        headers: bearer(alice.token, { 'content-type': 'application/json' }),
        body: JSON.stringify({ path: p, method: 'PUT' }),
      });
      await problem(res, 400);
    }
  });

  test('other paths under parcels/ are ordinary objects (PUT, presign PUT, GET, DELETE)', async () => {
    const put = await server.fetch('/v1/objects/parcels/notes.txt', { method: 'PUT', headers: bearer(alice.token, { 'content-type': 'text/plain' }), body: 'notes' });
    await okJson(put, 201);
    const nested = await server.fetch(`/v1/objects/parcels/00000001${sha256('x').toUpperCase()}/inner.txt`, { method: 'PUT', headers: bearer(alice.token), body: 'inner' });
    await okJson(nested, 201);
    const got = await server.fetch('/v1/objects/parcels/notes.txt', { headers: bearer(alice.token) });
    assert.equal(await got.text(), 'notes');
    const presigned = await server.fetch('/v1/presign', {
      method: 'POST',
      headers: bearer(alice.token, { 'content-type': 'application/json' }),
      body: JSON.stringify({ path: 'parcels/readme.md', method: 'PUT' }),
    });
    await okJson(presigned);
    const del = await server.fetch('/v1/objects/parcels/notes.txt', { method: 'DELETE', headers: bearer(alice.token) });
    assert.ok(del.status === 200 || del.status === 204, `${del.status}`);
  });

  test('a user without objects:write gets 403 on upload; without objects:read, 403 on download', async () => {
    const reader = await keyHolder(server, 'ed25519', { grants: ['objects:read'] });
    const data = randomBytes(128);
    await problem(await upload(server, reader, data, { form: 'json' }), 403, 'insufficient_scope');
    await problem(await upload(server, reader, data, { form: 'raw', contentType: 'application/octet-stream' }), 403, 'insufficient_scope');
    await problem(await inspect(server, idOf(data), 'owner'), 404);

    const writer = await keyHolder(server, 'p256', { grants: ['objects:write'] });
    const id = await uploadOk(server, writer, data, { form: 'json' });
    await problem(await download(server, writer, id), 403, 'insufficient_scope');
    await problem(await download(server, writer, id, { accept: 'application/octet-stream' }), 403, 'insufficient_scope');
    const gone = await remove(server, writer, id);
    assert.equal(gone.status, 204, 'remove needs objects:write only');
  });

  test('success bodies never contain an "error" key (upload, download, metadata, owner, challenge)', async () => {
    const data = randomBytes(40);
    const bodies: string[] = [];
    const auth = await server.fetch('/api/v1/auth', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user: alice.name, operation: 'upload' }) });
    bodies.push(await auth.text());
    const up = await upload(server, alice, data, { form: 'json', metadata: { error: 'inside metadata is fine' } });
    assert.equal(up.status, 200);
    bodies.push(await up.text());
    const id = idOf(data);
    for (const res of [await download(server, alice, id), await inspect(server, id, 'owner')]) {
      assert.equal(res.status, 200);
      bodies.push(await res.text());
    }
    for (const text of bodies) {
      const body = JSON.parse(text) as Record<string, unknown>;
      assert.ok(!('error' in body), text);
    }
    // ?key=metadata answers {"metadata": ...}: the only top-level key
    assert.deepEqual(Object.keys(await okJson(await inspect(server, id, 'metadata'))), ['metadata']);
  });
});

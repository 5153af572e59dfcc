/**
 * The JSON form of a parcel upload is read as it streams (src/parcels/parcel-json.ts): the fields
 * may come in any order, a body past the limit is cut with 413 even without a Content-Length,
 * and whatever goes wrong after the data has streamed in leaves nothing stored.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import { challengeHeaders, makeKey } from '../helpers/key-client.js';
import { bearer, startServer, type TestServer } from '../helpers/server.js';

const LIMIT = 64 * 1024;
const holder = makeKey('ed25519');
let server: TestServer;
let token: string;

before(async () => {
  server = await startServer({ COFFER_PARCEL_JSON_MAX_BYTES: String(LIMIT) });
  token = await server.createUser('streamer');
  const res = await server.fetch('/v1/keys', { method: 'POST', headers: bearer(token, { 'content-type': 'application/json' }), body: JSON.stringify({ key: holder.raw.toString('hex') }) });
  assert.equal(res.status, 201);
});
after(() => server.close());

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function signedHeaders(operation: unknown): Promise<Record<string, string>> {
  const res = await server.fetch('/api/v1/auth', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user: 'streamer', operation }) });
  return challengeHeaders(holder, ((await res.json()) as { token: string }).token);
}

/** POSTs a JSON body given as text pieces; `chunked` leaves out Content-Length. */
async function post(pieces: string[], data: Buffer, chunked = false): Promise<Response> {
  const headers = { ...(await signedHeaders({ name: 'upload', hash: sha256(data) })), 'content-type': 'application/json' };
  const body = chunked ? (Readable.toWeb(Readable.from(pieces.map((p) => Buffer.from(p)))) as ReadableStream) : pieces.join('');
  return server.fetch('/api/v1/parcels', { method: 'POST', headers, body, ...(chunked ? { duplex: 'half' } : {}) } as RequestInit);
}

async function blobCount(): Promise<number> {
  const names = await readdir(path.join(server.dataDir, 'blobs'), { recursive: true }).catch(() => [] as string[]);
  return names.map(String).filter((n) => /^[0-9a-z]{16,}$/.test(path.basename(n))).length;
}

async function parcelStatus(data: Buffer): Promise<number> {
  return (await server.fetch(`/api/v1/parcels/00000001${sha256(data).toUpperCase()}?key=owner`)).status;
}

test('fields in any order: data first, then metadata and owner; the metadata is kept as sent', async () => {
  const before = await blobCount();
  const data = randomBytes(1000);
  const res = await post([`{"data":"${data.toString('hex')}",`, `"metadata":{"name":"é","n":[1,2.5,null,true],"nested":{"k":"v"}},`, '"owner":"streamer"}'], data);
  assert.equal(res.status, 200, await res.clone().text());
  const { id } = (await res.json()) as { id: string };
  const meta = await server.fetch(`/api/v1/parcels/${id}?key=metadata`);
  assert.deepEqual(await meta.json(), { metadata: { name: 'é', n: [1, 2.5, null, true], nested: { k: 'v' } } });
  // The blob count the "leaves nothing" tests below rely on does see a stored parcel.
  assert.equal(await blobCount(), before + 1);
});

test('a chunked body (no Content-Length) is parsed across arbitrary piece boundaries, escapes included', async () => {
  const data = randomBytes(5000);
  const hex = data.toString('hex');
  const text = `{"owner":"streamer","metadata":{"q":"a\\"b\\u00e9"},"data":"${hex}"}`;
  const pieces: string[] = [];
  for (let at = 0; at < text.length; at += 7) pieces.push(text.slice(at, at + 7));
  const res = await post(pieces, data, true);
  assert.equal(res.status, 200, await res.clone().text());
  const meta = await server.fetch(`/api/v1/parcels/00000001${sha256(data).toUpperCase()}?key=metadata`);
  assert.deepEqual(await meta.json(), { metadata: { q: 'a"bé' } });
});

test('a chunked body past COFFER_PARCEL_JSON_MAX_BYTES is cut with 413 and leaves nothing', async () => {
  const before = await blobCount();
  const data = randomBytes(LIMIT); // its hex is twice the limit
  const hex = data.toString('hex');
  const pieces = ['{"data":"'];
  for (let at = 0; at < hex.length; at += 8192) pieces.push(hex.slice(at, at + 8192));
  pieces.push('"}');
  const res = await post(pieces, data, true);
  assert.equal(res.status, 413);
  assert.equal(((await res.json()) as { code: string }).code, 'payload_too_large');
  assert.equal(await parcelStatus(data), 404);
  assert.equal(await blobCount(), before);
});

test('an owner that is not the challenge user, sent after the data, is 403 and the streamed bytes are dropped', async () => {
  const before = await blobCount();
  const data = randomBytes(2000);
  const res = await post([`{"data":"${data.toString('hex')}","owner":"someone-else"}`], data);
  assert.equal(res.status, 403);
  assert.equal(await parcelStatus(data), 404);
  assert.equal(await blobCount(), before);
});

test('bad bodies after the data has streamed are 400 and leave nothing: metadata not an object, data twice, broken JSON, cut short', async () => {
  const before = await blobCount();
  const data = randomBytes(300);
  const hex = data.toString('hex');
  for (const [what, body] of [
    ['metadata a list', `{"data":"${hex}","metadata":[1]}`],
    ['data twice', `{"data":"${hex}","data":"${hex}"}`],
    ['broken JSON after data', `{"data":"${hex}",,}`],
    ['trailing garbage', `{"data":"${hex}"} x`],
    ['cut short', `{"data":"${hex}"`],
    ['odd number of digits', `{"data":"${hex}a"}`],
    ['not hex', `{"data":"${hex.slice(0, -2)}zz"}`],
    ['data a number', '{"data":12}'],
    ['a bad digit deep inside a long value', `{"data":"${randomBytes(20_000).toString('hex').slice(0, 33_000)}g${'0'.repeat(6_999)}"}`],
    ['no data', '{"owner":"streamer"}'],
    ['not an object', `["${hex}"]`],
    ['empty', ''],
  ] as const) {
    const res = await post([body], data);
    assert.equal(res.status, 400, `${what}: ${await res.clone().text()}`);
    const problem = (await res.json()) as { code: string; detail: string };
    assert.ok(problem.code && problem.detail, what);
  }
  assert.equal(await parcelStatus(data), 404);
  assert.equal(await blobCount(), before);
});

test('a JSON error in the middle of the data, after the first bytes reached the store, is 400 and leaves nothing', async () => {
  const before = await blobCount();
  const data = randomBytes(25_000);
  const hex = data.toString('hex');
  // Separate pieces, so the store has bytes before the parser meets the control character.
  const res = await post(['{"data":"', hex.slice(0, 40_000), '\u0001', `${hex.slice(40_001)}"}`], data, true);
  assert.equal(res.status, 400, await res.clone().text());
  assert.equal(((await res.json()) as { code: string }).code, 'invalid_json');
  assert.equal(await parcelStatus(data), 404);
  assert.equal(await blobCount(), before);
});

test('metadata and owner are small by rule: 64 Ki characters at most (400)', async () => {
  const data = randomBytes(10);
  const big = JSON.stringify({ blob: 'x'.repeat(64 * 1024 + 10) });
  const roomy = await startServer({ COFFER_PARCEL_JSON_MAX_BYTES: String(1024 * 1024) });
  try {
    const t = await roomy.createUser('roomy');
    await roomy.fetch('/v1/keys', { method: 'POST', headers: bearer(t, { 'content-type': 'application/json' }), body: JSON.stringify({ key: holder.raw.toString('hex') }) });
    const auth = await roomy.fetch('/api/v1/auth', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user: 'roomy', operation: { name: 'upload', hash: sha256(data) } }) });
    const headers = { ...challengeHeaders(holder, ((await auth.json()) as { token: string }).token), 'content-type': 'application/json' };
    const res = await roomy.fetch('/api/v1/parcels', { method: 'POST', headers, body: `{"metadata":${big},"data":"${data.toString('hex')}"}` });
    assert.equal(res.status, 400);
    assert.match(((await res.json()) as { detail: string }).detail, /"metadata" is limited/);
  } finally {
    await roomy.close();
  }
});

test('a hash mismatch in the JSON form is still 400 hash_mismatch', async () => {
  const data = randomBytes(100);
  const other = randomBytes(100);
  const headers = { ...(await signedHeaders({ name: 'upload', hash: sha256(other) })), 'content-type': 'application/json' };
  const res = await server.fetch('/api/v1/parcels', { method: 'POST', headers, body: JSON.stringify({ data: data.toString('hex') }) });
  assert.equal(res.status, 400);
  assert.equal(((await res.json()) as { code: string }).code, 'hash_mismatch');
});

test('a client that goes away in the middle of the data leaves nothing behind (no blob, no temp file)', async () => {
  const before = await blobCount();
  const data = randomBytes(500_000);
  const headers = { ...(await signedHeaders({ name: 'upload', hash: sha256(data) })), 'content-type': 'application/json', 'transfer-encoding': 'chunked' };
  const { port } = new URL(server.base);
  const socket = net.connect(Number(port), '127.0.0.1');
  await new Promise((resolve) => socket.once('connect', resolve));
  const head = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  const piece = `{"owner":"streamer","data":"${data.toString('hex').slice(0, 600_000)}`;
  socket.write(`POST /api/v1/parcels HTTP/1.1\r\nhost: 127.0.0.1\r\n${head}\r\n${piece.length.toString(16)}\r\n${piece}\r\n`);
  await sleep(200);
  socket.destroy();
  const files = async () => (await readdir(path.join(server.dataDir, 'blobs'), { recursive: true }).catch(() => [] as string[])).map(String);
  for (let i = 0; i < 50 && (await files()).some((f) => path.basename(f).startsWith('.tmp-')); i++) await sleep(100);
  assert.deepEqual((await files()).filter((f) => path.basename(f).startsWith('.tmp-')), []);
  assert.equal(await blobCount(), before);
  assert.equal(await parcelStatus(data), 404);
});

test('metadata nested past 64 levels is 400 (was a 500 that left an orphan blob), before or after the data; nothing is stored', async () => {
  const before = await blobCount();
  const deep = '['.repeat(5000) + ']'.repeat(5000);
  for (const order of ['metadata first', 'data first']) {
    const data = randomBytes(300);
    const hex = data.toString('hex');
    const pieces = order === 'metadata first' ? [`{"owner":"streamer","metadata":{"a":${deep}},"data":"${hex}"}`] : [`{"data":"${hex}","metadata":{"a":${deep}}}`];
    const res = await post(pieces, data);
    assert.equal(res.status, 400, `${order}: ${await res.clone().text()}`);
    assert.equal(((await res.json()) as { code: string }).code, 'invalid_json');
    assert.equal(await parcelStatus(data), 404);
  }
  // 63 levels inside the body's own object are fine.
  const data = randomBytes(10);
  const ok = await post([`{"metadata":{"a":${'['.repeat(62)}${']'.repeat(62)}},"data":"${data.toString('hex')}"}`], data);
  assert.equal(ok.status, 200, await ok.clone().text());
  assert.equal(await blobCount(), before + 1, 'only the accepted parcel left a blob');
});

test('metadata that is not an object is refused as soon as it arrives, before any data is sent, when it comes first', async () => {
  const before = await blobCount();
  const data = randomBytes(2000);
  const headers = { ...(await signedHeaders({ name: 'upload', hash: sha256(data) })), 'content-type': 'application/json' };
  let dataSent = false;
  let answered!: () => void;
  const answer = new Promise<void>((resolve) => (answered = resolve));
  async function* body() {
    yield Buffer.from('{"owner":"streamer","metadata":[1,2],"data":"');
    await Promise.race([answer, sleep(10_000)]); // the server answers first (or the test fails)
    dataSent = true;
    yield Buffer.from(`${data.toString('hex')}"}`);
  }
  const res = await server.fetch('/api/v1/parcels', { method: 'POST', headers, body: Readable.toWeb(Readable.from(body())) as ReadableStream, duplex: 'half' } as RequestInit);
  const sentBeforeAnswer = dataSent;
  answered();
  assert.equal(res.status, 400);
  assert.equal(sentBeforeAnswer, false, 'answered before the data was sent');
  assert.match(((await res.json()) as { detail: string }).detail, /metadata/);
  assert.equal(await blobCount(), before);
  assert.equal(await parcelStatus(data), 404);
});

test('a re-upload of a parcel its owner holds is answered from the challenge hash at once: no byte is read or stored again', async () => {
  const data = randomBytes(4096);
  const first = await post([`{"data":"${data.toString('hex')}"}`], data);
  assert.equal(first.status, 200, await first.clone().text());
  const { id } = (await first.json()) as { id: string };
  const before = await blobCount();
  const headers = { ...(await signedHeaders({ name: 'upload', hash: sha256(data) })), 'content-type': 'application/octet-stream' };
  let answered!: () => void;
  const answer = new Promise<void>((resolve) => (answered = resolve));
  let restSent = false;
  async function* body() {
    yield data.subarray(0, 1024);
    await Promise.race([answer, sleep(10_000)]);
    restSent = true;
    yield data.subarray(1024);
  }
  const res = await server.fetch('/api/v1/parcels', { method: 'POST', headers, body: Readable.toWeb(Readable.from(body())) as ReadableStream, duplex: 'half' } as RequestInit);
  const sentBeforeAnswer = restSent;
  answered();
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { id });
  assert.equal(sentBeforeAnswer, false, 'answered before the rest of the data was sent');
  assert.equal(await blobCount(), before, 'no blob written and dropped');
});

test('a JSON re-upload of a parcel its owner holds is still checked: a foreign owner is 403, bad metadata 400, a good one 200 with the same id and nothing left behind', async () => {
  const data = randomBytes(2048);
  const hex = data.toString('hex');
  const first = await post([`{"data":"${hex}"}`], data);
  assert.equal(first.status, 200, await first.clone().text());
  const { id } = (await first.json()) as { id: string };
  const before = await blobCount();
  const foreign = await post([`{"owner":"mallory","data":"${hex}"}`], data);
  assert.equal(foreign.status, 403, await foreign.clone().text());
  const badMetadata = await post([`{"metadata":[1],"data":"${hex}"}`], data);
  assert.equal(badMetadata.status, 400, await badMetadata.clone().text());
  const again = await post([`{"owner":"streamer","metadata":{"v":2},"data":"${hex}"}`], data);
  assert.equal(again.status, 200, await again.clone().text());
  assert.deepEqual(await again.json(), { id });
  assert.equal(await blobCount(), before, 'the bytes read again were dropped');
});

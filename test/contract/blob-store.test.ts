/**
 * The BlobStore contract: one suite, run unchanged on the filesystem and on S3 against a real
 * Ceph RADOS Gateway.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import { HashMismatchError, TooLargeError } from '../../src/errors.js';
import type { BlobStore } from '../../src/objects/blob-store.js';
import { FsBlobStore } from '../../src/storage/blob/fs-blob-store.js';
import { createS3Client, S3BlobStore } from '../../src/storage/blob/s3-blob-store.js';
import { startRgw, type Rgw } from '../helpers/ceph.js';

interface Backend {
  name: string;
  open(): Promise<{ store: BlobStore; leftovers(): Promise<string[]>; cleanup(): Promise<void> }>;
}

let rgw: Rgw | undefined;
const backends: Backend[] = [
  {
    name: 'fs',
    async open() {
      const root = await mkdtemp(path.join(tmpdir(), 'coffer-blobs-'));
      const store = new FsBlobStore(root);
      return {
        store,
        // temp files left anywhere below the root
        leftovers: async () => (await readdir(root, { recursive: true })).filter((n) => String(n).includes('.tmp-')).map(String),
        cleanup: () => rm(root, { recursive: true, force: true }),
      };
    },
  },
  {
    name: 's3 (Ceph RGW)',
    async open() {
      rgw ??= await startRgw();
      const client = createS3Client({
        endpoint: rgw.endpoint,
        region: 'us-east-1',
        bucket: 'unused',
        prefix: '',
        forcePathStyle: true,
        credentials: { accessKeyId: rgw.accessKeyId, secretAccessKey: rgw.secretAccessKey },
      });
      const bucket = `coffer-contract-${randomBytes(4).toString('hex')}`;
      const store = new S3BlobStore(client, bucket, 'blobs');
      await store.ensureBucket();
      return {
        store,
        leftovers: async () => {
          const out = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
          return (out.Uploads ?? []).map((u) => `multipart upload ${u.Key}`);
        },
        cleanup: async () => client.destroy(),
      };
    },
  },
];
after(() => rgw?.stop());

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const key = () => randomBytes(16).toString('hex');

async function readAll(stream: Readable | undefined): Promise<Buffer> {
  assert.ok(stream, 'the blob exists');
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** A body that sends `bytes` and then fails, like a client that hangs up mid-upload. */
function cutStream(bytes: Buffer): Readable {
  let sent = false;
  return new Readable({
    read() {
      if (!sent) {
        sent = true;
        this.push(bytes);
      } else {
        this.destroy(new Error('client went away'));
      }
    },
  });
}

for (const backend of backends) {
  describe(`BlobStore on ${backend.name}`, () => {
    let store: BlobStore;
    let leftovers: () => Promise<string[]>;
    let cleanup: () => Promise<void>;
    before(async () => ({ store, leftovers, cleanup } = await backend.open()));
    after(() => cleanup());

    for (const size of [0, 1, 5 * 1024 * 1024 + 1, 8 * 1024 * 1024 + 1]) {
      test(`round trip of ${size} bytes, hashed while streaming`, async () => {
        const bytes = randomBytes(size);
        const k = key();
        const put = await store.put(k, Readable.from([bytes]), { contentType: 'application/x-test' });
        assert.deepEqual(put, { size, sha256: sha(bytes) });
        assert.deepEqual(await store.head(k), { size });
        const back = await readAll(await store.get(k));
        assert.equal(sha(back), sha(bytes));
      });
    }

    test('a body of declared length (one streamed PUT on S3) round-trips, and a cut one leaves nothing', async () => {
      const bytes = randomBytes(6 * 1024 * 1024 + 7);
      const k = key();
      assert.deepEqual(await store.put(k, Readable.from([bytes]), { size: bytes.length }), { size: bytes.length, sha256: sha(bytes) });
      assert.equal(sha(await readAll(await store.get(k))), sha(bytes));
      const cut = key();
      // Stopped as soon as the body fails, not when the store's own timeout (a minute on RGW) ends it.
      const started = Date.now();
      await assert.rejects(store.put(cut, cutStream(randomBytes(3 * 1024 * 1024)), { size: 10 * 1024 * 1024 }));
      assert.ok(Date.now() - started < 15_000, `the cut upload ended after ${Date.now() - started} ms`);
      assert.equal(await store.head(cut), undefined);
      assert.deepEqual(await leftovers(), []);
    });

    test('an upload whose signal fires (its client went away) stops at once and leaves nothing, declared length or not', async () => {
      for (const size of [10 * 1024 * 1024, undefined]) {
        const k = key();
        const stop = new AbortController();
        // A body that sends 3 MiB and then stalls, like a client that hung up without a FIN.
        const stalled = new Readable({ read() {} });
        stalled.push(randomBytes(3 * 1024 * 1024));
        const started = Date.now();
        const putting = store.put(k, stalled, { ...(size ? { size } : {}), signal: stop.signal });
        setTimeout(() => stop.abort(new Error('the client went away')), 300);
        await assert.rejects(putting);
        assert.ok(Date.now() - started < 15_000, `stopped after ${Date.now() - started} ms (size ${size})`);
        assert.equal(await store.head(k), undefined);
      }
      assert.deepEqual(await leftovers(), []);
    });

    test('byte ranges', async () => {
      const bytes = randomBytes(10_000);
      const k = key();
      await store.put(k, Readable.from([bytes]));
      assert.ok((await readAll(await store.get(k, { start: 0, end: 0 }))).equals(bytes.subarray(0, 1)));
      assert.ok((await readAll(await store.get(k, { start: 100, end: 4999 }))).equals(bytes.subarray(100, 5000)));
      assert.ok((await readAll(await store.get(k, { start: 9990, end: 9999 }))).equals(bytes.subarray(9990)));
    });

    test('small reads at once (fs; S3 streams every read): exact ranges, none past the limit, none for a missing blob', async () => {
      assert.equal(store.readSmall === undefined, store.kind === 's3');
      if (!store.readSmall) return;
      const bytes = randomBytes(200_000);
      const k = key();
      await store.put(k, Readable.from([bytes]));
      assert.ok(store.readSmall(k, { start: 0, end: 4095 })?.equals(bytes.subarray(0, 4096)));
      assert.ok(store.readSmall(k, { start: 70_000, end: 70_000 + 65_535 })?.equals(bytes.subarray(70_000, 70_000 + 65_536)));
      assert.equal(store.readSmall(k, { start: 0, end: 65_536 }), undefined, 'more than 64 KiB is streamed');
      assert.equal(store.readSmall(key(), { start: 0, end: 9 }), undefined);
      assert.throws(() => store.readSmall!(k, { start: 199_990, end: 200_009 }), /shorter than its index entry/);
    });

    test('missing blobs: get and head say so, delete does not mind', async () => {
      const k = key();
      assert.equal(await store.get(k), undefined);
      assert.equal(await store.head(k), undefined);
      await store.delete(k);
    });

    test('delete removes the blob and list shows what exists', async () => {
      const a = key();
      const b = key();
      await store.put(a, Readable.from([Buffer.from('a')]));
      await store.put(b, Readable.from([Buffer.from('b')]));
      const listed: string[] = [];
      for await (const { key: k, modifiedAt } of store.list()) {
        listed.push(k);
        assert.ok(Math.abs(Date.now() - modifiedAt) < 120_000, 'modifiedAt is when the blob was written');
      }
      assert.ok(listed.includes(a) && listed.includes(b), `${a} and ${b} listed`);
      await store.delete(a);
      assert.equal(await store.head(a), undefined);
      assert.deepEqual(await store.head(b), { size: 1 });
    });

    test('an announced SHA-256 that does not match stores nothing', async () => {
      const k = key();
      const bytes = randomBytes(1000);
      await assert.rejects(
        store.put(k, Readable.from([bytes]), { expectedSha256: sha(Buffer.from('other')) }),
        (e: unknown) => e instanceof HashMismatchError && e.expected === sha(Buffer.from('other')),
      );
      assert.equal(await store.head(k), undefined);
      const ok = await store.put(k, Readable.from([bytes]), { expectedSha256: sha(bytes).toUpperCase() });
      assert.equal(ok.sha256, sha(bytes));
    });

    test('a body over maxBytes is refused (TooLargeError, a 413 to clients) and stores nothing', async () => {
      const k = key();
      await assert.rejects(
        store.put(k, Readable.from([randomBytes(6 * 1024 * 1024)]), { maxBytes: 1024 * 1024 }),
        (e: unknown) => e instanceof TooLargeError && e.maxBytes === 1024 * 1024,
      );
      assert.equal(await store.head(k), undefined);
      assert.deepEqual(await leftovers(), []);
    });

    test('a body cut off midway leaves no blob and no garbage', async () => {
      for (const size of [1000, 9 * 1024 * 1024]) {
        const k = key();
        await assert.rejects(store.put(k, cutStream(randomBytes(size))), /client went away/);
        assert.equal(await store.head(k), undefined, `nothing visible after a cut at ${size} bytes`);
      }
      assert.deepEqual(await leftovers(), []);
    });

    test('a replacement never disturbs a reader of the old version: its blob deleted mid-read, the reader still gets every byte', async () => {
      // What a replacement does (ObjectService.commit): the new version under a new key, then
      // the old blob deleted, while a reader streams the old one.
      const old = key();
      const bytes = randomBytes(8 * 1024 * 1024);
      await store.put(old, Readable.from([bytes]));
      const reading = (await store.get(old))!;
      const chunks: Buffer[] = [];
      const it = reading[Symbol.asyncIterator]();
      const first = await it.next();
      assert.ok(!first.done, 'the reader has started');
      chunks.push(first.value as Buffer);
      const replacement = key();
      await store.put(replacement, Readable.from([randomBytes(1000)]));
      await store.delete(old);
      assert.equal(await store.head(old), undefined, 'the old blob is gone for new readers');
      for (let next = await it.next(); !next.done; next = await it.next()) chunks.push(next.value as Buffer);
      assert.equal(sha(Buffer.concat(chunks)), sha(bytes), 'the reader that started before got the whole old version');
    });

    test('ping answers while the store is usable, and fails when it is not', async () => {
      await assert.doesNotReject(store.ping());
      const broken = backend.name === 'fs' ? new FsBlobStore('/dev/null/not-a-dir') : new S3BlobStore(createS3Client({ endpoint: 'http://127.0.0.1:9', region: 'us-east-1', bucket: 'x', prefix: '', forcePathStyle: true, credentials: { accessKeyId: 'a', secretAccessKey: 'b' } }), 'absent-bucket', '');
      await assert.rejects(broken.ping());
    });
  });
}

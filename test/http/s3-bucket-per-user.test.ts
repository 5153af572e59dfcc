/** COFFER_S3_BUCKET_PER_USER: each user's parcels in a bucket of their own, {bucket}-{username}. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import { CreateBucketCommand, GetBucketTaggingCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { createS3Client, userBucket } from '../../src/storage/blob/s3-blob-store.js';
import { startRgw, type Rgw } from '../helpers/ceph.js';
import { bearer, startServer, type TestServer } from '../helpers/server.js';

let rgw: Rgw;
let server: TestServer;
const base = `coffer-pu-${randomBytes(3).toString('hex')}`;

before(async () => {
  rgw = await startRgw();
  server = await startServer({ ...rgw.settings(base), COFFER_S3_BUCKET_PER_USER: 'true' });
});
after(async () => {
  await server.close();
  await rgw.stop();
});

test('bucket names follow {bucket}-{username}, made valid for S3', () => {
  assert.equal(userBucket('coffer', 'alice'), 'coffer-alice');
  assert.equal(userBucket('coffer', 'Bob_2.x'), 'coffer-bob-2-x');
  assert.equal(userBucket('coffer', '___'), 'coffer-user');
  assert.ok(userBucket('coffer', 'x'.repeat(64)).length <= 63);
});

test("each user's objects land in their own bucket, and everything else works as before", async () => {
  const s3 = createS3Client({ endpoint: rgw.endpoint, region: 'us-east-1', bucket: base, prefix: '', forcePathStyle: true, credentials: { accessKeyId: rgw.accessKeyId, secretAccessKey: rgw.secretAccessKey } });
  const keysIn = async (bucket: string) => ((await s3.send(new ListObjectsV2Command({ Bucket: bucket }))).Contents ?? []).map((o) => o.Key);
  const alice = await server.createUser('alice');
  const bob = await server.createUser('Bob_2');
  assert.equal((await server.fetch('/v1/objects/a.txt', { method: 'PUT', headers: bearer(alice), body: 'from alice' })).status, 201);
  assert.equal((await server.fetch('/v1/objects/a.txt', { method: 'PUT', headers: bearer(bob), body: 'from bob' })).status, 201);
  assert.equal((await keysIn(`${base}-alice`)).length, 1);
  assert.equal((await keysIn(`${base}-bob-2`)).length, 1);
  assert.equal(await (await server.fetch('/v1/objects/a.txt', { headers: bearer(alice) })).text(), 'from alice');
  assert.equal(await (await server.fetch('/v1/objects/a.txt', { headers: bearer(bob) })).text(), 'from bob');

  const presign = await server.fetch('/v1/presign', { method: 'POST', headers: bearer(alice, { 'content-type': 'application/json' }), body: JSON.stringify({ path: 'up.bin', method: 'PUT' }) });
  const { url } = (await presign.json()) as { url: string };
  assert.match(url, new RegExp(`/${base}-alice/`), 'the presigned PUT goes to her bucket');
  assert.equal((await fetch(url, { method: 'PUT', body: 'direct' })).status, 200);
  assert.equal(await (await server.fetch('/v1/objects/up.bin', { headers: bearer(alice) })).text(), 'direct');

  // An orphan in a user's bucket is found by the sweep; blobs in use are not touched.
  const { blobs, sweeper } = server.coffer.internals;
  await blobs.put(blobs.newKey('alice'), Readable.from([Buffer.from('orphan')]));
  assert.equal(await sweeper.sweepOrphans(0), 1);
  assert.equal((await keysIn(`${base}-alice`)).length, 2);

  assert.equal((await server.fetch('/v1/objects/a.txt', { method: 'DELETE', headers: bearer(alice) })).status, 200);
  assert.equal((await keysIn(`${base}-alice`)).length, 1);
  s3.destroy();
});

test('the orphan sweep reaches only the buckets Coffer made: a bucket named {bucket}-* that was there before is left alone', async () => {
  const s3 = createS3Client({ endpoint: rgw.endpoint, region: 'us-east-1', bucket: base, prefix: '', forcePathStyle: true, credentials: { accessKeyId: rgw.accessKeyId, secretAccessKey: rgw.secretAccessKey } });
  const keysIn = async (bucket: string) => ((await s3.send(new ListObjectsV2Command({ Bucket: bucket }))).Contents ?? []).map((o) => o.Key);
  // Someone else's bucket that happens to match the pattern, holding an object Coffer never indexed.
  const foreign = `${base}-archive`;
  await s3.send(new CreateBucketCommand({ Bucket: foreign }));
  await s3.send(new PutObjectCommand({ Bucket: foreign, Key: '0123456789abcdef0123456789abcdef', Body: 'not coffer data' }));
  // A bucket Coffer makes for a user carries its tag.
  const carol = await server.createUser('carol');
  assert.equal((await server.fetch('/v1/objects/c.txt', { method: 'PUT', headers: bearer(carol), body: 'carol' })).status, 201);
  const tags = await s3.send(new GetBucketTaggingCommand({ Bucket: `${base}-carol` }));
  assert.deepEqual(tags.TagSet, [{ Key: 'coffer-blob-store', Value: base }]);

  const { blobs, sweeper } = server.coffer.internals;
  await blobs.put(blobs.newKey('carol'), Readable.from([Buffer.from('orphan of carol')]));
  assert.equal(await sweeper.sweepOrphans(0), 1, "carol's orphan, and nothing in the foreign bucket");
  assert.deepEqual(await keysIn(foreign), ['0123456789abcdef0123456789abcdef']);
  assert.equal((await keysIn(`${base}-carol`)).length, 1, "carol's object stays");
  s3.destroy();
});

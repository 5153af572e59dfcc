/**
 * What a crash leaves is swept: a blob committed but never indexed (a crash between the two
 * steps), and a temp file of a write that died midway. Blobs in use, blobs awaiting a presigned
 * upload, and young blobs are never touched.
 */
import assert from 'node:assert/strict';
import { mkdir, readdir, stat, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, before, test } from 'node:test';
import { bearer, startServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
before(async () => (server = await startServer()));
after(() => server.close());

const blobFile = (key: string) => path.join(server.dataDir, 'blobs', key.slice(0, 2), key.slice(2, 4), key);
const age = async (file: string, ms: number) => {
  const then = new Date(Date.now() - ms);
  await utimes(file, then, then);
};

test('orphan blobs and dead temp files older than the grace period are swept; nothing else is', async () => {
  const { blobs, sweeper } = server.coffer.internals;
  const newBlobKey = () => blobs.newKey('keeper');
  const token = await server.createUser('keeper');
  const put = await server.fetch('/v1/objects/kept.txt', { method: 'PUT', headers: bearer(token), body: 'kept' });
  assert.equal(put.status, 201);

  const orphan = newBlobKey();
  await blobs.put(orphan, Readable.from([Buffer.from('never indexed')]));
  const young = newBlobKey();
  await blobs.put(young, Readable.from([Buffer.from('just written')]));
  const temp = path.join(path.dirname(blobFile(orphan)), `.tmp-${newBlobKey()}-dead`);
  await mkdir(path.dirname(temp), { recursive: true });
  await writeFile(temp, 'half a write');

  const hour = 3_600_000;
  await age(blobFile(orphan), 2 * hour);
  await age(temp, 2 * hour);
  const keptKey = (await readdir(path.join(server.dataDir, 'blobs'), { recursive: true })).map(String).find((n) => /[0-9a-f]{32}$/.test(n) && !n.endsWith(orphan) && !n.endsWith(young))!;
  await age(path.join(server.dataDir, 'blobs', keptKey), 2 * hour);

  assert.equal(await sweeper.sweepOrphans(hour), 2, 'the orphan and the temp file');
  await assert.rejects(stat(blobFile(orphan)));
  await assert.rejects(stat(temp));
  await stat(blobFile(young));
  const back = await server.fetch('/v1/objects/kept.txt', { headers: bearer(token) });
  assert.equal(await back.text(), 'kept', 'an old blob in use stays');
});

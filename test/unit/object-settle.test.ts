/**
 * Settling an upload presigned straight to the store: if the index cannot take it right now,
 * the client's bytes must stay (the pending entry stays too, and a later read settles it).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { createMetadataStores } from '../../src/storage/meta/index.js';
import { FsBlobStore } from '../../src/storage/blob/fs-blob-store.js';
import { ObjectService } from '../../src/objects/object-service.js';
import type { ObjectIndex } from '../../src/objects/object-index.js';
import { systemClock } from '../../src/util/clock.js';

test('a settle whose index write fails keeps the uploaded blob and its pending entry; the next settle indexes it', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'coffer-settle-'));
  const stores = await createMetadataStores(`sqlite:${path.join(dir, 'meta.db')}`);
  try {
    const blobs = new FsBlobStore(path.join(dir, 'blobs'));
    let failPuts = true;
    const index: ObjectIndex = Object.create(stores.objects);
    index.put = (...args) => (failPuts ? Promise.reject(new Error('database unavailable')) : stores.objects.put(...args));
    const objects = new ObjectService(index, blobs, { refusal: () => undefined, delete: () => undefined }, systemClock);

    const blobKey = blobs.newKey();
    const pending = { owner: 'u1', blobKey, path: 'up/file.bin', contentType: 'application/x-test', expiresAt: Date.now() + 60_000, createdAt: Date.now() };
    await stores.objects.addPending(pending);
    await blobs.put(blobKey, Readable.from([Buffer.from('bytes the client sent')]));

    await assert.rejects(objects.settle(pending), /database unavailable/);
    assert.deepEqual(await blobs.head(blobKey), { size: 21 }, 'the client’s bytes are still there');
    assert.equal((await stores.objects.pending('u1', 'up/')).length, 1, 'the pending entry is still there');

    failPuts = false;
    await objects.settle(pending);
    const object = await stores.objects.get('u1', 'up/file.bin');
    assert.equal(object?.blobKey, blobKey);
    assert.equal(object?.size, 21);
    assert.equal((await stores.objects.pending('u1', 'up/')).length, 0);
  } finally {
    await stores.close();
    await rm(dir, { recursive: true, force: true });
  }
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SmallBlobCache } from '../../src/objects/small-blob-cache.js';

const bytes = (n: number, fill = 1) => Buffer.alloc(n, fill);

test('keeps small blobs by key; larger ones are not kept', () => {
  const cache = new SmallBlobCache(1000, 100);
  cache.set('a', bytes(100));
  cache.set('big', bytes(101));
  assert.equal(cache.get('a')?.length, 100);
  assert.equal(cache.get('big'), undefined);
  assert.equal(cache.get('never'), undefined);
});

test('past the byte budget the least recently used go first', () => {
  const cache = new SmallBlobCache(300, 100);
  cache.set('a', bytes(100, 1));
  cache.set('b', bytes(100, 2));
  cache.set('c', bytes(100, 3));
  assert.ok(cache.get('a')); // a is now the most recent
  cache.set('d', bytes(100, 4));
  assert.equal(cache.get('b'), undefined, 'b was the least recently used');
  assert.deepEqual(['a', 'c', 'd'].map((k) => cache.get(k)?.[0]), [1, 3, 4]);
});

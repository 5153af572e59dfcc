/** src/util/hex.ts: the same digits as Buffer's own hex encoding, for every byte value and length. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { hexOf } from '../../src/util/hex.js';

test('hexOf matches toString("hex") for every byte value and for odd, empty and large inputs', () => {
  const every = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  assert.equal(hexOf(every).toString('latin1'), every.toString('hex'));
  for (const n of [0, 1, 3, 64 * 1024 + 1]) {
    const bytes = randomBytes(n);
    assert.equal(hexOf(bytes).toString('latin1'), bytes.toString('hex'));
  }
  const slice = randomBytes(100).subarray(1, 50); // an unaligned view is read correctly too
  assert.equal(hexOf(slice).toString('latin1'), slice.toString('hex'));
});

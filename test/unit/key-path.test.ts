import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CofferError } from '../../src/errors.js';
import { parseEncodedKeyPath, parseKeyPath } from '../../src/paths/key-path.js';

function rejects(path: string, message: RegExp, parse = parseKeyPath) {
  assert.throws(() => parse(path), (e: unknown) => e instanceof CofferError && e.status === 400 && e.code === 'invalid_key' && message.test(e.message));
}

test('keys, directories and the root', () => {
  assert.deepEqual(parseKeyPath('a'), { path: 'a', isDir: false });
  assert.deepEqual(parseKeyPath('a/b/c'), { path: 'a/b/c', isDir: false });
  assert.deepEqual(parseKeyPath('a/b/'), { path: 'a/b/', isDir: true });
  assert.deepEqual(parseKeyPath(''), { path: '', isDir: true });
  assert.deepEqual(parseKeyPath('...'), { path: '...', isDir: false }, 'three dots is an ordinary name');
  assert.deepEqual(parseKeyPath('é/😀 x'), { path: 'é/😀 x', isDir: false });
});

test('dot segments are refused wherever they stand', () => {
  for (const p of ['..', '.', 'a/../b', 'a/./b', '../etc/passwd', 'a/..', 'a/../']) rejects(p, /"\.\.?"/);
});

test('empty segments are refused', () => {
  for (const p of ['/a', 'a//b', '//', '/']) rejects(p, /empty/);
});

test('control characters are refused, with the code point named', () => {
  rejects('a\u0000b', /U\+0000/);
  rejects('a/\u001f', /U\+001F/);
  rejects('a\u007f', /U\+007F/);
  rejects('tab\there', /U\+0009/);
  assert.equal(parseKeyPath('a\u0080b').path, 'a\u0080b', 'C1 characters are not control characters here');
});

test('segment and path lengths are counted in UTF-8 bytes', () => {
  assert.equal(parseKeyPath('x'.repeat(255)).path.length, 255);
  rejects('x'.repeat(256), /longer than 255/);
  rejects('é'.repeat(128), /longer than 255/); // 256 bytes
  const longest = [255, 255, 255, 254].map((n) => 'y'.repeat(n)).join('/') + '/z'; // 1024 bytes
  assert.equal(Buffer.byteLength(longest), 1024);
  assert.equal(parseKeyPath(longest).path, longest);
  rejects(longest + 'z', /1025 bytes/);
});

test('percent-encoding is decoded once; encoded dots and bad encodings are refused', () => {
  assert.deepEqual(parseEncodedKeyPath('a%20b/c%2Fd'), { path: 'a b/c/d', isDir: false });
  assert.deepEqual(parseEncodedKeyPath('%C3%A9'), { path: 'é', isDir: false });
  assert.deepEqual(parseEncodedKeyPath('%252e%252e'), { path: '%2e%2e', isDir: false }, 'decoded only once');
  rejects('%2e%2e/x', /"\.\."/, parseEncodedKeyPath);
  rejects('a/%2E', /"\."/, parseEncodedKeyPath);
  rejects('%00', /U\+0000/, parseEncodedKeyPath);
  rejects('%ZZ', /percent-encoding/, parseEncodedKeyPath);
  rejects('%FF', /percent-encoding|UTF-8/, parseEncodedKeyPath);
  rejects('%', /percent-encoding/, parseEncodedKeyPath);
});

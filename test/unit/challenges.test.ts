/** The shape rules of a challenge's operation (SPEC §2), and how a bearer token is told to be an assertion. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isAssertion } from '../../src/auth/assertions.js';
import { parseOperation } from '../../src/parcels/challenges.js';
import { CofferError } from '../../src/errors.js';

const HASH = 'ab'.repeat(32);
const ID = '00000001' + 'CD'.repeat(32);

test('operations: bare names, upload with a hash, download and remove with an id; hashes lowercased, ids uppercased', () => {
  assert.deepEqual(parseOperation('upload'), { name: 'upload' });
  assert.deepEqual(parseOperation('remove'), { name: 'remove' });
  assert.deepEqual(parseOperation({ name: 'upload', hash: HASH.toUpperCase() }), { name: 'upload', hash: HASH });
  assert.deepEqual(parseOperation({ name: 'download', id: ID.toLowerCase() }), { name: 'download', id: ID });
  assert.deepEqual(parseOperation({ name: 'remove' }), { name: 'remove' });
});

test('operations: anything else is a 400 that says what is wrong', () => {
  const bad: unknown[] = [
    undefined,
    null,
    'inspect',
    42,
    ['upload'],
    { name: 'copy' },
    { hash: HASH },
    { name: 'upload', hash: 'xyz' },
    { name: 'upload', hash: HASH + '00' },
    { name: 'upload', id: ID },
    { name: 'download', id: 'short' },
    { name: 'download', hash: HASH },
    { name: 'remove', id: 42 },
  ];
  for (const op of bad) {
    assert.throws(() => parseOperation(op), (e: unknown) => e instanceof CofferError && e.status === 400 && e.message.length > 10, JSON.stringify(op));
  }
});

test('a bearer token is an assertion unless it says it is a Coffer access token; garbage is neither', () => {
  const jwt = (header: object) => `${Buffer.from(JSON.stringify(header)).toString('base64url')}.e30.c2ln`;
  assert.equal(isAssertion(jwt({ alg: 'RS256', typ: 'JWT' })), true);
  assert.equal(isAssertion(jwt({ alg: 'EdDSA' })), true);
  assert.equal(isAssertion(jwt({ alg: 'EdDSA', typ: 'at+jwt', kid: 'k' })), false);
  assert.equal(isAssertion('not a jwt'), false);
  assert.equal(isAssertion('crt_opaque'), false);
});

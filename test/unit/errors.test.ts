/** The error catalogue: every code a client may see, its status, its title, and what the layers below map to. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { asCofferError, CofferError, ConfigError, ERROR_CODES, HashMismatchError, statusOf, titleOf, TooLargeError } from '../../src/errors.js';

/** Clients depend on these pairs (SPEC §2-§6): a change here is a change of the API. */
const EXPECTED: Record<string, number> = {
  invalid_request: 400,
  invalid_key: 400,
  invalid_json: 400,
  missing_value: 400,
  weak_password: 400,
  hash_mismatch: 400,
  unauthorized: 401,
  invalid_token: 401,
  invalid_credentials: 401,
  invalid_grant: 401,
  invalid_signature: 401,
  forbidden: 403,
  insufficient_scope: 403,
  registration_closed: 403,
  presigned_url_invalid: 403,
  presigned_url_expired: 403,
  not_found: 404,
  method_not_allowed: 405,
  request_timeout: 408,
  conflict: 409,
  precondition_failed: 412,
  payload_too_large: 413,
  unsupported_media_type: 415,
  range_not_satisfiable: 416,
  expectation_failed: 417,
  too_many_requests: 429,
  headers_too_large: 431,
  internal_error: 500,
  unavailable: 503,
};

test('every code has its status, and only these codes exist', () => {
  assert.deepEqual([...ERROR_CODES].sort(), Object.keys(EXPECTED).sort());
  for (const code of ERROR_CODES) {
    assert.equal(statusOf(code), EXPECTED[code], code);
    assert.equal(new CofferError(code, 'x').status, EXPECTED[code], code);
    assert.match(titleOf(code), /^[A-Z][A-Za-z ]+$/, `${code} has a reason phrase`);
  }
  assert.equal(titleOf('payload_too_large'), 'Content Too Large');
  assert.equal(titleOf('headers_too_large'), 'Request Header Fields Too Large');
});

test('the layers below the services say what happened; one place turns it into an answer', () => {
  const mismatch = asCofferError(new HashMismatchError('AB'.repeat(32), 'cd'.repeat(32)));
  assert.deepEqual([mismatch?.status, mismatch?.code], [400, 'hash_mismatch']);
  assert.match(mismatch!.message, new RegExp(`${'ab'.repeat(32)}.*nothing was stored`));
  const large = asCofferError(new TooLargeError(1024));
  assert.deepEqual([large?.status, large?.code], [413, 'payload_too_large']);
  assert.match(large!.message, /1024 bytes/);
  const own = new CofferError('conflict', 'taken');
  assert.equal(asCofferError(own), own);
  assert.equal(asCofferError(new ConfigError('bad setting')), undefined, 'a configuration error is no answer: Coffer does not start');
  assert.equal(asCofferError(new Error('a bug')), undefined, 'anything else is a 500, its details kept in the log');
});

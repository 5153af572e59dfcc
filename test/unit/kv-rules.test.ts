import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CofferError } from '../../src/errors.js';
import { prefersJson } from '../../src/http/routes/kv.js';
import { entityTag } from '../../src/kv/kv-service.js';
import { parseTtl } from '../../src/kv/ttl.js';
import { etagMatches } from '../../src/util/entity-tags.js';
import { prefixUpperBound } from '../../src/util/prefix.js';

test('Accept prefers JSON only when application/json has the highest q, first among equals', () => {
  assert.equal(prefersJson(undefined), false);
  assert.equal(prefersJson('*/*'), false);
  assert.equal(prefersJson('application/json'), true);
  assert.equal(prefersJson('application/json, */*'), true);
  assert.equal(prefersJson('text/plain, application/json'), false);
  assert.equal(prefersJson('application/octet-stream;q=0.5, application/json'), true);
  assert.equal(prefersJson('application/json;q=0.5, */*;q=0.1'), true);
  assert.equal(prefersJson('application/json;q=0.5, */*'), false);
  assert.equal(prefersJson('Application/JSON; q=1'), true);
  assert.equal(prefersJson('application/json;q=0'), false);
});

test('TTL is whole seconds from 1', () => {
  assert.equal(parseTtl(undefined), undefined);
  assert.equal(parseTtl('60'), 60);
  assert.equal(parseTtl(1), 1);
  for (const bad of ['', null, '0', '-1', '1.5', 'abc', 0, 1.5, -3, '1e3', true, {}]) {
    assert.throws(() => parseTtl(bad), (e: unknown) => e instanceof CofferError && e.status === 400, `ttl ${String(bad)}`);
  }
});

test('entity tags depend on the kind, content type and bytes; If-Match lists and * match', () => {
  const a = entityTag('text', null, Buffer.from('x'));
  assert.match(a, /^"[\w-]{27}"$/);
  assert.equal(a, entityTag('text', null, Buffer.from('x')));
  assert.notEqual(a, entityTag('json', null, Buffer.from('x')));
  assert.notEqual(a, entityTag('raw', 'text/plain', Buffer.from('x')));
  assert.equal(etagMatches(a, a, 'strong'), true);
  assert.equal(etagMatches(`"other", ${a}`, a, 'strong'), true);
  assert.equal(etagMatches('*', a, 'strong'), true);
  assert.equal(etagMatches('"other"', a, 'strong'), false);
  assert.equal(etagMatches(`W/${a}`, a, 'strong'), false, 'If-Match compares strongly');
  assert.equal(etagMatches(`W/${a}`, a, 'weak'), true, 'If-None-Match compares weakly');
});

test('the upper bound of a prefix sorts after everything that starts with it', () => {
  assert.equal(prefixUpperBound('a/b/'), 'a/b0');
  assert.equal(prefixUpperBound('é'), 'ê');
  assert.equal(prefixUpperBound('x😀'), 'x😁');
});

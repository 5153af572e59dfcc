import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_GRANTS, effectiveGrants, narrowScopes } from '../../src/users/scopes.js';

test('new users get every scope but admin', () => {
  assert.deepEqual(DEFAULT_GRANTS, ['kv:read', 'kv:write', 'objects:read', 'objects:write', 'presign']);
});

test('admins hold admin; others never do, whatever their grants say', () => {
  assert.deepEqual(effectiveGrants({ admin: true, grants: ['kv:read'] }), ['kv:read', 'admin']);
  assert.deepEqual(effectiveGrants({ admin: false, grants: ['kv:read', 'admin'] }), ['kv:read']);
  assert.deepEqual(effectiveGrants({ admin: false, grants: ['kv:read', 'bogus'] }), ['kv:read']);
});

test('a requested scope narrows, never widens', () => {
  const granted = effectiveGrants({ admin: false, grants: ['kv:read', 'kv:write'] });
  assert.deepEqual(narrowScopes(granted, undefined), ['kv:read', 'kv:write']);
  assert.deepEqual(narrowScopes(granted, ''), ['kv:read', 'kv:write']);
  assert.deepEqual(narrowScopes(granted, 'kv:read'), ['kv:read']);
  assert.deepEqual(narrowScopes(granted, 'kv:read  admin presign'), ['kv:read']);
  assert.deepEqual(narrowScopes(granted, 'admin'), []);
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import Fastify from 'fastify';
import { requireAccessToken } from '../../src/http/auth-context.js';
import type { AssertionService } from '../../src/auth/assertions.js';
import type { TokenService } from '../../src/auth/tokens.js';

test('a protected route that declares no scope stops the server at start-up', async () => {
  const app = Fastify();
  await assert.rejects(async () => {
    await app.register(async (scope) => {
      requireAccessToken(scope, {} as TokenService, {} as AssertionService, async () => {});
      scope.get('/forgot', async () => 'open by mistake');
    });
    await app.ready();
  }, /protected route GET \/forgot declares no scope/);
});

/**
 * The console route when the console is not built (running from source without `npm run build`):
 * a clear 503 problem; and the built files it serves, with the console's own CSP. The console in a
 * browser is test/browser/console.test.ts.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import Fastify from 'fastify';
import { CONSOLE_CSP, consoleRoutes } from '../../src/http/routes/console.js';

test('an unbuilt console answers 503 saying to run npm run build', async () => {
  const app = Fastify();
  consoleRoutes(app, path.join(tmpdir(), 'coffer-no-console-here'));
  for (const url of ['/console', '/console/kv/a']) {
    const res = await app.inject({ url });
    assert.equal(res.statusCode, 503);
    assert.match(res.json<{ detail: string }>().detail, /npm run build/);
  }
  await app.close();
});

test('a built console: its files, index.html for any other path, never a file outside it', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'coffer-console-'));
  await writeFile(path.join(dir, 'index.html'), '<!doctype html><title>x</title>');
  await writeFile(path.join(dir, 'console.js'), 'export {};');
  const app = Fastify();
  consoleRoutes(app, dir);
  const js = await app.inject({ url: '/console/console.js' });
  assert.equal(js.body, 'export {};');
  assert.match(js.headers['content-type'] as string, /text\/javascript/);
  assert.equal(js.headers['content-security-policy'], CONSOLE_CSP);
  for (const url of ['/console', '/console/', '/console/kv/notes/', '/console/..%2fpackage.json']) {
    const res = await app.inject({ url });
    assert.equal(res.statusCode, 200, url);
    assert.equal(res.body, '<!doctype html><title>x</title>', url);
    assert.match(res.headers['content-type'] as string, /text\/html/, url);
  }
  assert.doesNotMatch((await app.inject({ url: '/console/../../etc/passwd' })).body, /root:/);
  await app.close();
  await rm(dir, { recursive: true, force: true });
});

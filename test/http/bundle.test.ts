/**
 * The server as it ships: dist/main.js, the esbuild bundle (scripts/bundle.mjs). What it must find
 * at run time from its own place in dist/ (or dist/chunks/) rather than where tsc's file sat: the
 * web console's files (consoleDir) and the docs UI's static files (@fastify/swagger-ui, left out of
 * the bundle because it reads them from beside itself). Only the built process can show this: the
 * other HTTP tests run the sources.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startBuiltServer, type BuiltServer } from '../helpers/built-server.js';

let server: BuiltServer;

before(async () => {
  server = await startBuiltServer();
});
after(async () => {
  await server?.stop();
});

test('the bundled server serves the web console from dist/console', async () => {
  const page = await fetch(`${server.base}/console/`);
  assert.equal(page.status, 200);
  assert.match(await page.text(), /<script[^>]+console\.js/);
  const script = await fetch(`${server.base}/console/console.js`);
  assert.equal(script.status, 200);
  assert.match(script.headers.get('content-type') ?? '', /javascript/);
});

test("the bundled server serves the docs UI's own static files", async () => {
  const css = await fetch(`${server.base}/docs/static/swagger-ui.css`);
  assert.equal(css.status, 200);
  assert.match(await css.text(), /swagger-ui/);
});

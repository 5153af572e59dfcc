/**
 * What a node does not use stays unloaded (issue 16: idle memory): on the default filesystem +
 * SQLite setup, after logging in and a KV write and read, neither the S3 SDK, nor PostgreSQL's
 * driver, nor the API docs (@fastify/swagger and its UI), nor stream-json (parcel uploads) have
 * been loaded; the first docs request loads the docs, and concurrent first requests all get them,
 * with no warning in the log.
 */
import assert from 'node:assert/strict';
import { readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { startBuiltServer, type BuiltServer } from '../helpers/built-server.js';

let server: BuiltServer;
let log: string;

before(async () => {
  log = path.join(process.env.TMPDIR ?? '/tmp', `coffer-modules-${process.pid}.log`);
  server = await startBuiltServer({ COFFER_TEST_MODULE_LOG: log }, ['--import', path.resolve('test/helpers/module-log.mjs')]);
});
after(async () => {
  await server?.stop();
  await rm(log, { force: true });
});

async function loaded(): Promise<string[]> {
  return (await readFile(log, 'utf8')).split('\n').filter(Boolean);
}

const packageLoaded = (urls: string[], name: string) => urls.some((u) => u.includes(`/node_modules/${name}/`));
/** A chunk of the bundle (scripts/bundle.mjs) is named after the module its `await import()` names. */
const chunkLoaded = (urls: string[], name: string) => urls.some((u) => new RegExp(`/dist/chunks/${name}-[A-Z0-9]+\\.js$`).test(u));

test('after a login and a KV write and read, the S3 SDK, pg, the docs and the parcel JSON parser are not loaded', async () => {
  const token = await server.login();
  const auth = { authorization: `Bearer ${token}` };
  assert.equal((await fetch(`${server.base}/v1/data/idle/k`, { method: 'PUT', headers: auth, body: 'v' })).status, 201);
  assert.equal(await (await fetch(`${server.base}/v1/data/idle/k`, { headers: auth })).text(), 'v');
  const urls = await loaded();
  assert.ok(chunkLoaded(urls, 'serve'), `the module log works: the bundle's serve chunk is in it (${urls.join(', ')})`);
  for (const name of ['@aws-sdk/client-s3', 'pg', '@fastify/swagger', '@fastify/swagger-ui']) {
    assert.ok(!packageLoaded(urls, name), `${name} was loaded by a node that does not use it`);
  }
  // Bundled, but behind an `await import()`: the S3 blob store, and stream-json for parcel uploads.
  const chunks = (await readdir('dist/chunks')).map((f) => `/dist/chunks/${f}`);
  for (const name of ['s3-blob-store', 'parser', 'assembler']) {
    assert.ok(chunkLoaded(chunks, name), `the build has a ${name} chunk (else this check proves nothing)`);
    assert.ok(!chunkLoaded(urls, name), `the ${name} chunk was loaded by a node that does not use it`);
  }
});

test('the first docs requests, made at once, load the docs and all get them', async () => {
  const answers = await Promise.all([
    fetch(`${server.base}/openapi.json`),
    fetch(`${server.base}/docs`, { redirect: 'follow' }),
    fetch(`${server.base}/openapi.json`),
  ]);
  assert.deepEqual(answers.map((r) => r.status), [200, 200, 200]);
  const [first, page, third] = await Promise.all(answers.map((r) => r.text()));
  assert.equal(first, third);
  assert.match((JSON.parse(first!) as { openapi: string }).openapi, /^3\./);
  assert.match(page!, /<html/i);
  const urls = await loaded();
  assert.ok(packageLoaded(urls, '@fastify/swagger') && packageLoaded(urls, '@fastify/swagger-ui'));
  // The docs' own Fastify instance is made with current options: no deprecation in the log.
  assert.doesNotMatch(server.stderr(), /Deprecation|Warning/);
});

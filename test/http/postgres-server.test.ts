/** The same server on PostgreSQL: login, key/value round trip, listing, revocation. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import pg from 'pg';
import { bearer, startServer, type TestServer } from '../helpers/server.js';

const PG_URL = process.env.COFFER_TEST_DATABASE_URL ?? 'postgres://root@127.0.0.1:5432/test';
const schema = `coffer_http_${randomBytes(6).toString('hex')}`;
const admin = new pg.Client({ connectionString: PG_URL });
let server: TestServer;

before(async () => {
  await admin.connect();
  await admin.query(`create schema ${schema}`);
  const url = new URL(PG_URL);
  url.searchParams.set('options', `-c search_path=${schema}`);
  server = await startServer({ COFFER_DATABASE_URL: url.toString() });
});
after(async () => {
  await server.close();
  await admin.query(`drop schema ${schema} cascade`);
  await admin.end();
});

test('on PostgreSQL: the data lands in PostgreSQL and behaves as on SQLite', async () => {
  const token = await server.createUser('pguser');
  const put = await server.fetch('/v1/data/dir/é', { method: 'PUT', headers: bearer(token, { 'content-type': 'application/json' }), body: '{"value":[1,2]}' });
  assert.equal(put.status, 201);
  await server.fetch('/v1/data/dir/z', { method: 'PUT', headers: bearer(token, { 'content-type': 'text/plain' }), body: 'zz' });
  const list = await server.fetch('/v1/data/dir/', { headers: bearer(token) });
  assert.deepEqual(await list.json(), { dir: 'dir/', keys: ['dir/z', 'dir/é'], dirs: [], cursor: null });
  const get = await server.fetch(`/v1/data/dir/${encodeURIComponent('é')}`, { headers: bearer(token) });
  assert.deepEqual(await get.json(), { key: 'dir/é', value: [1, 2] });
  const rows = await admin.query(`select count(*)::int as n from ${schema}.kv`);
  assert.equal(rows.rows[0].n, 2, 'the values are in the PostgreSQL schema');

  const logout = await server.fetch('/v1/logout', { method: 'POST', headers: bearer(token) });
  assert.equal(logout.status, 204);
  assert.equal((await server.fetch('/v1/data/', { headers: bearer(token) })).status, 401);
});

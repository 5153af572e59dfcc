/** The storserv README walk-through, over real HTTP: form login returning `jwt`, form values, dirs. */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
before(async () => {
  // The seed's own demo account, demo/demo, with the minimum lowered as SPEC §8 says.
  server = await startServer({ COFFER_OPEN_REGISTRATION: 'true', COFFER_PASSWORD_MIN_LENGTH: '3' });
  await server.createUser('demo', 'demo');
});
after(() => server.close());

const form = (fields: Record<string, string>) => ({
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams(fields).toString(),
});

test('storserv walk-through: login -> POST -> GET -> dir listing -> PUT -> DELETE', async () => {
  const login = await server.fetch('/v1/login', { method: 'POST', ...form({ username: 'demo', password: 'demo' }) });
  assert.equal(login.status, 200);
  const { jwt } = (await login.json()) as { jwt: string };
  assert.match(jwt, /^[\w-]+\.[\w-]+\.[\w-]+$/);
  const auth = { authorization: `Bearer ${jwt}` };

  const ping = await server.fetch('/v1/ping');
  assert.equal(ping.status, 200);
  assert.equal(await ping.text(), 'pong');
  assert.match(ping.headers.get('content-type')!, /^text\/plain/);

  const post = await server.fetch('/v1/data/foo', { method: 'POST', ...form({ value: 'bar' }), headers: { ...auth, ...form({}).headers } });
  assert.equal(post.status, 201);
  assert.deepEqual(await post.json(), { key: 'foo', value: 'bar' });

  const get = await server.fetch('/v1/data/foo', { headers: auth });
  assert.equal(get.status, 200);
  assert.deepEqual(await get.json(), { key: 'foo', value: 'bar' });
  assert.ok(get.headers.get('etag'));

  const again = await server.fetch('/v1/data/foo', { method: 'POST', ...form({ value: 'baz' }), headers: { ...auth, ...form({}).headers } });
  assert.equal(again.status, 409);

  for (const key of ['mydir/one', 'mydir/two', 'mydir/sub/three']) {
    const res = await server.fetch(`/v1/data/${key}`, { method: 'POST', body: `value=${key}`, headers: { ...auth, 'content-type': 'application/x-www-form-urlencoded' } });
    assert.equal(res.status, 201);
  }
  const dirKey = await server.fetch('/v1/data/mydir/two', { headers: auth });
  assert.deepEqual(await dirKey.json(), { key: 'mydir/two', value: 'mydir/two' });

  const listing = await server.fetch('/v1/data/mydir/', { headers: auth });
  assert.equal(listing.status, 200);
  assert.deepEqual(await listing.json(), { dir: 'mydir/', keys: ['mydir/one', 'mydir/two'], dirs: ['mydir/sub/'], cursor: null });

  const root = await server.fetch('/v1/data/', { headers: auth });
  assert.deepEqual(await root.json(), { dir: '', keys: ['foo'], dirs: ['mydir/'], cursor: null });

  const put = await server.fetch('/v1/data/foo', { method: 'PUT', body: 'value=qux', headers: { ...auth, 'content-type': 'application/x-www-form-urlencoded' } });
  assert.equal(put.status, 200);
  assert.deepEqual(await put.json(), { key: 'foo', value: 'qux' });
  const putNew = await server.fetch('/v1/data/newkey', { method: 'PUT', body: 'value=v', headers: { ...auth, 'content-type': 'application/x-www-form-urlencoded' } });
  assert.equal(putNew.status, 201);

  const del = await server.fetch('/v1/data/foo', { method: 'DELETE', headers: auth });
  assert.equal(del.status, 200);
  assert.deepEqual(await del.json(), { key: 'foo', deleted: true });
  const gone = await server.fetch('/v1/data/foo', { headers: auth });
  assert.equal(gone.status, 404);
  assert.equal(gone.headers.get('content-type'), 'application/problem+json; charset=utf-8');
  const delAgain = await server.fetch('/v1/data/foo', { method: 'DELETE', headers: auth });
  assert.equal(delAgain.status, 404);
});

test('a request without a token is 401 problem+json, not a 200 with an error field', async () => {
  const res = await server.fetch('/v1/data/foo');
  assert.equal(res.status, 401);
  const body = (await res.json()) as Record<string, unknown>;
  assert.equal(body.code, 'invalid_token');
  assert.equal(body.status, 401);
  assert.equal(typeof body.error, 'string');
  assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer/);
});

/**
 * The Flask gateway README walk-through (seeds/004), adapted to Coffer as SPEC §8 says: /v1 prefix,
 * registration opened by configuration, HTTP Basic login, the token in `x-access-tokens`, a real 401
 * for a missing token (the gateway answered 200), and an admin-only user list without hashes.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
before(async () => {
  // The seed's demo account, alain/pwd, with the minimum lowered as SPEC §8 says.
  server = await startServer({ COFFER_OPEN_REGISTRATION: 'true', COFFER_PASSWORD_MIN_LENGTH: '3' });
});
after(() => server.close());

const PASSWORD = 'pwd';
const basic = (user: string, pwd: string) => `Basic ${Buffer.from(`${user}:${pwd}`).toString('base64')}`;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

test('Flask gateway walk-through: register -> Basic login -> store/list/delete with x-access-tokens', async () => {
  // curl -X POST -H "Content-Type: application/json" --data "@user.json" .../register
  const reg = await server.fetch('/v1/register', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'alain', password: PASSWORD }),
  });
  assert.equal(reg.status, 201);
  const user = (await reg.json()) as Record<string, unknown>;
  assert.equal(user.username, 'alain');
  assert.equal(user.admin, false);
  assert.match(String(user.public_id), UUID);
  assert.ok(!('password' in user));

  // curl -X POST http://alain:pwd@localhost:5000/login
  const login = await server.fetch('/v1/login', { method: 'POST', headers: { authorization: basic('alain', PASSWORD) } });
  assert.equal(login.status, 200);
  const tokens = (await login.json()) as Record<string, unknown>;
  const token = tokens.token as string;
  assert.equal(typeof token, 'string');
  assert.match(token, /^[\w-]+\.[\w-]+\.[\w-]+$/);
  assert.equal(tokens.access_token, token);

  // The token names the user by public_id, as the gateway's decorator expected.
  const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
  assert.equal(claims.public_id, user.public_id);
  assert.equal(claims.sub, user.public_id);

  const auth = { 'x-access-tokens': token };

  // curl -X POST -H "x-access-tokens: T" -H "Content-Type: application/json" --data "@book1.json" .../book
  const book = { name: 'The Hobbit', author: 'J. R. R. Tolkien', publisher: 'Allen & Unwin', book_prize: false };
  const store = await server.fetch('/v1/data/books/1', {
    method: 'POST',
    headers: { ...auth, 'content-type': 'application/json' },
    body: JSON.stringify({ value: book }),
  });
  assert.equal(store.status, 201);
  assert.deepEqual(await store.json(), { key: 'books/1', value: book });

  const read = await server.fetch('/v1/data/books/1', { headers: auth });
  assert.equal(read.status, 200);
  assert.deepEqual(await read.json(), { key: 'books/1', value: book });

  // curl -X GET -H "x-access-tokens: T" .../books
  const list = await server.fetch('/v1/data/books/', { headers: auth });
  assert.equal(list.status, 200);
  assert.deepEqual(await list.json(), { dir: 'books/', keys: ['books/1'], dirs: [], cursor: null });

  // curl -X GET .../books  -> the gateway answered 200 with a message; Coffer answers 401.
  for (const path of ['/v1/data/books/', '/v1/data/books/1']) {
    const anon = await server.fetch(path);
    assert.equal(anon.status, 401, `${path} without a token`);
    assert.match(anon.headers.get('content-type') ?? '', /^application\/problem\+json/);
    const problem = (await anon.json()) as Record<string, unknown>;
    assert.equal(problem.status, 401);
    assert.equal(problem.code, 'invalid_token');
  }
  const anonWrite = await server.fetch('/v1/data/books/2', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ value: book }),
  });
  assert.equal(anonWrite.status, 401);
  const badToken = await server.fetch('/v1/data/books/', { headers: { 'x-access-tokens': `${token.slice(0, -4)}AAAA` } });
  assert.equal(badToken.status, 401);

  // curl -X DELETE -H "x-access-tokens: T" .../books/1
  const del = await server.fetch('/v1/data/books/1', { method: 'DELETE', headers: auth });
  assert.equal(del.status, 200);
  assert.deepEqual(await del.json(), { key: 'books/1', deleted: true });
  const gone = await server.fetch('/v1/data/books/1', { headers: auth });
  assert.equal(gone.status, 404);
  const empty = await server.fetch('/v1/data/books/', { headers: auth });
  assert.deepEqual(await empty.json(), { dir: 'books/', keys: [], dirs: [], cursor: null });
  const anonDelete = await server.fetch('/v1/data/books/1', { method: 'DELETE' });
  assert.equal(anonDelete.status, 401);
});

test('Basic login with a wrong password is 401 and gives no token', async () => {
  const res = await server.fetch('/v1/login', { method: 'POST', headers: { authorization: basic('alain', 'not-the-password') } });
  assert.equal(res.status, 401);
  const body = (await res.json()) as Record<string, unknown>;
  assert.equal(body.token, undefined);
  assert.equal(body.status, 401);
});

test('the user list is admin-only and never shows a password or hash', async () => {
  const login = await server.fetch('/v1/login', { method: 'POST', headers: { authorization: basic('alain', PASSWORD) } });
  const { token } = (await login.json()) as { token: string };

  const asAlain = await server.fetch('/v1/users', { headers: { 'x-access-tokens': token } });
  assert.equal(asAlain.status, 403);
  const anon = await server.fetch('/v1/users');
  assert.equal(anon.status, 401);

  const res = await server.fetch('/v1/users', { headers: { 'x-access-tokens': await server.adminToken() } });
  assert.equal(res.status, 200);
  const text = await res.text();
  assert.doesNotMatch(text, /argon2/i);
  assert.doesNotMatch(text, /password/i);
  assert.doesNotMatch(text, /hash/i);
  const { users } = JSON.parse(text) as { users: Record<string, unknown>[] };
  const alain = users.find((u) => u.username === 'alain');
  assert.ok(alain, 'alain is listed');
  assert.equal(alain.admin, false);
  assert.match(String(alain.public_id), UUID);
  assert.ok(users.some((u) => u.username === 'admin' && u.admin === true));
});

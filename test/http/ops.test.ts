/** Operations and the error contract over real HTTP: SPEC §6. */
import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { checkProblem, STACK } from '../helpers/problem.js';
import { bearer, startServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
/** Every body this file receives, checked for stack traces at the end. */
const seen: { what: string; body: string }[] = [];

before(async () => {
  server = await startServer();
});
after(() => server.close());

async function get(path: string, init?: RequestInit): Promise<{ res: Response; body: string }> {
  const res = await server.fetch(path, init);
  const body = await res.text();
  seen.push({ what: `${init?.method ?? 'GET'} ${path}`, body });
  return { res, body };
}

/** The shared check of a refusal, for an answer this file has read already. */
const assertProblem = (res: Response, body: string, status: number, code?: string) => checkProblem(res.status, res.headers.get('content-type'), body, status, code);

test('GET /v1/ping -> 200 text/plain "pong"', async () => {
  const { res, body } = await get('/v1/ping');
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
  assert.equal(body, 'pong');
});

test('/healthz and /readyz -> 200', async () => {
  const health = await get('/healthz');
  assert.equal(health.res.status, 200);
  const ready = await get('/readyz');
  assert.equal(ready.res.status, 200);
  assert.match(ready.body, /ready|ok/);
});

test('/readyz checks the blob store: 503 problem+json while it cannot be used, /healthz still 200; ready again once it is back', async () => {
  const blobs = path.join(server.dataDir, 'blobs');
  await rm(blobs, { recursive: true, force: true });
  await writeFile(blobs, 'not a directory'); // the store can neither create nor use its root
  try {
    const down = await get('/readyz');
    const problem = assertProblem(down.res, down.body, 503, 'unavailable');
    assert.deepEqual(problem.checks, { database: 'ok', blob_store: 'failing' });
    assert.equal((await get('/healthz')).res.status, 200);
  } finally {
    await rm(blobs, { force: true });
  }
  assert.equal((await get('/readyz')).res.status, 200);
});

test('/metrics -> 200 Prometheus text with the request counter', async () => {
  await get('/v1/ping');
  const { res, body } = await get('/metrics');
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
  assert.match(body, /# TYPE coffer_http_request_duration_seconds histogram/);
  assert.match(body, /^coffer_http_request_duration_seconds_count\{[^}]*\} \d+/m);
  assert.match(body, /coffer_http_request_duration_seconds_count\{[^}]*route="\/v1\/ping"[^}]*\}/);
});

/** Sends a request head and part of its body on a raw socket, then resets the connection. */
async function abandon(head: string, sent: number): Promise<void> {
  const socket = net.connect(Number(new URL(server.base).port), '127.0.0.1');
  await once(socket, 'connect');
  socket.write(head);
  socket.write(Buffer.alloc(sent, 1));
  await sleep(150);
  socket.resetAndDestroy();
  await once(socket, 'close');
}

test('a request its client abandons mid-body is counted as 499, never as a server failure (503)', async () => {
  const auth = `authorization: Bearer ${await server.adminToken()}`;
  await abandon(`PUT /v1/objects/abandoned.bin HTTP/1.1\r\nhost: x\r\n${auth}\r\ncontent-type: application/octet-stream\r\ncontent-length: 10000000\r\n\r\n`, 1_000_000);
  await abandon(`PUT /v1/data/abandoned HTTP/1.1\r\nhost: x\r\n${auth}\r\ncontent-type: application/octet-stream\r\ncontent-length: 100000\r\n\r\n`, 1000);
  const counted = (body: string, route: string, status: number) =>
    new RegExp(`^coffer_http_request_duration_seconds_count\\{method="PUT",route="${route.replace(/[*]/g, '\\*')}",status="${status}"\\} (\\d+)$`, 'm').exec(body)?.[1];
  let body = '';
  for (let i = 0; i < 40; i++) {
    body = (await get('/metrics')).body;
    if (counted(body, '/v1/objects/*', 499) && counted(body, '/v1/data/*', 499)) break;
    await sleep(50);
  }
  assert.equal(counted(body, '/v1/objects/*', 499), '1', 'the abandoned upload is counted once as 499');
  assert.equal(counted(body, '/v1/data/*', 499), '1', 'the abandoned KV write is counted once as 499');
  assert.doesNotMatch(body, /route="\/v1\/(objects|data)\/\*",status="5\d\d"/, 'no 5xx was counted for them');
  // Nothing of either was stored, and the server goes on answering.
  const headers = bearer(await server.adminToken());
  assert.equal((await server.fetch('/v1/objects/abandoned.bin', { headers })).status, 404);
  assert.equal((await server.fetch('/v1/data/abandoned', { headers })).status, 404);
});

test('a download its client abandons mid-answer is counted once as 499', async () => {
  const token = await server.adminToken();
  const put = await server.fetch('/v1/objects/cut-short.bin', { method: 'PUT', headers: { ...bearer(token), 'content-type': 'application/octet-stream' }, body: Buffer.alloc(32 * 1024 * 1024, 7) });
  assert.equal(put.status, 201);
  const socket = net.connect(Number(new URL(server.base).port), '127.0.0.1');
  await once(socket, 'connect');
  socket.write(`GET /v1/objects/cut-short.bin HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${token}\r\n\r\n`);
  let received = 0;
  for await (const chunk of socket) {
    received += (chunk as Buffer).length;
    if (received > 1024 * 1024) break; // breaking out destroys the socket: 1 MiB of 32 read
  }
  const counted = (body: string, status: number) =>
    new RegExp(`^coffer_http_request_duration_seconds_count\\{method="GET",route="/v1/objects/\\*",status="${status}"\\} (\\d+)$`, 'm').exec(body)?.[1];
  let body = '';
  for (let i = 0; i < 40 && !counted(body, 499); i++) {
    await sleep(50);
    body = (await get('/metrics')).body;
  }
  assert.equal(counted(body, 499), '1', 'the cut download is counted once as 499');
  assert.equal(counted(body, 200), undefined, 'and not as a finished 200');
  // A whole download still counts as 200.
  const whole = await server.fetch('/v1/objects/cut-short.bin', { headers: bearer(token) });
  assert.equal((await whole.arrayBuffer()).byteLength, 32 * 1024 * 1024);
  for (let i = 0; i < 40 && !counted(body, 200); i++) {
    await sleep(25);
    body = (await get('/metrics')).body;
  }
  assert.equal(counted(body, 200), '1');
  assert.equal(counted(body, 499), '1');
});

test('/openapi.json -> 200 OpenAPI 3.x describing login and data routes', async () => {
  const { res, body } = await get('/openapi.json');
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /json/);
  const doc = JSON.parse(body) as { openapi: string; paths: Record<string, unknown> };
  assert.match(doc.openapi, /^3\./);
  const paths = Object.keys(doc.paths);
  assert.ok(paths.includes('/v1/login'), `paths: ${paths.join(' ')}`);
  assert.ok(paths.includes('/v1/register'));
  assert.ok(paths.includes('/v1/users'));
  assert.ok(paths.some((p) => p.startsWith('/v1/data/')), `a /v1/data path among ${paths.join(' ')}`);
});

test('/openapi.json describes every route: its parameters, its body and its answers, problem+json for 4xx and 5xx', async () => {
  const { body } = await get('/openapi.json');
  type Op = { parameters?: { in: string; name: string }[]; requestBody?: { content: Record<string, unknown> }; responses: Record<string, { content?: Record<string, unknown> }> };
  const doc = JSON.parse(body) as { paths: Record<string, Record<string, Op>> };
  const expected = [
    'GET /v1/ping', 'GET /healthz', 'GET /readyz', 'GET /metrics',
    'POST /v1/login', 'POST /v1/token/refresh', 'GET /.well-known/jwks.json', 'POST /v1/logout', 'GET /v1/verify', 'POST /v1/introspect', 'POST /v1/admin/signing-keys/rotate',
    'POST /v1/register', 'POST /v1/users', 'GET /v1/users', 'GET /v1/users/me', 'GET /v1/users/{username}', 'PATCH /v1/users/{username}', 'DELETE /v1/users/{username}',
    'POST /v1/keys', 'GET /v1/keys', 'DELETE /v1/keys/{id}', 'POST /v1/users/{username}/keys',
    'GET /v1/data', 'GET /v1/data/{*}', 'POST /v1/data/{*}', 'PUT /v1/data/{*}', 'DELETE /v1/data/{*}',
    'GET /v1/objects', 'POST /v1/objects', 'GET /v1/objects/{*}', 'PUT /v1/objects/{*}', 'DELETE /v1/objects/{*}', 'POST /v1/presign',
    'POST /api/v1/auth', 'POST /api/v1/parcels', 'GET /api/v1/parcels/{id}', 'DELETE /api/v1/parcels/{id}',
  ];
  const described = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`));
  for (const op of expected) assert.ok(described.includes(op), `${op} is described (described: ${described.join(', ')})`);
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      const what = `${method.toUpperCase()} ${path}`;
      assert.ok(Object.keys(op.responses).some((s) => /^2\d\d$/.test(s)), `${what} names its success`);
      assert.ok(op.responses['4XX']?.content?.['application/problem+json'], `${what} names problem+json for 4xx`);
      for (const param of path.match(/\{[^}]+\}/g) ?? []) {
        assert.ok(op.parameters?.some((p) => p.in === 'path' && `{${p.name}}` === param), `${what} describes ${param}`);
      }
      if (['post', 'put', 'patch'].includes(method) && !/rotate$/.test(path)) assert.ok(op.requestBody, `${what} describes its body`);
    }
  }
});

test('/docs -> 200 HTML (after any redirect)', async () => {
  const res = await server.fetch('/docs', { redirect: 'follow' });
  const body = await res.text();
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
  assert.match(body, /<html/i);
});

test('an unknown route -> 404 problem+json with all six fields', async () => {
  for (const path of ['/nope', '/v1/nothing-here', '/v2/data/x', '/v1/users/me/extra']) {
    const { res, body } = await get(path);
    assertProblem(res, body, 404, 'not_found');
  }
  const post = await get('/no/such/thing', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  assertProblem(post.res, post.body, 404);
});

test('a known path with another method -> 405 with Allow', async () => {
  const login = await get('/v1/login', { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: '{}' });
  assertProblem(login.res, login.body, 405, 'method_not_allowed');
  const allowLogin = (login.res.headers.get('allow') ?? '').split(/\s*,\s*/);
  assert.ok(allowLogin.includes('POST'), `Allow: ${allowLogin}`);
  assert.ok(!allowLogin.includes('PATCH'));

  const ping = await get('/v1/ping', { method: 'DELETE' });
  assertProblem(ping.res, ping.body, 405, 'method_not_allowed');
  const allowPing = (ping.res.headers.get('allow') ?? '').split(/\s*,\s*/);
  assert.ok(allowPing.includes('GET'), `Allow: ${allowPing}`);
  assert.ok(!allowPing.includes('DELETE'));
  assert.ok(!allowPing.includes('POST'));

  const me = await get('/v1/users/me', { method: 'PUT', headers: bearer(await server.adminToken()) });
  assert.equal(me.res.status, 405);
  assert.ok((me.res.headers.get('allow') ?? '').split(/\s*,\s*/).includes('GET'));

  const register = await get('/v1/register', { method: 'GET' });
  assertProblem(register.res, register.body, 405);
  assert.ok((register.res.headers.get('allow') ?? '').split(/\s*,\s*/).includes('POST'));
});

test('malformed JSON to /v1/login -> 400 problem+json, not 500', async () => {
  for (const body of ['{"username": "admin", "password": ', '{nope}', '[1,2']) {
    const r = await get('/v1/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    assertProblem(r.res, r.body, 400);
  }
  const arr = await get('/v1/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '[1,2]' });
  assertProblem(arr.res, arr.body, 400);
  // An empty body declared as JSON is no body: a login without credentials.
  const empty = await get('/v1/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '' });
  assertProblem(empty.res, empty.body, 401);
  assert.match(empty.res.headers.get('www-authenticate') ?? '', /^Basic/);
});

test('login with Content-Type text/plain -> 415 unsupported_media_type problem+json', async () => {
  const r = await get('/v1/login', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'username=admin&password=x' });
  assertProblem(r.res, r.body, 415, 'unsupported_media_type');
});

test('a JSON body over 64 KiB to /v1/login -> 413 problem+json', async () => {
  const big = JSON.stringify({ username: 'admin', password: 'x'.repeat(70 * 1024) });
  const r = await get('/v1/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: big });
  assertProblem(r.res, r.body, 413, 'payload_too_large');
  const form = await get('/v1/register', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: `username=someone&password=${'y'.repeat(70 * 1024)}`,
  });
  assertProblem(form.res, form.body, 413);
  // Just under the limit is read (and refused for what it says, not for its size).
  const small = JSON.stringify({ username: 'admin', password: 'x'.repeat(60 * 1024) });
  const ok = await get('/v1/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: small });
  assert.notEqual(ok.res.status, 413);
});

/**
 * Sends the headers and the first chunk of a large body, then waits for an answer without
 * sending the rest. A server that waited for the body would never answer.
 */
function answersBeforeBody(
  path: string,
  method: string,
  headers: Record<string, string>,
  totalBytes: number,
  waitMs = 3000,
): Promise<{ status: number; body: string; bytesSent: number; ms: number }> {
  const url = new URL(server.base + path);
  return new Promise((resolve, reject) => {
    const started = Date.now();
    let bytesSent = 0;
    const req = http.request({
      host: url.hostname,
      port: url.port,
      path: url.pathname,
      method,
      headers: { ...headers, 'content-length': String(totalBytes) },
    });
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error(`no answer within ${waitMs} ms after ${bytesSent} of ${totalBytes} bytes`));
    }, waitMs);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        clearTimeout(timer);
        const ms = Date.now() - started;
        req.destroy();
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), bytesSent, ms });
      });
    });
    req.on('error', (e) => {
      // The server may close the socket after answering; only a failure without an answer counts.
      if (!(e as NodeJS.ErrnoException).code?.startsWith('ECONNRESET') && (e as NodeJS.ErrnoException).code !== 'EPIPE') {
        clearTimeout(timer);
        reject(e);
      }
    });
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    req.write(chunk);
    bytesSent += chunk.length;
    req.flushHeaders();
  });
}

test('a 401 on a protected route does not wait for a 10 MB body', async () => {
  const total = 10 * 1024 * 1024;
  const r = await answersBeforeBody('/v1/data/big', 'PUT', { 'content-type': 'application/octet-stream' }, total);
  assert.equal(r.status, 401);
  assert.ok(r.bytesSent < total, `answered after ${r.bytesSent} of ${total} bytes`);
  const p = JSON.parse(r.body) as Record<string, unknown>;
  assert.equal(p.code, 'invalid_token');
  assert.doesNotMatch(r.body, STACK);
  seen.push({ what: 'PUT /v1/data/big (no token)', body: r.body });

  // And a bad token is refused the same way.
  const bad = await answersBeforeBody('/v1/data/big', 'PUT', { 'content-type': 'application/octet-stream', authorization: 'Bearer not.a.token' }, total);
  assert.equal(bad.status, 401);
});

test('a 403 (missing scope) does not wait for the body either', async () => {
  await server.createUser('readonly', 'readonly-password', { grants: ['kv:read'] });
  const token = await server.login('readonly', 'readonly-password');
  const total = 10 * 1024 * 1024;
  const r = await answersBeforeBody('/v1/data/big', 'PUT', { 'content-type': 'application/octet-stream', ...bearer(token) }, total);
  assert.equal(r.status, 403);
  assert.equal((JSON.parse(r.body) as Record<string, unknown>).code, 'insufficient_scope');
});

test('a 413 for a declared oversized body does not wait for that body', async () => {
  const token = await server.adminToken();
  const login = await answersBeforeBody('/v1/login', 'POST', { 'content-type': 'application/json' }, 10 * 1024 * 1024);
  assert.equal(login.status, 413);
  // KV values are bounded at 1 MiB (a little more on the wire for JSON escaping): 10 MB is over.
  const kv = await answersBeforeBody('/v1/data/big', 'PUT', { 'content-type': 'application/octet-stream', ...bearer(token) }, 10 * 1024 * 1024);
  assert.equal(kv.status, 413);
  seen.push({ what: 'PUT /v1/data/big 413', body: kv.body }, { what: 'POST /v1/login 413', body: login.body });
});

test('unexpected input never yields a 500 or a stack trace', async () => {
  const cases: [string, RequestInit][] = [
    ['/v1/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: 'null' }],
    ['/v1/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '"just a string"' }],
    ['/v1/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: ['a'], password: { x: 1 } }) }],
    ['/v1/login', { method: 'POST', headers: { 'content-type': 'application/json; charset=latin-7' }, body: '{}' }],
    ['/v1/login', { method: 'POST', headers: { authorization: 'Basic !!!notbase64' } }],
    ['/v1/login', { method: 'POST', headers: { authorization: 'Basic ' + Buffer.from('no-colon').toString('base64') } }],
    ['/v1/register', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 42, password: 7 }) }],
    ['/v1/users/me', { headers: { authorization: 'Bearer a.b.c' } }],
    ['/v1/users/me', { headers: { authorization: 'Bearer ' + 'x'.repeat(5000) } }],
    ['/v1/token/refresh', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"refresh_token": 5}' }],
  ];
  for (const [path, init] of cases) {
    const r = await get(path, init);
    assert.ok(r.res.status >= 400 && r.res.status < 500, `${init.method ?? 'GET'} ${path} -> ${r.res.status}: ${r.body}`);
    assertProblem(r.res, r.body, r.res.status);
  }
});

test('a path with malformed percent-encoding -> 400 problem+json (not Fastify\'s own JSON)', async () => {
  const token = await server.adminToken();
  for (const [path, init] of [
    ['/v1/data/%ZZ', { headers: bearer(token) }],
    ['/v1/users/%E0%A4%A', { headers: bearer(token) }],
    ['/nowhere/%', {}],
  ] as [string, RequestInit][]) {
    const r = await get(path, init);
    assertProblem(r.res, r.body, 400);
  }
});

test('no response in this file contained a stack trace or an internal path', () => {
  assert.ok(seen.length > 20);
  for (const { what, body } of seen) {
    if (what === 'GET /openapi.json' || what === 'GET /metrics') continue; // descriptive documents, checked below
    assert.doesNotMatch(body, STACK, `${what}: ${body.slice(0, 300)}`);
  }
  const doc = seen.find((s) => s.what === 'GET /openapi.json')!.body;
  assert.doesNotMatch(doc, /\/work\/|node_modules|\n\s+at\s/);
});

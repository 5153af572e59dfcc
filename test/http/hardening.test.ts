/**
 * What an outside security review of SPEC §6 probes, over real HTTP: security headers on every
 * response, 431 for oversized headers, absolute-form request targets, bounded JSON nesting, and
 * /metrics closed by a bearer token when one is configured.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import { bearer, startServer, type TestServer } from '../helpers/server.js';

/**
 * Sends `request` as raw bytes (with "Connection: close", or one the server refuses) and resolves
 * the whole answer once the server closes. The socket is not half-closed: Node's server drops a
 * request whose client sent FIN before its streamed body was read.
 */
function raw(server: TestServer, request: string): Promise<{ status: number; headers: Record<string, string>; body: string }> {
  const url = new URL(server.base);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(url.port), url.hostname, () => socket.write(request));
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const [head = '', ...rest] = text.split('\r\n\r\n');
      const [statusLine = '', ...lines] = head.split('\r\n');
      const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
      resolve({ status: Number(statusLine.split(' ')[1]), headers, body: rest.join('\r\n\r\n') });
    });
  });
}

let server: TestServer;
let token: string;
before(async () => {
  server = await startServer();
  token = await server.createUser('hardy');
});
after(() => server.close());

describe('security headers (SPEC §6: every response)', () => {
  const SECURITY = ['x-content-type-options', 'x-frame-options', 'referrer-policy', 'content-security-policy', 'cross-origin-opener-policy', 'cross-origin-resource-policy'];

  test('API answers, errors of every kind, docs and stored bytes all carry them', async () => {
    await server.fetch('/v1/objects/page.html', { method: 'PUT', headers: bearer(token, { 'content-type': 'text/html' }), body: '<script>alert(1)</script>' });
    const etag = (await server.fetch('/v1/objects/page.html', { method: 'HEAD', headers: bearer(token) })).headers.get('etag') ?? '';
    const answers: Array<[string, Response]> = [
      ['ping', await server.fetch('/v1/ping')],
      ['jwks', await server.fetch('/.well-known/jwks.json')],
      ['KV read', await server.fetch('/v1/data/', { headers: bearer(token) })],
      ['401', await server.fetch('/v1/data/x')],
      ['404', await server.fetch('/no/such/route')],
      ['405', await server.fetch('/v1/ping', { method: 'DELETE' })],
      ['400 bad URL', await server.fetch('/v1/data/%E0%A4%A')],
      ['415', await server.fetch('/v1/login', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x' })],
      ['docs', await server.fetch('/docs', { redirect: 'follow' })],
      ['stored HTML', await server.fetch('/v1/objects/page.html', { headers: bearer(token) })],
      ['HEAD of stored HTML', await server.fetch('/v1/objects/page.html', { method: 'HEAD', headers: bearer(token) })],
      ['304', await server.fetch('/v1/objects/page.html', { headers: bearer(token, { 'if-none-match': etag }) })],
    ];
    assert.deepEqual(answers.slice(-2).map(([, res]) => res.status), [200, 304]);
    for (const [what, res] of answers) {
      await res.arrayBuffer();
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff', `${what} (${res.status})`);
      for (const h of SECURITY) assert.ok(res.headers.get(h), `${what} (${res.status}) carries ${h}`);
      assert.equal(res.headers.get('x-powered-by'), null, `${what}: no x-powered-by`);
      assert.equal(res.headers.get('strict-transport-security'), null, `${what}: no HSTS over plain HTTP`);
    }
    const stored = answers.find(([w]) => w === 'stored HTML')![1];
    assert.equal(stored.headers.get('content-security-policy'), 'sandbox', 'stored bytes keep their sandbox CSP');
    assert.match(answers[0]![1].headers.get('content-security-policy')!, /default-src 'self'/);
    assert.doesNotMatch(answers[0]![1].headers.get('content-security-policy')!, /upgrade-insecure-requests/, 'plain-HTTP installs keep working');
  });

  test('a presigned download may be embedded by other sites (Cross-Origin-Resource-Policy: cross-origin); API answers may not', async () => {
    await server.fetch('/v1/objects/pic.png', { method: 'PUT', headers: bearer(token, { 'content-type': 'image/png' }), body: 'png bytes' });
    const res = await server.fetch('/v1/presign', { method: 'POST', headers: bearer(token, { 'content-type': 'application/json' }), body: JSON.stringify({ path: 'pic.png', method: 'GET' }) });
    const { url } = (await res.json()) as { url: string };
    const got = await fetch(url);
    assert.equal(got.status, 200);
    assert.equal(got.headers.get('cross-origin-resource-policy'), 'cross-origin');
    assert.equal(got.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(res.headers.get('cross-origin-resource-policy'), 'same-origin');
  });
});

test('request headers past 16 KiB -> 431 problem+json, not 400', async () => {
  const answer = await raw(server, `GET /v1/ping HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20 * 1024)}\r\n\r\n`);
  assert.equal(answer.status, 431);
  assert.match(answer.headers['content-type'] ?? '', /^application\/problem\+json/);
  assert.equal((JSON.parse(answer.body) as { code: string }).code, 'headers_too_large');
  // A request line that is not HTTP is still a 400.
  const garbled = await raw(server, 'NOT HTTP AT ALL\r\n\r\n');
  assert.equal(garbled.status, 400);
  // Answers written on the socket before there is a request carry the security headers too (SPEC §6).
  for (const a of [answer, garbled]) {
    assert.equal(a.headers['x-content-type-options'], 'nosniff');
    for (const h of ['x-frame-options', 'referrer-policy', 'content-security-policy', 'cross-origin-opener-policy', 'cross-origin-resource-policy']) {
      assert.ok(a.headers[h], `the ${a.status} carries ${h}`);
    }
  }
});

test('an Expect other than 100-continue -> 417 problem+json with the security headers (Node would answer it bare)', async () => {
  const answer = await raw(server, 'PUT /v1/data/k HTTP/1.1\r\nHost: x\r\nExpect: hand-shake\r\nContent-Length: 2\r\n\r\n{}');
  assert.equal(answer.status, 417);
  assert.match(answer.headers['content-type'] ?? '', /^application\/problem\+json/);
  const problem = JSON.parse(answer.body) as { code: string; detail: string };
  assert.equal(problem.code, 'expectation_failed');
  assert.match(problem.detail, /hand-shake.*100-continue/);
  assert.equal(answer.headers['x-content-type-options'], 'nosniff');
  for (const h of ['x-frame-options', 'referrer-policy', 'content-security-policy', 'cross-origin-opener-policy', 'cross-origin-resource-policy']) assert.ok(answer.headers[h], `the 417 carries ${h}`);
});

test('answers Node would give bare get problem+json and the security headers: CONNECT, HTTP/1.1 without Host', async () => {
  const connect = await raw(server, 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n');
  assert.equal(connect.status, 405);
  assert.equal(connect.headers['allow'], 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS');
  const noHost = await raw(server, 'GET /v1/ping HTTP/1.1\r\nConnection: close\r\n\r\n');
  assert.equal(noHost.status, 400);
  assert.match((JSON.parse(noHost.body) as { detail: string }).detail, /Host/);
  for (const a of [connect, noHost]) {
    assert.match(a.headers['content-type'] ?? '', /^application\/problem\+json/);
    for (const h of ['x-content-type-options', 'x-frame-options', 'referrer-policy', 'content-security-policy', 'cross-origin-resource-policy']) assert.ok(a.headers[h], `the ${a.status} carries ${h}`);
  }
  // HTTP/1.0 needs no Host.
  assert.equal((await raw(server, 'GET /v1/ping HTTP/1.0\r\n\r\n')).status, 200);
});

test('CONNECT from clients that reset it, or send more after it and leave, costs neither a crash nor a held socket', async () => {
  const own = await startServer();
  try {
    const { hostname, port } = new URL(own.base);
    const connections = () => new Promise<number>((resolve, reject) => own.coffer.app.server.getConnections((e, n) => (e ? reject(e) : resolve(n))));
    const connect = (i: number, leave: (s: net.Socket) => void) =>
      new Promise<void>((resolve) => {
        const s = net.connect(Number(port), hostname, () => {
          s.write(`CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n${i % 2 ? 'x'.repeat(1024) : ''}`);
          leave(s);
        });
        s.on('error', () => {});
        s.on('close', () => resolve());
        s.resume(); // the answer is read and dropped, so the client sees the server's end
      });
    // Reset at once (the server's answer then meets ECONNRESET), in waves.
    for (let wave = 0; wave < 3; wave++) await Promise.all(Array.from({ length: 100 }, (_, i) => connect(i, (s) => s.resetAndDestroy())));
    // Bytes after the request, then the client closes without reading the answer.
    await Promise.all(Array.from({ length: 20 }, (_, i) => connect(1, (s) => setTimeout(() => s.end(), 10 + i))));
    assert.equal((await raw(own, 'GET /v1/ping HTTP/1.0\r\n\r\n')).status, 200, 'the server still answers');
    const deadline = Date.now() + 3000;
    while ((await connections()) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.equal(await connections(), 0, 'no socket is held for a client that has gone');
  } finally {
    await own.close();
  }
});

test('an HTTP/1.1 request without Host is refused in absolute form too (its authority does not stand in)', async () => {
  const answer = await raw(server, 'GET http://elsewhere.example/v1/ping HTTP/1.1\r\nConnection: close\r\n\r\n');
  assert.equal(answer.status, 400);
  assert.equal((await raw(server, 'GET http://elsewhere.example/v1/ping HTTP/1.0\r\n\r\n')).status, 200);
});

describe('absolute-form request targets name the same resource as their path (RFC 9112 §3.2.2)', () => {
  test('PUT http://host:port/v1/data/abs/k stores the key abs/k, and GET in origin form reads it', async () => {
    const { host } = new URL(server.base);
    const body = JSON.stringify({ value: 'absolute' });
    const put = await raw(server, `PUT http://${host}/v1/data/abs/k HTTP/1.1\r\nHost: ${host}\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
    assert.equal(put.status, 201, put.body);
    assert.equal((JSON.parse(put.body) as { key: string }).key, 'abs/k');
    const got = await server.fetch('/v1/data/abs/k', { headers: bearer(token) });
    assert.deepEqual(await got.json(), { key: 'abs/k', value: 'absolute' });
    const listing = (await (await server.fetch('/v1/data/?recursive=true', { headers: bearer(token) })).json()) as { keys: string[] };
    assert.ok(!listing.keys.some((k) => k.includes('127.0.0.1') || k.includes('v1/data')), `no key made of the URL: ${listing.keys}`);
    // Reading it back in absolute form, with a query, works too.
    const back = await raw(server, `GET http://${host}/v1/data/abs/k?x=1 HTTP/1.1\r\nHost: ${host}\r\nAuthorization: Bearer ${token}\r\nConnection: close\r\n\r\n`);
    assert.equal(back.status, 200);
    assert.equal((JSON.parse(back.body) as { value: string }).value, 'absolute');
  });

  test('PUT http://host/v1/objects/abs/o.txt stores the object abs/o.txt', async () => {
    const { host } = new URL(server.base);
    const put = await raw(server, `PUT http://${host}/v1/objects/abs/o.txt HTTP/1.1\r\nHost: ${host}\r\nAuthorization: Bearer ${token}\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello`);
    assert.equal(put.status, 201, put.body);
    assert.equal((JSON.parse(put.body) as { path: string }).path, 'abs/o.txt');
    assert.equal(await (await server.fetch('/v1/objects/abs/o.txt', { headers: bearer(token) })).text(), 'hello');
  });
});

describe('JSON nesting is bounded (SPEC §6: 400, never a 500)', () => {
  const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);

  test('a KV value nested 5000 deep (10 KB) -> 400 invalid_json; the key is not stored; 63 levels inside {"value"} are fine', async () => {
    for (const method of ['PUT', 'POST']) {
      const res = await server.fetch('/v1/data/deep', { method, headers: bearer(token, { 'content-type': 'application/json' }), body: `{"value":${deep(5000)}}` });
      assert.equal(res.status, 400, await res.clone().text());
      assert.equal(((await res.json()) as { code: string }).code, 'invalid_json');
    }
    assert.equal((await server.fetch('/v1/data/deep', { headers: bearer(token) })).status, 404);
    const ok = await server.fetch('/v1/data/deep', { method: 'PUT', headers: bearer(token, { 'content-type': 'application/json' }), body: `{"value":${deep(63)}}` });
    assert.equal(ok.status, 201, await ok.clone().text());
    const tooDeep = await server.fetch('/v1/data/deep', { method: 'PUT', headers: bearer(token, { 'content-type': 'application/json' }), body: `{"value":${deep(64)}}` });
    assert.equal(tooDeep.status, 400);
  });

  test('brackets inside strings do not count; deep bodies on other JSON routes are 400 too', async () => {
    const res = await server.fetch('/v1/data/brackets', { method: 'PUT', headers: bearer(token, { 'content-type': 'application/json' }), body: JSON.stringify({ value: `${'['.repeat(5000)}\\"{` }) });
    assert.equal(res.status, 201, await res.clone().text());
    for (const route of ['/v1/login', '/v1/token/refresh', '/api/v1/auth']) {
      const r = await server.fetch(route, { method: 'POST', headers: { 'content-type': 'application/json' }, body: `{"x":${deep(10_000)}}` });
      assert.equal(r.status, 400, `${route}: ${await r.clone().text()}`);
    }
    const presign = await server.fetch('/v1/presign', { method: 'POST', headers: bearer(token, { 'content-type': 'application/json' }), body: `{"path":${deep(3000)}}` });
    assert.equal(presign.status, 400);
  });
});

describe('/metrics', () => {
  test('open by the Prometheus convention when COFFER_METRICS_TOKEN is unset', async () => {
    assert.equal((await server.fetch('/metrics')).status, 200);
  });

  test('with COFFER_METRICS_TOKEN: 401 without it or with another, 200 with Bearer <token>', async () => {
    const secret = 'metrics-scraper-secret-0123';
    const closed = await startServer({ COFFER_METRICS_TOKEN: secret });
    try {
      const none = await closed.fetch('/metrics');
      assert.equal(none.status, 401);
      assert.match(none.headers.get('www-authenticate') ?? '', /^Bearer/);
      assert.doesNotMatch(await none.text(), /coffer_/);
      assert.equal((await closed.fetch('/metrics', { headers: bearer('metrics-scraper-secret-0124') })).status, 401);
      assert.equal((await closed.fetch('/metrics', { headers: bearer(await closed.adminToken()) })).status, 401, 'an admin token is not the metrics token');
      const ok = await closed.fetch('/metrics', { headers: bearer(secret) });
      assert.equal(ok.status, 200);
      assert.match(await ok.text(), /coffer_http_request_duration_seconds/);
    } finally {
      await closed.close();
    }
  });
});

// The "speed ceiling" for bench/http.ts: a bare node:http server doing the least work an
// authenticated KV server must do per request, and nothing else.
//
//   GET  /v1/data/*  verify an HS256 JWT (HMAC-SHA256 + timingSafeEqual + exp), answer a fixed
//                    {"key":"k","value":"<100 chars>"}
//   PUT  /v1/data/*  the same check, read the body, answer a fixed small JSON
//   GET  /v1/ping    "pong"
//   POST /v1/login   read the body, answer a fixed token JSON (no password hashing: the baseline)
//   GET  /readyz     {"status":"ready"}
//
// Plain ESM JavaScript run by `node` itself (no loader), so the baseline pays no tsx cost.
// Settings: BARE_PORT (0 = any free port), BARE_HOST. Prints "listening <port>" on stdout.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import http from 'node:http';

const host = process.env.BARE_HOST ?? '127.0.0.1';
const port = Number(process.env.BARE_PORT ?? 0);
const secret = randomBytes(32);

const b64url = (buf) => Buffer.from(buf).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);

function sign(claims) {
  const signingInput = `${b64url(JSON.stringify({ alg: 'HS256', typ: 'at+jwt' }))}.${b64url(JSON.stringify(claims))}`;
  return `${signingInput}.${createHmac('sha256', secret).update(signingInput).digest('base64url')}`;
}

/** The claims of a valid, unexpired HS256 token, or undefined. */
function verify(authorization) {
  if (authorization === undefined || !authorization.startsWith('Bearer ')) return undefined;
  const token = authorization.slice(7).trim();
  const dot1 = token.indexOf('.');
  const dot2 = token.lastIndexOf('.');
  if (dot1 <= 0 || dot2 === dot1) return undefined;
  const expected = createHmac('sha256', secret).update(token.slice(0, dot2)).digest();
  const given = Buffer.from(token.slice(dot2 + 1), 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  let header;
  let claims;
  try {
    header = JSON.parse(Buffer.from(token.slice(0, dot1), 'base64url').toString('utf8'));
    claims = JSON.parse(Buffer.from(token.slice(dot1 + 1, dot2), 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (header.alg !== 'HS256' || typeof claims.exp !== 'number' || claims.exp <= now()) return undefined;
  return claims;
}

const TOKEN = sign({ sub: 'bench', scope: 'kv:read kv:write', iat: now(), exp: now() + 3600 });
const LOGIN_BODY = JSON.stringify({ access_token: TOKEN, token_type: 'Bearer', expires_in: 3600, scope: 'kv:read kv:write' });
const GET_BODY = JSON.stringify({ key: 'k', value: 'v'.repeat(100) });
const PUT_BODY = JSON.stringify({ key: 'k', size: 100, content_type: 'application/octet-stream' });
const UNAUTHORIZED = JSON.stringify({ error: 'invalid_token' });

function send(res, status, body, type = 'application/json; charset=utf-8') {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** Reads (and discards) the request body, then calls `then`. */
function drain(req, then) {
  let size = 0;
  req.on('data', (chunk) => {
    size += chunk.length;
  });
  req.on('end', () => then(size));
}

const server = http.createServer((req, res) => {
  const url = req.url ?? '/';
  if (url.startsWith('/v1/data/')) {
    if (verify(req.headers.authorization) === undefined) {
      req.resume();
      return send(res, 401, UNAUTHORIZED);
    }
    if (req.method === "GET") { const e = process.hrtime.bigint() + 60000n; while (process.hrtime.bigint() < e); return send(res, 200, GET_BODY); }
    if (req.method === 'PUT') return drain(req, () => send(res, 200, PUT_BODY));
    return send(res, 405, '{}');
  }
  if (url === '/v1/ping') return send(res, 200, 'pong', 'text/plain; charset=utf-8');
  if (url === '/v1/login' && req.method === 'POST') return drain(req, () => send(res, 200, LOGIN_BODY));
  if (url === '/readyz') return send(res, 200, '{"status":"ready"}');
  return send(res, 404, '{}');
});

server.listen(port, host, () => {
  process.stdout.write(`listening ${server.address().port}\n`);
});
const stop = () => server.close(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);

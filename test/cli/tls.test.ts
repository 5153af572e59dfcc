/**
 * Over HTTPS, as a user who made a development certificate with `coffer cert` runs it: Coffer
 * serves TLS with the pair, and the CLI (trusting it through NODE_EXTRA_CA_CERTS) logs in and
 * moves a file both ways on its fast path (raw-http.ts over tls) and through the client's path
 * (stdin up, stdout down), every byte kept. A client that does not trust the certificate gets a
 * one-line error, not a stack trace.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { ADMIN_PASSWORD, startServer, type TestServer } from '../helpers/server.js';
import { cliHome, isOneLineError, type CliHome } from './helpers.js';

let cli: CliHome;
let server: TestServer;
let trust: Record<string, string>;
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

before(async () => {
  cli = await cliHome();
  const made = await cli.run(['cert', '-o', 'tls']);
  assert.equal(made.code, 0, made.stderr);
  const dir = path.join(cli.home, 'tls');
  server = await startServer({ COFFER_TLS_CERT: path.join(dir, 'cert.pem'), COFFER_TLS_KEY: path.join(dir, 'key.pem') });
  assert.match(server.base, /^https:\/\/127\.0\.0\.1:\d+$/);
  trust = { NODE_EXTRA_CA_CERTS: path.join(dir, 'cert.pem') };
  const login = await cli.run(['login', server.base, '-u', 'admin', '--password-stdin'], { input: ADMIN_PASSWORD, env: trust });
  assert.equal(login.code, 0, login.stderr);
});
after(async () => {
  await server?.close();
  await cli?.close();
});

test('a file goes up and comes back over TLS on the fast path, and through stdin and stdout', async () => {
  const bytes = randomBytes(3 * 1024 * 1024 + 17);
  await writeFile(path.join(cli.home, 'up.bin'), bytes);
  const up = await cli.run(['upload', 'up.bin', 'tls/up.bin', '-q'], { env: trust });
  assert.equal(up.code, 0, up.stderr);
  const down = await cli.run(['download', 'tls/up.bin', 'down.bin', '-q'], { env: trust });
  assert.equal(down.code, 0, down.stderr);
  assert.equal(sha256(await readFile(path.join(cli.home, 'down.bin'))), sha256(bytes));

  const piped = await cli.run(['upload', '-', 'tls/piped.bin', '-q'], { input: bytes, env: trust });
  assert.equal(piped.code, 0, piped.stderr);
  const out = await cli.run(['download', 'tls/piped.bin', '-'], { env: trust });
  assert.equal(out.code, 0, out.stderr);
  assert.equal(sha256(out.stdoutBytes), sha256(bytes));
});

test('a CLI that does not trust the certificate says so in one line and exits non-zero', async () => {
  const refused = await cli.run(['download', 'tls/up.bin', 'never.bin']);
  assert.notEqual(refused.code, 0);
  assert.ok(isOneLineError(refused.stderr), refused.stderr);
  assert.match(refused.stderr, /^coffer: the server's TLS certificate was refused \(DEPTH_ZERO_SELF_SIGNED_CERT\)\nhint: .*NODE_EXTRA_CA_CERTS/);
});

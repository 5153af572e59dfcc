/**
 * The real `coffer serve` process, as an operator starts it: first start on an empty data dir
 * creates the admin, the server answers, SIGTERM stops it cleanly; bad settings stop it with a
 * message naming the setting.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { freePort } from '../../bench/lib.js';

const MAIN = path.resolve('src/main.ts');
let dataDir: string;
before(async () => (dataDir = await mkdtemp(path.join(tmpdir(), 'coffer-e2e-'))));
after(() => rm(dataDir, { recursive: true, force: true }));

function coffer(args: string[], env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, out: () => stdout, err: () => stderr };
}

async function waitFor(url: string, ms = 20_000): Promise<Response> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await fetch(url);
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

test('coffer serve: first start creates the admin with a generated password, printed once', async () => {
  const port = await freePort();
  const env = { COFFER_PORT: String(port), COFFER_DATA_DIR: dataDir, COFFER_ADMIN_PASSWORD: '' };
  const first = coffer(['serve'], env);
  const ping = await waitFor(`http://127.0.0.1:${port}/v1/ping`);
  assert.equal(await ping.text(), 'pong');
  const password = /password:\s+(\S+)/.exec(first.err())?.[1];
  assert.ok(password, `the generated password is printed: ${first.err()}`);
  const login = await fetch(`http://127.0.0.1:${port}/v1/login`, { method: 'POST', headers: { authorization: `Basic ${Buffer.from(`admin:${password}`).toString('base64')}` } });
  assert.equal(login.status, 200);
  const { access_token: token, refresh_token: refresh } = (await login.json()) as { access_token: string; refresh_token: string };
  const put = await fetch(`http://127.0.0.1:${port}/v1/data/k`, { method: 'PUT', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{"value":1}' });
  assert.equal(put.status, 201);
  await fetch(`http://127.0.0.1:${port}/v1/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: 'a-wrong-password' }) });
  await new Promise((r) => setTimeout(r, 200));
  const log = first.out();
  const lines = log.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.ok(lines.some((l) => l.audit === 'login.success' && l.username === 'admin'), 'logins are audited');
  assert.ok(lines.some((l) => l.audit === 'login.failure'), 'failures are audited');
  assert.ok(lines.some((l) => l.msg === 'request' && l.path === '/v1/data/k' && l.status === 201), 'one structured line per request');
  for (const secret of [password!, token, refresh, 'a-wrong-password']) {
    assert.ok(!log.includes(secret), 'no password or token in the log');
  }
  const keyFile = await stat(path.join(dataDir, 'keys', 'jwt-signing-keys.json'));
  assert.equal(keyFile.mode & 0o777, 0o600, 'signing keys are private to the owner');
  first.child.kill('SIGTERM');
  assert.equal(await first.exited, 0, 'SIGTERM shuts down cleanly');

  const second = coffer(['serve'], env);
  await waitFor(`http://127.0.0.1:${port}/v1/ping`);
  assert.doesNotMatch(second.err(), /password:/, 'a second start prints no password');
  const again = await fetch(`http://127.0.0.1:${port}/v1/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password }) });
  assert.equal(again.status, 200, 'the admin and the signing keys survive a restart');
  second.child.kill('SIGTERM');
  assert.equal(await second.exited, 0);
});

test('the data directory is private (SPEC §5): a fresh one is made 0700 with 0600 files; a loose one is tightened at start, and the log says so', async () => {
  const port = await freePort();
  const fresh = path.join(dataDir, 'private', 'data'); // does not exist yet
  const env = { COFFER_PORT: String(port), COFFER_DATA_DIR: fresh, COFFER_ADMIN_PASSWORD: 'private-admin-password' };
  const modeOf = async (p: string) => (await stat(p)).mode & 0o777;
  const first = coffer(['serve'], env);
  await waitFor(`http://127.0.0.1:${port}/v1/ping`);
  const login = await fetch(`http://127.0.0.1:${port}/v1/login`, { method: 'POST', headers: { authorization: `Basic ${Buffer.from('admin:private-admin-password').toString('base64')}` } });
  const { access_token: token } = (await login.json()) as { access_token: string };
  // A write, so that the WAL holds something, and an object, so that blob directories exist.
  await fetch(`http://127.0.0.1:${port}/v1/data/k`, { method: 'PUT', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{"value":1}' });
  assert.equal((await fetch(`http://127.0.0.1:${port}/v1/objects/o`, { method: 'PUT', headers: { authorization: `Bearer ${token}` }, body: 'bytes' })).status, 201);
  assert.equal(await modeOf(fresh), 0o700);
  const { readdir } = await import('node:fs/promises');
  const files = (await readdir(fresh, { recursive: true, withFileTypes: true })).map((e) => ({ path: path.join(e.parentPath, e.name), dir: e.isDirectory() }));
  for (const name of ['coffer.db', 'coffer.db-wal', 'coffer.db-shm']) assert.ok(files.some((f) => f.path === path.join(fresh, name)), `${name} exists`);
  assert.ok(files.some((f) => f.path.includes(`${path.sep}blobs${path.sep}`) && !f.dir), 'a blob file exists');
  for (const f of files) assert.equal(await modeOf(f.path), f.dir ? 0o700 : 0o600, `${path.relative(fresh, f.path)} is ${f.dir ? '0700' : '0600'}`);
  first.child.kill('SIGTERM');
  assert.equal(await first.exited, 0);

  // As an older Coffer (or a careless copy) left it: readable by every local account.
  const { chmod } = await import('node:fs/promises');
  await chmod(fresh, 0o755);
  await chmod(path.join(fresh, 'coffer.db'), 0o644);
  await chmod(path.join(fresh, 'keys', 'jwt-signing-keys.json'), 0o644);
  const second = coffer(['serve'], env);
  await waitFor(`http://127.0.0.1:${port}/v1/ping`);
  assert.equal(await modeOf(fresh), 0o700);
  assert.equal(await modeOf(path.join(fresh, 'coffer.db')), 0o600);
  assert.equal(await modeOf(path.join(fresh, 'keys', 'jwt-signing-keys.json')), 0o600);
  const warning = second.out().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { msg: string; tightened?: string[] }).find((l) => l.tightened);
  assert.ok(warning, `the log says what was tightened: ${second.out()}`);
  assert.equal(warning.tightened!.length, 3, warning.tightened!.join(', '));
  assert.match(warning.msg, /readable by other accounts/);
  second.child.kill('SIGTERM');
  assert.equal(await second.exited, 0);
});

test('a bad setting stops coffer with a message that names it and what is accepted', async () => {
  const run = coffer(['serve'], { COFFER_PORT: 'eighty', COFFER_JWT_ALG: 'none', COFFER_DATA_DIR: dataDir });
  assert.equal(await run.exited, 1);
  assert.match(run.err(), /COFFER_PORT="eighty" is not valid: expected a whole number from 0 to 65535/);
  assert.match(run.err(), /COFFER_JWT_ALG="none" is not valid: expected one of EdDSA, ES256, RS256, HS256/);
  assert.doesNotMatch(run.err(), /\n\s+at /, 'no stack trace');
});

test('coffer --help and coffer jwks --pem', async () => {
  const help = coffer(['serve', '--help'], {});
  assert.equal(await help.exited, 0);
  assert.match(help.out(), /COFFER_DATA_DIR/);
  assert.match(help.out(), /COFFER_OPEN_REGISTRATION/);
  const jwks = coffer(['jwks', '--pem'], { COFFER_DATA_DIR: dataDir });
  assert.equal(await jwks.exited, 0, jwks.err());
  assert.match(jwks.out(), /-----BEGIN PUBLIC KEY-----/);
});

test('coffer keygen writes an RSA pair by default (private 0600), other types on request, and never overwrites', async () => {
  const dir = path.join(dataDir, 'keys-out');
  const first = coffer(['keygen', '--location', dir, '--user', 'example'], {});
  assert.equal(await first.exited, 0, first.err());
  const priv = await stat(path.join(dir, 'example_private.pem'));
  assert.equal(priv.mode & 0o777, 0o600);
  const { readFile } = await import('node:fs/promises');
  const { createPublicKey } = await import('node:crypto');
  const pub = createPublicKey(await readFile(path.join(dir, 'example_public.pem'), 'utf8'));
  assert.deepEqual([pub.asymmetricKeyType, pub.asymmetricKeyDetails?.modulusLength], ['rsa', 2048]);
  const again = coffer(['keygen', '--location', dir, '--user', 'example'], {});
  assert.equal(await again.exited, 1);
  assert.match(again.err(), /exists; not overwriting/);
  const p256 = coffer(['keygen', '--location', dir, '--user', 'amo', '--type', 'p256'], {});
  assert.equal(await p256.exited, 0, p256.err());
  const ec = createPublicKey(await readFile(path.join(dir, 'amo_public.pem'), 'utf8'));
  assert.equal(ec.asymmetricKeyDetails?.namedCurve, 'prime256v1');
});

/**
 * Admin and key commands through the CLI against a real server: user add/list/disable/enable/
 * passwd/rm, keys add/ls/rm, token verify (against the server's JWKS, a JWKS file and PEM), cert;
 * usage errors and --help (with examples) on every command.
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { ADMIN_PASSWORD, bearer, startServer, type TestServer } from '../helpers/server.js';
import { cliHome, isOneLineError, type CliHome } from './helpers.js';

let server: TestServer;
let cli: CliHome;
before(async () => {
  server = await startServer();
  cli = await cliHome();
  const login = await cli.run(['login', server.base, '-u', 'admin', '--password-stdin'], { input: ADMIN_PASSWORD });
  assert.equal(login.code, 0, login.stderr);
});
after(async () => {
  await cli.close();
  await server.close();
});

test('user add, list, disable, enable, passwd and rm over the API', async () => {
  const add = await cli.run(['user', 'add', 'bob', '--grants', 'kv:read,kv:write', '--password-stdin', '--json'], { input: 'bob-password-1\n' });
  assert.equal(add.code, 0, add.stderr);
  assert.deepEqual((JSON.parse(add.stdout) as { grants: string[] }).grants, ['kv:read', 'kv:write']);
  const bobToken = await server.login('bob', 'bob-password-1');
  const taken = await cli.run(['user', 'add', 'bob', '--password-stdin'], { input: 'bob-password-1\n' });
  assert.equal(taken.code, 5);
  assert.ok(isOneLineError(taken.stderr), taken.stderr);

  const list = JSON.parse((await cli.run(['user', 'list', '--json'])).stdout) as { users: Array<{ username: string; disabled: boolean }> };
  assert.deepEqual(list.users.map((u) => u.username).sort(), ['admin', 'bob']);
  assert.match((await cli.run(['user', 'list'])).stdout, /^USER\s+ADMIN\s+STATE/);

  assert.equal((await cli.run(['user', 'disable', 'bob'])).code, 0);
  assert.equal((await server.fetch('/v1/users/me', { headers: bearer(bobToken) })).status, 401, 'a disabled user\'s token stops working');
  assert.equal((await cli.run(['user', 'enable', 'bob'])).code, 0);
  assert.equal((await cli.run(['user', 'passwd', 'bob', '--password-stdin'], { input: 'bob-password-2\n' })).code, 0);
  await assert.rejects(server.login('bob', 'bob-password-1'));
  await server.login('bob', 'bob-password-2');

  // Bob changes his own password: the current one from COFFER_PASSWORD, the new one from stdin.
  const bob = await cliHome();
  try {
    assert.equal((await bob.run(['login', server.base, '-u', 'bob'], { env: { COFFER_PASSWORD: 'bob-password-2' } })).code, 0);
    const self = await bob.run(['user', 'passwd', '--password-stdin'], { input: 'bob-password-3\n', env: { COFFER_PASSWORD: 'bob-password-2' } });
    assert.equal(self.code, 0, self.stderr);
    await server.login('bob', 'bob-password-3');
    const notAdmin = await bob.run(['user', 'list'], { env: { COFFER_TOKEN: await server.login('bob', 'bob-password-3') } });
    assert.equal(notAdmin.code, 3, 'not an admin: exit 3');
    assert.ok(isOneLineError(notAdmin.stderr), notAdmin.stderr);
  } finally {
    await bob.close();
  }

  const unconfirmed = await cli.run(['user', 'rm', 'bob']);
  assert.equal(unconfirmed.code, 2, 'no terminal to confirm: --yes is needed');
  assert.equal((await cli.run(['user', 'rm', 'bob', '--yes'])).code, 0);
  assert.equal((await server.fetch('/v1/users/bob', { headers: bearer(await server.adminToken()) })).status, 404);
});

test('keygen, keys add (file and stdin), ls --json and rm', async () => {
  assert.equal((await cli.run(['keygen', '--location', 'keys', '--user', 'laptop', '--type', 'ed25519'])).code, 0);
  const add = await cli.run(['keys', 'add', 'keys/laptop_public.pem', '--label', 'laptop', '--json']);
  assert.equal(add.code, 0, add.stderr);
  const key = JSON.parse(add.stdout) as { id: string; type: string; label: string };
  assert.equal(key.type, 'ed25519');
  assert.equal(key.label, 'laptop');
  const again = await cli.run(['keys', 'add', '-'], { input: await readFile(path.join(cli.home, 'keys', 'laptop_public.pem')) });
  assert.equal(again.code, 5, 'the same key twice is a conflict');
  const priv = await cli.run(['keys', 'add', 'keys/laptop_private.pem']);
  assert.equal(priv.code, 2, 'a private key is refused before it leaves the machine');

  const ls = JSON.parse((await cli.run(['keys', 'ls', '--json'])).stdout) as { keys: Array<{ id: string }> };
  assert.deepEqual(ls.keys.map((k) => k.id), [key.id]);
  assert.equal((await cli.run(['keys', 'rm', key.id])).code, 0);
  assert.deepEqual(((await (await server.fetch('/v1/keys', { headers: bearer(await server.adminToken()) })).json()) as { keys: unknown[] }).keys, []);
});

test('token verify: valid against the server\'s JWKS, a JWKS file and PEM; tampered or foreign tokens exit 3', async () => {
  const session = JSON.parse(await readFile(path.join(cli.configHome, 'coffer', 'session.json'), 'utf8')) as { access_token: string };
  const ok = await cli.run(['token', 'verify', session.access_token, '--json', '--issuer', 'coffer']);
  assert.equal(ok.code, 0, ok.stderr);
  const result = JSON.parse(ok.stdout) as { valid: boolean; claims: { username: string; typ?: string } };
  assert.equal(result.valid, true);
  assert.equal(result.claims.username, 'admin');

  const jwks = await (await server.fetch('/.well-known/jwks.json')).text();
  await writeFile(path.join(cli.home, 'jwks.json'), jwks);
  const fromFile = await cli.run(['token', 'verify', '--jwks', 'jwks.json', '-'], { input: session.access_token, env: { COFFER_URL: 'http://127.0.0.1:2' } });
  assert.equal(fromFile.code, 0, `offline: the server is not asked (${fromFile.stderr})`);
  assert.match(fromFile.stdout, /^valid: admin/);

  const pem = await cli.run(['jwks', '--pem'], { env: { COFFER_DATA_DIR: server.dataDir } });
  assert.equal(pem.code, 0, pem.stderr);
  await writeFile(path.join(cli.home, 'jwks.pem'), pem.stdout);
  assert.equal((await cli.run(['token', 'verify', '--jwks', 'jwks.pem', session.access_token])).code, 0);

  const [h, p, s] = session.access_token.split('.');
  const claims = JSON.parse(Buffer.from(p!, 'base64url').toString()) as Record<string, unknown>;
  const forged = `${h}.${Buffer.from(JSON.stringify({ ...claims, admin: true, scope: 'admin' })).toString('base64url')}.${s}`;
  const bad = await cli.run(['token', 'verify', forged]);
  assert.equal(bad.code, 3);
  assert.ok(isOneLineError(bad.stderr), bad.stderr);
  assert.match(bad.stderr, /signature/);
  const wrongIssuer = await cli.run(['token', 'verify', session.access_token, '--issuer', 'elsewhere']);
  assert.equal(wrongIssuer.code, 3);
  const notJwt = await cli.run(['token', 'verify', 'hello']);
  assert.equal(notJwt.code, 2);
});

test('cert writes a self-signed pair for localhost (key 0600) and refuses to overwrite it', async () => {
  const run = await cli.run(['cert', '--out', 'tls', '-n', 'localhost', '-n', '127.0.0.1', '--days', '7', '--json']);
  assert.equal(run.code, 0, run.stderr);
  const out = JSON.parse(run.stdout) as { cert: string; key: string; sha256_fingerprint: string };
  const certFile = path.join(cli.home, out.cert);
  const keyFile = path.join(cli.home, out.key);
  assert.equal((await stat(keyFile)).mode & 0o777, 0o600);
  const cert = new X509Certificate(await readFile(certFile));
  assert.match(cert.subjectAltName ?? '', /DNS:localhost/);
  assert.match(cert.subjectAltName ?? '', /IP Address:127\.0\.0\.1/);
  assert.ok(cert.checkHost('localhost'));
  assert.ok(cert.verify(cert.publicKey), 'self-signed');
  assert.equal(cert.fingerprint256, out.sha256_fingerprint);
  assert.ok(Date.parse(cert.validTo) - Date.now() < 8 * 86_400_000);
  const again = await cli.run(['cert', '--out', 'tls']);
  assert.equal(again.code, 5);
  assert.ok(isOneLineError(again.stderr), again.stderr);
});

test('usage errors exit 2; every command answers --help with examples, and the top help lists the exit codes', async () => {
  const unknown = await cli.run(['frobnicate']);
  assert.equal(unknown.code, 2);
  assert.ok(isOneLineError(unknown.stderr), unknown.stderr);
  assert.equal((await cli.run(['get'])).code, 2);
  assert.equal((await cli.run(['put', 'k', 'v', '--ttl', 'soon'])).code, 2);

  const top = await cli.run(['--help']);
  assert.equal(top.code, 0);
  assert.match(top.stdout, /Exit codes:/);
  assert.match(top.stdout, /3 +authentication/);
  const commands = [
    ['login'], ['logout'], ['whoami'], ['get'], ['put'], ['create'], ['rm'], ['ls'], ['upload'], ['download'], ['inspect'], ['presign'],
    ['objects', 'ls'], ['objects', 'rm'], ['keys', 'add'], ['keys', 'ls'], ['keys', 'rm'], ['keygen'], ['user', 'add'], ['user', 'list'],
    ['user', 'rm'], ['user', 'passwd'], ['user', 'disable'], ['user', 'enable'], ['user', 'reset-password'], ['admin', 'reset'],
    ['token', 'verify'], ['cert'], ['serve'], ['jwks'],
  ];
  const runs = await Promise.all(commands.map((c) => cli.run([...c, '--help'])));
  runs.forEach((r, i) => {
    assert.equal(r.code, 0, `${commands[i]!.join(' ')} --help`);
    assert.match(r.stdout, /Example/, `${commands[i]!.join(' ')} --help has examples`);
  });
});

/**
 * The CLI's session as a user meets it: login with the password from stdin and from the
 * environment, the session file (0600 in a 0700 directory), whoami, logout; a wrong password, an
 * expired and a revoked session each give one line with a hint and exit 3; COFFER_URL/COFFER_TOKEN
 * for scripts; the offline password reset on the server's data directory ends the old sessions.
 */
import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { TestClock } from '../helpers/clock.js';
import { ADMIN_PASSWORD, bearer, startServer, type TestServer } from '../helpers/server.js';
import { cliHome, isOneLineError, type CliHome } from './helpers.js';

let server: TestServer;
let cli: CliHome;
before(async () => {
  server = await startServer();
  cli = await cliHome();
});
after(async () => {
  await cli.close();
  await server.close();
});

const sessionPath = () => path.join(cli.configHome, 'coffer', 'session.json');
const savedToken = async () => (JSON.parse(await readFile(sessionPath(), 'utf8')) as { access_token?: string }).access_token;

test('login with the password on stdin keeps the session in $XDG_CONFIG_HOME/coffer/session.json, 0600 in a 0700 directory', async () => {
  const login = await cli.run(['login', server.base, '-u', 'admin', '--password-stdin'], { input: `${ADMIN_PASSWORD}\n` });
  assert.equal(login.code, 0, login.stderr);
  assert.match(login.stderr, /Logged in to .* as admin \(admin\)/);
  assert.equal((await stat(sessionPath())).mode & 0o777, 0o600);
  assert.equal((await stat(path.dirname(sessionPath()))).mode & 0o777, 0o700);
  const session = JSON.parse(await readFile(sessionPath(), 'utf8')) as Record<string, string>;
  assert.equal(session.url, server.base);
  assert.equal(session.username, 'admin');
  assert.ok(session.access_token && session.refresh_token);
  assert.ok(!(await readFile(sessionPath(), 'utf8')).includes(ADMIN_PASSWORD), 'the password is not kept');

  const who = await cli.run(['whoami', '--json']);
  assert.equal(who.code, 0, who.stderr);
  const me = JSON.parse(who.stdout) as { username: string; admin: boolean; url: string };
  assert.equal(me.username, 'admin');
  assert.equal(me.admin, true);
  assert.equal(me.url, server.base);
  const plain = await cli.run(['whoami']);
  assert.match(plain.stdout, /^admin \(admin\) at http/);
});

test('login with the password from COFFER_PASSWORD; the server and user are remembered for the next login', async () => {
  await server.createUser('envuser', 'envuser-password-1');
  const other = await cliHome();
  try {
    const login = await other.run(['login', server.base, '-u', 'envuser'], { env: { COFFER_PASSWORD: 'envuser-password-1' } });
    assert.equal(login.code, 0, login.stderr);
    assert.equal(JSON.parse((await other.run(['whoami', '--json'])).stdout).username, 'envuser');
    const logout = await other.run(['logout']);
    assert.equal(logout.code, 0, logout.stderr);
    const after = await other.run(['whoami']);
    assert.equal(after.code, 3);
    assert.ok(isOneLineError(after.stderr), after.stderr);
    assert.match(after.stderr, /not logged in/);
    // Same server and user as before: only the password is needed.
    const again = await other.run(['login'], { env: { COFFER_PASSWORD: 'envuser-password-1' } });
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stderr, /as envuser/);
  } finally {
    await other.close();
  }
});

test('no password from a closed stdin or an argument: a clear usage error', async () => {
  const other = await cliHome();
  try {
    const run = await other.run(['login', server.base, '-u', 'admin']);
    assert.equal(run.code, 2);
    assert.ok(isOneLineError(run.stderr), run.stderr);
    assert.match(run.stderr, /--password-stdin|COFFER_PASSWORD/);
    const arg = await other.run(['login', server.base, '-u', 'admin', '-p', ADMIN_PASSWORD]);
    assert.equal(arg.code, 2, 'there is no password option');
  } finally {
    await other.close();
  }
});

test('a wrong password: one line with a hint, exit 3, and the saved session is untouched', async () => {
  const before = await savedToken();
  const run = await cli.run(['login', server.base, '-u', 'admin', '--password-stdin'], { input: 'not-the-password\n' });
  assert.equal(run.code, 3);
  assert.ok(isOneLineError(run.stderr), run.stderr);
  assert.match(run.stderr, /wrong user name or password/);
  assert.equal(run.stdout, '');
  assert.equal(await savedToken(), before);
});

test('COFFER_URL and COFFER_TOKEN drive the CLI without a session file', async () => {
  const token = await server.createUser('scripted', 'scripted-password-1');
  const other = await cliHome();
  try {
    const run = await other.run(['whoami', '--json'], { env: { COFFER_URL: server.base, COFFER_TOKEN: token } });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(JSON.parse(run.stdout).username, 'scripted');
    const noUrl = await other.run(['whoami'], { env: { COFFER_TOKEN: token } });
    assert.equal(noUrl.code, 2);
    assert.match(noUrl.stderr, /COFFER_URL/);
  } finally {
    await other.close();
  }
});

test('an unreachable server: one line naming the problem, exit 1', async () => {
  const run = await cli.run(['whoami'], { env: { COFFER_URL: 'http://127.0.0.1:2', COFFER_TOKEN: 'x.y.z' } });
  assert.equal(run.code, 1);
  assert.ok(isOneLineError(run.stderr), run.stderr);
  assert.match(run.stderr, /cannot reach the server/);
});

test('the access token is refreshed when it expires and the new pair saved; an expired session says to log in again', async () => {
  const clock = new TestClock();
  const short = await startServer({ COFFER_ACCESS_TOKEN_TTL: '60', COFFER_REFRESH_TOKEN_TTL: '120' }, { clock });
  const other = await cliHome();
  try {
    assert.equal((await other.run(['login', short.base, '-u', 'admin', '--password-stdin'], { input: ADMIN_PASSWORD })).code, 0);
    const first = JSON.parse(await readFile(path.join(other.configHome, 'coffer', 'session.json'), 'utf8')) as { access_token: string; refresh_token: string };
    clock.advance(90_000); // the access token is dead, the refresh token alive
    const refreshed = await other.run(['ls']);
    assert.equal(refreshed.code, 0, refreshed.stderr);
    const second = JSON.parse(await readFile(path.join(other.configHome, 'coffer', 'session.json'), 'utf8')) as { access_token: string; refresh_token: string };
    assert.notEqual(second.access_token, first.access_token, 'the new access token is saved');
    assert.notEqual(second.refresh_token, first.refresh_token, 'and the rotated refresh token');
    assert.equal((await stat(path.join(other.configHome, 'coffer', 'session.json'))).mode & 0o777, 0o600);

    clock.advance(10 * 60_000); // now both are dead
    const expired = await other.run(['ls']);
    assert.equal(expired.code, 3);
    assert.ok(isOneLineError(expired.stderr), expired.stderr);
    assert.match(expired.stderr, /expired/);
    assert.match(expired.stderr, /hint: .*coffer login/);
  } finally {
    await other.close();
    await short.close();
  }
});

test('a revoked session (the password changed elsewhere): one line, exit 3', async () => {
  await server.createUser('revoked', 'revoked-password-1');
  const other = await cliHome();
  try {
    assert.equal((await other.run(['login', server.base, '-u', 'revoked'], { env: { COFFER_PASSWORD: 'revoked-password-1' } })).code, 0);
    const patch = await server.fetch('/v1/users/revoked', {
      method: 'PATCH',
      headers: bearer(await server.adminToken(), { 'content-type': 'application/json' }),
      body: JSON.stringify({ password: 'revoked-password-2' }),
    });
    assert.equal(patch.status, 200);
    const run = await other.run(['get', 'anything']);
    assert.equal(run.code, 3);
    assert.ok(isOneLineError(run.stderr), run.stderr);
    assert.match(run.stderr, /revoked|expired/);
    assert.match(run.stderr, /coffer login/);
  } finally {
    await other.close();
  }
});

test('offline reset on the data directory: the new password logs in, the old one and the old tokens are refused', async () => {
  const oldToken = await server.createUser('forgetful', 'forgetful-password-1');
  const other = await cliHome();
  try {
    assert.equal((await other.run(['login', server.base, '-u', 'forgetful'], { env: { COFFER_PASSWORD: 'forgetful-password-1' } })).code, 0);
    // Both sessions are in use, so the server holds their state in its access cache: the old
    // token's 401 below then shows the reset's event has reached that cache, for the CLI's too.
    assert.equal((await server.fetch('/v1/users/me', { headers: bearer(oldToken) })).status, 200);
    assert.equal((await other.run(['whoami'])).code, 0);
    const reset = await other.run(['user', 'reset-password', 'forgetful', '--password-stdin', '--json'], {
      input: 'forgetful-password-2\n',
      env: { COFFER_DATA_DIR: server.dataDir },
    });
    assert.equal(reset.code, 0, reset.stderr);
    assert.deepEqual(JSON.parse(reset.stdout), { username: 'forgetful', action: 'reset', admin: false });

    // The running server follows the change within a second.
    const deadline = Date.now() + 3000;
    let status = 0;
    while (Date.now() < deadline && (status = (await server.fetch('/v1/users/me', { headers: bearer(oldToken) })).status) !== 401) await new Promise((r) => setTimeout(r, 100));
    assert.equal(status, 401, 'the old access token is refused');
    const stale = await other.run(['whoami']);
    assert.equal(stale.code, 3, 'the CLI session from before the reset is over');
    assert.ok(isOneLineError(stale.stderr), stale.stderr);

    const oldPassword = await other.run(['login', '-u', 'forgetful'], { env: { COFFER_PASSWORD: 'forgetful-password-1' } });
    assert.equal(oldPassword.code, 3);
    const login = await other.run(['login', '-u', 'forgetful'], { env: { COFFER_PASSWORD: 'forgetful-password-2' } });
    assert.equal(login.code, 0, login.stderr);
    assert.equal(JSON.parse((await other.run(['whoami', '--json'])).stdout).username, 'forgetful');

    const missing = await other.run(['user', 'reset-password', 'nobody', '--password-stdin'], { input: 'nobody-password-1\n', env: { COFFER_DATA_DIR: server.dataDir } });
    assert.equal(missing.code, 4);
    assert.ok(isOneLineError(missing.stderr), missing.stderr);
  } finally {
    await other.close();
  }
});

test('offline admin reset creates a missing admin (bootstrap) and it can manage users', async () => {
  const other = await cliHome();
  try {
    const reset = await other.run(['admin', 'reset', 'rescuer', '--password-stdin'], { input: 'rescuer-password-1\n', env: { COFFER_DATA_DIR: server.dataDir } });
    assert.equal(reset.code, 0, reset.stderr);
    assert.match(reset.stderr, /Created the admin "rescuer"/);
    assert.equal((await other.run(['login', server.base, '-u', 'rescuer', '--password-stdin'], { input: 'rescuer-password-1\n' })).code, 0);
    const list = await other.run(['user', 'list', '--json']);
    assert.equal(list.code, 0, list.stderr);
    assert.ok((JSON.parse(list.stdout) as { users: Array<{ username: string; admin: boolean }> }).users.some((u) => u.username === 'rescuer' && u.admin));
    const weak = await other.run(['admin', 'reset', 'rescuer', '--password-stdin'], { input: 'short\n', env: { COFFER_DATA_DIR: server.dataDir } });
    assert.equal(weak.code, 2);
    assert.ok(isOneLineError(weak.stderr), weak.stderr);
  } finally {
    await other.close();
  }
});

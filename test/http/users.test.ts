/** Users over real HTTP: SPEC §2 (registration, admin management, PATCH rules, deletion, bootstrap admin). */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildApp, type CofferApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { ADMIN_PASSWORD, bearer, startServer, type TestServer } from '../helpers/server.js';
import { expectProblem as problem } from '../helpers/problem.js';

const json = (body: unknown, headers: Record<string, string> = {}) => ({
  headers: { 'content-type': 'application/json', ...headers },
  body: JSON.stringify(body),
});

async function loginStatus(server: TestServer, username: string, password: string): Promise<number> {
  const res = await server.fetch('/v1/login', { method: 'POST', ...json({ username, password }) });
  await res.arrayBuffer();
  return res.status;
}

function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DEFAULT_GRANTS = ['kv:read', 'kv:write', 'objects:read', 'objects:write', 'presign'];

describe('registration closed (the default)', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer();
  });
  after(() => server.close());

  test('POST /v1/register is 403 registration_closed, JSON or form, and creates nobody', async () => {
    await problem(await server.fetch('/v1/register', { method: 'POST', ...json({ username: 'walker', password: 'walker-password' }) }), 403, 'registration_closed');
    await problem(
      await server.fetch('/v1/register', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'username=walker&password=walker-password',
      }),
      403,
      'registration_closed',
    );
    assert.equal(await loginStatus(server, 'walker', 'walker-password'), 401);
  });
});

describe('users with open registration', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ COFFER_OPEN_REGISTRATION: 'true' });
  });
  after(() => server.close());

  const register = (body: unknown) => server.fetch('/v1/register', { method: 'POST', ...json(body) });

  test('register -> 201 {public_id, username, admin:false}; the user can log in', async () => {
    const res = await register({ username: 'reggie', password: 'reggie-password' });
    assert.equal(res.status, 201);
    const body = (await res.json()) as Record<string, unknown>;
    assert.match(String(body.public_id), UUID);
    assert.equal(body.username, 'reggie');
    assert.equal(body.admin, false);
    assert.ok(!('password' in body) && !('password_hash' in body));
    assert.equal(await loginStatus(server, 'reggie', 'reggie-password'), 200);
  });

  test('registration never makes an admin, even when asked', async () => {
    const res = await register({ username: 'sneaky', password: 'sneaky-password', admin: true, grants: ['admin'] });
    if (res.status === 201) {
      const body = (await res.json()) as Record<string, unknown>;
      assert.equal(body.admin, false);
    } else {
      assert.equal(res.status, 400);
      await res.arrayBuffer();
    }
    if (res.status === 201) {
      const token = await server.login('sneaky', 'sneaky-password');
      assert.equal((await server.fetch('/v1/users', { headers: bearer(token) })).status, 403);
    }
  });

  test('a taken username -> 409', async () => {
    assert.equal((await register({ username: 'dup', password: 'dup-password-1' })).status, 201);
    await problem(await register({ username: 'dup', password: 'dup-password-2' }), 409, 'conflict');
    // Still the first password.
    assert.equal(await loginStatus(server, 'dup', 'dup-password-1'), 200);
  });

  test('invalid usernames -> 400', async () => {
    for (const username of ['', 'x'.repeat(65), 'a b', 'ä', 'a/b', 'bad:name']) {
      await problem(await register({ username, password: 'a-good-password' }), 400);
    }
    await problem(await register({ password: 'a-good-password' }), 400);
    // The 64-character limit is inclusive.
    assert.equal((await register({ username: 'y'.repeat(64), password: 'a-good-password' })).status, 201);
    assert.equal((await register({ username: 'ok.name_with-all.0', password: 'a-good-password' })).status, 201);
  });

  test('weak passwords -> 400 weak_password', async () => {
    await problem(await register({ username: 'weak1', password: '' }), 400, 'weak_password');
    await problem(await register({ username: 'weak2', password: 'ab' }), 400, 'weak_password');
    await problem(await register({ username: 'weak3' }), 400, 'weak_password');
    await problem(await register({ username: 'common1', password: 'password' }), 400, 'weak_password');
    await problem(await register({ username: 'common2', password: '123456' }), 400, 'weak_password');
    for (const u of ['weak1', 'weak2', 'weak3', 'common1']) assert.equal(await loginStatus(server, u, 'anything-at-all'), 401);
  });

  test('the default minimum is 8 characters (NIST SP 800-63B): 7 are refused, 8 accepted', async () => {
    await problem(await register({ username: 'seven', password: 'abcdefg' }), 400, 'weak_password');
    assert.equal((await register({ username: 'eight', password: 'abcdefgh' })).status, 201);
    await problem(await register({ name: 'alain', password: 'pwd' }), 400, 'weak_password');
  });

  test('form-encoded registration works, with name as an alias of username', async () => {
    const res = await server.fetch('/v1/register', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ name: 'formy', password: 'formy-password' }).toString(),
    });
    assert.equal(res.status, 201);
    const body = (await res.json()) as Record<string, unknown>;
    assert.equal(body.username, 'formy');
    assert.equal(body.admin, false);
    assert.equal(await loginStatus(server, 'formy', 'formy-password'), 200);
  });

  test('admin POST /v1/users with admin and grants -> 201 {public_id, username, admin, grants}', async () => {
    const admin = await server.adminToken();
    const plain = await server.fetch('/v1/users', { method: 'POST', ...json({ username: 'plain', password: 'plain-password' }, bearer(admin)) });
    assert.equal(plain.status, 201);
    const p = (await plain.json()) as Record<string, unknown>;
    assert.match(String(p.public_id), UUID);
    assert.equal(p.username, 'plain');
    assert.equal(p.admin, false);
    assert.deepEqual([...(p.grants as string[])].sort(), [...DEFAULT_GRANTS].sort());

    const reader = await server.fetch('/v1/users', { method: 'POST', ...json({ username: 'reader', password: 'reader-password', grants: ['kv:read'] }, bearer(admin)) });
    assert.equal(reader.status, 201);
    const r = (await reader.json()) as Record<string, unknown>;
    assert.equal(r.admin, false);
    assert.deepEqual(r.grants, ['kv:read']);
    assert.equal(claimsOf(await server.login('reader', 'reader-password')).scope, 'kv:read');

    const boss = await server.fetch('/v1/users', { method: 'POST', ...json({ username: 'boss', password: 'boss-password', admin: true, grants: ['kv:read', 'kv:write'] }, bearer(admin)) });
    assert.equal(boss.status, 201);
    const b = (await boss.json()) as Record<string, unknown>;
    assert.equal(b.username, 'boss');
    assert.equal(b.admin, true);
    assert.deepEqual([...(b.grants as string[])].sort(), ['admin', 'kv:read', 'kv:write']);
    assert.ok(!JSON.stringify(b).includes('argon2'));
    const bossToken = await server.login('boss', 'boss-password');
    assert.equal((await server.fetch('/v1/users', { headers: bearer(bossToken) })).status, 200);

    await problem(await server.fetch('/v1/users', { method: 'POST', ...json({ username: 'boss', password: 'boss-password-2' }, bearer(admin)) }), 409);
  });

  test('POST /v1/users: non-admin -> 403, no token -> 401, unknown scope -> 400, weak password -> 400', async () => {
    const user = await server.createUser('nonadmin');
    await problem(await server.fetch('/v1/users', { method: 'POST', ...json({ username: 'byuser', password: 'byuser-password' }, bearer(user)) }), 403);
    await problem(await server.fetch('/v1/users', { method: 'POST', ...json({ username: 'byanon', password: 'byanon-password' }) }), 401);
    const admin = await server.adminToken();
    await problem(await server.fetch('/v1/users', { method: 'POST', ...json({ username: 'scoped', password: 'scoped-password', grants: ['kv:read', 'kv:everything'] }, bearer(admin)) }), 400);
    await problem(await server.fetch('/v1/users', { method: 'POST', ...json({ username: 'scoped', password: 'scoped-password', grants: 42 }, bearer(admin)) }), 400);
    await problem(await server.fetch('/v1/users', { method: 'POST', ...json({ username: 'weakling', password: 'ab' }, bearer(admin)) }), 400, 'weak_password');
    for (const u of ['byuser', 'byanon', 'scoped', 'weakling']) assert.equal(await loginStatus(server, u, `${u}-password`), 401);
  });

  test('GET /v1/users/me answers any valid token with the caller own record', async () => {
    const token = await server.createUser('meme', 'meme-password');
    const res = await server.fetch('/v1/users/me', { headers: bearer(token) });
    assert.equal(res.status, 200);
    const text = await res.text();
    assert.doesNotMatch(text, /argon2|password/i);
    const me = JSON.parse(text) as Record<string, unknown>;
    assert.equal(me.username, 'meme');
    assert.equal(me.admin, false);
    assert.equal(me.disabled, false);
    assert.equal(me.public_id, claimsOf(token).sub);

    // A token narrowed to one scope, and the alternative headers, still reach /me.
    const narrow = await server.fetch('/v1/login', { method: 'POST', ...json({ username: 'meme', password: 'meme-password', scope: 'kv:read' }) });
    const { access_token } = (await narrow.json()) as { access_token: string };
    for (const headers of [bearer(access_token), { 'x-access-tokens': access_token }, { 'x-auth-token': access_token }]) {
      const r = await server.fetch('/v1/users/me', { headers });
      assert.equal(r.status, 200);
      assert.equal(((await r.json()) as Record<string, unknown>).username, 'meme');
    }

    const admin = await server.fetch('/v1/users/me', { headers: bearer(await server.adminToken()) });
    const a = (await admin.json()) as Record<string, unknown>;
    assert.equal(a.username, 'admin');
    assert.equal(a.admin, true);
    assert.ok((a.grants as string[]).includes('admin'));

    await problem(await server.fetch('/v1/users/me'), 401);
  });

  test('self password change needs the right current_password', async () => {
    const oldToken = await server.createUser('carol', 'carol-old-password');
    const patch = (body: unknown, token = oldToken) => server.fetch('/v1/users/carol', { method: 'PATCH', ...json(body, bearer(token)) });

    await problem(await patch({ password: 'carol-new-password', current_password: 'not-carols-password' }), 403);
    await problem(await patch({ password: 'carol-new-password' }), 403);
    assert.equal(await loginStatus(server, 'carol', 'carol-old-password'), 200);
    assert.equal(await loginStatus(server, 'carol', 'carol-new-password'), 401);

    await problem(await patch({ password: 'qwerty', current_password: 'carol-old-password' }), 400, 'weak_password');

    const pair = (await (await server.fetch('/v1/login', { method: 'POST', ...json({ username: 'carol', password: 'carol-old-password' }) })).json()) as { refresh_token: string };
    const ok = await patch({ password: 'carol-new-password', current_password: 'carol-old-password' });
    assert.equal(ok.status, 200);
    const body = await ok.text();
    assert.doesNotMatch(body, /argon2|password/i);
    assert.equal((JSON.parse(body) as Record<string, unknown>).username, 'carol');

    assert.equal(await loginStatus(server, 'carol', 'carol-old-password'), 401);
    assert.equal(await loginStatus(server, 'carol', 'carol-new-password'), 200);
    // SPEC §2: changing the password makes the old access tokens stop working at once.
    await problem(await server.fetch('/v1/users/me', { headers: bearer(oldToken) }), 401);
    await problem(await server.fetch('/v1/token/refresh', { method: 'POST', ...json({ refresh_token: pair.refresh_token }) }), 401, 'invalid_grant');
    const fresh = await server.login('carol', 'carol-new-password');
    assert.equal((await server.fetch('/v1/users/me', { headers: bearer(fresh) })).status, 200);
  });

  test('a user cannot change their own grants, admin or disabled flags', async () => {
    const token = await server.createUser('selfish', 'selfish-password');
    const patch = (body: unknown) => server.fetch('/v1/users/selfish', { method: 'PATCH', ...json(body, bearer(token)) });
    await problem(await patch({ grants: ['kv:read', 'kv:write', 'admin'] }), 403);
    await problem(await patch({ admin: true }), 403);
    await problem(await patch({ disabled: true }), 403);
    await problem(await patch({ admin: true, password: 'selfish-new-password', current_password: 'selfish-password' }), 403);
    const me = (await (await server.fetch('/v1/users/me', { headers: bearer(token) })).json()) as Record<string, unknown>;
    assert.equal(me.admin, false);
    assert.equal(me.disabled, false);
    assert.deepEqual([...(me.grants as string[])].sort(), [...DEFAULT_GRANTS].sort());
    assert.equal(await loginStatus(server, 'selfish', 'selfish-password'), 200);
  });

  test('a non-admin cannot PATCH another user', async () => {
    await server.createUser('victim', 'victim-password');
    const mallory = await server.createUser('mallory', 'mallory-password');
    await problem(await server.fetch('/v1/users/victim', { method: 'PATCH', ...json({ password: 'owned-password', current_password: 'victim-password' }, bearer(mallory)) }), 403);
    await problem(await server.fetch('/v1/users/victim', { method: 'PATCH', ...json({ disabled: true }, bearer(mallory)) }), 403);
    await problem(await server.fetch('/v1/users/victim', { method: 'PATCH', ...json({ disabled: true }) }), 401);
    assert.equal(await loginStatus(server, 'victim', 'victim-password'), 200);
  });

  test('admin disables a user (login 401, tokens 401) and re-enables them', async () => {
    const token = await server.createUser('dora', 'dora-password');
    const pair = (await (await server.fetch('/v1/login', { method: 'POST', ...json({ username: 'dora', password: 'dora-password' }) })).json()) as { refresh_token: string };
    const admin = await server.adminToken();
    const patch = (body: unknown) => server.fetch('/v1/users/dora', { method: 'PATCH', ...json(body, bearer(admin)) });

    const off = await patch({ disabled: true });
    assert.equal(off.status, 200);
    assert.equal(((await off.json()) as Record<string, unknown>).disabled, true);
    assert.equal(await loginStatus(server, 'dora', 'dora-password'), 401);
    await problem(await server.fetch('/v1/users/me', { headers: bearer(token) }), 401);
    await problem(await server.fetch('/v1/data/', { headers: bearer(token) }), 401);
    // SPEC §2: disabling revokes the user's refresh families.
    await problem(await server.fetch('/v1/token/refresh', { method: 'POST', ...json({ refresh_token: pair.refresh_token }) }), 401, 'invalid_grant');

    const on = await patch({ disabled: false });
    assert.equal(on.status, 200);
    assert.equal(((await on.json()) as Record<string, unknown>).disabled, false);
    const again = await server.login('dora', 'dora-password');
    assert.equal((await server.fetch('/v1/users/me', { headers: bearer(again) })).status, 200);
  });

  test('admin changes grants; the user new token reflects them', async () => {
    const before = await server.createUser('gina', 'gina-password');
    assert.equal((await server.fetch('/v1/data/x', { method: 'PUT', ...json({ value: 1 }, bearer(before)) })).status, 201);

    const res = await server.fetch('/v1/users/gina', { method: 'PATCH', ...json({ grants: ['kv:read'] }, bearer(await server.adminToken())) });
    assert.equal(res.status, 200);
    assert.deepEqual(((await res.json()) as Record<string, unknown>).grants, ['kv:read']);

    const after = await server.login('gina', 'gina-password');
    assert.equal(claimsOf(after).scope, 'kv:read');
    assert.equal((await server.fetch('/v1/data/x', { headers: bearer(after) })).status, 200);
    await problem(await server.fetch('/v1/data/y', { method: 'PUT', ...json({ value: 2 }, bearer(after)) }), 403, 'insufficient_scope');
    const me = (await (await server.fetch('/v1/users/me', { headers: bearer(after) })).json()) as Record<string, unknown>;
    assert.deepEqual(me.grants, ['kv:read']);
  });

  test('admin may set another user password without current_password; the user\'s tokens and sessions stop at once', async () => {
    await server.createUser('henry', 'henry-password');
    const session = await server.fetch('/v1/login', { method: 'POST', ...json({ username: 'henry', password: 'henry-password' }) });
    const { access_token: access, refresh_token: refresh } = (await session.json()) as { access_token: string; refresh_token: string };
    const res = await server.fetch('/v1/users/henry', { method: 'PATCH', ...json({ password: 'henry-reset-password' }, bearer(await server.adminToken())) });
    assert.equal(res.status, 200);
    await res.arrayBuffer();
    assert.equal(await loginStatus(server, 'henry', 'henry-password'), 401);
    assert.equal(await loginStatus(server, 'henry', 'henry-reset-password'), 200);
    await problem(await server.fetch('/v1/verify', { headers: bearer(access) }), 401, 'invalid_token');
    await problem(await server.fetch('/v1/token/refresh', { method: 'POST', ...json({ refresh_token: refresh }) }), 401, 'invalid_grant');
  });

  test('admin may promote a user to admin; their new token carries the admin scope', async () => {
    const before = await server.createUser('rising', 'rising-password');
    assert.equal((await server.fetch('/v1/users', { headers: bearer(before) })).status, 403);
    const res = await server.fetch('/v1/users/rising', { method: 'PATCH', ...json({ admin: true }, bearer(await server.adminToken())) });
    assert.equal(res.status, 200);
    const body = (await res.json()) as Record<string, unknown>;
    assert.equal(body.admin, true);
    assert.ok((body.grants as string[]).includes('admin'));
    const after = await server.login('rising', 'rising-password');
    assert.ok(String(claimsOf(after).scope).split(' ').includes('admin'));
    assert.equal((await server.fetch('/v1/users', { headers: bearer(after) })).status, 200);
  });

  test('a PATCH body over 64 KiB -> 413', async () => {
    const token = await server.createUser('bulky', 'bulky-password');
    const res = await server.fetch('/v1/users/bulky', {
      method: 'PATCH',
      ...json({ password: 'p'.repeat(70 * 1024), current_password: 'bulky-password' }, bearer(token)),
    });
    await problem(res, 413);
    assert.equal(await loginStatus(server, 'bulky', 'bulky-password'), 200);
  });

  test('PATCH: unknown field -> 400, empty patch -> 400, bad types -> 400, unknown user -> 404', async () => {
    const token = await server.createUser('ivy', 'ivy-password');
    const admin = await server.adminToken();
    await problem(await server.fetch('/v1/users/ivy', { method: 'PATCH', ...json({ favourite_colour: 'blue' }, bearer(admin)) }), 400);
    await problem(await server.fetch('/v1/users/ivy', { method: 'PATCH', ...json({ username: 'ivy2' }, bearer(admin)) }), 400);
    await problem(await server.fetch('/v1/users/ivy', { method: 'PATCH', ...json({ password: 'ivy-new-password', current_password: 'ivy-password', nickname: 'iv' }, bearer(token)) }), 400);
    await problem(await server.fetch('/v1/users/ivy', { method: 'PATCH', ...json({}, bearer(admin)) }), 400);
    await problem(await server.fetch('/v1/users/ivy', { method: 'PATCH', ...json({ disabled: 'perhaps' }, bearer(admin)) }), 400);
    await problem(await server.fetch('/v1/users/ivy', { method: 'PATCH', ...json({ grants: ['root'] }, bearer(admin)) }), 400);
    await problem(await server.fetch('/v1/users/nobody-here', { method: 'PATCH', ...json({ disabled: true }, bearer(admin)) }), 404, 'not_found');
    assert.equal(await loginStatus(server, 'ivy', 'ivy-password'), 200);
  });

  test('DELETE /v1/users/{u}: admin only; the user data goes with them; unknown -> 404', async () => {
    const admin = await server.adminToken();
    const ghost = await server.createUser('ghost', 'ghost-password');
    for (const key of ['secret', 'dir/one', 'dir/sub/two']) {
      assert.equal((await server.fetch(`/v1/data/${key}`, { method: 'PUT', ...json({ value: `v-${key}` }, bearer(ghost)) })).status, 201);
    }
    const ghostPair = (await (await server.fetch('/v1/login', { method: 'POST', ...json({ username: 'ghost', password: 'ghost-password' }) })).json()) as { refresh_token: string };
    const other = await server.createUser('bystander', 'bystander-password');
    await problem(await server.fetch('/v1/users/ghost', { method: 'DELETE', headers: bearer(other) }), 403);
    await problem(await server.fetch('/v1/users/ghost', { method: 'DELETE' }), 401);

    const del = await server.fetch('/v1/users/ghost', { method: 'DELETE', headers: bearer(admin) });
    assert.equal(del.status, 200);
    await del.arrayBuffer();
    await problem(await server.fetch('/v1/users/me', { headers: bearer(ghost) }), 401);
    await problem(await server.fetch('/v1/data/secret', { headers: bearer(ghost) }), 401);
    await problem(await server.fetch('/v1/token/refresh', { method: 'POST', ...json({ refresh_token: ghostPair.refresh_token }) }), 401, 'invalid_grant');
    assert.equal(await loginStatus(server, 'ghost', 'ghost-password'), 401);
    const listed = (await (await server.fetch('/v1/users', { headers: bearer(admin) })).json()) as { users: { username: string }[] };
    assert.ok(!listed.users.some((u) => u.username === 'ghost'));

    await problem(await server.fetch('/v1/users/ghost', { method: 'DELETE', headers: bearer(admin) }), 404, 'not_found');
    await problem(await server.fetch('/v1/users/never-existed', { method: 'DELETE', headers: bearer(admin) }), 404, 'not_found');

    // The same name again is a new, empty account.
    const reborn = await server.createUser('ghost', 'ghost-password-2');
    assert.equal((await server.fetch('/v1/data/secret', { headers: bearer(reborn) })).status, 404);
    assert.equal((await server.fetch('/v1/data/dir/one', { headers: bearer(reborn) })).status, 404);
    const root = await server.fetch('/v1/data/?recursive=true', { headers: bearer(reborn) });
    assert.equal(root.status, 200);
    assert.deepEqual(await root.json(), { dir: '', keys: [], dirs: [], cursor: null });
    // The old token does not come back to life with the new account.
    await problem(await server.fetch('/v1/users/me', { headers: bearer(ghost) }), 401);
  });
});

describe('the last active admin', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer();
  });
  after(() => server.close());

  test('cannot be deleted, demoted or disabled (409); with a second admin it can', async () => {
    const admin = await server.adminToken();
    await problem(await server.fetch('/v1/users/admin', { method: 'DELETE', headers: bearer(admin) }), 409, 'conflict');
    await problem(await server.fetch('/v1/users/admin', { method: 'PATCH', ...json({ admin: false }, bearer(admin)) }), 409, 'conflict');
    await problem(await server.fetch('/v1/users/admin', { method: 'PATCH', ...json({ disabled: true }, bearer(admin)) }), 409, 'conflict');
    const me = (await (await server.fetch('/v1/users/me', { headers: bearer(admin) })).json()) as Record<string, unknown>;
    assert.equal(me.admin, true);
    assert.equal(me.disabled, false);
    assert.equal((await server.fetch('/v1/users', { headers: bearer(admin) })).status, 200);

    // A disabled second admin does not count as active.
    const second = await server.fetch('/v1/users', { method: 'POST', ...json({ username: 'sleeper', password: 'sleeper-password', admin: true }, bearer(admin)) });
    assert.equal(second.status, 201);
    assert.equal((await server.fetch('/v1/users/sleeper', { method: 'PATCH', ...json({ disabled: true }, bearer(admin)) })).status, 200);
    await problem(await server.fetch('/v1/users/admin', { method: 'PATCH', ...json({ admin: false }, bearer(admin)) }), 409, 'conflict');

    // With another active admin the first may step down; then the other is the last one.
    const created = await server.fetch('/v1/users', { method: 'POST', ...json({ username: 'heir', password: 'heir-password', admin: true }, bearer(admin)) });
    assert.equal(created.status, 201);
    const demote = await server.fetch('/v1/users/admin', { method: 'PATCH', ...json({ admin: false }, bearer(admin)) });
    assert.equal(demote.status, 200);
    assert.equal(((await demote.json()) as Record<string, unknown>).admin, false);

    const heir = await server.login('heir', 'heir-password');
    await problem(await server.fetch('/v1/users/heir', { method: 'DELETE', headers: bearer(heir) }), 409, 'conflict');
    await problem(await server.fetch('/v1/users/heir', { method: 'PATCH', ...json({ disabled: true }, bearer(heir)) }), 409, 'conflict');
    await problem(await server.fetch('/v1/users/heir', { method: 'PATCH', ...json({ admin: false }, bearer(heir)) }), 409, 'conflict');
    // The former admin no longer passes the admin check.
    const formerToken = await server.login('admin', ADMIN_PASSWORD);
    assert.equal((await server.fetch('/v1/users', { headers: bearer(formerToken) })).status, 403);
  });
});

describe('the bootstrap admin', () => {
  test('exists with the configured password', async () => {
    const server = await startServer({ COFFER_ADMIN_USER: 'root-user', COFFER_ADMIN_PASSWORD: 'configured-admin-pw' });
    try {
      assert.equal(server.coffer.generatedAdminPassword, undefined);
      assert.equal(await loginStatus(server, 'root-user', 'configured-admin-pw'), 200);
      assert.equal(await loginStatus(server, 'root-user', ADMIN_PASSWORD), 401);
      assert.equal(await loginStatus(server, 'admin', 'configured-admin-pw'), 401);
      const token = await server.login('root-user', 'configured-admin-pw');
      const me = (await (await server.fetch('/v1/users/me', { headers: bearer(token) })).json()) as Record<string, unknown>;
      assert.equal(me.username, 'root-user');
      assert.equal(me.admin, true);
      assert.ok((me.grants as string[]).includes('admin'));
      assert.equal((await server.fetch('/v1/users', { headers: bearer(token) })).status, 200);
    } finally {
      await server.close();
    }
  });

  /** Like the helper's startServer, but on a given data dir and without COFFER_ADMIN_PASSWORD. */
  async function startOn(dataDir: string): Promise<{ coffer: CofferApp; base: string }> {
    const config = loadConfig({ COFFER_DATA_DIR: dataDir, COFFER_PORT: '0', COFFER_LOG_LEVEL: 'silent' });
    const coffer = await buildApp(config);
    const address = await coffer.app.listen({ host: '127.0.0.1', port: 0 });
    return { coffer, base: address.replace('localhost', '127.0.0.1') };
  }

  async function login(base: string, username: string, password: string): Promise<number> {
    const res = await fetch(`${base}/v1/login`, { method: 'POST', ...json({ username, password }) });
    await res.arrayBuffer();
    return res.status;
  }

  test('without COFFER_ADMIN_PASSWORD a password is generated once; a restart keeps it', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'coffer-test-'));
    try {
      const first = await startOn(dataDir);
      const generated = first.coffer.generatedAdminPassword;
      try {
        assert.equal(typeof generated, 'string');
        assert.ok(generated!.length >= 12, 'a generated password is long');
        assert.equal(await login(first.base, 'admin', generated!), 200);
      } finally {
        await first.coffer.close();
      }

      const second = await startOn(dataDir);
      try {
        assert.equal(second.coffer.generatedAdminPassword, undefined, 'no second password is generated');
        assert.equal(await login(second.base, 'admin', generated!), 200);
        const res = await fetch(`${second.base}/v1/login`, { method: 'POST', ...json({ username: 'admin', password: generated }) });
        const { access_token } = (await res.json()) as { access_token: string };
        const list = (await (await fetch(`${second.base}/v1/users`, { headers: bearer(access_token) })).json()) as { users: { username: string; admin: boolean }[] };
        assert.deepEqual(list.users.map((u) => [u.username, u.admin]), [['admin', true]]);
      } finally {
        await second.coffer.close();
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe("the older designs' demo accounts (SPEC §8: the minimum lowered by configuration)", () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ COFFER_OPEN_REGISTRATION: 'true', COFFER_PASSWORD_MIN_LENGTH: '3' });
  });
  after(() => server.close());

  test('alain/pwd and demo/demo register and log in with COFFER_PASSWORD_MIN_LENGTH=3; shorter still fails', async () => {
    const register = (body: Record<string, unknown>) => server.fetch('/v1/register', { method: 'POST', ...json(body) });
    for (const [name, password] of [['alain', 'pwd'], ['demo', 'demo']] as const) {
      assert.equal((await register({ name, password })).status, 201);
      assert.equal(await loginStatus(server, name, password), 200);
    }
    await problem(await register({ name: 'tiny', password: 'ab' }), 400, 'weak_password');
  });
});

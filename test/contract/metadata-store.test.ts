/**
 * The MetadataStore contract: one suite, run unchanged against SQLite and a real PostgreSQL
 * (COFFER_TEST_DATABASE_URL, default postgres://root@127.0.0.1:5432/test; each run gets its
 * own schema, dropped afterwards).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import pg from 'pg';
import { assertMigrated, migrateTo, migrateToLatest, openDatabase } from '../../src/storage/meta/database.js';
import type { Database } from '../../src/storage/meta/schema.js';
import { metadataStores, type MetadataStores } from '../../src/storage/meta/index.js';
import { announceAccessChange } from '../../src/storage/meta/kysely/access-events.js';
import { SecretBox } from '../../src/util/secret-box.js';
import type { KvEntry } from '../../src/kv/kv-store.js';
import type { NewUser } from '../../src/users/user-store.js';

const PG_URL = process.env.COFFER_TEST_DATABASE_URL ?? 'postgres://root@127.0.0.1:5432/test';

interface Backend {
  name: string;
  /** An empty database of this dialect, not migrated. */
  fresh(): Promise<{ db: ReturnType<typeof openDatabase>; cleanup(): Promise<void> }>;
}

const backends: Backend[] = [
  {
    name: 'sqlite',
    async fresh() {
      const dir = await mkdtemp(path.join(tmpdir(), 'coffer-contract-'));
      const db = openDatabase(`sqlite:${path.join(dir, 'meta.db')}`);
      return { db, cleanup: async () => { await db.db.destroy(); await rm(dir, { recursive: true, force: true }); } };
    },
  },
  {
    name: 'postgres',
    async fresh() {
      const schema = `coffer_test_${randomBytes(6).toString('hex')}`;
      const admin = new pg.Client({ connectionString: PG_URL });
      await admin.connect();
      await admin.query(`create schema ${schema}`);
      const db = openDatabase(PG_URL, { schema });
      return {
        db,
        cleanup: async () => {
          await db.db.destroy();
          await admin.query(`drop schema ${schema} cascade`);
          await admin.end();
        },
      };
    },
  },
];

/** Migrated stores on a fresh database of the backend's dialect. */
async function openStores(backend: Backend): Promise<{ stores: MetadataStores; db: ReturnType<typeof openDatabase>; cleanup(): Promise<void> }> {
  const { db, cleanup } = await backend.fresh();
  await migrateToLatest(db);
  return { stores: metadataStores(db), db, cleanup };
}

/** Pins the hand-written Database interface to the migrated schema, table by table. */
const COLUMNS: { [T in keyof Database]: Record<keyof Database[T], true> } = {
  users: { id: true, username: true, password_hash: true, admin: true, disabled: true, grants: true, token_version: true, created_at: true, updated_at: true },
  refresh_families: { id: true, user_id: true, scope: true, created_at: true, expires_at: true, revoked_at: true },
  refresh_tokens: { hash: true, family_id: true, user_id: true, expires_at: true, used_at: true },
  revoked_tokens: { jti: true, expires_at: true },
  login_failures: { name: true, window_start: true, count: true },
  kv: { owner: true, key: true, kind: true, content_type: true, value: true, size: true, etag: true, expires_at: true, created_at: true, updated_at: true },
  public_keys: { owner: true, id: true, type: true, spki: true, label: true, address: true, created_at: true },
  pending_uploads: { owner: true, blob_key: true, path: true, content_type: true, expires_at: true, created_at: true },
  objects: { owner: true, path: true, blob_key: true, size: true, sha256: true, content_type: true, created_at: true, updated_at: true },
  parcels: { id: true, owner: true, metadata: true, created_at: true },
  used_challenges: { jti: true, expires_at: true },
  signing_keys: { kid: true, alg: true, private_key: true, created_at: true, retire_at: true },
  secrets: { name: true, value: true, created_at: true },
  access_events: { id: true, kind: true, subject: true, at: true },
  rate_limits: { key: true, window_start: true, count: true },
};

let seq = 0;
function newUser(username: string, extra: Partial<NewUser> = {}): NewUser {
  return { id: `00000000-0000-4000-8000-${String(++seq).padStart(12, '0')}`, username, passwordHash: 'h', admin: false, disabled: false, grants: ['kv:read'], createdAt: 1000, ...extra };
}

function entry(key: string, value: string | Buffer, extra: Partial<KvEntry> = {}): KvEntry {
  const bytes = Buffer.isBuffer(value) ? value : Buffer.from(value);
  return { key, kind: 'text', contentType: null, value: bytes, size: bytes.length, etag: `"${key}:${bytes.length}"`, expiresAt: null, createdAt: 1000, updatedAt: 1000, ...extra };
}

const always = () => {};

for (const backend of backends) {
  describe(`the metadata stores on ${backend.name}`, () => {
    let stores: MetadataStores;
    let db: ReturnType<typeof openDatabase>;
    let cleanup: () => Promise<void>;
    before(async () => ({ stores, db, cleanup } = await openStores(backend)));
    after(() => cleanup());

    test('the Database interface matches the migrated schema', async () => {
      const tables = await db.db.introspection.getTables();
      for (const [table, columns] of Object.entries(COLUMNS)) {
        const found = tables.find((t) => t.name === table);
        assert.ok(found, `table ${table} exists`);
        assert.deepEqual(found.columns.map((c) => c.name).sort(), Object.keys(columns).sort(), `columns of ${table}`);
      }
    });

    test('access events become visible in id order: an event written during another open transaction waits for it', async () => {
      const start = await stores.accessEvents.latest();
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      let firstWritten!: () => void;
      const written = new Promise<void>((resolve) => (firstWritten = resolve));
      const first = db.db.transaction().execute(async (trx) => {
        await announceAccessChange(trx, db.dialect, 'user', 'first', 1);
        firstWritten();
        await held;
      });
      await written;
      let secondDone = false;
      const second = announceAccessChange(db.db, db.dialect, 'user', 'second', 2).then(() => (secondDone = true));
      await new Promise((resolve) => setTimeout(resolve, 150));
      const waited = !secondDone;
      release();
      await Promise.all([first, second]);
      assert.ok(waited, 'the second writer waits until the first commits');
      const events = await stores.accessEvents.since(start, 10);
      assert.deepEqual(events.map((e) => e.subject), ['first', 'second']);
      assert.ok(events[0]!.id < events[1]!.id);
    });

    test('shared secrets: signing keys and named secrets sealed at rest, opened only with the same key', async () => {
      const box = new SecretBox('a-secret-key-of-at-least-32-characters!', 'shared secrets');
      const { signingKeys, secrets } = stores.sharedSecrets(box);
      const jwk = (n: string) => ({ kty: 'OKP', crv: 'Ed25519', x: `x-${n}`, d: `private-d-${n}` });
      const version0 = await signingKeys.version();
      await signingKeys.rotate({ kid: 'k1', alg: 'EdDSA', privateJwk: jwk('1'), createdAt: 100 }, 1_000, 100);
      assert.notEqual(await signingKeys.version(), version0, 'the version changes with the keys');
      assert.deepEqual(await signingKeys.load(), [{ kid: 'k1', alg: 'EdDSA', privateJwk: jwk('1'), createdAt: 100 }]);
      const rows = await db.db.selectFrom('signing_keys').select('private_key').execute();
      assert.ok(rows.every((r) => !r.private_key.includes('private-d-1')), 'the private key is not stored in the clear');

      // Two nodes rotating at the same moment: one change after the other, so one key stays current.
      await Promise.all(['k2', 'k3'].map((kid, i) => signingKeys.rotate({ kid, alg: 'EdDSA', privateJwk: jwk(kid), createdAt: 200 + i }, 2_000, 200)));
      const current = (await signingKeys.load()).filter((k) => k.retireAt === undefined).map((k) => k.kid);
      assert.equal(current.length, 1, `one current key, not ${current.join(', ')}`);

      const made = await Promise.all([1, 2, 3].map((n) => secrets.getOrCreate('presign', () => `value-${n}`, 5)));
      assert.equal(new Set(made).size, 1, 'concurrent first reads agree on one value');
      assert.equal(await secrets.getOrCreate('presign', () => 'other', 6), made[0]);

      const wrong = stores.sharedSecrets(new SecretBox('another-secret-key-of-32-characters!!', 'shared secrets'));
      await assert.rejects(wrong.signingKeys.load(), /every node needs the same COFFER_SECRET_KEY/);
      await assert.rejects(wrong.secrets.getOrCreate('presign', () => 'x', 7), /every node needs the same COFFER_SECRET_KEY/);
    });

    test('a command that only reads never migrates: an older schema is refused, the latest accepted', async () => {
      const { db: old, cleanup: drop } = await backend.fresh();
      try {
        await migrateTo(old, '0006_one_holder_per_key');
        await assert.rejects(assertMigrated(old), /schema is older than this coffer \(missing 0007_many_nodes\); start `coffer serve`/);
        await assert.rejects(old.db.selectFrom('signing_keys').selectAll().execute(), /signing_keys/, 'the check migrated nothing');
        await migrateToLatest(old);
        await assertMigrated(old);
      } finally {
        await drop();
      }
    });

    test('migrating twice is a no-op', async () => {
      await migrateToLatest(db);
      assert.ok(await stores.users.getByName('nobody') === undefined);
    });

    test('users: create, find, duplicate name refused, list in byte order', async () => {
      const a = await stores.users.create(newUser('zed'));
      assert.ok(a);
      assert.equal(await stores.users.create(newUser('zed')), undefined);
      await stores.users.create(newUser('Alice', { admin: true, grants: [] }));
      await stores.users.create(newUser('bob'));
      assert.deepEqual((await stores.users.getByName('zed'))?.grants, ['kv:read']);
      assert.equal((await stores.users.getById(a.id))?.username, 'zed');
      assert.equal(await stores.users.getByName('ZED'), undefined, 'usernames are case-sensitive');
      const names = (await stores.users.list()).map((u) => u.username);
      assert.deepEqual(names, ['Alice', 'bob', 'zed']);
      assert.equal(await stores.users.count(), 3);
      assert.equal(await stores.users.countActiveAdmins(), 1);
      const alice = await stores.users.getByName('Alice');
      assert.deepEqual(alice?.grants, []);
      assert.equal(alice?.admin, true);
    });

    test('users: update applies the patch and bumps the token version on request', async () => {
      const u = (await stores.users.create(newUser('patchme')))!;
      const updated = await stores.users.update(u.id, { disabled: true, grants: ['kv:read', 'kv:write'], bumpTokenVersion: true }, 5000);
      assert.equal(updated?.disabled, true);
      assert.deepEqual(updated?.grants, ['kv:read', 'kv:write']);
      assert.equal(updated?.tokenVersion, 1);
      assert.equal(updated?.updatedAt, 5000);
      assert.equal(updated?.passwordHash, 'h');
      assert.equal(await stores.users.update('no-such-id', { admin: true }, 1), undefined);
    });

    test('access state: user, revoked jti and revoked family in one read', async () => {
      const u = (await stores.users.create(newUser('access')))!;
      await stores.tokens.createRefreshFamily({ id: 'fam-access', userId: u.id, scope: 'kv:read', createdAt: 1, expiresAt: Date.now() + 60_000 });
      let state = await stores.tokens.accessState(u.id, 'jti-1', 'fam-access');
      assert.deepEqual([state?.user.username, state?.jtiRevoked, state?.familyRevoked], ['access', false, false]);
      await stores.tokens.revokeJti('jti-1', Date.now() + 60_000, Date.now());
      await stores.tokens.revokeJti('jti-1', Date.now() + 60_000, Date.now()); // idempotent
      await stores.tokens.revokeRefreshFamily('fam-access', 2);
      state = await stores.tokens.accessState(u.id, 'jti-1', 'fam-access');
      assert.deepEqual([state?.jtiRevoked, state?.familyRevoked], [true, true]);
      state = await stores.tokens.accessState(u.id, 'jti-2', undefined);
      assert.deepEqual([state?.jtiRevoked, state?.familyRevoked], [false, false]);
      assert.equal(await stores.tokens.accessState('no-such-user', 'jti-1', undefined), undefined);
    });

    test('refresh tokens: used once only, family and per-user revocation', async () => {
      const u = (await stores.users.create(newUser('refresher')))!;
      await stores.tokens.createRefreshFamily({ id: 'fam-r1', userId: u.id, scope: 'kv:read kv:write', createdAt: 1, expiresAt: 99_999 });
      await stores.tokens.addRefreshToken({ hash: 'h1', familyId: 'fam-r1', userId: u.id, expiresAt: 99_999 });
      const rec = await stores.tokens.getRefreshToken('h1');
      assert.deepEqual(rec, { hash: 'h1', familyId: 'fam-r1', userId: u.id, expiresAt: 99_999, usedAt: null, familyScope: 'kv:read kv:write', familyRevokedAt: null });
      const results = await Promise.all([1, 2, 3, 4, 5].map(() => stores.tokens.markRefreshTokenUsed('h1', 10)));
      assert.equal(results.filter(Boolean).length, 1, 'exactly one concurrent use wins');
      assert.equal((await stores.tokens.getRefreshToken('h1'))?.usedAt, 10);
      await stores.tokens.createRefreshFamily({ id: 'fam-r2', userId: u.id, scope: '', createdAt: 1, expiresAt: 99_999 });
      await stores.tokens.addRefreshToken({ hash: 'h2', familyId: 'fam-r2', userId: u.id, expiresAt: 99_999 });
      await stores.users.update(u.id, { passwordHash: 'new', bumpTokenVersion: true }, 20); // ends every session with the tokens
      assert.equal((await stores.tokens.getRefreshToken('h1'))?.familyRevokedAt, 20);
      assert.equal((await stores.tokens.getRefreshToken('h2'))?.familyRevokedAt, 20);
      await stores.tokens.createRefreshFamily({ id: 'fam-r3', userId: u.id, scope: '', createdAt: 1, expiresAt: 99_999 });
      await stores.tokens.addRefreshToken({ hash: 'h3', familyId: 'fam-r3', userId: u.id, expiresAt: 99_999 });
      await stores.users.update(u.id, { grants: ['kv:read'] }, 30);
      assert.equal((await stores.tokens.getRefreshToken('h3'))?.familyRevokedAt, null, 'a change that keeps the tokens keeps the sessions');
      assert.equal(await stores.tokens.getRefreshToken('nope'), undefined);
    });

    test('login failures: counted in a window, restarted when it is over, cleared', async () => {
      assert.equal(await stores.loginFailures.get('eve'), undefined);
      assert.deepEqual(await stores.loginFailures.record('eve', 1000, 500), { windowStart: 1000, count: 1 });
      assert.deepEqual(await stores.loginFailures.record('eve', 1200, 500), { windowStart: 1000, count: 2 });
      assert.deepEqual(await stores.loginFailures.record('eve', 1600, 500), { windowStart: 1600, count: 1 });
      assert.deepEqual(await stores.loginFailures.get('eve'), { windowStart: 1600, count: 1 });
      const many = await Promise.all(Array.from({ length: 10 }, () => stores.loginFailures.record('mallory', 5000, 500)));
      assert.deepEqual(many.map((m) => m.count).sort((a, b) => a - b), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 'concurrent failures each get their own count');
      await stores.loginFailures.clear('eve');
      assert.equal(await stores.loginFailures.get('eve'), undefined);
      assert.deepEqual(await stores.loginFailures.record('eve', 1700, 500), { windowStart: 1700, count: 1 }, 'cleared: counting starts again');
    });

    test('rate limits: counted per key in a window, restarted when it is over, keys apart', async () => {
      assert.deepEqual(await stores.rateLimits.hit('login:10.0.0.1', 1000, 500), { windowStart: 1000, count: 1 });
      assert.deepEqual(await stores.rateLimits.hit('login:10.0.0.1', 1499, 500), { windowStart: 1000, count: 2 });
      assert.deepEqual(await stores.rateLimits.hit('login:10.0.0.2', 1499, 500), { windowStart: 1499, count: 1 });
      assert.deepEqual(await stores.rateLimits.hit('login:10.0.0.1', 1500, 500), { windowStart: 1500, count: 1 });
      const many = await Promise.all(Array.from({ length: 10 }, () => stores.rateLimits.hit('login:10.0.0.3', 5000, 500)));
      assert.deepEqual(many.map((m) => m.count).sort((a, b) => a - b), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 'concurrent hits each get their own count');
    });

    test('kv: create, read, replace; a refusing check writes nothing', async () => {
      const now = Date.now();
      assert.deepEqual(await stores.kv.write('o1', entry('a', 'one'), always), { created: true });
      assert.deepEqual(await stores.kv.write('o1', entry('a', 'two', { createdAt: 2000, updatedAt: 2000 }), always), { created: false });
      const got = await stores.kv.get('o1', 'a', now);
      assert.equal(got?.value.toString(), 'two');
      assert.equal(got?.createdAt, 1000, 'a replacement keeps the creation time');
      assert.equal(got?.updatedAt, 2000);
      let seen: KvEntry | undefined | 'unset' = 'unset';
      await assert.rejects(
        stores.kv.write('o1', entry('a', 'three'), (current) => {
          seen = current;
          throw new Error('refused');
        }),
        /refused/,
      );
      assert.equal((seen as unknown as KvEntry).value.toString(), 'two');
      assert.equal((await stores.kv.get('o1', 'a', now))?.value.toString(), 'two');
    });

    test('kv: concurrent writes each get their own answer; of those that need one version, one wins', async () => {
      await stores.kv.write('race', entry('k', 'v0', { etag: '"v0"' }), always);
      const onlyOverV0 = (current: KvEntry | undefined) => {
        if (current?.etag !== '"v0"') throw new Error(`412: now ${current?.etag}`);
      };
      // Writes issued together (on SQLite: one group commit), mixed with others to other keys.
      const results = await Promise.allSettled(
        Array.from({ length: 30 }, (_, i) =>
          i % 3 === 0
            ? stores.kv.write('race', entry(`other${i}`, `o${i}`), always)
            : stores.kv.write('race', entry('k', `v${i}`, { etag: `"v${i}"` }), onlyOverV0),
        ),
      );
      const raced = results.filter((_, i) => i % 3 !== 0);
      const winners = raced.filter((r) => r.status === 'fulfilled');
      assert.equal(winners.length, 1, 'one write over v0 wins');
      for (const r of raced) if (r.status === 'rejected') assert.match(String(r.reason), /412: now "v\d+"/);
      assert.ok(results.filter((_, i) => i % 3 === 0).every((r) => r.status === 'fulfilled' && r.value.created), 'the other keys are all written');
      const stored = await stores.kv.get('race', 'k', Date.now());
      const winner = results.findIndex((r, i) => i % 3 !== 0 && r.status === 'fulfilled');
      assert.equal(stored?.value.toString(), `v${winner}`);
      assert.equal((await stores.kv.scan('race', { from: 'other', limit: 100, now: Date.now() })).length, 10);
    });

    test('kv: a write that meets an open transaction waits for its commit, and is not part of it', async () => {
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      let begun!: () => void;
      const inside = new Promise<void>((resolve) => (begun = resolve));
      const open = db.db.transaction().execute(async (trx) => {
        await trx.insertInto('access_events').values({ kind: 'user', subject: 'holding', at: 1 }).execute();
        begun();
        await held;
        throw new Error('rolled back on purpose');
      });
      await inside;
      let written = false;
      const write = stores.kv.write('waits', entry('k', 'kept'), always).then(() => (written = true));
      await new Promise((resolve) => setTimeout(resolve, 100));
      if (db.dialect === 'sqlite') assert.equal(written, false, 'SQLite has one connection: the write waits for the transaction');
      release();
      await assert.rejects(open, /rolled back on purpose/);
      await write;
      assert.equal((await stores.kv.get('waits', 'k', Date.now()))?.value.toString(), 'kept', 'the rollback did not take the write along');
    });

    test('the hot path\'s prepared queries run as named statements on PostgreSQL (parsed and planned once per connection)', async () => {
      if (db.dialect !== 'postgres') return assert.equal(db.sqlite !== undefined, true, 'SQLite prepares its statements itself');
      await stores.kv.get('named', 'k', Date.now());
      // Sequential queries reuse the pool's most recently released connection: this session.
      const { rows } = await sql<{ n: number }>`select count(*)::int as n from pg_prepared_statements where name like 'coffer_%'`.execute(db.db);
      assert.ok(rows[0]!.n >= 1, 'a named statement is prepared on the connection');
      const before = rows[0]!.n;
      await stores.kv.get('named', 'k2', Date.now());
      const again = await sql<{ n: number }>`select count(*)::int as n from pg_prepared_statements where name like 'coffer_%'`.execute(db.db);
      assert.equal(again.rows[0]!.n, before, 'the same query with other values prepares nothing new');
    });

    test('kv: binary values and metadata round-trip exactly', async () => {
      const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
      await stores.kv.write('o1', entry('bin', bytes, { kind: 'raw', contentType: 'application/x-thing' }), always);
      const got = await stores.kv.get('o1', 'bin', Date.now());
      assert.deepEqual([got?.kind, got?.contentType, got?.size], ['raw', 'application/x-thing', 256]);
      assert.ok(got?.value.equals(bytes));
    });

    test('kv: owners are isolated', async () => {
      await stores.kv.write('owner-a', entry('shared', 'A'), always);
      await stores.kv.write('owner-b', entry('shared', 'B'), always);
      const now = Date.now();
      assert.equal((await stores.kv.get('owner-a', 'shared', now))?.value.toString(), 'A');
      assert.equal((await stores.kv.get('owner-b', 'shared', now))?.value.toString(), 'B');
      assert.equal(await stores.kv.delete('owner-c', 'shared', now), false);
      assert.deepEqual(await stores.kv.scan('owner-c', { from: '', limit: 10, now }), []);
      assert.equal(await stores.kv.deletePrefix('owner-c', '', now), 0);
      assert.equal((await stores.kv.get('owner-a', 'shared', now))?.value.toString(), 'A');
    });

    test('kv: expired entries are invisible, replaceable as new, and swept', async () => {
      const now = Date.now();
      await stores.kv.write('o2', entry('ttl', 'x', { expiresAt: now - 1 }), always);
      assert.equal(await stores.kv.get('o2', 'ttl', now), undefined);
      assert.deepEqual(await stores.kv.scan('o2', { from: '', limit: 10, now }), []);
      assert.equal(await stores.kv.delete('o2', 'ttl', now), false);
      await stores.kv.write('o2', entry('ttl2', 'x', { expiresAt: now - 1 }), always);
      let seen: unknown = 'unset';
      const result = await stores.kv.write('o2', entry('ttl2', 'y', { updatedAt: now }), (current) => {
        seen = current;
      });
      assert.equal(seen, undefined);
      assert.deepEqual(result, { created: true });
      await stores.kv.write('o2', entry('gone', 'x', { expiresAt: now - 1 }), always);
      await stores.maintenance.sweep(now, 1000);
      assert.equal(await stores.kv.delete('o2', 'gone', now + 10), false);
      assert.equal((await stores.kv.get('o2', 'ttl2', now))?.value.toString(), 'y');
    });

    test('kv: scans in UTF-8 byte order within a range', async () => {
      const keys = ['d/z', 'd/é', 'd/B', 'd/a', 'd/a/x', 'd0', 'c', 'd/😀', 'd/\uffff'];
      for (const k of keys) await stores.kv.write('o3', entry(k, k), always);
      const now = Date.now();
      const inD = await stores.kv.scan('o3', { from: 'd/', below: 'd0', limit: 100, now });
      assert.deepEqual(inD, ['d/B', 'd/a', 'd/a/x', 'd/z', 'd/é', 'd/\uffff', 'd/😀']);
      assert.deepEqual(await stores.kv.scan('o3', { from: 'd/a', exclusive: true, below: 'd0', limit: 2, now }), ['d/a/x', 'd/z']);
      assert.deepEqual(await stores.kv.scan('o3', { from: '', limit: 2, now }), ['c', 'd/B']);
    });

    test('kv: prefix delete removes exactly the prefix and counts live keys', async () => {
      const now = Date.now();
      for (const k of ['p/1', 'p/2/x', 'p0', 'pp/1', 'q']) await stores.kv.write('o4', entry(k, k), always);
      await stores.kv.write('o4', entry('p/dead', 'x', { expiresAt: now - 1 }), always);
      assert.equal(await stores.kv.deletePrefix('o4', 'p/', now), 2);
      assert.deepEqual(await stores.kv.scan('o4', { from: '', limit: 10, now }), ['p0', 'pp/1', 'q']);
      assert.equal(await stores.kv.deletePrefix('o4', '', now), 3);
    });

    test('kv: concurrent creates of one key: exactly one wins', async () => {
      const attempts = Array.from({ length: 8 }, (_, i) =>
        stores.kv.write('o5', entry('race', String(i)), (current) => {
          if (current) throw new Error('exists');
        }),
      );
      const results = await Promise.allSettled(attempts);
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
    });

    test('deleting a user deletes what they own and nothing else', async () => {
      const u = (await stores.users.create(newUser('leaver')))!;
      const stay = (await stores.users.create(newUser('stayer')))!;
      await stores.kv.write(u.id, entry('k', 'v'), always);
      await stores.kv.write(stay.id, entry('k', 'v'), always);
      await stores.tokens.createRefreshFamily({ id: 'fam-leaver', userId: u.id, scope: '', createdAt: 1, expiresAt: 99_999 });
      await stores.tokens.addRefreshToken({ hash: 'h-leaver', familyId: 'fam-leaver', userId: u.id, expiresAt: 99_999 });
      assert.equal(await stores.users.delete(u.id, 1000), true);
      assert.equal(await stores.users.delete(u.id, 1000), false);
      const now = Date.now();
      assert.equal(await stores.users.getById(u.id), undefined);
      assert.equal(await stores.kv.get(u.id, 'k', now), undefined);
      assert.equal(await stores.tokens.getRefreshToken('h-leaver'), undefined);
      assert.equal((await stores.kv.get(stay.id, 'k', now))?.value.toString(), 'v');
    });

    test('objects: put, replace (returning the previous record), list by prefix in byte order, delete', async () => {
      const rec = (path: string, blobKey: string, size = 1) => ({ path, blobKey, size, sha256: 'ab'.repeat(32), contentType: 'x/y', createdAt: 10, updatedAt: 10 });
      assert.deepEqual(await stores.objects.put('oa', rec('docs/a', 'b1')), { previous: undefined, written: true });
      const replaced = await stores.objects.put('oa', { ...rec('docs/a', 'b2', 5_000_000_000), updatedAt: 20 });
      assert.equal(replaced.previous?.blobKey, 'b1');
      const got = await stores.objects.get('oa', 'docs/a');
      assert.deepEqual([got?.blobKey, got?.size, got?.createdAt, got?.updatedAt], ['b2', 5_000_000_000, 10, 20]);
      await assert.rejects(stores.objects.put('oa', rec('docs/a', 'b3'), (current) => { if (current) throw new Error('exists'); }), /exists/);
      assert.equal((await stores.objects.get('oa', 'docs/a'))?.blobKey, 'b2');
      for (const p of ['docs/é', 'docs/B', 'docs0', 'other']) await stores.objects.put('oa', rec(p, `k-${p}`));
      await stores.objects.put('ob', rec('docs/a', 'foreign'));
      assert.deepEqual((await stores.objects.list('oa', { prefix: 'docs/', limit: 10 })).map((o) => o.path), ['docs/B', 'docs/a', 'docs/é']);
      assert.deepEqual((await stores.objects.list('oa', { prefix: 'docs/', from: { path: 'docs/B', inclusive: false }, limit: 1 })).map((o) => o.path), ['docs/a']);
      assert.deepEqual((await stores.objects.list('oa', { prefix: '', limit: 10 })).length, 5);
      assert.equal(await stores.maintenance.blobReferenced('b2'), true);
      assert.equal((await stores.objects.delete('oa', 'docs/a'))?.blobKey, 'b2');
      assert.equal(await stores.objects.delete('oa', 'docs/a'), undefined);
      assert.equal(await stores.maintenance.blobReferenced('b2'), false);
      assert.equal((await stores.objects.get('ob', 'docs/a'))?.blobKey, 'foreign');
    });

    test('objects: a check that returns false writes nothing; the record and a pending upload at its path come in one read; deleteSome empties an owner in batches', async () => {
      const rec = (path: string, blobKey: string) => ({ path, blobKey, size: 1, sha256: 'cd'.repeat(32), contentType: 'x/y', createdAt: 10, updatedAt: 10 });
      await stores.objects.put('oc', rec('same', 'c1'));
      assert.deepEqual((await stores.objects.put('oc', rec('same', 'c2'), () => false)).written, false);
      assert.equal((await stores.objects.get('oc', 'same'))?.blobKey, 'c1');
      assert.deepEqual(await stores.objects.getWithPending('oc', 'nothing'), { object: undefined, pending: false });
      assert.equal((await stores.objects.getWithPending('oc', 'same')).object?.blobKey, 'c1');
      await stores.objects.addPending({ owner: 'oc', blobKey: 'c-pending', path: 'same', contentType: null, expiresAt: 1e13, createdAt: 1 });
      await stores.objects.addPending({ owner: 'od', blobKey: 'd-pending', path: 'elsewhere', contentType: null, expiresAt: 1e13, createdAt: 1 });
      assert.deepEqual(await stores.objects.getWithPending('oc', 'same'), { object: await stores.objects.get('oc', 'same'), pending: true });
      assert.deepEqual(await stores.objects.getWithPending('oc', 'elsewhere'), { object: undefined, pending: false }, "another owner's pending upload is not seen");
      assert.equal(await stores.maintenance.blobReferenced('c-pending'), true, 'a pending upload references its blob');
      for (let i = 0; i < 5; i++) await stores.objects.put('oc', rec(`many/${i}`, `m${i}`));
      await stores.objects.put('oe', rec('keep', 'e1'));
      const first = await stores.objects.deleteSome('oc', 4);
      const rest = await stores.objects.deleteSome('oc', 4);
      assert.deepEqual([first.length, rest.length, (await stores.objects.deleteSome('oc', 4)).length], [4, 2, 0]);
      assert.deepEqual([...first, ...rest].sort(), ['c1', 'm0', 'm1', 'm2', 'm3', 'm4']);
      assert.equal((await stores.objects.get('oe', 'keep'))?.blobKey, 'e1', "other owners' objects stay");
    });

    test('pending uploads: added, found by owner and prefix, expired ones listed for the sweep, removed', async () => {
      const p = (owner: string, blobKey: string, path: string, expiresAt: number) => ({ owner, blobKey, path, contentType: null, expiresAt, createdAt: expiresAt - 100 });
      await stores.objects.addPending(p('pa', 'k1', 'docs/x', 1000));
      await stores.objects.addPending(p('pa', 'k2', 'other', 5000));
      await stores.objects.addPending(p('pb', 'k3', 'docs/x', 2000));
      assert.deepEqual((await stores.objects.pending('pa', 'docs/')).map((u) => u.blobKey), ['k1']);
      assert.deepEqual((await stores.objects.pending('pa', '')).map((u) => u.blobKey), ['k1', 'k2']);
      assert.deepEqual((await stores.maintenance.expiredPendingUploads(2500, 10)).map((u) => u.blobKey), ['k1', 'k3']);
      await stores.objects.removePending('pa', 'k1');
      assert.deepEqual((await stores.objects.pending('pa', '')).map((u) => u.blobKey), ['k2']);
    });

    test('public keys: added once, by one owner only, listed, deleted', async () => {
      const k = (id: string) => ({ id, type: 'p256', spki: 'AAAA', label: null, address: 'AB'.repeat(20), createdAt: 5 });
      assert.equal(await stores.keys.add('ka', k('k1')), true);
      assert.equal(await stores.keys.add('ka', k('k1')), false, 'the same key twice');
      assert.equal(await stores.keys.add('kb', k('k1')), false, 'a key belongs to at most one user');
      assert.deepEqual(await stores.keys.list('kb'), []);
      await stores.keys.add('ka', { ...k('k2'), label: 'laptop', type: 'rsa', address: null });
      assert.deepEqual((await stores.keys.list('ka')).map((r) => [r.id, r.label]), [['k1', null], ['k2', 'laptop']]);
      assert.equal(await stores.keys.delete('kb', 'k2'), false);
      assert.equal(await stores.keys.delete('ka', 'k2'), true);
      assert.deepEqual((await stores.keys.list('ka')).map((r) => r.id), ['k1']);
    });

    test('public keys: the holder of a key is found by its id; of two owners registering one key at once, one wins', async () => {
      const k = { id: 'gk1', type: 'ed25519', spki: 'AAAA', label: 'l', address: null, createdAt: 7 };
      await stores.keys.add('ga', k);
      assert.deepEqual(await stores.keys.list('ga'), [k]);
      assert.equal(await stores.keys.holderOf('gk1'), 'ga');
      assert.equal(await stores.keys.holderOf('gk-unknown'), undefined);
      const race = await Promise.all(['r1', 'r2', 'r3', 'r4'].map((owner) => stores.keys.add(owner, { ...k, id: 'gk-race' })));
      assert.equal(race.filter(Boolean).length, 1);
      assert.equal(await stores.keys.holderOf('gk-race'), ['r1', 'r2', 'r3', 'r4'][race.indexOf(true)]);
    });

    test('migration 0006: a key registered to several users stays with the first who registered it', async () => {
      const { db: old, cleanup: drop } = await backend.fresh();
      try {
        await migrateTo(old, '0005_parcels_and_challenges');
        const row = (owner: string, id: string, createdAt: number) => ({ owner, id, type: 'rsa', spki: 'AAAA', label: owner, address: null, created_at: createdAt });
        await old.db.insertInto('public_keys').values([row('late', 'shared', 30), row('early', 'shared', 10), row('tie-b', 'tied', 5), row('tie-a', 'tied', 5), row('alone', 'own', 20)]).execute();
        await migrateToLatest(old);
        const kept = await old.db.selectFrom('public_keys').select(['owner', 'id']).orderBy('id').execute();
        assert.deepEqual(kept.map((r) => [r.id, r.owner]), [['own', 'alone'], ['shared', 'early'], ['tied', 'tie-a']]);
        const migrated = metadataStores(old);
        assert.equal(await migrated.keys.add('someone', { id: 'shared', type: 'rsa', spki: 'AAAA', label: null, address: null, createdAt: 40 }), false);
      } finally {
        await drop();
      }
    });

    test('challenges: a jti is spent once, also by 50 concurrent spenders; spent ones are swept after they expire', async () => {
      assert.equal(await stores.tokens.spendChallenge('jti-a', 1000), true);
      assert.equal(await stores.tokens.spendChallenge('jti-a', 1000), false);
      const results = await Promise.all(Array.from({ length: 50 }, () => stores.tokens.spendChallenge('jti-race', 5000)));
      assert.equal(results.filter(Boolean).length, 1);
      await stores.maintenance.sweep(2000, 1);
      assert.equal(await stores.tokens.spendChallenge('jti-a', 1000), true, 'swept once expired (an expired token is refused before this)');
      assert.equal(await stores.tokens.spendChallenge('jti-race', 5000), false, 'not swept before it expires');
    });

    test('parcels: recorded with their object in one step; an existing id is returned unchanged; deleted together', async () => {
      const id = '00000001' + 'AB'.repeat(32);
      const path = `parcels/${id}`;
      const obj = (blobKey: string) => ({ path, blobKey, size: 3, sha256: 'ab'.repeat(32), contentType: 'application/octet-stream', createdAt: 10, updatedAt: 10 });
      const parcel = { id, owner: 'pa', metadata: '{"n":1}', createdAt: 10 };
      assert.deepEqual(await stores.parcels.put(parcel.owner, parcel, obj('pb1')), {});
      assert.deepEqual(await stores.parcels.find(id), parcel);
      assert.equal((await stores.objects.get('pa', path))?.blobKey, 'pb1');
      const again = await stores.parcels.put('pz', { ...parcel, metadata: '{}' }, obj('pb2'));
      assert.deepEqual(again.existing, parcel, 'the first upload stands');
      assert.equal(await stores.objects.get('pz', path), undefined, 'nothing written for the second uploader');
      assert.equal((await stores.objects.get('pa', path))?.blobKey, 'pb1');
      assert.equal(await stores.parcels.delete('pz', id, path), undefined, 'only the owner deletes');
      assert.ok(await stores.parcels.find(id));
      assert.equal((await stores.parcels.delete('pa', id, path))?.blobKey, 'pb1');
      assert.equal(await stores.parcels.find(id), undefined);
      assert.equal(await stores.objects.get('pa', path), undefined);
      // An object already at the path (written before) is replaced and handed back.
      await stores.objects.put('pa', obj('old'));
      assert.equal((await stores.parcels.put(parcel.owner, parcel, obj('new'))).previousObject?.blobKey, 'old');
    });

    test('parcels: concurrent uploads of one id: one is recorded, the others get it as existing', async () => {
      const id = '00000001' + 'CD'.repeat(32);
      const path = `parcels/${id}`;
      const results = await Promise.all(
        ['r1', 'r2', 'r3', 'r4'].map((owner) =>
          stores.parcels.put(owner, { id, metadata: '{}', createdAt: 1 }, { path, blobKey: `b-${owner}`, size: 1, sha256: 'cd'.repeat(32), contentType: 'x/y', createdAt: 1, updatedAt: 1 }),
        ),
      );
      assert.equal(results.filter((r) => r.existing === undefined).length, 1);
      const winner = (await stores.parcels.find(id))!.owner;
      assert.ok(results.every((r) => r.existing === undefined || r.existing.owner === winner));
    });

    test('deleting a user deletes their parcels', async () => {
      const u = (await stores.users.create(newUser('parcel-owner')))!;
      const id = '00000001' + 'EF'.repeat(32);
      await stores.parcels.put(u.id, { id, metadata: '{}', createdAt: 1 }, { path: `parcels/${id}`, blobKey: 'pk', size: 1, sha256: 'ef'.repeat(32), contentType: 'x/y', createdAt: 1, updatedAt: 1 });
      await stores.users.delete(u.id, 1000);
      assert.equal(await stores.parcels.find(id), undefined);
    });

    test('ping answers', async () => {
      await stores.maintenance.ping();
      assert.ok(['sqlite', 'postgres'].includes(stores.dialect));
    });
  });
}

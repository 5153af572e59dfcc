/**
 * The KV read cache in front of a real SQLite store. What it keeps is seen by deleting rows behind
 * its back (raw SQL): a kept entry still answers, a dropped one does not.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, test } from 'node:test';
import { sql } from 'kysely';
import { CachedKvStore } from '../../src/kv/kv-cache.js';
import type { KvEntry } from '../../src/kv/kv-store.js';
import { migrateToLatest, openDatabase } from '../../src/storage/meta/database.js';
import type { OpenDatabase } from '../../src/storage/meta/schema.js';
import { KyselyKvStore } from '../../src/storage/meta/kysely/kv.js';

const OWNER = 'owner-1';
const OTHER = 'owner-2';
let open: OpenDatabase;

beforeEach(async () => {
  open = openDatabase('sqlite::memory:');
  await migrateToLatest(open);
});
afterEach(() => open.db.destroy());

function entry(key: string, value: string | Buffer, extra: Partial<KvEntry> = {}): KvEntry {
  const bytes = Buffer.isBuffer(value) ? value : Buffer.from(value);
  return { key, kind: 'text', contentType: null, value: bytes, size: bytes.length, etag: `"${key}:${bytes.toString('hex').slice(0, 16)}"`, expiresAt: null, createdAt: 1000, updatedAt: 1000, ...extra };
}

const always = () => {};
const valueOf = (e: KvEntry | undefined) => e?.value.toString();

/** Deletes every row without telling the cache. */
async function deleteBehindItsBack(): Promise<void> {
  await sql`delete from kv`.execute(open.db);
}

function cached(limits?: { bytes: number; entryBytes: number }) {
  return new CachedKvStore(new KyselyKvStore(open), limits);
}

test('a read is kept and answers the next read without the database', async () => {
  const kv = cached();
  await kv.write(OWNER, entry('a', 'one'), always);
  assert.equal(valueOf(await kv.get(OWNER, 'a', 2000)), 'one');
  await deleteBehindItsBack();
  assert.equal(valueOf(await kv.get(OWNER, 'a', 2000)), 'one', 'served from memory');
  assert.equal(await kv.get(OTHER, 'a', 2000), undefined, 'another owner shares nothing');
});

test('writes and deletes through it are seen at once', async () => {
  const kv = cached();
  await kv.write(OWNER, entry('a', 'one'), always);
  await kv.get(OWNER, 'a', 2000);
  await kv.write(OWNER, entry('a', 'two'), always);
  assert.equal(valueOf(await kv.get(OWNER, 'a', 2000)), 'two');

  assert.equal(await kv.delete(OWNER, 'a', 2000, '"wrong"'), false);
  assert.equal(valueOf(await kv.get(OWNER, 'a', 2000)), 'two', 'a refused conditional delete leaves it');
  assert.equal(await kv.delete(OWNER, 'a', 2000), true);
  assert.equal(await kv.get(OWNER, 'a', 2000), undefined);
});

test('a write its check refuses leaves the kept entry true', async () => {
  const kv = cached();
  await kv.write(OWNER, entry('a', 'one'), always);
  await kv.get(OWNER, 'a', 2000);
  await assert.rejects(
    kv.write(OWNER, entry('a', 'two'), () => {
      throw new Error('precondition failed');
    }),
    /precondition failed/,
  );
  assert.equal(valueOf(await kv.get(OWNER, 'a', 2000)), 'one');
});

test('deleting a prefix drops the kept entries under it, and only those', async () => {
  const kv = cached();
  for (const key of ['dir/a', 'dir/b', 'dirt', 'other']) {
    await kv.write(OWNER, entry(key, key), always);
    await kv.get(OWNER, key, 2000);
  }
  await kv.write(OTHER, entry('dir/a', 'theirs'), always);
  await kv.get(OTHER, 'dir/a', 2000);
  assert.equal(await kv.deletePrefix(OWNER, 'dir/', 2000), 2);
  assert.equal(await kv.get(OWNER, 'dir/a', 2000), undefined);
  assert.equal(await kv.get(OWNER, 'dir/b', 2000), undefined);
  await deleteBehindItsBack();
  assert.equal(valueOf(await kv.get(OWNER, 'dirt', 2000)), 'dirt', 'outside the prefix: still kept');
  assert.equal(valueOf(await kv.get(OTHER, 'dir/a', 2000)), 'theirs', "another owner's keys are not touched");
});

test('a kept entry expires when the database would stop returning it', async () => {
  const kv = cached();
  await kv.write(OWNER, entry('t', 'brief', { expiresAt: 5000 }), always);
  assert.equal(valueOf(await kv.get(OWNER, 't', 4999)), 'brief');
  assert.equal(await kv.get(OWNER, 't', 5000), undefined);
});

test('large values are not kept, and the oldest go first beyond the byte budget', async () => {
  const kv = cached({ bytes: 3 * 1300, entryBytes: 1024 });
  await kv.write(OWNER, entry('big', Buffer.alloc(1025, 1)), always);
  for (const key of ['k1', 'k2', 'k3', 'k4']) await kv.write(OWNER, entry(key, Buffer.alloc(1000, 2)), always);
  await kv.get(OWNER, 'big', 2000);
  for (const key of ['k1', 'k2', 'k3']) await kv.get(OWNER, key, 2000);
  await kv.get(OWNER, 'k1', 2000); // k1 is now the most recent
  await kv.get(OWNER, 'k4', 2000); // over budget: the least recent (k2) goes
  await deleteBehindItsBack();
  assert.equal(await kv.get(OWNER, 'big', 2000), undefined, 'over entryBytes: never kept');
  assert.equal(await kv.get(OWNER, 'k2', 2000), undefined, 'evicted');
  for (const key of ['k1', 'k3', 'k4']) assert.ok(await kv.get(OWNER, key, 2000), `${key} kept`);
});

test('reads racing writes on one key always end on the last written value', async () => {
  const kv = cached();
  await kv.write(OWNER, entry('race', 'v0'), always);
  const work: Promise<unknown>[] = [];
  for (let i = 1; i <= 50; i++) {
    work.push(kv.get(OWNER, 'race', 2000));
    work.push(kv.write(OWNER, entry('race', `v${i}`), always));
    work.push(kv.get(OWNER, 'race', 2000));
  }
  await Promise.all(work);
  assert.equal(valueOf(await kv.get(OWNER, 'race', 2000)), 'v50');
  const [row] = await sql<{ value: Buffer }>`select value from kv where key = 'race'`.execute(open.db).then((r) => r.rows);
  assert.equal(row?.value.toString(), 'v50', 'and the database agrees');
});

test('a read that started before a write cannot put the old value back in the cache when it ends after it', async () => {
  const store = new KyselyKvStore(open);
  await store.write(OWNER, entry('slow', 'old'), always);
  // The store's reads wait at a gate until the test opens it, after the write has completed.
  let openGate!: () => void;
  const gate = new Promise<void>((resolve) => (openGate = resolve));
  const gated = Object.create(store) as KyselyKvStore;
  gated.get = async (owner, key, now) => {
    const found = await store.get(owner, key, now);
    await gate;
    return found;
  };
  const kv = new CachedKvStore(gated);
  const slowRead = kv.get(OWNER, 'slow', 2000);
  await new Promise((resolve) => setTimeout(resolve, 10)); // the read has its (old) row by now
  await kv.write(OWNER, entry('slow', 'new'), always);
  openGate();
  assert.equal(valueOf(await slowRead), 'old', 'the slow read answers what it read');
  await deleteBehindItsBack();
  assert.equal(await kv.get(OWNER, 'slow', 2000), undefined, 'but the cache did not keep it: the next read goes to the database');
});

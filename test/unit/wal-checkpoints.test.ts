/**
 * SQLite checkpoints off the event loop (src/storage/meta/sqlite/wal-checkpoints.ts), on a real
 * database file through the stores the server uses: the log stays bounded under a sustained write
 * load and every row is kept; while a checkpoint empties the log, writes wait and reads do not
 * (unless queued behind a held write on the one connection); a transaction that stays open makes
 * the checkpoint give way; a worker that dies, or a shutdown mid-checkpoint, never leaves writes held.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, test } from 'node:test';
import { sql, type Transaction } from 'kysely';
import type { KvEntry } from '../../src/kv/kv-store.js';
import { migrateToLatest, openDatabase } from '../../src/storage/meta/database.js';
import { metadataStores } from '../../src/storage/meta/index.js';
import type { Database } from '../../src/storage/meta/schema.js';
import type { WalCheckpointOptions } from '../../src/storage/meta/sqlite/wal-checkpoints.js';

const dirs: string[] = [];
after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

async function openFile(checkpoints: WalCheckpointOptions) {
  const dir = await mkdtemp(path.join(tmpdir(), 'coffer-wal-'));
  dirs.push(dir);
  const file = path.join(dir, 'meta.db');
  const open = openDatabase(`sqlite:${file}`, { checkpoints });
  await migrateToLatest(open);
  await sql`create table t (v integer)`.execute(open.db);
  const logSize = async () => (await stat(`${file}-wal`).catch(() => ({ size: 0 }))).size;
  return { file, open, stores: metadataStores(open), logSize };
}

function entry(key: string, value: Buffer): KvEntry {
  return { key, kind: 'raw', contentType: null, value, size: value.length, etag: `"${key}"`, expiresAt: null, createdAt: 1, updatedAt: 1 };
}

/** Settled yet? (without waiting for it) */
async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  void p.then(() => (done = true), () => (done = true));
  await sleep(0);
  return done;
}

const count = async (db: ReturnType<typeof openDatabase>['db'], table: 'kv' | 't') =>
  Number((await sql<{ n: number }>`select count(*) as n from ${sql.table(table)}`.execute(db)).rows[0]!.n);

test('under a sustained write load the log stays bounded, and every row is kept across a reopening', async () => {
  const { file, open, stores, logSize } = await openFile({ limitBytes: 256 * 1024, everyMs: 20 });
  let largest = 0;
  // 8 MiB in 80 turns of 25 concurrent 4 KiB writes (one group commit each), the loop turning between.
  for (let turn = 0; turn < 80; turn++) {
    await Promise.all(Array.from({ length: 25 }, (_, i) => stores.kv.write('owner', entry(`k${turn}-${i}`, Buffer.alloc(4096, i)), () => {})));
    await sql`insert into t (v) values (${turn})`.execute(open.db);
    largest = Math.max(largest, await logSize());
    await sleep(5);
  }
  assert.ok(largest < 3 * 1024 * 1024, `the log reached ${largest} bytes of the 8 MiB written: the checkpoints did not keep up`);
  assert.equal(await count(open.db, 'kv'), 2000);
  await open.db.destroy();
  const again = openDatabase(`sqlite:${file}`);
  assert.equal(await count(again.db, 'kv'), 2000);
  assert.equal(await count(again.db, 't'), 80);
  await again.db.destroy();
});

test('a checkpoint empties the log; meanwhile writes wait for it, reads do not unless queued behind one', async () => {
  const { open, stores, logSize } = await openFile({ everyMs: 60_000 });
  for (let i = 0; i < 20; i++) await sql`insert into t (v) values (${i})`.execute(open.db);
  assert.ok((await logSize()) > 0);
  assert.ok(await open.checkpoints!.checkpoint());
  assert.equal(await logSize(), 0);

  const release = open.checkpoints!.holdWrites();
  assert.equal(await count(open.db, 't'), 20, 'a read waits for nothing');
  assert.equal(await stores.kv.get('owner', 'missing', 1), undefined);
  const kysely = sql`insert into t (v) values (100) returning v`.execute(open.db); // a write that returns rows
  const grouped = stores.kv.write('owner', entry('held', Buffer.from('x')), () => {});
  const read = sql`select count(*) as n from t`.execute(open.db);
  await sleep(50);
  assert.equal(await settled(kysely), false, 'a Kysely write went ahead while writes were held');
  assert.equal(await settled(grouped), false, 'a group-commit write went ahead while writes were held');
  assert.equal(await settled(read), false, 'a read queued behind a held write waits for it (one connection)');
  release();
  await Promise.all([kysely, grouped, read]);
  assert.equal(await count(open.db, 't'), 21);
  assert.equal((await stores.kv.get('owner', 'held', 1))?.value.toString(), 'x');
  await open.db.destroy();
});

/** Until `cp.holding`, or fails after 5 s. */
async function untilHolding(cp: NonNullable<ReturnType<typeof openDatabase>['checkpoints']>): Promise<void> {
  for (const deadline = Date.now() + 5000; !cp.holding; await sleep(1)) if (Date.now() > deadline) throw new Error('the checkpoint never held writes');
}

type Opened = Awaited<ReturnType<typeof openFile>>;

/**
 * Inside a transaction (so the checkpoint cannot empty the log before it ends): starts a
 * checkpoint, waits until it holds writes, queues a group-commit write of `key`, then runs
 * `meanwhile` before the transaction commits.
 */
async function checkpointAcrossTransaction(f: Opened, key: string, meanwhile: (checkpoint: Promise<unknown>, trx: Transaction<Database>) => Promise<unknown> | void) {
  let checkpoint!: Promise<unknown>;
  let queued!: Promise<unknown>;
  await f.open.db.transaction().execute(async (trx) => {
    await sql`insert into t (v) values (1)`.execute(trx);
    checkpoint = f.open.checkpoints!.checkpoint();
    await untilHolding(f.open.checkpoints!);
    queued = f.stores.kv.write('owner', entry(key, Buffer.from(key)), () => {});
    await meanwhile(checkpoint, trx);
  });
  return { checkpoint, queued };
}

const valueOf = async (f: Opened, key: string) => (await f.stores.kv.get('owner', key, 1))?.value.toString();

test('a transaction open throughout makes the checkpoint give way; one that ends lets it finish', async () => {
  const f = await openFile({ everyMs: 60_000, quietMs: 150 });
  await sql`insert into t (v) values (0)`.execute(f.open.db);

  // Open for longer than the checkpoint waits (150 ms): the checkpoint gives up, writes go on.
  let gaveWay: unknown = 'not settled';
  const { queued } = await checkpointAcrossTransaction(f, 'during', async (checkpoint, trx) => {
    gaveWay = await checkpoint;
    await sql`insert into t (v) values (2)`.execute(trx);
  });
  assert.equal(gaveWay, undefined);
  await queued;

  // Ended within the wait: the checkpoint runs after the commit, the transaction's rows kept.
  const checkpoint = f.open.checkpoints!.checkpoint();
  await f.open.db.transaction().execute(async (trx) => {
    await sql`insert into t (v) values (3)`.execute(trx);
    await sleep(10);
  });
  assert.ok(await checkpoint);
  assert.equal(await f.logSize(), 0);
  assert.equal(await count(f.open.db, 't'), 4);
  assert.equal(await valueOf(f, 'during'), 'during');
  await f.open.db.destroy();
});

/** The checkpointer's worker thread (private: reached into to make it die). */
const workerOf = (cp: unknown) => (cp as { worker?: { thread: import('node:worker_threads').Worker } }).worker?.thread;

test('a worker that dies while writes are held does not keep them held: a new one empties the log', async () => {
  const f = await openFile({ everyMs: 60_000, quietMs: 2000 });
  await sql`insert into t (v) values (0)`.execute(f.open.db);
  const { checkpoint, queued } = await checkpointAcrossTransaction(f, 'after-death', () => workerOf(f.open.checkpoints)!.terminate()); // dies between its two steps
  assert.ok(await checkpoint, 'the log was emptied by a new worker');
  await queued;
  assert.equal((await f.logSize()) < 64 * 1024, true);
  assert.equal(await valueOf(f, 'after-death'), 'after-death');
  await f.open.db.destroy();
});

test('a shutdown in the middle of a checkpoint releases the writes and leaves no worker behind', async () => {
  const f = await openFile({ everyMs: 60_000, quietMs: 2000 });
  const { checkpoint, queued } = await checkpointAcrossTransaction(f, 'at-shutdown', () => f.open.checkpoints!.stop());
  await assert.rejects(checkpoint, /stopped|exited/);
  assert.equal(f.open.checkpoints!.holding, false);
  await queued;
  assert.equal(workerOf(f.open.checkpoints), undefined);
  assert.equal(await valueOf(f, 'at-shutdown'), 'at-shutdown');
  await f.open.db.destroy();
});

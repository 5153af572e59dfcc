/**
 * SQLite checkpoints off the event loop (src/storage/meta/sqlite/wal-checkpoints.ts), on a real
 * database file: with automatic checkpoints off, the write-ahead log grows by all that is
 * written; with the off-thread checkpointer, workers copy it back and the log is reused from
 * its start, every row kept.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, test } from 'node:test';
import SQLite from 'better-sqlite3';
import { checkpointOffThread } from '../../src/storage/meta/sqlite/wal-checkpoints.js';

const dirs: string[] = [];
after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

/** Writes 8 MiB in 80 transactions of 100 KiB, letting the event loop turn between them; the log's largest size. */
async function writeMuch(checkpointed: boolean): Promise<{ largestLog: number; rows: number }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'coffer-wal-'));
  dirs.push(dir);
  const file = path.join(dir, 'meta.db');
  const db = new SQLite(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  if (checkpointed) checkpointOffThread(db, file, 256 * 1024, 20);
  else db.pragma('wal_autocheckpoint = 0');
  db.exec('create table t (v blob)');
  const insert = db.prepare('insert into t (v) values (?)');
  const batch = db.transaction(() => {
    for (let i = 0; i < 25; i++) insert.run(Buffer.alloc(4096, i));
  });
  let largestLog = 0;
  for (let i = 0; i < 80; i++) {
    batch();
    largestLog = Math.max(largestLog, (await stat(`${file}-wal`)).size);
    await sleep(10);
  }
  const rows = (db.prepare('select count(*) as n from t').get() as { n: number }).n;
  db.close();
  return { largestLog, rows };
}

test('without checkpoints the log takes everything written; off-thread checkpoints let it be reused, every row kept', async () => {
  const unchecked = await writeMuch(false);
  assert.ok(unchecked.largestLog > 8 * 1024 * 1024, `log ${unchecked.largestLog} bytes`);
  const checked = await writeMuch(true);
  assert.equal(checked.rows, 2000);
  // A worker takes some tens of milliseconds to start, while writes go on: the log overshoots
  // its limit by that much, but is reused from the start once a checkpoint has caught up.
  assert.ok(checked.largestLog < unchecked.largestLog / 2, `log ${checked.largestLog} bytes against ${unchecked.largestLog}: the checkpoints did not keep up`);
});

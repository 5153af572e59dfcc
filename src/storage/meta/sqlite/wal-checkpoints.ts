/**
 * SQLite's write-ahead log is copied into the database file (a checkpoint) off the event loop.
 * Left to SQLite, the commit that takes the log past 1000 pages does it, fsyncs included, on the
 * main thread, where better-sqlite3 runs: under a login storm (every login writes) other requests
 * stalled for milliseconds (bench/login-storm.ts: GET p99 3.3× its p99 alone; 2.3× with this).
 *
 * So the main connection's automatic checkpoints are off. Every second the log's size is looked
 * at; past `limitBytes`, a short-lived worker thread opens the database and runs a PASSIVE
 * checkpoint, which never waits for the main connection nor blocks it. Should the log still grow
 * past 16 times that (workers failing), the main connection checkpoints itself, as SQLite would.
 */
import { stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type SQLite from 'better-sqlite3';

const WORKER = `
const { workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file);
try {
  db.pragma('wal_checkpoint(PASSIVE)');
} finally {
  db.close();
}
`;

/** The log's size that starts a checkpoint: SQLite's own default (1000 pages of 4 KiB). */
export const WAL_LIMIT_BYTES = 4 * 1024 * 1024;

/** Takes over the checkpoints of `sqlite` (a file database in WAL mode) until it is closed. */
export function checkpointOffThread(sqlite: SQLite.Database, file: string, limitBytes = WAL_LIMIT_BYTES, everyMs = 1000): void {
  sqlite.pragma('wal_autocheckpoint = 0');
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  let running = false;
  const timer = setInterval(() => {
    if (!sqlite.open) return clearInterval(timer);
    if (running) return;
    running = true;
    void stat(`${file}-wal`)
      .then((s) => {
        if (s.size <= limitBytes) return;
        if (s.size > 16 * limitBytes && sqlite.open) {
          sqlite.pragma('wal_checkpoint(PASSIVE)');
          return;
        }
        return new Promise<void>((resolve) => {
          const worker = new Worker(WORKER, { eval: true, workerData: { driver, file } });
          worker.once('error', () => resolve()); // tried again in a second; the fallback above bounds the log
          worker.once('exit', () => resolve());
        });
      })
      .catch(() => undefined) // no log file yet
      .finally(() => (running = false));
  }, everyMs);
  timer.unref();
}

/**
 * A PostgreSQL connection that dies while checked out of the pool (a transaction between two
 * statements, a lock held) must fail its work, not the process: pg-pool listens for errors of
 * idle connections only, and an error nobody hears is an uncaught exception.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { sql } from 'kysely';
import pg from 'pg';
import { openDatabase } from '../../src/storage/meta/database.js';
import { DEFAULT_URL } from '../helpers/postgres.js';
import { Relay } from '../helpers/tcp-relay.js';

const PG_URL = process.env.COFFER_TEST_DATABASE_URL ?? DEFAULT_URL;

test('a transaction whose connection is cut fails with the error; the process lives on and the pool serves again', async () => {
  const target = new URL(PG_URL);
  const relay = new Relay({ host: target.hostname, port: Number(target.port || 5432) });
  await relay.open();
  const url = new URL(PG_URL);
  url.port = String(relay.port);
  const schema = `coffer_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  await admin.query(`create schema ${schema}`);
  const db = openDatabase(url.toString(), { schema });
  const uncaught: unknown[] = [];
  const onUncaught = (e: unknown) => uncaught.push(e);
  process.on('uncaughtException', onUncaught);
  try {
    let inside!: () => void;
    const begun = new Promise<void>((resolve) => (inside = resolve));
    const transaction = db.db.transaction().execute(async (trx) => {
      await sql`select 1`.execute(trx);
      inside();
      await new Promise((resolve) => setTimeout(resolve, 300)); // checked out, no query running
      await sql`select 2`.execute(trx);
    });
    await begun;
    await relay.cut(); // the server goes away while the connection is checked out
    await assert.rejects(transaction);
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.deepEqual(uncaught, [], 'no error escaped to the process');
    await relay.open();
    const { rows } = await sql<{ n: number }>`select 3 as n`.execute(db.db);
    assert.equal(rows[0]!.n, 3, 'the pool serves again once the server is back');
  } finally {
    process.off('uncaughtException', onUncaught);
    await db.db.destroy().catch(() => {});
    await relay.cut();
    await admin.query(`drop schema ${schema} cascade`);
    await admin.end();
  }
});

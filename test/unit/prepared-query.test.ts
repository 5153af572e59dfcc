import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sql } from 'kysely';
import { openDatabase } from '../../src/storage/meta/database.js';
import { prepareQuery } from '../../src/storage/meta/prepared-query.js';

test('a prepared query runs with new values each time, whatever the order its parameters compile in', async () => {
  const open = openDatabase('sqlite::memory:');
  const { db } = open;
  await sql`create table t (a text, b integer, c text)`.execute(db);
  await sql`insert into t values ('x', 1, 'p'), ('x', 2, 'q'), ('y', 3, 'r')`.execute(db);
  const find = prepareQuery(open, ['c', 'a', 'min'], (p: { a: string; min: number; c: string }) =>
    (db as any).selectFrom('t').select('b').where('a', '=', p.a).where('b', '>=', p.min).where('c', '!=', p.c).orderBy('b'),
  );
  assert.deepEqual(await find({ a: 'x', min: 1, c: 'zzz' }), [{ b: 1 }, { b: 2 }]);
  assert.deepEqual(await find({ a: 'x', min: 2, c: 'zzz' }), [{ b: 2 }]);
  assert.deepEqual(await find({ a: 'y', min: 0, c: 'r' }), []);
  assert.throws(() => prepareQuery(open, ['a', 'unused'], (p: { a: string; unused: string }) => (db as any).selectFrom('t').select('b').where('a', '=', p.a)), /does not use unused/);
  await db.destroy();
});

/**
 * The login throttle over the real failure store on SQLite: attempts on one account never run
 * more at once than it has failures left, waiting ones get their turn or their 429, and nothing is
 * kept for an account once its attempts are over.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, test } from 'node:test';
import { LoginThrottle } from '../../src/auth/login-throttle.js';
import { CofferError } from '../../src/errors.js';
import { migrateToLatest, openDatabase } from '../../src/storage/meta/database.js';
import { KyselyLoginFailureStore } from '../../src/storage/meta/kysely/login-failures.js';
import type { OpenDatabase } from '../../src/storage/meta/schema.js';
import { TestClock } from '../helpers/clock.js';

let open: OpenDatabase;
let throttle: LoginThrottle;
const clock = new TestClock(1_000_000);

beforeEach(async () => {
  open = openDatabase('sqlite::memory:');
  await migrateToLatest(open);
  throttle = new LoginThrottle(new KyselyLoginFailureStore(open), 3, 60_000, clock);
});
afterEach(() => open.db.destroy());

/** One attempt: a turn, `ms` of "hashing", then a failure recorded or a success. */
async function attempt(name: string, fails: boolean, ms = 5): Promise<number> {
  let endTurn: () => void;
  try {
    endTurn = await throttle.admit(name);
  } catch (e) {
    assert.ok(e instanceof CofferError && e.status === 429);
    return 429;
  }
  try {
    await new Promise((r) => setTimeout(r, ms));
    if (fails) await throttle.recordFailure(name);
    else await throttle.reset(name);
    return fails ? 401 : 200;
  } finally {
    endTurn();
  }
}

test('a burst of wrong guesses: as many checked as the limit, the rest 429, and the account is forgotten after', async () => {
  const statuses = await Promise.all(Array.from({ length: 30 }, () => attempt('eve', true)));
  assert.equal(statuses.filter((s) => s === 401).length, 3);
  assert.equal(statuses.filter((s) => s === 429).length, 27);
  assert.equal(throttle.busyAccounts, 0);
  assert.equal(await attempt('eve', false), 429, 'locked for the window, the right password included');
  clock.advance(60_000);
  assert.equal(await attempt('eve', false), 200, 'the window is over');
});

test('a burst of right passwords all get in, never more than the limit at once', async () => {
  let running = 0;
  let most = 0;
  const statuses = await Promise.all(
    Array.from({ length: 10 }, async () => {
      const endTurn = await throttle.admit('workers');
      running += 1;
      most = Math.max(most, running);
      await new Promise((r) => setTimeout(r, 5));
      await throttle.reset('workers');
      running -= 1;
      endTurn();
      return 200;
    }),
  );
  assert.deepEqual(statuses, Array(10).fill(200));
  assert.equal(most, 3);
  assert.equal(throttle.busyAccounts, 0);
});

test('with failures already counted, fewer attempts run at once; one failure left means one at a time', async () => {
  await throttle.recordFailure('mallory');
  await throttle.recordFailure('mallory');
  const statuses = await Promise.all([attempt('mallory', true), attempt('mallory', true), attempt('mallory', true)]);
  assert.deepEqual(statuses.sort(), [401, 429, 429]);
  assert.equal(throttle.busyAccounts, 0);
});

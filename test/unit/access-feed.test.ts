/**
 * The access feed over the real access-event log on SQLite. The log's reads are held at a gate the
 * test opens, to stand for a slow database.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, test } from 'node:test';
import { AccessCache } from '../../src/auth/access-cache.js';
import type { AccessEvent, AccessEventLog } from '../../src/auth/access-events.js';
import { AccessFeed } from '../../src/auth/access-feed.js';
import { migrateToLatest, openDatabase } from '../../src/storage/meta/database.js';
import type { OpenDatabase } from '../../src/storage/meta/schema.js';
import { announceAccessChange, KyselyAccessEventLog } from '../../src/storage/meta/kysely/access-events.js';
import type { UserRecord } from '../../src/users/user-store.js';

let open: OpenDatabase;
let feed: AccessFeed | undefined;

beforeEach(async () => {
  open = openDatabase('sqlite::memory:');
  await migrateToLatest(open);
});
afterEach(async () => {
  await feed?.stop();
  await open.db.destroy();
});

/** The real log, each read counted and held until `open()`; `failNext` makes the next read fail. */
class GatedLog implements AccessEventLog {
  reads = 0;
  failNext = false;
  private gate: Promise<void> = Promise.resolve();
  private release: () => void = () => {};
  constructor(private readonly log: KyselyAccessEventLog) {}
  hold(): void {
    this.gate = new Promise((resolve) => (this.release = resolve));
  }
  open(): void {
    this.release();
  }
  latest(): Promise<number> {
    return this.log.latest();
  }
  async since(id: number, limit: number): Promise<AccessEvent[]> {
    this.reads++;
    await this.gate;
    if (this.failNext) {
      this.failNext = false;
      throw new Error('the database does not answer');
    }
    return this.log.since(id, limit);
  }
}

function setUp() {
  const log = new GatedLog(new KyselyAccessEventLog(open));
  const seen: string[] = [];
  const warnings: string[] = [];
  const cache = new AccessCache();
  feed = new AccessFeed(log, cache, (e) => seen.push(e.subject), { warn: (_err, message) => warnings.push(message) });
  return { log, seen, warnings, cache, feed };
}

test('callers during a slow read share one read after it, which sees what changed meanwhile', async () => {
  const { log, seen, feed } = setUp();
  await feed.start();
  log.hold();
  const during = feed.catchUp();
  await announceAccessChange(open.db, open.dialect, 'user', 'changed-during-the-read', 1);
  const callers = Array.from({ length: 20 }, () => feed.catchUp());
  log.open();
  await Promise.all([during, ...callers]);
  assert.ok(log.reads <= 3, `20 callers during one read made ${log.reads} reads, not one each`);
  assert.deepEqual(seen, ['changed-during-the-read']);
});

test('a failed read does not fail its callers: the cache is emptied and the failure logged', async () => {
  const { log, warnings, cache, feed } = setUp();
  await feed.start();
  const user: UserRecord = { id: 'u1', username: 'u', passwordHash: 'h', admin: false, disabled: false, grants: [], tokenVersion: 0, createdAt: 0, updatedAt: 0 };
  cache.set('jti-1', undefined, { user, jtiRevoked: false, familyRevoked: false }, cache.mark());
  assert.ok(cache.get('jti-1'));
  log.failNext = true;
  await feed.catchUp();
  assert.equal(cache.get('jti-1'), undefined);
  assert.match(warnings.join('\n'), /cannot read the access-event log/);
  await feed.catchUp();
  assert.equal(log.failNext, false);
});

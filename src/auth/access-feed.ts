/**
 * Follows the access-event log so that this node's AccessCache never trusts what another node
 * has changed for more than a second: it reads the log every POLL_MS, at once when the database
 * announces an event (PostgreSQL NOTIFY), and at once after this node's own changes. While the log
 * cannot be read, the cache is not used (`current` is false) and every request reads the
 * database, which then decides.
 */
import type { AccessCache } from './access-cache.js';
import type { AccessEvent, AccessEventLog } from './access-events.js';

const POLL_MS = 250;
/** A feed that has not read the log for this long is stale: the cache is bypassed. */
const STALE_MS = 900;
const BATCH = 1000;
const RELISTEN_MS = 1000;

export interface FeedLog {
  warn(err: unknown, message: string): void;
}

export class AccessFeed {
  private last = 0;
  private lastRead = -Infinity;
  private reading: Promise<void> | undefined;
  /** The one read queued behind `reading`, shared by every caller who came during it. */
  private queued: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopListening: (() => Promise<void>) | undefined;
  private stopped = false;

  constructor(
    private readonly log: AccessEventLog,
    private readonly cache: AccessCache,
    /** Told of every event (the signing keys reload on 'keys'). */
    private readonly onEvent: (event: AccessEvent) => void,
    private readonly logger: FeedLog,
  ) {}

  async start(): Promise<void> {
    this.last = await this.log.latest();
    this.lastRead = performance.now();
    // A poll while a read runs is skipped: with a slow database, reads must not pile up.
    this.timer = setInterval(() => void (this.reading ? undefined : this.catchUp()), POLL_MS);
    this.timer.unref();
    await this.listen();
  }

  /** Whether the cache may be trusted: the log was read within the last STALE_MS. */
  get current(): boolean {
    return performance.now() - this.lastRead < STALE_MS;
  }

  /**
   * Reads the log now, or, while a read runs (it may have started before the caller's change),
   * right after it: all callers during one read share the next. Never rejects: a failed read has
   * already cleared the cache and is logged.
   */
  catchUp(): Promise<void> {
    if (!this.reading) return this.startRead();
    this.queued ??= this.reading.then(() => {
      this.queued = undefined;
      return this.startRead();
    });
    return this.queued;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.stopListening?.().catch(() => {});
  }

  private startRead(): Promise<void> {
    this.reading = this.read().finally(() => (this.reading = undefined));
    return this.reading;
  }

  private async read(): Promise<void> {
    const started = performance.now();
    try {
      for (let events = await this.log.since(this.last, BATCH); events.length > 0; events = await this.log.since(this.last, BATCH)) {
        for (const event of events) {
          this.cache.invalidate(event);
          this.onEvent(event);
          this.last = event.id;
        }
        if (events.length < BATCH) break;
      }
      this.lastRead = started;
    } catch (err) {
      this.cache.clear();
      this.logger.warn(err, 'cannot read the access-event log; the access cache is off until it can');
    }
  }

  /** LISTEN where the database can; on any failure, listen again a second later (polling goes on). */
  private async listen(): Promise<void> {
    if (!this.log.listen || this.stopped) return;
    const again = () => {
      if (this.stopped) return;
      this.stopListening = undefined;
      setTimeout(() => void this.listen(), RELISTEN_MS).unref();
    };
    try {
      this.stopListening = await this.log.listen(
        () => void this.catchUp(),
        (err) => {
          this.logger.warn(err, 'the access-event listener dropped; listening again');
          void this.stopListening?.().catch(() => {});
          again();
        },
      );
    } catch (err) {
      this.logger.warn(err, 'cannot listen for access events; polling only until it can');
      again();
    }
  }
}

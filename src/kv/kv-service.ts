/**
 * The per-user key/value store of SPEC §3: values, conditional writes, TTLs, directory listings.
 * Directories are implicit: "a/b/" exists while some key starts with it.
 */
import { createHash } from 'node:crypto';
import { conflict, notFound, payloadTooLarge, preconditionFailed } from '../errors.js';
import type { Clock } from '../util/clock.js';
import { etagMatches } from '../util/entity-tags.js';
import { decodeCursor, encodeCursor } from '../util/list-cursor.js';
import { prefixUpperBound } from '../util/prefix.js';
import type { KvEntry, KvKind, KvStore } from './kv-store.js';
import { expiryOf } from './ttl.js';

export interface IncomingValue {
  kind: KvKind;
  contentType: string | null;
  bytes: Buffer;
}

export interface WriteOptions {
  /** POST creates only (409 when the key exists); PUT creates or replaces. */
  mode: 'create' | 'put';
  ifMatch?: string | undefined;
  ifNoneMatch?: string | undefined;
  ttlSeconds?: number | undefined;
}

export interface Listing {
  dir: string;
  keys: string[];
  dirs: string[];
  cursor: string | null;
}

export const DEFAULT_LIST_LIMIT = 1000;
export const MAX_LIST_LIMIT = 1000;
export function entityTag(kind: KvKind, contentType: string | null, bytes: Buffer): string {
  const h = createHash('sha256').update(kind).update('\0').update(contentType ?? '').update('\0').update(bytes);
  return `"${h.digest('base64url').slice(0, 27)}"`;
}

export class KvService {
  constructor(
    private readonly store: KvStore,
    private readonly maxBytes: number,
    private readonly clock: Clock,
  ) {}

  async get(owner: string, key: string): Promise<KvEntry> {
    const entry = await this.store.get(owner, key, this.clock.now());
    if (!entry) throw notFound(`No key "${key}".`);
    return entry;
  }

  async write(owner: string, key: string, value: IncomingValue, options: WriteOptions): Promise<{ entry: KvEntry; created: boolean }> {
    if (value.bytes.length > this.maxBytes) {
      throw payloadTooLarge(`The value is ${value.bytes.length} bytes; at most ${this.maxBytes} are allowed (COFFER_KV_MAX_BYTES). Store larger data as a parcel.`);
    }
    const now = this.clock.now();
    const entry: KvEntry = {
      key,
      kind: value.kind,
      contentType: value.contentType,
      value: value.bytes,
      size: value.bytes.length,
      etag: entityTag(value.kind, value.contentType, value.bytes),
      expiresAt: expiryOf(now, options.ttlSeconds),
      createdAt: now,
      updatedAt: now,
    };
    const { created } = await this.store.write(owner, entry, (current) => {
      if (options.ifMatch !== undefined) {
        if (!current) throw preconditionFailed(`If-Match: the key "${key}" does not exist.`);
        if (!etagMatches(options.ifMatch, current.etag, 'strong')) throw preconditionFailed(`If-Match: the key "${key}" has changed (its ETag is ${current.etag}).`);
      }
      if (options.ifNoneMatch !== undefined && current && etagMatches(options.ifNoneMatch, current.etag, 'weak')) {
        throw preconditionFailed(`If-None-Match: the key "${key}" exists.`);
      }
      if (options.mode === 'create' && current) throw conflict(`The key "${key}" exists; use PUT to replace it.`);
    });
    return { entry, created };
  }

  /** Deletes a key; with If-Match, only the version the client has seen (412 otherwise). */
  async delete(owner: string, key: string, ifMatch?: string): Promise<void> {
    const now = this.clock.now();
    if (ifMatch === undefined) {
      if (!(await this.store.delete(owner, key, now))) throw notFound(`No key "${key}".`);
      return;
    }
    const current = await this.store.get(owner, key, now);
    if (!current) throw preconditionFailed(`If-Match: the key "${key}" does not exist.`);
    if (!etagMatches(ifMatch, current.etag, 'strong') || !(await this.store.delete(owner, key, now, current.etag))) {
      throw preconditionFailed(`If-Match: the key "${key}" has changed.`);
    }
  }

  /** Deletes every key below a directory ("" = all of the owner's keys); returns how many. */
  deleteTree(owner: string, dir: string): Promise<number> {
    return this.store.deletePrefix(owner, dir, this.clock.now());
  }

  /**
   * Lists a directory: its direct keys and subdirectories (or, recursively, every key below),
   * in byte order, `limit` entries a page. The cursor is the last entry returned.
   */
  async list(owner: string, dir: string, options: { limit?: number; cursor?: string; recursive?: boolean }): Promise<Listing> {
    const limit = options.limit ?? DEFAULT_LIST_LIMIT;
    const now = this.clock.now();
    const below = dir === '' ? undefined : prefixUpperBound(dir);
    let from = dir;
    let exclusive = false;
    const recursive = options.recursive === true;
    if (options.cursor !== undefined) {
      const after = decodeCursor(options.cursor, [dir, recursive], (last) => last.startsWith(dir) && last !== dir);
      // After a directory, skip everything inside it.
      if (after.endsWith('/')) from = prefixUpperBound(after);
      else [from, exclusive] = [after, true];
    }

    const entries: string[] = [];
    const batchSize = limit + 1;
    for (;;) {
      const batch = await this.store.scan(owner, { from, exclusive, ...(below ? { below } : {}), limit: batchSize, now });
      let openDir: string | undefined;
      for (const key of batch) {
        if (openDir && key.startsWith(openDir)) continue;
        const slash = recursive ? -1 : key.indexOf('/', dir.length);
        openDir = slash < 0 ? undefined : key.slice(0, slash + 1);
        entries.push(openDir ?? key);
        if (entries.length > limit) break;
      }
      if (entries.length > limit || batch.length < batchSize) break;
      if (openDir) [from, exclusive] = [prefixUpperBound(openDir), false];
      else [from, exclusive] = [batch[batch.length - 1]!, true];
    }

    const page = entries.slice(0, limit);
    return {
      dir,
      keys: page.filter((e) => !e.endsWith('/')),
      dirs: page.filter((e) => e.endsWith('/')),
      cursor: entries.length > limit ? encodeCursor([dir, recursive], page[page.length - 1]!) : null,
    };
  }
}

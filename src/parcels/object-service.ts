/**
 * Objects (parcels) of SPEC §4: bytes stream into the BlobStore under a fresh key, and only then
 * does the index point the path at them. So a cut or refused upload is never visible, a reader
 * of the old version is never disturbed, and a crash between the two steps leaves at worst an
 * orphan blob (removed by sweepOrphans), never an index entry pointing at nothing.
 */
import type { Readable } from 'node:stream';
import { badRequest, notFound } from '../errors.js';
import { parseKeyPath } from '../kv/key-path.js';
import type { BlobStore } from '../storage/blob/blob-store.js';
import { pipeline } from 'node:stream/promises';
import { HashingCounter, isSha256Hex } from '../storage/blob/hashing.js';
import { isParcelPathShape, parcelIdOfPath } from './parcel-id.js';
import type { MetadataStore, ObjectRecord, PendingUpload } from '../storage/meta/metadata-store.js';

export interface ObjectView {
  path: string;
  size: number;
  sha256: string;
  content_type: string;
  etag: string;
  updated_at: string;
}

export function etagOf(o: ObjectRecord): string {
  return `"${o.sha256}"`;
}

export function toObjectView(o: ObjectRecord): ObjectView {
  return { path: o.path, size: o.size, sha256: o.sha256, content_type: o.contentType, etag: etagOf(o), updated_at: new Date(o.updatedAt).toISOString() };
}

export interface UploadOptions {
  contentType: string | undefined;
  expectedSha256: string | undefined;
  /** The declared Content-Length, when there is one. */
  size?: number | undefined;
  /** Fires when the client went away: the upload stops at once. */
  signal?: AbortSignal | undefined;
}

/** Bytes in the blob store that no index entry points at yet. */
export interface StoredBlob {
  blobKey: string;
  size: number;
  sha256: string;
}

export interface ObjectListing {
  objects: ObjectView[];
  prefixes?: string[];
  cursor: string | null;
}


export const DEFAULT_OBJECT_LIST_LIMIT = 1000;

/** Who owns an upload: the index keys by id, a bucket-per-user store files by name. */
export interface Owner {
  id: string;
  username: string;
}

export class ObjectService {
  constructor(
    private readonly store: MetadataStore,
    private readonly blobs: BlobStore,
  ) {}

  /** A valid object path (the key rules of SPEC §3, and not a directory). */
  static parsePath(path: string): string {
    const parsed = parseKeyPath(path, 'object path');
    if (parsed.isDir) throw badRequest(`"${path}" ends in "/": an object needs a name, not a directory.`, 'invalid_key');
    return parsed.path;
  }

  /** Refuses writes to `parcels/{id}` paths: the parcel API writes those, with their metadata. */
  static assertWritable(path: string): void {
    if (isParcelPathShape(path)) {
      throw badRequest(`"${path}" is a parcel's path, written only by the parcel API (POST /api/v1/parcels); pick another path.`, 'invalid_key');
    }
  }

  async put(owner: Owner, path: string, body: Readable, options: UploadOptions): Promise<{ object: ObjectRecord; created: boolean }> {
    ObjectService.assertWritable(path);
    const { blobKey, size, sha256 } = await this.storeBlob(owner, body, options);
    return this.commit(owner.id, newObjectRecord(path, blobKey, size, sha256, options.contentType));
  }

  /** Content addressing: the path is the body's SHA-256; the same bytes again change nothing. */
  async putContentAddressed(owner: Owner, body: Readable, options: UploadOptions): Promise<{ object: ObjectRecord; created: boolean }> {
    const { blobKey, size, sha256 } = await this.storeBlob(owner, body, options);
    const object = newObjectRecord(sha256, blobKey, size, sha256, options.contentType);
    // Checked inside the index write, so two uploads of the same bytes at once still keep one.
    let existing: ObjectRecord | undefined;
    const unchanged = new Error('the same bytes are there already');
    try {
      return await this.commit(owner.id, object, (current) => {
        if (current?.sha256 !== sha256) return;
        existing = current;
        throw unchanged;
      });
    } catch (e) {
      if (e !== unchanged) throw e;
      return { object: existing!, created: false }; // commit dropped the new blob
    }
  }

  /**
   * Streams `body` into a fresh, unguessable blob of `owner` (every version of every object gets
   * its own), checked against `expectedSha256` when given. Nothing points at it yet.
   */
  async storeBlob(owner: Owner, body: Readable, options: UploadOptions): Promise<StoredBlob> {
    const blobKey = this.blobs.newKey(owner.username);
    const { size, sha256 } = await this.blobs.put(blobKey, body, this.blobOptions(options));
    return { blobKey, size, sha256 };
  }

  /** Drops a blob nothing points at any more (a failed delete leaves an orphan for the sweep). */
  async discardBlob(blobKey: string): Promise<void> {
    await this.blobs.delete(blobKey).catch(() => {});
  }

  /** Points the path at the new blob, then drops the blob it replaced (a crash in between leaves an orphan). */
  private async commit(
    owner: string,
    object: ObjectRecord,
    check?: (current: ObjectRecord | undefined) => void,
  ): Promise<{ object: ObjectRecord; created: boolean }> {
    let previous: ObjectRecord | undefined;
    try {
      ({ previous } = await this.store.objectPut(owner, object, check));
    } catch (e) {
      await this.discardBlob(object.blobKey);
      throw e;
    }
    if (previous && previous.blobKey !== object.blobKey) await this.discardBlob(previous.blobKey);
    return { object: previous ? { ...object, createdAt: previous.createdAt } : object, created: !previous };
  }

  private blobOptions(options: UploadOptions) {
    if (options.expectedSha256 !== undefined && !isSha256Hex(options.expectedSha256)) {
      throw badRequest('x-coffer-sha256 must be 64 hex digits (the SHA-256 of the body).');
    }
    return {
      ...(options.contentType ? { contentType: options.contentType } : {}),
      ...(options.expectedSha256 ? { expectedSha256: options.expectedSha256 } : {}),
      ...(options.size !== undefined ? { size: options.size } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    };
  }

  async get(owner: string, path: string): Promise<ObjectRecord> {
    await this.settlePending(owner, path, (p) => p === path);
    const object = await this.store.objectGet(owner, path);
    if (!object) throw notFound(`No object "${path}".`);
    return object;
  }

  /**
   * Indexes uploads that went straight to the object store through a presigned URL: a blob that
   * arrived is read once for its size and SHA-256 and becomes the object; one that never arrived
   * is forgotten once its URL has expired. Only stores that presign (S3) have any.
   */
  private async settlePending(owner: string, prefix: string, select: (path: string) => boolean = () => true): Promise<void> {
    if (!this.blobs.presign) return;
    for (const pending of await this.store.pendingUploads(owner, prefix)) {
      if (select(pending.path)) await this.settle(pending);
    }
  }

  /** Settles every pending upload whose URL has expired (the periodic sweep). */
  async sweepPending(now = Date.now()): Promise<void> {
    if (!this.blobs.presign) return;
    for (const pending of await this.store.expiredPendingUploads(now, 100)) await this.settle(pending, now);
  }

  private async settle(pending: PendingUpload, now = Date.now()): Promise<void> {
    const stream = await this.blobs.get(pending.blobKey);
    if (!stream) {
      if (pending.expiresAt <= now) await this.store.removePendingUpload(pending.owner, pending.blobKey);
      return;
    }
    const counter = new HashingCounter();
    await pipeline(stream, counter, async (chunks: AsyncIterable<Buffer>) => {
      for await (const _ of chunks); // only the hash and the size are wanted
    });
    const object = newObjectRecord(pending.path, pending.blobKey, counter.size, counter.digest(), pending.contentType ?? undefined);
    await this.commit(pending.owner, object);
    await this.store.removePendingUpload(pending.owner, pending.blobKey);
  }

  /**
   * Deletes blobs no index entry and no pending upload points at, once they are older than
   * `graceMs` (an upload commits its blob moments before its index entry: younger ones may be
   * on their way). These are what a crash between the two steps, or a failed delete, leaves.
   */
  async sweepOrphans(graceMs: number, now = Date.now()): Promise<number> {
    let removed = 0;
    for await (const { key, modifiedAt } of this.blobs.list()) {
      if (now - modifiedAt < graceMs) continue;
      if ((await this.store.objectBlobInUse(key)) || (await this.store.pendingBlobExists(key))) continue;
      await this.blobs.delete(key);
      removed++;
    }
    if (this.blobs.sweepIncomplete) removed += await this.blobs.sweepIncomplete(graceMs);
    return removed;
  }

  /** Remembers an upload about to be presigned straight to the store. */
  async expectDirectUpload(owner: Owner, path: string, contentType: string | undefined, expiresAt: number): Promise<string> {
    const blobKey = this.blobs.newKey(owner.username);
    await this.store.addPendingUpload({ owner: owner.id, blobKey, path, contentType: contentType ?? null, expiresAt, createdAt: Date.now() });
    return blobKey;
  }

  /** The bytes (or a range); a blob gone missing behind the index is reported, not hidden. */
  async open(object: ObjectRecord, range?: { start: number; end: number }): Promise<Readable> {
    const stream = await this.blobs.get(object.blobKey, range);
    if (!stream) throw new Error(`blob ${object.blobKey} of object ${object.path} is missing from the ${this.blobs.kind} store`);
    return stream;
  }

  /** Deletes an object; a parcel's object takes its parcel with it. */
  async delete(owner: string, path: string): Promise<void> {
    const parcelId = parcelIdOfPath(path);
    const removed = parcelId ? await this.store.parcelDelete(owner, parcelId, path) : await this.store.objectDelete(owner, path);
    if (!removed) throw notFound(`No object "${path}".`);
    await this.discardBlob(removed.blobKey);
  }

  /** Deletes every object of an owner (when the user is deleted). */
  async deleteAll(owner: string): Promise<void> {
    for (;;) {
      const batch = await this.store.objectList(owner, { prefix: '', limit: 500 });
      if (batch.length === 0) return;
      for (const o of batch) {
        await this.store.objectDelete(owner, o.path);
        await this.discardBlob(o.blobKey);
      }
    }
  }

  /**
   * S3-style listing: paths starting with `prefix` in byte order; with delimiter "/", one level
   * (deeper paths folded into `prefixes`). The cursor is the last path or prefix returned.
   */
  async list(owner: string, options: { prefix: string; cursor?: string; limit?: number; delimiter?: string }): Promise<ObjectListing> {
    const limit = options.limit ?? DEFAULT_OBJECT_LIST_LIMIT;
    const { prefix, delimiter } = options;
    if (delimiter !== undefined && delimiter !== '/') throw badRequest('"delimiter" can only be "/".');
    await this.settlePending(owner, prefix);
    let after = options.cursor === undefined ? undefined : decodeCursor(options.cursor, prefix);
    // Entries are objects, or (with the delimiter) folded prefixes; one more than a page tells
    // whether there is a next page.
    const entries: Array<ObjectRecord | string> = [];
    while (entries.length <= limit) {
      const wanted = limit + 1 - entries.length;
      const batch = await this.store.objectList(owner, { prefix, ...(after !== undefined ? { after } : {}), limit: wanted });
      let skipped = false;
      for (const o of batch) {
        const slash = delimiter ? o.path.indexOf('/', prefix.length) : -1;
        if (slash < 0) {
          entries.push(o);
          after = o.path;
        } else {
          const folded = o.path.slice(0, slash + 1);
          entries.push(folded);
          after = skipPast(folded);
          skipped = true;
          break; // everything below `folded` is skipped by the next query
        }
        if (entries.length > limit) break;
      }
      if (!skipped && batch.length < wanted) break;
    }
    const page = entries.slice(0, limit);
    const last = page[page.length - 1];
    return {
      objects: page.filter((e): e is ObjectRecord => typeof e !== 'string').map(toObjectView),
      ...(delimiter ? { prefixes: page.filter((e): e is string => typeof e === 'string') } : {}),
      cursor: entries.length > limit && last !== undefined ? encodeCursor(prefix, typeof last === 'string' ? skipPast(last) : last.path) : null,
    };
  }
}

export function newObjectRecord(path: string, blobKey: string, size: number, sha256: string, contentType: string | undefined): ObjectRecord {
  const now = Date.now();
  return { path, blobKey, size, sha256, contentType: contentType ?? 'application/octet-stream', createdAt: now, updatedAt: now };
}

/** A string that sorts after every path below `folded` (which ends in "/") and before the next sibling. */
function skipPast(folded: string): string {
  return folded + '\u{10FFFF}';
}

function encodeCursor(prefix: string, after: string): string {
  return Buffer.from(JSON.stringify([prefix, after])).toString('base64url');
}

function decodeCursor(cursor: string, prefix: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString());
  } catch {
    parsed = undefined;
  }
  const [p, after] = Array.isArray(parsed) ? parsed : [];
  if (p !== prefix || typeof after !== 'string') {
    throw badRequest('The cursor does not belong to this listing; pass the "cursor" of the previous page unchanged.');
  }
  return after;
}

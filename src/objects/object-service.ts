/**
 * Objects (parcels) of SPEC §4: bytes stream into the BlobStore under a fresh key, and only then
 * does the index point the path at them. So a cut or refused upload is never visible, a reader
 * of the old version is never disturbed, and a crash between the two steps leaves at worst an
 * orphan blob (removed by the sweeper), never an index entry pointing at nothing.
 */
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { badRequest, notFound } from '../errors.js';
import type { ObjectPath } from '../paths/key-path.js';
import type { BlobStore, ByteRange } from '../objects/blob-store.js';
import { SmallBlobCache } from './small-blob-cache.js';
import { HashingCounter, isSha256Hex } from '../util/hashing.js';
import type { Clock } from '../util/clock.js';
import { listObjects, type ListOptions, type ObjectListing } from './object-listing.js';
import type { ObjectIndex, ObjectRecord, PendingUpload } from './object-index.js';

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

/** Who owns an upload: the index keys by id, a bucket-per-user store files by name. */
export interface Owner {
  id: string;
  username: string;
}

/**
 * Paths another module writes (the parcel API's `parcels/{id}`): refused to object writers, and
 * deleted through that module, which removes what it keeps beside them.
 */
export interface ReservedPaths {
  /** Why `path` may not be written through /v1/objects, if it may not. */
  refusal(path: string): string | undefined;
  /** Deletes the object at `path` with what belongs to it; undefined when the path is not reserved. */
  delete(owner: string, path: string): Promise<ObjectRecord | undefined> | undefined;
}

export class ObjectService {
  constructor(
    private readonly index: ObjectIndex,
    private readonly blobs: BlobStore,
    private readonly reserved: ReservedPaths,
    private readonly clock: Clock,
    private readonly smallBlobs = new SmallBlobCache(),
  ) {}

  /** Refuses writes to reserved paths (parcels). */
  assertWritable(path: ObjectPath): void {
    const refusal = this.reserved.refusal(path);
    if (refusal) throw badRequest(refusal, 'invalid_key');
  }

  async put(owner: Owner, path: ObjectPath, body: Readable, options: UploadOptions): Promise<{ object: ObjectRecord; created: boolean }> {
    this.assertWritable(path);
    const { blobKey, size, sha256 } = await this.storeBlob(owner, body, options);
    const { object, previous } = await this.commit(owner.id, this.newRecord(path, blobKey, size, sha256, options.contentType));
    return { object, created: !previous };
  }

  /** Content addressing: the path is the body's SHA-256; the same bytes again change nothing. */
  async putContentAddressed(owner: Owner, body: Readable, options: UploadOptions): Promise<{ object: ObjectRecord; created: boolean }> {
    const { blobKey, size, sha256 } = await this.storeBlob(owner, body, options);
    // Checked inside the index write, so two uploads of the same bytes at once still keep one.
    const record = this.newRecord(sha256, blobKey, size, sha256, options.contentType);
    const { object, previous } = await this.commit(owner.id, record, (current) => current?.sha256 !== sha256);
    return { object, created: !previous };
  }

  /**
   * Streams `body` into a fresh, unguessable blob of `owner` (every version of every object gets
   * its own), checked against `expectedSha256` when given. Nothing points at it yet.
   */
  async storeBlob(owner: Owner, body: Readable, options: UploadOptions): Promise<StoredBlob> {
    if (options.expectedSha256 !== undefined && !isSha256Hex(options.expectedSha256)) {
      throw badRequest('x-coffer-sha256 must be 64 hex digits (the SHA-256 of the body).');
    }
    const blobKey = this.blobs.newKey(owner.username);
    const { size, sha256 } = await this.blobs.put(blobKey, body, {
      ...(options.contentType ? { contentType: options.contentType } : {}),
      ...(options.expectedSha256 ? { expectedSha256: options.expectedSha256 } : {}),
      ...(options.size !== undefined ? { size: options.size } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    return { blobKey, size, sha256 };
  }

  /** Drops a blob nothing points at any more (a failed delete leaves an orphan for the sweep). */
  async discardBlob(blobKey: string): Promise<void> {
    await this.blobs.delete(blobKey).catch(() => {});
  }

  /**
   * Points the path at the new blob (unless `write` says no), then drops the blob that lost: the
   * one replaced, or the new one when nothing was written. A crash in between leaves an orphan.
   */
  private async commit(
    owner: string,
    record: ObjectRecord,
    write?: (current: ObjectRecord | undefined) => boolean,
    ifIndexFails: 'discard' | 'keep' = 'discard',
  ): Promise<{ object: ObjectRecord; previous: ObjectRecord | undefined }> {
    let result: Awaited<ReturnType<ObjectIndex['put']>>;
    try {
      result = await this.index.put(owner, record, write);
    } catch (e) {
      if (ifIndexFails === 'discard') await this.discardBlob(record.blobKey);
      throw e;
    }
    const { previous, written } = result;
    if (!written) {
      await this.discardBlob(record.blobKey);
      return { object: previous!, previous };
    }
    if (previous && previous.blobKey !== record.blobKey) await this.discardBlob(previous.blobKey);
    return { object: previous ? { ...record, createdAt: previous.createdAt } : record, previous };
  }

  newRecord(path: string, blobKey: string, size: number, sha256: string, contentType: string | undefined): ObjectRecord {
    const now = this.clock.now();
    return { path, blobKey, size, sha256, contentType: contentType ?? 'application/octet-stream', createdAt: now, updatedAt: now };
  }

  /** The index entry at `path`, as it stands. */
  find(owner: string, path: ObjectPath): Promise<ObjectRecord | undefined> {
    return this.index.get(owner, path);
  }

  /** The object at `path`; an upload presigned straight to the store there is indexed first. */
  async get(owner: string, path: string): Promise<ObjectRecord> {
    // Only stores that presign (S3) can have uploads that went around Coffer.
    const found = this.blobs.presign ? await this.index.getWithPending(owner, path) : { object: await this.index.get(owner, path), pending: false };
    let object = found.object;
    if (found.pending) {
      await this.settlePending(owner, path, (p) => p === path);
      object = await this.index.get(owner, path);
    }
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
    for (const pending of await this.index.pending(owner, prefix)) {
      if (select(pending.path)) await this.settle(pending);
    }
  }

  /** Indexes one presigned upload if its bytes arrived; forgets it once its URL expired unused. */
  async settle(pending: PendingUpload): Promise<void> {
    const stream = await this.blobs.get(pending.blobKey);
    if (!stream) {
      if (pending.expiresAt <= this.clock.now()) await this.index.removePending(pending.owner, pending.blobKey);
      return;
    }
    const counter = new HashingCounter();
    await pipeline(stream, counter, async (chunks: AsyncIterable<Buffer>) => {
      for await (const _ of chunks); // only the hash and the size are wanted
    });
    // The client's bytes stay if the index cannot take them now: the pending entry remains, and a
    // later read settles it again.
    const record = this.newRecord(pending.path, pending.blobKey, counter.size, counter.digest(), pending.contentType ?? undefined);
    await this.commit(pending.owner, record, undefined, 'keep');
    await this.index.removePending(pending.owner, pending.blobKey);
  }

  /** Remembers an upload about to be presigned straight to the store; resolves its blob key. */
  async expectDirectUpload(owner: Owner, path: ObjectPath, contentType: string | undefined, expiresAt: number): Promise<string> {
    const blobKey = this.blobs.newKey(owner.username);
    await this.index.addPending({ owner: owner.id, blobKey, path, contentType: contentType ?? null, expiresAt, createdAt: this.clock.now() });
    return blobKey;
  }

  /** The bytes (or a range); a blob gone missing behind the index is reported, not hidden. */
  async open(object: ObjectRecord, range?: ByteRange): Promise<Readable> {
    const stream = await this.blobs.get(object.blobKey, range ?? wholeOf(object));
    if (!stream) throw new Error(`blob ${object.blobKey} of object ${object.path} is missing from the ${this.blobs.kind} store`);
    return stream;
  }

  /**
   * The bytes to answer with. A small object comes from memory, or is read at once and kept
   * (when the store reads small blobs at once); the rest is streamed.
   */
  async bytesToSend(object: ObjectRecord, range?: ByteRange): Promise<Readable | Buffer> {
    const whole = object.size > 0 && object.size <= this.smallBlobs.entryBytes ? this.smallBlob(object) : undefined;
    if (whole) return range ? whole.subarray(range.start, range.end + 1) : whole;
    return this.open(object, range);
  }

  private smallBlob(object: ObjectRecord): Buffer | undefined {
    const kept = this.smallBlobs.get(object.blobKey);
    if (kept) return kept;
    const read = this.blobs.readSmall?.(object.blobKey, wholeOf(object)!);
    if (read) this.smallBlobs.set(object.blobKey, read);
    return read;
  }

  /** Deletes an object; a reserved path's object takes what belongs to it along. */
  async delete(owner: string, path: ObjectPath): Promise<void> {
    const removed = await (this.reserved.delete(owner, path) ?? this.index.delete(owner, path));
    if (!removed) throw notFound(`No object "${path}".`);
    await this.discardBlob(removed.blobKey);
  }

  /** Deletes every object of an owner and their blobs (when the user is deleted). */
  async deleteAll(owner: string): Promise<void> {
    for (let keys = await this.index.deleteSome(owner, 500); keys.length > 0; keys = await this.index.deleteSome(owner, 500)) {
      for (const key of keys) await this.discardBlob(key);
    }
  }

  /** S3-style listing (object-listing.ts), presigned uploads below the prefix indexed first. */
  async list(owner: string, options: ListOptions): Promise<ObjectListing> {
    if (options.delimiter !== undefined && options.delimiter !== '/') throw badRequest('"delimiter" can only be "/".');
    await this.settlePending(owner, options.prefix);
    return listObjects(this.index, owner, options);
  }
}

/** The whole object as a range (none when empty): it tells the store how much to read. */
function wholeOf(object: ObjectRecord): ByteRange | undefined {
  return object.size > 0 ? { start: 0, end: object.size - 1 } : undefined;
}

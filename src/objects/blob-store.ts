/**
 * The BlobStore port: where parcel bytes live. Two implementations (local filesystem, S3) pass
 * one contract suite. Keys are opaque ids chosen by Coffer (never user paths), so a store never
 * has to defend itself against traversal; each version of an object gets a fresh key, so a
 * replacement or a failed upload never touches the bytes readers are using.
 */
import type { Readable } from 'node:stream';

export interface PutResult {
  size: number;
  /** Lowercase hex SHA-256 of the bytes, computed while they streamed through Coffer. */
  sha256: string;
}

export interface PutOptions {
  contentType?: string;
  /** When set, the bytes are committed only if their SHA-256 (hex, any case) matches. */
  expectedSha256?: string;
  /** Refuse (and store nothing) past this many bytes. */
  maxBytes?: number;
  /** The body's length when the client declared it (Content-Length): lets S3 take one streamed PUT. */
  size?: number;
  /** Fires when the upload is no longer wanted (its client went away): the store stops at once. */
  signal?: AbortSignal;
}

/** An inclusive byte range, as in HTTP. */
export interface ByteRange {
  start: number;
  end: number;
}

export interface PresignedRequest {
  url: string;
  method: 'GET' | 'PUT';
  headers: Record<string, string>;
}

export interface BlobStore {
  readonly kind: 'fs' | 's3';
  /** A fresh key for a blob of user `owner` (a username): a store with a bucket per user files it there. */
  newKey(owner: string): string;
  /** Streams `body` in; nothing is visible under `key` unless the whole body arrived and checked out. */
  put(key: string, body: Readable, options?: PutOptions): Promise<PutResult>;
  /** Streams the bytes (or a range of them) out; undefined when there is no such blob. */
  get(key: string, range?: ByteRange): Promise<Readable | undefined>;
  /** A small range read at once, when the store can do that cheaply (fs); undefined otherwise. */
  readSmall?(key: string, range: ByteRange): Buffer | undefined;
  head(key: string): Promise<{ size: number } | undefined>;
  /** Removes the blob; a missing one is not an error. */
  delete(key: string): Promise<void>;
  /** Every blob with when it was last written, for sweeps of orphans. */
  list(): AsyncIterable<{ key: string; modifiedAt: number }>;
  /** Removes the traces of writes that died midway (fs temp files) older than `olderThanMs`. */
  sweepIncomplete?(olderThanMs: number): Promise<number>;
  /** The store's own presigned URL, when it has them (S3); Coffer signs its own otherwise. */
  presign?(key: string, method: 'GET' | 'PUT', expiresInSeconds: number, contentType?: string): Promise<PresignedRequest>;
  /** Checks the store answers (readiness). */
  ping(): Promise<void>;
}

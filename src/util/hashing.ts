import { createHash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { HashMismatchError, TooLargeError } from '../errors.js';

/** 64 hex digits, in either case: the form of a SHA-256 a client sends. */
export function isSha256Hex(value: string): boolean {
  return /^[0-9a-fA-F]{64}$/.test(value);
}

/**
 * Passes bytes through unchanged while counting them and hashing them with SHA-256; fails the
 * stream with TooLargeError once more than `maxBytes` went by.
 */
export class HashingCounter extends Transform {
  size = 0;
  private readonly hash = createHash('sha256');

  /** `buffer`: how much may wait on each side (more lets the socket be read while a write is under way). */
  constructor(
    private readonly maxBytes = Number.POSITIVE_INFINITY,
    buffer?: number,
  ) {
    super(buffer ? { highWaterMark: buffer } : {});
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.size += chunk.length;
    if (this.size > this.maxBytes) {
      callback(new TooLargeError(this.maxBytes));
      return;
    }
    this.hash.update(chunk);
    callback(null, chunk);
  }

  /** Valid once the stream has ended. */
  digest(): string {
    return this.hash.digest('hex');
  }
}

/** Throws when `actual` is not the SHA-256 the client announced (any case). */
export function checkSha256(expected: string | undefined, actual: string): void {
  if (expected !== undefined && expected.toLowerCase() !== actual) throw new HashMismatchError(expected, actual);
}

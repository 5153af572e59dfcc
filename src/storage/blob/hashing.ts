import { createHash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { CofferError } from '../../errors.js';

/**
 * Passes bytes through unchanged while counting them and hashing them with SHA-256; fails the
 * stream with 413 once more than `maxBytes` went by.
 */
/** 64 hex digits, in either case: the form of a SHA-256 a client sends. */
export function isSha256Hex(value: string): boolean {
  return /^[0-9a-fA-F]{64}$/.test(value);
}

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
      callback(new CofferError(413, 'payload_too_large', `The body is larger than the ${this.maxBytes} bytes allowed here.`));
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

export function hashMismatch(expected: string, actual: string): CofferError {
  return new CofferError(400, 'hash_mismatch', `The body's SHA-256 is ${actual}, not the ${expected.toLowerCase()} that was announced; nothing was stored.`);
}

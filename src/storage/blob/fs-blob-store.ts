/**
 * BlobStore on the local filesystem: `<root>/<k0k1>/<k2k3>/<key>`, two levels of 256 shards.
 * A write goes to a temp file in the final directory, is fsynced, renamed into place, and the
 * directory is fsynced: a reader sees the whole blob or none. Temp files of a crashed write are
 * named `.tmp-*` and removed by `sweepIncomplete`.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import { mkdir, open, readdir, rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { BlobStore, ByteRange, PutOptions, PutResult } from '../../objects/blob-store.js';
import { syncDir } from '../../util/atomic-file.js';
import { checkSha256, HashingCounter } from '../../util/hashing.js';

const KEY = /^[0-9a-z]{16,128}$/;
const WRITE_BATCH = 1024 * 1024;
const READ_CHUNK = 1024 * 1024;
const SMALL_READ_CHUNK = 64 * 1024;
/**
 * Up to this many bytes are read at once, synchronously: three thread-pool round trips (open,
 * read, close) cost a small GET more than the reads themselves (a 4 KiB GET ran at a third of a
 * KV GET). A cached 64 KiB read blocks the event loop for microseconds.
 */
const SMALL_READ = 64 * 1024;

export class FsBlobStore implements BlobStore {
  readonly kind = 'fs';

  constructor(private readonly root: string) {}

  newKey(): string {
    return randomBytes(16).toString('hex');
  }

  private pathOf(key: string): string {
    // Keys are Coffer's own ids; anything else is a bug, and must never become a path.
    if (!KEY.test(key)) throw new Error(`invalid blob key ${JSON.stringify(key)}`);
    return path.join(this.root, key.slice(0, 2), key.slice(2, 4), key);
  }

  async put(key: string, body: Readable, options: PutOptions = {}): Promise<PutResult> {
    const final = this.pathOf(key);
    const dir = path.dirname(final);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const tmp = path.join(dir, `.tmp-${key}-${randomBytes(6).toString('hex')}`);
    const file = await open(tmp, 'wx', 0o600);
    const counter = new HashingCounter(options.maxBytes, 2 * WRITE_BATCH);
    let committed = false;
    try {
      await pipeline(body, counter, async (chunks: AsyncIterable<Buffer>) => {
        // Socket chunks are ~64 KiB; gathering them into 1 MiB writes saves most of the syscalls.
        let batch: Buffer[] = [];
        let batched = 0;
        for await (const chunk of chunks) {
          batch.push(chunk);
          batched += chunk.length;
          if (batched >= WRITE_BATCH) {
            await file.writev(batch);
            [batch, batched] = [[], 0];
          }
        }
        if (batch.length > 0) await file.writev(batch);
      }, options.signal ? { signal: options.signal } : {});
      await file.sync();
      const sha256 = counter.digest();
      checkSha256(options.expectedSha256, sha256);
      await file.close();
      await rename(tmp, final);
      committed = true;
      await syncDir(dir);
      return { size: counter.size, sha256 };
    } finally {
      if (!committed) {
        await file.close().catch(() => {});
        await unlink(tmp).catch(() => {});
      }
    }
  }

  async get(key: string, range?: ByteRange): Promise<Readable | undefined> {
    const file = this.pathOf(key);
    try {
      // Opening first turns a missing blob into undefined rather than a stream error later.
      const handle = await open(file, 'r');
      // Big reads save syscalls on big blobs, but each allocates its whole buffer: a 4 KiB object
      // read with 1 MiB chunks costs a megabyte per GET. Read no more than is wanted.
      const highWaterMark = range ? Math.min(READ_CHUNK, Math.max(1, range.end - range.start + 1)) : SMALL_READ_CHUNK;
      return handle.createReadStream({ highWaterMark, ...(range ? { start: range.start, end: range.end } : {}) });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  }

  /** A small range (SMALL_READ bytes at most) in one synchronous read; undefined for a larger one or a missing blob. */
  readSmall(key: string, range: ByteRange): Buffer | undefined {
    if (range.end - range.start >= SMALL_READ) return undefined;
    let fd: number;
    try {
      fd = openSync(this.pathOf(key), 'r');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
    try {
      const bytes = Buffer.allocUnsafe(range.end - range.start + 1);
      let filled = 0;
      while (filled < bytes.length) {
        const n = readSync(fd, bytes, filled, bytes.length - filled, range.start + filled);
        if (n === 0) throw new Error(`blob ${key} is shorter than its index entry says`);
        filled += n;
      }
      return bytes;
    } finally {
      closeSync(fd);
    }
  }

  async head(key: string): Promise<{ size: number } | undefined> {
    const s = await stat(this.pathOf(key)).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return undefined;
      throw e;
    });
    return s && { size: s.size };
  }

  async delete(key: string): Promise<void> {
    await unlink(this.pathOf(key)).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOENT') throw e;
    });
  }

  /** Every file in the shard directories, with its name and its path. */
  private async *files(): AsyncIterable<{ name: string; file: string }> {
    for (const a of await readdirOrEmpty(this.root)) {
      for (const b of await readdirOrEmpty(path.join(this.root, a))) {
        const dir = path.join(this.root, a, b);
        for (const name of await readdirOrEmpty(dir)) yield { name, file: path.join(dir, name) };
      }
    }
  }

  async *list(): AsyncIterable<{ key: string; modifiedAt: number }> {
    for await (const { name, file } of this.files()) {
      if (!KEY.test(name)) continue;
      const s = await stat(file).catch(() => undefined);
      if (s) yield { key: name, modifiedAt: s.mtimeMs };
    }
  }

  /** Removes temp files older than `olderThanMs` (left by a crash mid-write). */
  async sweepIncomplete(olderThanMs: number, now = Date.now()): Promise<number> {
    let removed = 0;
    for await (const { name, file } of this.files()) {
      if (!name.startsWith('.tmp-')) continue;
      const s = await stat(file).catch(() => undefined);
      if (s && now - s.mtimeMs > olderThanMs) {
        await unlink(file).catch(() => {});
        removed++;
      }
    }
    return removed;
  }

  async ping(): Promise<void> {
    await mkdir(this.root, { recursive: true, mode: 0o700 });
    await stat(this.root);
  }
}

async function readdirOrEmpty(dir: string): Promise<string[]> {
  return readdir(dir).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return [];
    throw e;
  });
}

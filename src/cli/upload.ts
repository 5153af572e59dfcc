/**
 * `coffer upload`: a file, a directory (recursively) or stdin. A file goes from disk to the socket
 * through two reused 1 MiB buffers (raw-http.ts): no web streams, no garbage per chunk, and the
 * memory held is the same whatever the size. Stdin (and a file when there is no token to send)
 * takes the client's path, piped into node:http (node-fetch.ts). The bar reads the byte count ten
 * times a second instead of being called per chunk.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { encodePath } from '../client/bytes.js';
import { errorFromResponse } from '../client/errors.js';
import { jsonOf } from '../client/http.js';
import type { Coffer, ObjectWritten, UploadedObject } from '../client/index.js';
import { freshAccessToken, withClient } from './connect.js';
import type { CliContext } from './context.js';
import { CliError, EXIT, usageError } from './errors.js';
import { guessContentType } from './kv.js';
import { printJson } from './output.js';
import { progressBar } from './progress.js';
import { RawExchange, requestHead, sendFile, type RawHead } from './raw-http.js';

export interface UploadOptions {
  contentType?: string;
  checksum?: boolean;
  quiet?: boolean;
  json?: boolean;
}

/** Disk reads of 1 MiB: few chunks, few syscalls, few writes to the socket. */
export const CHUNK = 1024 * 1024;

/** Ctrl-C aborts the transfer in flight (the server then keeps nothing of it). */
export function interruptible(): { signal: AbortSignal; done(): void } {
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  process.once('SIGINT', onSigint);
  return { signal: controller.signal, done: () => process.removeListener('SIGINT', onSigint) };
}

/** Every file below `dir`, as paths relative to it with / separators, in a stable order. */
async function walk(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  const entries = await readdir(path.join(dir, prefix), { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : 1));
  for (const e of entries) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...(await walk(dir, rel)));
    else if (e.isFile()) out.push(rel);
  }
  return out;
}

async function sha256OfFile(file: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(file, { highWaterMark: CHUNK }), hash);
  return hash.digest('hex');
}

/** How the raw path tries again: after a refresh (once), and after a connection lost unanswered (once). */
interface Attempt {
  refreshed: boolean;
  /** Send the head, and wait this long for an early answer before the body. */
  probeMs: number;
}

const isConnectionLoss = (e: unknown) => ['ECONNRESET', 'EPIPE'].includes((e as NodeJS.ErrnoException)?.code ?? '');

/**
 * The fast path (raw-http.ts): the file from disk to the socket through two reused buffers.
 * Undefined when there is no token to send (the client's path then uploads).
 *
 * A server that refuses an upload early (401, 403) answers and closes with the body unread,
 * which resets the connection: a write can then fail before the answer is read, and the answer
 * is lost. So a connection lost with no answer is tried once more, waiting a moment after the
 * head for such an answer before sending the body.
 */
async function putRaw(client: Coffer, file: string, target: string, size: number, headers: Record<string, string>, progress: { sent: number }, signal: AbortSignal, attempt: Attempt = { refreshed: false, probeMs: 0 }): Promise<UploadedObject | undefined> {
  const token = await freshAccessToken(client);
  const url = new URL(`${client.url}/v1/objects/${encodePath(target)}`);
  if (!token || (url.protocol !== 'http:' && url.protocol !== 'https:')) return undefined;
  const handle = await open(file, 'r');
  const exchange = new RawExchange(url, requestHead('PUT', url, { ...headers, authorization: `Bearer ${token}`, 'content-length': String(size), accept: 'application/json' }, false), signal);
  let again: Attempt | undefined;
  try {
    progress.sent = 0;
    if (attempt.probeMs > 0) await Promise.race([exchange.head.then(() => undefined, () => undefined), new Promise((resolve) => setTimeout(resolve, attempt.probeMs))]);
    // A refusal can come before the whole body is sent: the answer wins over a failed write.
    const sending = sendFile(exchange, handle, size, progress).then(
      () => undefined,
      (e: unknown) => e,
    );
    let head: RawHead | undefined;
    try {
      head = await exchange.head;
    } catch (e) {
      if (attempt.probeMs > 0 || signal.aborted || !isConnectionLoss(e)) throw e;
      again = { ...attempt, probeMs: 500 };
    }
    if (head) {
      const chunks: Buffer[] = [];
      exchange.onBody((chunk) => chunks.push(Buffer.from(chunk)));
      await exchange.done;
      const failedToSend = await sending;
      const res = new Response(Buffer.concat(chunks), { status: head.status, statusText: head.statusText, headers: head.headers });
      if (head.status === 401 && !attempt.refreshed && client.tokens()?.refreshToken) {
        await client.refresh();
        again = { ...attempt, refreshed: true };
      } else {
        if (!res.ok) throw await errorFromResponse(res);
        if (failedToSend) throw failedToSend;
        return { ...(await jsonOf<ObjectWritten>(res)), created: head.status === 201 };
      }
    }
  } finally {
    exchange.close();
    await handle.close();
  }
  return putRaw(client, file, target, size, headers, progress, signal, again);
}

async function uploadFile(ctx: CliContext, client: Coffer, file: string, target: string, o: UploadOptions, signal: AbortSignal): Promise<UploadedObject> {
  const { size } = await stat(file);
  const bar = progressBar(ctx, target, size, { quiet: o.quiet });
  const sha256 = o.checksum ? await sha256OfFile(file) : undefined;
  const contentType = o.contentType ?? guessContentType(file);
  const progress = { sent: 0 };
  let stop = bar.follow(() => progress.sent);
  try {
    const fast = await putRaw(client, file, target, size, { 'content-type': contentType, ...(sha256 ? { 'x-coffer-sha256': sha256 } : {}) }, progress, signal);
    const answer =
      fast ??
      (await (async () => {
        // A file stream, not fs.openAsBlob: Node 20 reads a file Blob's stream ahead without
        // backpressure, and a 1 GiB upload held the whole file in memory.
        const body = createReadStream(file, { highWaterMark: CHUNK });
        stop();
        stop = bar.follow(() => body.bytesRead);
        try {
          return await client.objects.upload(target, body, { size, contentType, ...(sha256 ? { sha256 } : {}), signal });
        } finally {
          body.destroy();
        }
      })());
    stop();
    bar.finish();
    return answer;
  } catch (e) {
    stop();
    bar.abort();
    if (signal.aborted) throw new CliError('interrupted', EXIT.interrupted);
    throw e;
  }
}

export async function upload(ctx: CliContext, source: string, dest: string | undefined, o: UploadOptions): Promise<void> {
  await withClient(ctx, async ({ client }) => {
    const { signal, done } = interruptible();
    try {
      const results: UploadedObject[] = [];
      let single = true;
      const report = (r: UploadedObject) => {
        results.push(r);
        if (!o.json) ctx.stdout.write(`${r.path}\t${r.size}\t${r.sha256}\n`);
      };
      if (source === '-') {
        if (!dest || dest.endsWith('/')) throw usageError('uploading stdin needs the object path', 'e.g. tar c dir | coffer upload - backups/dir.tar');
        const bar = progressBar(ctx, dest, undefined, { quiet: o.quiet });
        try {
          const body = ctx.stdin as Readable;
          report(await client.objects.upload(dest, body, { contentType: o.contentType ?? 'application/octet-stream', onProgress: (n) => bar.update(n), signal }));
          bar.finish();
        } catch (e) {
          bar.abort();
          throw e;
        }
      } else {
        const info = await stat(source);
        if (info.isDirectory()) {
          // A directory goes up under dest (default: its own name), keeping its tree.
          const base = dest === undefined ? `${path.basename(path.resolve(source))}/` : dest === '' || dest.endsWith('/') ? dest : `${dest}/`;
          const files = await walk(source);
          single = false;
          if (files.length === 0) throw usageError(`${source} holds no files`);
          for (const rel of files) report(await uploadFile(ctx, client, path.join(source, rel), base + rel, o, signal));
          if (!o.json) ctx.stderr.write(`Uploaded ${files.length} file${files.length === 1 ? '' : 's'} to ${base}\n`);
        } else {
          const target = dest === undefined ? path.basename(source) : dest.endsWith('/') ? dest + path.basename(source) : dest;
          report(await uploadFile(ctx, client, source, target, o, signal));
        }
      }
      if (o.json) printJson(ctx, single ? results[0] : results);
    } finally {
      done();
    }
  });
}

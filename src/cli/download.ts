/**
 * `coffer download`: one object to a file or stdout, or with -r every object under a prefix into a
 * directory. To a file, the answer goes from the socket's buffer straight into it (raw-http.ts);
 * to stdout, or when that path declines (an error status, a chunked answer), the client's answer
 * as a Node stream (node-fetch.ts) is piped, with no web-stream hop. Either way each chunk also
 * feeds the SHA-256 the bytes are checked against, in the same pass (unless --no-verify). A file
 * is written beside its target as a hidden .part and renamed when complete and checked.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, writeSync } from 'node:fs';
import { lstat, mkdir, open, realpath, rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import { encodePath } from '../client/bytes.js';
import type { Coffer } from '../client/index.js';
import { freshAccessToken, withClient } from './connect.js';
import type { CliContext } from './context.js';
import { CliError, EXIT, usageError } from './errors.js';
import { takeNodeBody } from './node-fetch.js';
import { printJson } from './output.js';
import { progressBar, type Progress } from './progress.js';
import { framedLength, RawExchange, requestHead } from './raw-http.js';
import { CHUNK, interruptible } from './upload.js';

export interface DownloadOptions {
  recursive?: boolean;
  /** false with --no-verify: no SHA-256 of what arrives (its length is still checked). */
  verify?: boolean;
  quiet?: boolean;
  json?: boolean;
}

interface Written {
  path: string;
  file: string;
  size: number;
  /** What was received's SHA-256, or with --no-verify the server's word. */
  sha256: string | null;
  /** Whether the bytes were checked against the server's SHA-256. */
  verified: boolean;
  content_type: string;
}

const partName = (target: string) => path.join(path.dirname(target), `.${path.basename(target)}.${randomBytes(4).toString('hex')}.part`);

/** Writes one object to `target` (a file path, or - for stdout), checked against its SHA-256. */
async function fetchTo(ctx: CliContext, client: Coffer, objectPath: string, target: string, o: DownloadOptions, signal: AbortSignal): Promise<Written> {
  try {
    return (target !== '-' && (await fetchRaw(ctx, client, objectPath, target, o, signal))) || (await fetchStreamed(ctx, client, objectPath, target, o, signal));
  } catch (e) {
    if (signal.aborted) throw new CliError('interrupted', EXIT.interrupted);
    throw e;
  }
}

/**
 * The checks of a whole answer: its length, and its SHA-256 (`computed`, unless --no-verify)
 * against the server's. What to report as written.
 */
function checked(objectPath: string, target: string, expected: { length: number; sha256: string | null; contentType: string }, received: number, computed: string | undefined): Written {
  if (expected.length >= 0 && received !== expected.length) throw new CliError(`${objectPath}: ${received} bytes received of ${expected.length}`, EXIT.generic, 'download again');
  if (computed && expected.sha256 && expected.sha256 !== computed) {
    throw new CliError(`the bytes received for ${objectPath} do not match its SHA-256 (${expected.sha256})`, EXIT.generic, 'download again');
  }
  const verified = computed !== undefined && expected.sha256 !== null;
  return { path: objectPath, file: target, size: received, sha256: computed ?? expected.sha256, verified, content_type: expected.contentType };
}

/**
 * The fast path (raw-http.ts): socket to file with nothing between. Undefined, having written
 * nothing, when the answer is not a plain 200 with a Content-Length: the client's path then
 * takes the object (errors, a refused token to refresh, a chunked answer).
 */
async function fetchRaw(ctx: CliContext, client: Coffer, objectPath: string, target: string, o: DownloadOptions, signal: AbortSignal): Promise<Written | undefined> {
  const token = await freshAccessToken(client);
  const url = new URL(`${client.url}/v1/objects/${encodePath(objectPath)}`);
  if (!token || (url.protocol !== 'http:' && url.protocol !== 'https:')) return undefined;
  const request = requestHead('GET', url, { authorization: `Bearer ${token}`, accept: '*/*' });
  const tmp = partName(target);
  const file = await open(tmp, 'wx');
  const exchange = new RawExchange(url, request, signal);
  let stop = () => {};
  let bar: Progress | undefined;
  try {
    const head = await exchange.head;
    const length = framedLength(head);
    if (head.status !== 200 || length === undefined || (head.headers['content-encoding'] ?? 'identity') !== 'identity') {
      exchange.close();
      await file.close();
      await unlink(tmp);
      return undefined;
    }
    bar = progressBar(ctx, objectPath, length, { quiet: o.quiet });
    const hash = o.verify === false ? undefined : createHash('sha256');
    let received = 0;
    stop = bar.follow(() => received);
    exchange.onBody((chunk) => {
      for (let at = 0; at < chunk.length; ) at += writeSync(file.fd, chunk, at);
      received += chunk.length;
      hash?.update(chunk);
    });
    await exchange.done;
    stop();
    await file.close();
    const expected = { length, sha256: head.headers['x-coffer-sha256'] ?? null, contentType: head.headers['content-type'] ?? 'application/octet-stream' };
    const written = checked(objectPath, target, expected, received, hash?.digest('hex'));
    await rename(tmp, target);
    bar.finish();
    return written;
  } catch (e) {
    stop();
    bar?.abort();
    exchange.close();
    await file.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
}

/** The client's path: its answer's Node stream piped into the file or stdout. */
async function fetchStreamed(ctx: CliContext, client: Coffer, objectPath: string, target: string, o: DownloadOptions, signal: AbortSignal): Promise<Written> {
  const d = await client.objects.download(objectPath, { signal });
  // Nothing asked for a part or a revalidation: anything but the whole object is not written.
  if (d.response.status !== 200 || (d.size >= 0 && d.length >= 0 && d.size !== d.length)) {
    await d.response.body?.cancel();
    throw new CliError(`${objectPath}: the server answered ${d.response.status} with ${d.length} of ${d.size} bytes instead of the object`, EXIT.generic, 'download again');
  }
  const source = takeNodeBody(d.response) ?? Readable.fromWeb(d.body as NodeReadableStream<Uint8Array>);
  const bar = progressBar(ctx, objectPath, d.length >= 0 ? d.length : undefined, { quiet: o.quiet });
  const hash = o.verify === false ? undefined : createHash('sha256');
  let received = 0;
  const stop = bar.follow(() => received);
  const tmp = target === '-' ? undefined : partName(target);
  try {
    const sink = tmp ? createWriteStream(tmp, { flags: 'wx', highWaterMark: CHUNK }) : (ctx.stdout as NodeJS.WritableStream);
    const piped = pipeline(source, sink, { end: tmp !== undefined, signal });
    // pipeline has attached its own 'data' listener by now and the flow starts on the next tick:
    // this one sees every chunk too, for the count and the checksum (cheaper than a Transform).
    source.on('data', (chunk: Buffer) => {
      received += chunk.length;
      hash?.update(chunk);
    });
    await piped;
    stop();
    const written = checked(objectPath, target, d, received, hash?.digest('hex'));
    if (tmp) await rename(tmp, target);
    bar.finish();
    return written;
  } catch (e) {
    stop();
    bar.abort();
    source.destroy();
    if (tmp) await unlink(tmp).catch(() => undefined);
    throw e;
  }
}

/**
 * Where an object goes below `root`, or undefined when its path is not a plain relative path
 * under `prefix` (a listing is the server's word: "..", "." or empty segments, a path outside the
 * prefix, or one that would resolve outside `root` are never written).
 */
export function localPathOf(root: string, prefix: string, objectPath: string): string | undefined {
  if (!objectPath.startsWith(prefix)) return undefined;
  const segments = objectPath.slice(prefix.length).split('/');
  const bad = (s: string) => s === '' || s === '.' || s === '..' || s.includes('\0') || (path.sep === '\\' && /[\\:]/.test(s));
  if (segments.some(bad)) return undefined;
  const target = path.resolve(root, ...segments);
  return within(root, target) && target !== root ? target : undefined;
}

/** `dir`, or its nearest ancestor that exists. */
async function deepestExisting(dir: string): Promise<string> {
  for (let at = dir; ; at = path.dirname(at)) {
    if ((await lstat(at).catch(() => undefined)) || at === path.dirname(at)) return at;
  }
}

/** Whether `inner` is `outer` or below it. */
function within(outer: string, inner: string): boolean {
  return inner === outer || inner.startsWith(outer.endsWith(path.sep) ? outer : outer + path.sep);
}

/** Every object under `prefixArg` (taken as a folder) into `dest`, keeping the tree below the prefix. */
async function downloadTree(ctx: CliContext, client: Coffer, prefixArg: string, dest: string | undefined, o: DownloadOptions, signal: AbortSignal): Promise<void> {
  const prefix = prefixArg === '' || prefixArg.endsWith('/') ? prefixArg : `${prefixArg}/`;
  // Default: the prefix's last name here, as `coffer upload ./photos` uploads to photos/.
  const dir = dest ?? (prefix === '' ? '.' : path.basename(prefix.slice(0, -1)));
  const root = path.resolve(dir);
  const listed: string[] = [];
  for await (const x of client.objects.listAll({ ...(prefix ? { prefix } : {}) })) listed.push(x.path);
  if (listed.length === 0) throw new CliError(`no object under ${prefix || 'the root'}`, EXIT.notFound, 'see "coffer objects ls"');
  await mkdir(root, { recursive: true });
  const realRoot = await realpath(root);
  const written: Written[] = [];
  const refused: string[] = [];
  for (const objectPath of listed) {
    const target = localPathOf(root, prefix, objectPath);
    if (!target) {
      refused.push(objectPath);
      ctx.stderr.write(`coffer: not written: ${JSON.stringify(objectPath)} is not a plain path under ${prefix || 'the root'}, it could land outside ${dir}\n`);
      continue;
    }
    // A directory on the way that is a symbolic link already there could lead outside `root`:
    // the deepest one that exists is resolved before anything is made below it.
    const reached = await realpath(await deepestExisting(path.dirname(target))).catch(() => undefined);
    if (!reached || !within(realRoot, reached)) {
      refused.push(objectPath);
      ctx.stderr.write(`coffer: not written: ${JSON.stringify(objectPath)}: a symbolic link in ${dir} leads outside it\n`);
      continue;
    }
    try {
      await mkdir(path.dirname(target), { recursive: true });
      written.push(await fetchTo(ctx, client, objectPath, target, o, signal));
    } catch (e) {
      // A file where a directory should be, or the reverse (objects a and a/b): that one is refused.
      if (!['EEXIST', 'ENOTDIR', 'EISDIR'].includes((e as NodeJS.ErrnoException).code ?? '')) throw e;
      refused.push(objectPath);
      ctx.stderr.write(`coffer: not written: ${JSON.stringify(objectPath)}: ${path.relative(process.cwd(), target)} is in the way (${(e as NodeJS.ErrnoException).code})\n`);
    }
  }
  if (o.json) printJson(ctx, written);
  else ctx.stderr.write(`Downloaded ${written.length} file${written.length === 1 ? '' : 's'} to ${dir}\n`);
  if (refused.length > 0) throw new CliError(`${refused.length} object${refused.length === 1 ? '' : 's'} not written (named above)`, EXIT.generic);
}

export async function download(ctx: CliContext, objectPath: string, dest: string | undefined, o: DownloadOptions): Promise<void> {
  await withClient(ctx, async ({ client }) => {
    const { signal, done } = interruptible();
    try {
      if (o.recursive) {
        if (dest === '-') throw usageError('-r writes files into a directory, not to stdout');
        return await downloadTree(ctx, client, objectPath, dest, o, signal);
      }
      let target = dest ?? path.basename(objectPath);
      if (target !== '-') {
        const existing = await stat(target).catch(() => undefined);
        if (existing?.isDirectory() || target.endsWith('/')) target = path.join(target, path.basename(objectPath));
      }
      const written = await fetchTo(ctx, client, objectPath, target, o, signal);
      if (o.json) printJson(ctx, written);
    } finally {
      done();
    }
  });
}

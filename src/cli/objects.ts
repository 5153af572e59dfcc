/**
 * Objects (parcels): `coffer objects upload|download|ls|inspect|rm|presign`, with `upload`,
 * `download`, `inspect` and `presign` also at the top level. Transfers stream: a file goes up as a
 * Blob read from disk (so a refused token can be refreshed and the upload retried), a download is
 * written to a temporary file beside the target, checked against the server's SHA-256, then renamed.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { readdir, rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Command } from 'commander';
import type { Coffer, UploadedObject } from '../client/index.js';
import { withClient } from './connect.js';
import type { CliContext } from './context.js';
import { CliError, EXIT, usageError } from './errors.js';
import { guessContentType } from './kv.js';
import { printJson, printTable, shortTime } from './output.js';
import { formatBytes, progressBar } from './progress.js';

interface UploadOptions {
  contentType?: string;
  checksum?: boolean;
  quiet?: boolean;
  json?: boolean;
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

const READ_CHUNK = 1024 * 1024;

async function sha256OfFile(file: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(file, { highWaterMark: READ_CHUNK }), hash);
  return hash.digest('hex');
}

async function uploadFile(ctx: CliContext, client: Coffer, file: string, target: string, o: UploadOptions, signal: AbortSignal): Promise<UploadedObject> {
  const { size } = await stat(file);
  const bar = progressBar(ctx, target, size, { quiet: o.quiet });
  try {
    const sha256 = o.checksum ? await sha256OfFile(file) : undefined;
    // A file stream, not fs.openAsBlob: Node 20 reads a file Blob's stream ahead without
    // backpressure, and a 1 GiB upload held the whole file in memory.
    const body = Readable.toWeb(createReadStream(file, { highWaterMark: READ_CHUNK })) as ReadableStream<Uint8Array>;
    const answer = await client.objects.upload(target, body, {
      size,
      contentType: o.contentType ?? guessContentType(file),
      ...(sha256 ? { sha256 } : {}),
      onProgress: (sent, total) => bar.update(sent, total),
      signal,
    });
    bar.finish();
    return answer;
  } catch (e) {
    bar.abort();
    throw e;
  }
}

/** Ctrl-C aborts the transfer in flight (the server then keeps nothing of it). */
function interruptible(): { signal: AbortSignal; done(): void } {
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  process.once('SIGINT', onSigint);
  return { signal: controller.signal, done: () => process.removeListener('SIGINT', onSigint) };
}

async function upload(ctx: CliContext, source: string, dest: string | undefined, o: UploadOptions): Promise<void> {
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
        const body = Readable.toWeb(ctx.stdin as Readable) as ReadableStream<Uint8Array>;
        try {
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

async function download(ctx: CliContext, objectPath: string, dest: string | undefined, o: { quiet?: boolean; json?: boolean }): Promise<void> {
  await withClient(ctx, async ({ client }) => {
    const { signal, done } = interruptible();
    let target = dest ?? path.basename(objectPath);
    if (target !== '-') {
      const existing = await stat(target).catch(() => undefined);
      if (existing?.isDirectory() || target.endsWith('/')) target = path.join(target, path.basename(objectPath));
    }
    const label = objectPath;
    try {
      const d = await client.objects.download(objectPath, { signal });
      const bar = progressBar(ctx, label, d.length >= 0 ? d.length : undefined, { quiet: o.quiet });
      const hash = createHash('sha256');
      let received = 0;
      const counter = new Transform({
        transform(chunk: Buffer, _enc, cb) {
          received += chunk.length;
          hash.update(chunk);
          bar.update(received);
          cb(null, chunk);
        },
      });
      const source = Readable.fromWeb(d.body as import('node:stream/web').ReadableStream<Uint8Array>);
      const tmp = target === '-' ? undefined : path.join(path.dirname(target), `.${path.basename(target)}.${randomBytes(4).toString('hex')}.part`);
      try {
        await pipeline(source, counter, tmp ? createWriteStream(tmp, { flags: 'wx' }) : (ctx.stdout as NodeJS.WritableStream), { end: tmp !== undefined });
        const sha256 = hash.digest('hex');
        if (d.sha256 && d.sha256 !== sha256) throw new CliError(`the bytes received do not match the object's SHA-256 (${d.sha256})`, EXIT.generic, 'download again');
        if (tmp) await rename(tmp, target);
        bar.finish();
        if (o.json) printJson(ctx, { path: objectPath, file: target, size: received, sha256, content_type: d.contentType });
      } catch (e) {
        bar.abort();
        if (tmp) await unlink(tmp).catch(() => undefined);
        throw e;
      }
    } finally {
      done();
    }
  });
}

function addUpload(parent: Command, ctx: CliContext): void {
  parent
    .command('upload')
    .description('upload a file, a directory (recursively) or stdin as objects')
    .argument('<source>', 'a file, a directory, or - for stdin')
    .argument('[dest]', 'object path; ending in / it is a folder (default: the file\'s or directory\'s name)')
    .option('--content-type <type>', 'content type (default: from the file name)')
    .option('--checksum', 'compute the SHA-256 first; the server refuses the upload if what arrives differs')
    .option('-q, --quiet', 'no progress bar')
    .option('--json', 'print the server\'s answer(s) as JSON')
    .addHelpText(
      'after',
      `
Prints one line per object: path, size, SHA-256. A progress bar (bytes, rate, ETA) is drawn on
stderr when it is a terminal.

Examples:
  coffer upload big.iso isos/                    # -> isos/big.iso
  coffer upload ./photos                         # -> photos/... (recursively)
  tar c src | coffer upload - backups/src.tar`,
    )
    .action((source: string, dest: string | undefined, o: UploadOptions) => upload(ctx, source, dest, o));
}

function addDownload(parent: Command, ctx: CliContext): void {
  parent
    .command('download')
    .description('download an object to a file, or to stdout with -')
    .argument('<path>', 'the object')
    .argument('[dest]', 'a file, a directory, or - for stdout (default: its name, here)')
    .option('-q, --quiet', 'no progress bar')
    .option('--json', 'print what was written as JSON (not with -)')
    .addHelpText('after', '\nThe bytes are checked against the object\'s SHA-256; a partial download leaves no file.\n\nExamples:\n  coffer download isos/big.iso\n  coffer download isos/big.iso /tmp/\n  coffer download backups/src.tar - | tar x')
    .action((p: string, dest: string | undefined, o: { quiet?: boolean; json?: boolean }) => download(ctx, p, dest, o));
}

function addInspect(parent: Command, ctx: CliContext): void {
  parent
    .command('inspect')
    .description('show an object\'s metadata')
    .argument('<path>', 'the object')
    .option('--json', 'print it as JSON')
    .addHelpText('after', '\nExample:\n  coffer inspect isos/big.iso --json')
    .action((p: string, o: { json?: boolean }) =>
      withClient(ctx, async ({ client }) => {
        const info = await client.objects.inspect(p);
        if (o.json) return printJson(ctx, info);
        printTable(ctx, [
          ['path', info.path],
          ['size', `${info.size} (${formatBytes(info.size)})`],
          ['sha256', info.sha256],
          ['content_type', info.content_type],
          ['etag', info.etag],
          ['updated_at', info.updated_at],
        ]);
      }),
    );
}

function addPresign(parent: Command, ctx: CliContext): void {
  parent
    .command('presign')
    .description('a URL for one object that works without a token, for a while')
    .argument('<path>', 'the object')
    .option('--put', 'a URL to upload to (default: to download)')
    .option('-e, --expires <seconds>', 'lifetime, at most 604800 (7 days)', '3600')
    .option('--json', 'print the whole answer (url, method, headers, expires_at) as JSON')
    .addHelpText('after', '\nExamples:\n  curl -o big.iso "$(coffer presign isos/big.iso)"\n  curl -T report.pdf "$(coffer presign --put shared/report.pdf -e 600)"')
    .action((p: string, o: { put?: boolean; expires: string; json?: boolean }) =>
      withClient(ctx, async ({ client }) => {
        if (!/^\d+$/.test(o.expires)) throw usageError('--expires is whole seconds');
        const answer = await client.presign({ path: p, method: o.put ? 'PUT' : 'GET', expiresIn: Number(o.expires) });
        if (o.json) return printJson(ctx, answer);
        ctx.stdout.write(answer.url + '\n');
        if (ctx.stderr.isTTY) ctx.stderr.write(`${answer.method}, until ${answer.expires_at}\n`);
      }),
    );
}

export function registerObjects(program: Command, ctx: CliContext): void {
  const objects = program
    .command('objects')
    .alias('obj')
    .description('objects (files of any size): upload, download, ls, inspect, rm, presign')
    .addHelpText('after', '\nupload, download, inspect and presign also work without "objects":\n  coffer upload big.iso isos/\n  coffer objects ls isos/');
  addUpload(objects, ctx);
  addDownload(objects, ctx);
  addInspect(objects, ctx);
  addPresign(objects, ctx);

  objects
    .command('ls')
    .description('list objects under a prefix, one level (folders end with /) or all with -r')
    .argument('[prefix]', 'e.g. isos/ (default: everything)', '')
    .option('-r, --recursive', 'every object below, not one level')
    .option('--json', 'print {"objects": [...], "prefixes": [...]} as JSON')
    .addHelpText('after', '\nExamples:\n  coffer objects ls\n  coffer objects ls isos/ -r --json')
    .action((prefix: string, o: { recursive?: boolean; json?: boolean }) =>
      withClient(ctx, async ({ client }) => {
        const objectsFound: Array<{ path: string; size: number; sha256: string; content_type: string; etag: string; updated_at: string }> = [];
        const prefixes: string[] = [];
        let cursor: string | undefined;
        do {
          const page = await client.objects.list({ ...(prefix ? { prefix } : {}), ...(o.recursive ? {} : { delimiter: '/' as const }), ...(cursor ? { cursor } : {}) });
          objectsFound.push(...page.objects);
          prefixes.push(...(page.prefixes ?? []));
          cursor = page.cursor ?? undefined;
        } while (cursor);
        if (o.json) return printJson(ctx, { objects: objectsFound, ...(o.recursive ? {} : { prefixes }) });
        printTable(
          ctx,
          [...prefixes.map((p) => ['DIR', '', p]), ...objectsFound.map((x) => [formatBytes(x.size), shortTime(x.updated_at), x.path])],
          { alignRight: [0] },
        );
      }),
    );

  objects
    .command('rm')
    .description('delete objects, or with -r every object under a prefix')
    .argument('<paths...>', 'objects, or prefixes with -r')
    .option('-r, --recursive', 'delete every object whose path starts with each prefix')
    .option('--json', 'print the deleted paths as JSON')
    .addHelpText('after', '\nExamples:\n  coffer objects rm isos/big.iso\n  coffer objects rm -r isos/')
    .action((paths: string[], o: { recursive?: boolean; json?: boolean }) =>
      withClient(ctx, async ({ client }) => {
        const deleted: string[] = [];
        for (const p of paths) {
          if (!o.recursive) {
            await client.objects.delete(p);
            deleted.push(p);
            continue;
          }
          const found: string[] = [];
          for await (const x of client.objects.listAll({ prefix: p })) found.push(x.path);
          if (found.length === 0) throw new CliError(`no object under ${p}`, EXIT.notFound);
          for (const x of found) {
            await client.objects.delete(x);
            deleted.push(x);
          }
        }
        if (o.json) printJson(ctx, { deleted });
        else ctx.stderr.write(deleted.length === 1 ? `Deleted ${deleted[0]}\n` : `Deleted ${deleted.length} objects\n`);
      }),
    );

  addUpload(program, ctx);
  addDownload(program, ctx);
  addInspect(program, ctx);
  addPresign(program, ctx);
}

/**
 * Objects (parcels): `coffer objects upload|download|ls|inspect|rm|presign`, with `upload`,
 * `download`, `inspect` and `presign` also at the top level. The transfers live in upload.ts and
 * download.ts, imported when one of them runs; ls, inspect, rm and presign are here.
 */
import type { Command } from 'commander';
import { withClient } from './connect.js';
import type { CliContext } from './context.js';
import { CliError, EXIT, usageError } from './errors.js';
import { printJson, printTable, shortTime } from './output.js';
import { formatBytes } from './progress.js';
import type { UploadOptions } from './upload.js';
import type { DownloadOptions } from './download.js';

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
    .action(async (source: string, dest: string | undefined, o: UploadOptions) => (await import('./upload.js')).upload(ctx, source, dest, o));
}

function addDownload(parent: Command, ctx: CliContext): void {
  parent
    .command('download')
    .description('download an object to a file or stdout, or with -r every object under a prefix into a directory')
    .argument('<path>', 'the object (with -r: a prefix, taken as a folder)')
    .argument('[dest]', 'a file, a directory, or - for stdout (default: its name, here)')
    .option('-r, --recursive', 'every object under the prefix, into dest keeping the tree below the prefix (default dest: the prefix\'s last name)')
    .option('--no-verify', 'skip the SHA-256 check (faster where the CPU is scarce; the length is still checked)')
    .option('-q, --quiet', 'no progress bar')
    .option('--json', 'print what was written as JSON (not with -)')
    .addHelpText(
      'after',
      `
The bytes are checked against the object's SHA-256 as they arrive (unless --no-verify); a
partial download leaves no file. With -r, an object whose path is not a plain path below the
prefix (a "..", "." or empty segment) is not written, and the exit code is then 1.

Examples:
  coffer download isos/big.iso
  coffer download isos/big.iso /tmp/
  coffer download backups/src.tar - | tar x
  coffer download -r photos/                     # -> ./photos/... (the mirror of coffer upload ./photos)
  coffer download -r site/2024 /var/www/2024`,
    )
    .action(async (p: string, dest: string | undefined, o: DownloadOptions) => (await import('./download.js')).download(ctx, p, dest, o));
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

/** The key/value store: `coffer get|put|create|rm|ls`. */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import type { KvPutOptions } from '../client/index.js';
import { withClient } from './connect.js';
import type { CliContext } from './context.js';
import { usageError } from './errors.js';
import { printJson, printLines } from './output.js';
import { readAllStdin } from './prompt.js';

interface WriteOptions {
  file?: string;
  type?: string;
  contentType?: string;
  ttl?: string;
  ifMatch?: string;
  json?: boolean;
}

const CONTENT_TYPES: Record<string, string> = {
  '.json': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
  '.md': 'text/markdown; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
  '.csv': 'text/csv; charset=utf-8',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.svg': 'image/svg+xml',
  '.pdf': 'application/pdf',
};

export function guessContentType(file: string): string {
  return CONTENT_TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
}

function parseTtl(ttl: string | undefined): number | undefined {
  if (ttl === undefined) return undefined;
  if (!/^\d+$/.test(ttl) || Number(ttl) < 1) throw usageError('--ttl is whole seconds, at least 1');
  return Number(ttl);
}

/** The value to send: a string or JSON value from the argument, raw bytes from a file or stdin. */
async function valueOf(ctx: CliContext, arg: string | undefined, o: WriteOptions): Promise<{ value: unknown; contentType?: string }> {
  if (arg !== undefined && o.file !== undefined) throw usageError('give the value as an argument or with -f, not both');
  const type = o.type ?? (arg !== undefined && arg !== '-' ? 'string' : 'bytes');
  if (!['string', 'json', 'bytes'].includes(type)) throw usageError(`--type must be string, json or bytes (not ${type})`);
  let bytes: Buffer | undefined;
  let text = arg;
  if (o.file !== undefined) bytes = await readFile(o.file);
  else if (arg === '-' || arg === undefined) {
    if (arg === undefined && ctx.stdin.isTTY) throw usageError('no value: give it as an argument, with -f <file>, or on stdin with -', 'e.g. coffer put notes/today "buy milk"');
    bytes = await readAllStdin(ctx);
  }
  if (bytes !== undefined) text = bytes.toString('utf8');
  if (type === 'json') {
    try {
      return { value: JSON.parse(text!) as unknown };
    } catch {
      throw usageError('the value is not JSON (--type json)');
    }
  }
  if (type === 'string') return { value: text! };
  const contentType = o.contentType ?? (o.file ? guessContentType(o.file) : 'application/octet-stream');
  return { value: new Uint8Array(bytes ?? Buffer.from(text!, 'utf8')), contentType };
}

async function write(ctx: CliContext, method: 'put' | 'create', key: string, arg: string | undefined, o: WriteOptions): Promise<void> {
  const { value, contentType } = await valueOf(ctx, arg, o);
  const ttl = parseTtl(o.ttl);
  const options: KvPutOptions = { ...(ttl ? { ttl } : {}), ...(contentType ? { contentType } : {}), ...(o.ifMatch ? { ifMatch: o.ifMatch } : {}) };
  await withClient(ctx, async ({ client }) => {
    const result = method === 'put' ? await client.kv.put(key, value, options) : await client.kv.create(key, value, options);
    if (o.json) printJson(ctx, { ...result.answer, created: result.created, etag: result.etag });
    else ctx.stderr.write(`${result.created ? 'Created' : 'Replaced'} ${key}\n`);
  });
}

function writeOptions(cmd: Command, conditional: boolean): Command {
  cmd
    .option('-f, --file <file>', 'the value is this file\'s bytes')
    .option('-t, --type <type>', 'string (default for an argument), json (parse it), bytes (default for -f and stdin)')
    .option('--content-type <type>', 'content type of a bytes value (default: from the file name, else application/octet-stream)')
    .option('--ttl <seconds>', 'the key disappears after this many seconds');
  if (conditional) cmd.option('--if-match <etag>', 'write only if the key still has this ETag (see "coffer get --json")');
  return cmd.option('--json', 'print the server\'s answer as JSON');
}

export function registerKv(program: Command, ctx: CliContext): void {
  program
    .command('get')
    .description('print a key\'s value (strings as text, JSON values as JSON, bytes as they are)')
    .argument('<key>', 'e.g. notes/today')
    .option('-o, --output <file>', 'write the value to this file instead of stdout')
    .option('--json', 'print {"key","value"} (bytes as base64, with "encoding" and "content_type") and the ETag')
    .addHelpText('after', '\nExamples:\n  coffer get notes/today\n  coffer get logo.png -o logo.png\n  coffer get config --json | jq .value')
    .action((key: string, o: { output?: string; json?: boolean }) =>
      withClient(ctx, async ({ client }) => {
        if (o.json) {
          const entry = await client.kv.get(key);
          const raw = entry.value instanceof Uint8Array;
          return printJson(ctx, {
            key: entry.key,
            value: raw ? Buffer.from(entry.value as Uint8Array).toString('base64') : entry.value,
            ...(raw ? { encoding: 'base64', content_type: entry.contentType } : {}),
            etag: entry.etag,
          });
        }
        const entry = await client.kv.get(key);
        const bytes =
          entry.value instanceof Uint8Array
            ? entry.value
            : Buffer.from(typeof entry.value === 'string' ? entry.value : JSON.stringify(entry.value, null, 2), 'utf8');
        if (o.output) return writeFile(o.output, bytes);
        ctx.stdout.write(bytes);
        // Text gets its newline at a terminal; bytes are written exactly.
        if (!(entry.value instanceof Uint8Array) && (ctx.stdout.isTTY || typeof entry.value !== 'string')) ctx.stdout.write('\n');
      }),
    );

  writeOptions(
    program
      .command('put')
      .description('create or replace a key')
      .argument('<key>', 'e.g. notes/today')
      .argument('[value]', 'the value; "-" (or nothing, when piped) reads stdin'),
    true,
  )
    .addHelpText(
      'after',
      `
Examples:
  coffer put notes/today "buy milk"                  # a string
  coffer put settings -t json '{"theme":"dark"}'     # any JSON value
  coffer put logo.png -f logo.png --ttl 3600         # bytes, gone in an hour
  date | coffer put last-run -                        # bytes from stdin`,
    )
    .action((key: string, value: string | undefined, o: WriteOptions) => write(ctx, 'put', key, value, o));

  writeOptions(
    program
      .command('create')
      .description('create a key; fails (exit 5) if it exists')
      .argument('<key>', 'e.g. locks/nightly')
      .argument('[value]', 'the value; "-" (or nothing, when piped) reads stdin'),
    false,
  )
    .addHelpText('after', '\nExamples:\n  coffer create locks/nightly "$(hostname)" --ttl 600 || echo "already running"')
    .action((key: string, value: string | undefined, o: WriteOptions) => write(ctx, 'create', key, value, o));

  program
    .command('rm')
    .description('delete keys, or with -r everything below a directory')
    .argument('<keys...>', 'keys, or directories with -r')
    .option('-r, --recursive', 'delete every key below each directory')
    .option('--json', 'print what was deleted as JSON')
    .addHelpText('after', '\nExamples:\n  coffer rm notes/today\n  coffer rm -r notes/')
    .action((keys: string[], o: { recursive?: boolean; json?: boolean }) =>
      withClient(ctx, async ({ client }) => {
        const results: Array<{ key?: string; dir?: string; deleted: number | boolean }> = [];
        for (const key of keys) {
          if (o.recursive) {
            const n = await client.kv.deleteDir(key);
            results.push({ dir: key, deleted: n });
            if (!o.json) ctx.stderr.write(`Deleted ${n} key${n === 1 ? '' : 's'} below ${key}\n`);
          } else {
            if (key.endsWith('/')) throw usageError(`${key} is a directory`, 'use -r to delete everything below it');
            await client.kv.delete(key);
            results.push({ key, deleted: true });
            if (!o.json) ctx.stderr.write(`Deleted ${key}\n`);
          }
        }
        if (o.json) printJson(ctx, results);
      }),
    );

  program
    .command('ls')
    .description('list a directory of keys (directories end with /)')
    .argument('[dir]', 'e.g. notes/ (default: the root)', '')
    .option('-r, --recursive', 'every key below, not only the direct children')
    .option('--json', 'print {"dir","keys","dirs"} as JSON')
    .addHelpText('after', '\nExamples:\n  coffer ls\n  coffer ls notes/ -r\n  coffer ls --json | jq -r \'.keys[]\'')
    .action((dir: string, o: { recursive?: boolean; json?: boolean }) =>
      withClient(ctx, async ({ client }) => {
        const keys: string[] = [];
        const dirs: string[] = [];
        let cursor: string | undefined;
        let shown = '';
        do {
          const page = await client.kv.list(dir, { ...(o.recursive ? { recursive: true } : {}), ...(cursor ? { cursor } : {}) });
          shown = page.dir;
          keys.push(...page.keys);
          dirs.push(...page.dirs);
          cursor = page.cursor ?? undefined;
        } while (cursor);
        if (o.json) return printJson(ctx, { dir: shown, keys, dirs });
        printLines(ctx, [...dirs, ...keys].sort());
      }),
    );
}

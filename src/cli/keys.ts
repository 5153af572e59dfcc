/** `coffer keys add|ls|rm`: the public keys of clients that sign instead of sending a password. */
import { readFile, stat } from 'node:fs/promises';
import type { Command } from 'commander';
import { withClient } from './connect.js';
import type { CliContext } from './context.js';
import { usageError } from './errors.js';
import { printJson, printTable, shortTime } from './output.js';
import { readAllStdin } from './prompt.js';

/** A key given as a file (PEM or DER), as - (stdin), or as the key itself (hex or base64). */
async function keyOf(ctx: CliContext, arg: string): Promise<string | Uint8Array> {
  if (arg === '-') return (await readAllStdin(ctx)).toString('utf8').trim();
  const info = await stat(arg).catch(() => undefined);
  if (info?.isFile()) {
    const bytes = await readFile(arg);
    const text = bytes.toString('utf8');
    if (text.includes('-----BEGIN')) {
      if (text.includes('PRIVATE KEY')) throw usageError(`${arg} is a private key; register the public one`, 'coffer keygen writes <user>_public.pem beside it');
      return text;
    }
    return /^[\s0-9a-zA-Z+/=_-]+$/.test(text) ? text.trim() : new Uint8Array(bytes);
  }
  if (/^[0-9a-zA-Z+/=_-]{40,}$/.test(arg)) return arg;
  throw usageError(`${arg} is neither a file nor a key`, 'pass a PEM or DER file, a hex or base64 key, or - for stdin');
}

export function registerKeys(program: Command, ctx: CliContext): void {
  const keys = program
    .command('keys')
    .description('public keys that may sign for you (Ed25519, P-256, RSA >= 2048): add, ls, rm')
    .addHelpText('after', '\nExamples:\n  coffer keygen --user alain --type ed25519 && coffer keys add keys/alain_public.pem --label laptop\n  coffer keys ls\n  coffer keys rm 3f2a...');

  keys
    .command('add')
    .description('register a public key')
    .argument('<key>', 'a PEM or DER file, a raw key in hex or base64, or - for stdin')
    .option('-l, --label <label>', 'a name to recognise it by')
    .option('--user <name>', 'register it for another user (admin)')
    .option('--json', 'print the registered key as JSON')
    .addHelpText('after', '\nExamples:\n  coffer keys add keys/alain_public.pem --label laptop\n  coffer keys add 043d1eb4...a79d9 --label amo')
    .action((arg: string, o: { label?: string; user?: string; json?: boolean }) =>
      withClient(ctx, async ({ client }) => {
        const key = await client.keys.add(await keyOf(ctx, arg), { ...(o.label ? { label: o.label } : {}), ...(o.user ? { username: o.user } : {}) });
        if (o.json) return printJson(ctx, key);
        ctx.stdout.write(`${key.id}\n`);
        ctx.stderr.write(`Registered ${/^[aeiou]/.test(key.type) ? "an" : "a"} ${key.type} key${key.label ? ` "${key.label}"` : ''}${key.address ? `, address ${key.address}` : ''}.\n`);
      }),
    );

  keys
    .command('ls')
    .alias('list')
    .description('list your registered keys')
    .option('--json', 'print {"keys": [...]} as JSON')
    .addHelpText('after', '\nExample:\n  coffer keys ls --json')
    .action((o: { json?: boolean }) =>
      withClient(ctx, async ({ client }) => {
        const list = await client.keys.list();
        if (o.json) return printJson(ctx, { keys: list });
        printTable(
          ctx,
          list.map((k) => [k.id, k.type, shortTime(k.created_at), k.label ?? '', k.address ?? '']),
          { header: ['ID', 'TYPE', 'ADDED', 'LABEL', 'ADDRESS'] },
        );
      }),
    );

  keys
    .command('rm')
    .description('remove registered keys')
    .argument('<ids...>', 'key ids (from "coffer keys ls")')
    .addHelpText('after', '\nExample:\n  coffer keys rm 3f2a...')
    .action((ids: string[]) =>
      withClient(ctx, async ({ client }) => {
        for (const id of ids) {
          await client.keys.remove(id);
          ctx.stderr.write(`Removed ${id}\n`);
        }
      }),
    );
}

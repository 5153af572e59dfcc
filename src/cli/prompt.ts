/**
 * Reading a password: from `--password-stdin` (the first line of stdin), from COFFER_PASSWORD, or
 * typed at a terminal prompt without echo. Never from a command-line argument, which other users
 * of the machine can read in the process list and which ends up in shell history.
 */
import type { CliContext } from './context.js';
import { usageError } from './errors.js';

export async function readAllStdin(ctx: CliContext): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of ctx.stdin) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string));
  return Buffer.concat(chunks);
}

/** The first line of stdin (the trailing newline, and a CR before it, removed). */
export async function readStdinLine(ctx: CliContext): Promise<string> {
  const text = (await readAllStdin(ctx)).toString('utf8');
  const nl = text.indexOf('\n');
  return (nl === -1 ? text : text.slice(0, nl)).replace(/\r$/, '');
}

/** Prompts on stderr and reads one line from a terminal without echoing it. */
export function promptHidden(ctx: CliContext, question: string): Promise<string> {
  const input = ctx.stdin;
  if (!input.isTTY || !input.setRawMode) {
    return Promise.reject(usageError('no terminal to ask for the password', 'pipe it with --password-stdin, or set COFFER_PASSWORD'));
  }
  ctx.stderr.write(question);
  return new Promise((resolve, reject) => {
    let value = '';
    const done = (error?: Error) => {
      input.setRawMode!(false);
      input.removeListener('data', onData);
      input.pause();
      ctx.stderr.write('\n');
      if (error) reject(error);
      else resolve(value);
    };
    const onData = (data: Buffer | string) => {
      for (const ch of data.toString('utf8')) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') return done();
        if (ch === '\u0003') return done(Object.assign(new Error('interrupted'), { name: 'AbortError' }));
        if (ch === '\u007f' || ch === '\b') value = [...value].slice(0, -1).join('');
        else if (ch >= ' ') value += ch;
      }
    };
    input.setRawMode!(true);
    input.resume();
    input.on('data', onData);
  });
}

/**
 * The password, from wherever the user said: --password-stdin, then COFFER_PASSWORD, then a prompt
 * (asked twice when `confirm`, for a new password).
 */
export async function readPassword(ctx: CliContext, options: { passwordStdin?: boolean; prompt?: string; confirm?: boolean }): Promise<string> {
  let password: string;
  if (options.passwordStdin) password = await readStdinLine(ctx);
  else if (ctx.env.password !== undefined && ctx.env.password !== '') password = ctx.env.password;
  else {
    password = await promptHidden(ctx, options.prompt ?? 'Password: ');
    if (options.confirm && (await promptHidden(ctx, 'Again: ')) !== password) throw usageError('the two passwords differ');
  }
  if (password === '') throw usageError('empty password');
  return password;
}

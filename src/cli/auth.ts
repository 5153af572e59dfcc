/** `coffer login`, `logout`, `whoami`: the session kept in the config directory. */
import type { Command } from 'commander';
import { CofferError } from '../client/index.js';
import { cliClient, DEFAULT_URL, normalizeUrl, sessionKeeper, withClient } from './connect.js';
import type { CliContext } from './context.js';
import { CliError, EXIT, usageError } from './errors.js';
import { printJson } from './output.js';
import { readPassword } from './prompt.js';
import { readSession, sessionFile, writeSession } from './session.js';

interface LoginOptions {
  user?: string;
  passwordStdin?: boolean;
  scope?: string;
  json?: boolean;
}

async function login(ctx: CliContext, urlArg: string | undefined, options: LoginOptions): Promise<void> {
  const previous = await readSession(ctx.env.configHome);
  const url = normalizeUrl(urlArg ?? ctx.env.url ?? previous?.url ?? DEFAULT_URL);
  const username = options.user ?? (previous?.url === url ? previous.username : undefined);
  if (!username) throw usageError('which user? pass -u <user>', `e.g. coffer login ${url} -u admin`);
  const password = await readPassword(ctx, { passwordStdin: options.passwordStdin, prompt: `Password for ${username} at ${url}: ` });
  const keeper = sessionKeeper(ctx, { url, username });
  const client = cliClient({ url, onTokens: keeper.onTokens });
  try {
    await client.login(username, password, options.scope ? { scope: options.scope } : {});
  } catch (e) {
    if (e instanceof CofferError && e.status === 401) {
      throw new CliError(`login refused: wrong user name or password for ${username} at ${url}`, EXIT.auth, 'check both, or ask an admin ("coffer user passwd", or "coffer admin reset" on the server)');
    }
    throw e;
  }
  await keeper.flush();
  // The session this one replaces is ended on the server too (best effort).
  if (previous?.access_token && previous.url) {
    const old = cliClient({ url: previous.url, accessToken: previous.access_token, ...(previous.refresh_token ? { refreshToken: previous.refresh_token } : {}) });
    await old.logout().catch(() => undefined);
  }
  const me = await client.me().catch(() => undefined);
  if (options.json) printJson(ctx, { url, username, admin: me?.admin, grants: me?.grants, session_file: sessionFile(ctx.env.configHome) });
  else ctx.stderr.write(`Logged in to ${url} as ${username}${me?.admin ? ' (admin)' : ''}. Session saved in ${sessionFile(ctx.env.configHome)}.\n`);
}

async function logout(ctx: CliContext): Promise<void> {
  const session = await readSession(ctx.env.configHome);
  if (!session?.access_token) {
    ctx.stderr.write('Not logged in.\n');
    return;
  }
  const client = cliClient({ url: session.url, accessToken: session.access_token, ...(session.refresh_token ? { refreshToken: session.refresh_token } : {}) });
  let warning: string | undefined;
  try {
    await client.logout();
  } catch (e) {
    warning = `the server could not be told (${(e as Error).message}); the session was forgotten here`;
  }
  // The URL and the user name stay, so "coffer login" alone logs in again.
  await writeSession(ctx.env.configHome, { url: session.url, ...(session.username ? { username: session.username } : {}) });
  ctx.stderr.write(warning ? `coffer: ${warning}\n` : `Logged out of ${session.url}.\n`);
}

async function whoami(ctx: CliContext, options: { json?: boolean }): Promise<void> {
  await withClient(ctx, async ({ client, url }) => {
    const me = await client.me();
    if (options.json) return printJson(ctx, { url, ...me });
    ctx.stdout.write(`${me.username}${me.admin ? ' (admin)' : ''}${me.disabled ? ' (disabled)' : ''} at ${url}\ngrants: ${me.grants.join(' ')}\n`);
  });
}

export function registerAuth(program: Command, ctx: CliContext): void {
  program
    .command('login')
    .description('log in and keep the session (refreshed automatically) in the config directory')
    .argument('[url]', `the server (default: COFFER_URL, the last one used, or ${DEFAULT_URL})`)
    .option('-u, --user <name>', 'user name (default: the last one used with this server)')
    .option('--password-stdin', 'read the password from the first line of stdin')
    .option('--scope <scopes>', 'narrow the session to these scopes (space-separated)')
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      `
The password is asked for without echo, or read from stdin (--password-stdin) or COFFER_PASSWORD;
never from an argument, which other users can see in the process list.

Examples:
  coffer login http://127.0.0.1:8080 -u alain
  printf '%s\\n' "$PASSWORD" | coffer login https://coffer.example.com -u ci --password-stdin
  COFFER_PASSWORD=... coffer login -u alain`,
    )
    .action((url: string | undefined, options: LoginOptions) => login(ctx, url, options));

  program
    .command('logout')
    .description('end the session on the server and forget its tokens')
    .addHelpText('after', '\nExample:\n  coffer logout')
    .action(() => logout(ctx));

  program
    .command('whoami')
    .description('who the session (or COFFER_TOKEN) is, on which server, with which grants')
    .option('--json', 'print the user record as JSON')
    .addHelpText('after', '\nExamples:\n  coffer whoami\n  COFFER_URL=http://127.0.0.1:8080 COFFER_TOKEN=eyJ... coffer whoami --json')
    .action((options: { json?: boolean }) => whoami(ctx, options));
}

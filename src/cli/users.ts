/**
 * `coffer user add|list|rm|passwd|disable|enable` over the API (admin, or yourself for passwd), and
 * the offline `coffer user reset-password` / `coffer admin reset` on the server's own database.
 */
import type { Command } from 'commander';
import type { Config } from '../config.js';
import { withClient } from './connect.js';
import type { CliContext } from './context.js';
import { usageError } from './errors.js';
import { printJson, printTable, shortTime } from './output.js';
import { promptHidden, readPassword } from './prompt.js';

type ConfigOf = (options: { config?: string }) => Config;

export function registerUsers(program: Command, ctx: CliContext, configOf: ConfigOf): void {
  const user = program
    .command('user')
    .alias('users')
    .description('manage users (admin): add, list, rm, passwd, disable, enable; reset-password offline')
    .addHelpText('after', '\nExamples:\n  coffer user add alain\n  coffer user list\n  coffer user passwd                 # your own password\n  coffer user reset-password admin   # on the server, when nobody can log in');

  user
    .command('add')
    .description('create a user')
    .argument('<name>', 'the user name (1-64 of A-Z a-z 0-9 . _ -)')
    .option('--admin', 'make them an admin')
    .option('--grants <scopes>', 'their scopes, space- or comma-separated (default: all but admin)')
    .option('--password-stdin', 'read their password from stdin (else COFFER_PASSWORD, else a prompt)')
    .option('--json', 'print the new user as JSON')
    .addHelpText('after', '\nExamples:\n  coffer user add alain\n  printf "%s\\n" "$PW" | coffer user add ci --grants "kv:read kv:write" --password-stdin')
    .action((name: string, o: { admin?: boolean; grants?: string; passwordStdin?: boolean; json?: boolean }) =>
      withClient(ctx, async ({ client }) => {
        const password = await readPassword(ctx, { passwordStdin: o.passwordStdin, prompt: `Password for ${name}: `, confirm: true });
        const created = await client.users.create({
          username: name,
          password,
          ...(o.admin ? { admin: true } : {}),
          ...(o.grants ? { grants: o.grants.split(/[\s,]+/).filter(Boolean) } : {}),
        });
        if (o.json) return printJson(ctx, created);
        ctx.stderr.write(`Created ${created.username}${created.admin ? ' (admin)' : ''} with ${created.grants.join(' ')}\n`);
      }),
    );

  user
    .command('list')
    .alias('ls')
    .description('list users')
    .option('--json', 'print {"users": [...]} as JSON')
    .addHelpText('after', '\nExample:\n  coffer user list --json | jq -r \'.users[].username\'')
    .action((o: { json?: boolean }) =>
      withClient(ctx, async ({ client }) => {
        const users = await client.users.list();
        if (o.json) return printJson(ctx, { users });
        printTable(
          ctx,
          users.map((u) => [u.username, u.admin ? 'admin' : '', u.disabled ? 'disabled' : '', shortTime(u.created_at), u.grants.join(' ')]),
          { header: ['USER', 'ADMIN', 'STATE', 'CREATED', 'GRANTS'] },
        );
      }),
    );

  user
    .command('rm')
    .description('delete users and everything they own')
    .argument('<names...>', 'user names')
    .option('-y, --yes', 'do not ask for confirmation')
    .addHelpText('after', '\nTheir keys/values and objects are deleted too.\n\nExample:\n  coffer user rm alain --yes')
    .action((names: string[], o: { yes?: boolean }) =>
      withClient(ctx, async ({ client }) => {
        if (!o.yes) {
          if (!ctx.stdin.isTTY) throw usageError('deleting users needs --yes when there is no terminal to ask');
          ctx.stderr.write(`Delete ${names.join(', ')} and all their data? Type "yes": `);
          const answer = await readLine(ctx);
          if (answer.trim() !== 'yes') throw usageError('not confirmed; nothing deleted');
        }
        for (const name of names) {
          await client.users.delete(name);
          ctx.stderr.write(`Deleted ${name}\n`);
        }
      }),
    );

  user
    .command('passwd')
    .description('change a password: your own (asks the current one), or any user\'s as an admin')
    .argument('[name]', 'whose (default: yours)')
    .option('--password-stdin', 'read the new password from stdin')
    .addHelpText(
      'after',
      `
For your own password the current one is asked for (or taken from COFFER_PASSWORD); the new one
comes from --password-stdin or a prompt. An admin changing someone else's gives the new one only
(--password-stdin, COFFER_PASSWORD or a prompt). Their sessions end.

Examples:
  coffer user passwd
  printf "%s\\n" "$NEW" | coffer user passwd alain --password-stdin`,
    )
    .action((name: string | undefined, o: { passwordStdin?: boolean }) =>
      withClient(ctx, async ({ client, session }) => {
        const self = session?.username ?? (await client.me()).username;
        const target = name ?? self;
        if (target === self) {
          const current = ctx.env.password || (await promptHidden(ctx, 'Current password: '));
          const next = o.passwordStdin
            ? await readPassword(ctx, { passwordStdin: true })
            : await readPassword({ ...ctx, env: { ...ctx.env, password: undefined } }, { prompt: 'New password: ', confirm: true });
          await client.users.update('me', { password: next, current_password: current });
          ctx.stderr.write('Password changed; your other sessions have ended. Log in again: coffer login\n');
        } else {
          const next = await readPassword(ctx, { passwordStdin: o.passwordStdin, prompt: `New password for ${target}: `, confirm: true });
          await client.users.update(target, { password: next });
          ctx.stderr.write(`Password of ${target} changed; their sessions have ended.\n`);
        }
      }),
    );

  for (const [command, disabled] of [['disable', true], ['enable', false]] as const) {
    user
      .command(command)
      .description(disabled ? 'disable users: they cannot log in, their tokens stop working at once' : 'enable disabled users again')
      .argument('<names...>', 'user names')
      .addHelpText('after', `\nExample:\n  coffer user ${command} alain`)
      .action((names: string[]) =>
        withClient(ctx, async ({ client }) => {
          for (const name of names) {
            await client.users.update(name, { disabled });
            ctx.stderr.write(`${disabled ? 'Disabled' : 'Enabled'} ${name}\n`);
          }
        }),
      );
  }

  const offlineHelp = `
Works on the server's database directly (no login needed): run it on the server, with the same
COFFER_DATA_DIR / COFFER_DATABASE_URL (or --config) the server uses; a running server sees the
change within a second. The user's sessions and tokens end.`;

  user
    .command('reset-password')
    .description('offline: set a user\'s password on the server\'s database, when nobody can log in')
    .argument('<name>', 'the user')
    .option('--password-stdin', 'read the new password from stdin (else COFFER_PASSWORD, else a prompt)')
    .option('-c, --config <file>', 'the server\'s JSON settings file')
    .option('--json', 'print the result as JSON')
    .addHelpText('after', `${offlineHelp}\n\nExample:\n  COFFER_DATA_DIR=/var/lib/coffer coffer user reset-password alain`)
    .action(async (name: string, o: { passwordStdin?: boolean; config?: string; json?: boolean }) =>
      (await import('./reset.js')).resetPassword(ctx, configOf(o), name, { passwordStdin: o.passwordStdin, admin: false, json: o.json }),
    );

  const admin = program.command('admin').description('offline recovery on the server\'s database: reset');
  admin
    .command('reset')
    .description('offline: make <name> an enabled admin with a new password, creating it if missing')
    .argument('[name]', 'the admin account (default: COFFER_ADMIN_USER, "admin")')
    .option('--password-stdin', 'read the new password from stdin (else COFFER_PASSWORD, else a prompt)')
    .option('-c, --config <file>', 'the server\'s JSON settings file')
    .option('--json', 'print the result as JSON')
    .addHelpText('after', `${offlineHelp}\n\nExamples:\n  coffer admin reset\n  printf "%s\\n" "$PW" | COFFER_DATA_DIR=./coffer-data coffer admin reset root --password-stdin`)
    .action(async (name: string | undefined, o: { passwordStdin?: boolean; config?: string; json?: boolean }) => {
      const config = configOf(o);
      // The database and the password hasher, loaded for this command only.
      const { resetPassword } = await import('./reset.js');
      return resetPassword(ctx, config, name ?? config.adminUser, { passwordStdin: o.passwordStdin, admin: true, json: o.json });
    });
}

function readLine(ctx: CliContext): Promise<string> {
  return new Promise((resolve) => {
    const onData = (d: Buffer | string) => {
      ctx.stdin.removeListener('data', onData);
      ctx.stdin.pause();
      resolve(d.toString());
    };
    ctx.stdin.on('data', onData);
    ctx.stdin.resume();
  });
}

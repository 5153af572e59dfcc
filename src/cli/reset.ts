/**
 * Offline recovery, for when nobody can log in (as `pocketbase superuser upsert` does): works on
 * the server's own database (COFFER_DATA_DIR / COFFER_DATABASE_URL, or --config), not over HTTP.
 *
 * - `coffer user reset-password <name>`: a new password for an existing user;
 * - `coffer admin reset [name]`: the same for an admin account, made an enabled admin, and created
 *   when missing (bootstrap).
 *
 * Either way the user's sessions end as they do for a password change over the API: the token
 * version is bumped and the refresh families revoked in one commit, with an access event that a
 * running server (this node or any other) follows within a second.
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import type { Config } from '../config.js';
import { createMetadataStores } from '../storage/meta/index.js';
import { checkPasswordPolicy, PasswordHasher } from '../users/passwords.js';
import { DEFAULT_GRANTS } from '../users/scopes.js';
import { isValidUsername, USERNAME_RULE } from '../users/username.js';
import type { CliContext } from './context.js';
import { CliError, EXIT, usageError } from './errors.js';
import { readPassword } from './prompt.js';

export interface ResetOptions {
  passwordStdin?: boolean;
  /** Make the account an enabled admin, creating it when missing. */
  admin: boolean;
  json?: boolean;
}

function sqliteFile(url: string): string | undefined {
  if (!url.startsWith('sqlite:')) return undefined;
  const file = url.slice('sqlite:'.length);
  return file === ':memory:' ? undefined : file;
}

export async function resetPassword(ctx: CliContext, config: Config, username: string, options: ResetOptions): Promise<void> {
  if (!isValidUsername(username)) throw usageError(`the user name must be ${USERNAME_RULE}`);
  const file = sqliteFile(config.databaseUrl);
  if (file && !existsSync(file)) {
    throw new CliError(`no Coffer database at ${file}`, EXIT.notFound, 'point COFFER_DATA_DIR (or COFFER_DATABASE_URL, or --config) at the server\'s data');
  }
  const password = checkPolicy(await readPassword(ctx, { passwordStdin: options.passwordStdin, prompt: `New password for ${username}: `, confirm: true }), config);
  const hasher = new PasswordHasher({ concurrency: 1, queue: 1 });
  const stores = await createMetadataStores(config.databaseUrl);
  try {
    const passwordHash = await hasher.hash(password);
    const now = Date.now();
    const existing = await stores.users.getByName(username);
    let action: 'created' | 'reset';
    if (!existing) {
      if (!options.admin) throw new CliError(`no user "${username}" in ${file ?? 'the database'}`, EXIT.notFound, '"coffer admin reset <name>" creates an admin account');
      const created = await stores.users.create({ id: randomUUID(), username, passwordHash, admin: true, disabled: false, grants: [...DEFAULT_GRANTS], createdAt: now });
      if (!created) throw new CliError(`"${username}" was created meanwhile; run the command again`, EXIT.conflict);
      action = 'created';
    } else {
      await stores.users.update(existing.id, { passwordHash, bumpTokenVersion: true, ...(options.admin ? { admin: true, disabled: false } : {}) }, now);
      action = 'reset';
    }
    if (options.json) ctx.stdout.write(JSON.stringify({ username, action, admin: options.admin || !!existing?.admin }) + '\n');
    else if (action === 'created') ctx.stderr.write(`Created the admin "${username}" with the new password.\n`);
    else ctx.stderr.write(`The password of "${username}" is reset${options.admin ? ', the account an enabled admin' : ''}; its sessions have ended.\n`);
  } finally {
    await stores.close();
    await hasher.close();
  }
}

function checkPolicy(password: string, config: Config): string {
  try {
    return checkPasswordPolicy(password, config.passwordMinLength);
  } catch (e) {
    throw usageError((e as Error).message, 'COFFER_PASSWORD_MIN_LENGTH sets the minimum');
  }
}

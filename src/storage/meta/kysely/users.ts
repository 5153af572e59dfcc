/** UserStore on Kysely. */
import type { NewUser, UserPatch, UserRecord, UserStore } from '../../../users/user-store.js';
import { announceAccessChange } from './access-events.js';
import { isUniqueViolation, toUser, type Db } from './rows.js';

export class KyselyUserStore implements UserStore {
  constructor(private readonly d: Db) {}

  async create(user: NewUser): Promise<UserRecord | undefined> {
    const row = {
      id: user.id,
      username: user.username,
      password_hash: user.passwordHash,
      admin: user.admin ? 1 : 0,
      disabled: user.disabled ? 1 : 0,
      grants: user.grants.join(' '),
      token_version: 0,
      created_at: user.createdAt,
      updated_at: user.createdAt,
    };
    try {
      await this.d.db.insertInto('users').values(row).execute();
    } catch (e) {
      if (isUniqueViolation(e)) return undefined;
      throw e;
    }
    return toUser(row);
  }

  async getById(id: string): Promise<UserRecord | undefined> {
    const row = await this.d.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toUser(row);
  }

  async getByName(username: string): Promise<UserRecord | undefined> {
    const row = await this.d.db.selectFrom('users').selectAll().where('username', '=', username).executeTakeFirst();
    return row && toUser(row);
  }

  async list(): Promise<UserRecord[]> {
    const rows = await this.d.db.selectFrom('users').selectAll().orderBy('username').execute();
    return rows.map(toUser);
  }

  async count(): Promise<number> {
    const row = await this.d.db.selectFrom('users').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async countActiveAdmins(): Promise<number> {
    const row = await this.d.db
      .selectFrom('users')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('admin', '=', 1)
      .where('disabled', '=', 0)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async update(id: string, patch: UserPatch, now: number): Promise<UserRecord | undefined> {
    const set: Record<string, unknown> = { updated_at: now };
    if (patch.passwordHash !== undefined) set.password_hash = patch.passwordHash;
    if (patch.admin !== undefined) set.admin = patch.admin ? 1 : 0;
    if (patch.disabled !== undefined) set.disabled = patch.disabled ? 1 : 0;
    if (patch.grants !== undefined) set.grants = patch.grants.join(' ');
    await this.d.db.transaction().execute(async (trx) => {
      await trx
        .updateTable('users')
        .set(set)
        .$if(patch.bumpTokenVersion === true, (qb) => qb.set((eb) => ({ token_version: eb('token_version', '+', 1) })))
        .where('id', '=', id)
        .execute();
      // With the tokens, the sessions end in the same commit: no refresh token outlives the change.
      if (patch.bumpTokenVersion) {
        await trx.updateTable('refresh_families').set({ revoked_at: now }).where('user_id', '=', id).where('revoked_at', 'is', null).execute();
      }
      // Grants, the admin flag, disabling and the token version all decide what tokens may do.
      await announceAccessChange(trx, this.d.dialect, 'user', id, now);
    });
    return this.getById(id);
  }

  async delete(id: string, now: number): Promise<boolean> {
    return this.d.db.transaction().execute(async (trx) => {
      for (const table of ['kv', 'objects', 'pending_uploads', 'public_keys', 'parcels'] as const) {
        await trx.deleteFrom(table).where('owner', '=', id).execute();
      }
      await trx.deleteFrom('refresh_tokens').where('user_id', '=', id).execute();
      await trx.deleteFrom('refresh_families').where('user_id', '=', id).execute();
      const result = await trx.deleteFrom('users').where('id', '=', id).executeTakeFirst();
      await announceAccessChange(trx, this.d.dialect, 'user', id, now);
      return Number(result.numDeletedRows) > 0;
    });
  }
}

/** TokenStore on Kysely: the access-state read every request makes is compiled once. */
import type { AccessState, RefreshFamily, RefreshTokenRecord, TokenStore } from '../../../auth/token-store.js';
import { prepareQuery } from '../prepared-query.js';
import { announceAccessChange } from './access-events.js';
import { toUser, type Db } from './rows.js';

export class KyselyTokenStore implements TokenStore {
  private readonly accessStateQuery;

  constructor(private readonly d: Db) {
    const db = d.db;
    this.accessStateQuery = prepareQuery(d, ['userId', 'jti', 'familyId'], (p: { userId: string; jti: string; familyId: string }) =>
      db
        .selectFrom('users as u')
        .selectAll('u')
        .select((eb) => [
          eb.exists(eb.selectFrom('revoked_tokens').select('jti').where('jti', '=', p.jti)).as('jti_revoked'),
          eb.exists(eb.selectFrom('refresh_families').select('id').where('id', '=', p.familyId).where('revoked_at', 'is not', null)).as('family_revoked'),
        ])
        .where('u.id', '=', p.userId),
    );
  }

  async accessState(userId: string, jti: string, familyId: string | undefined): Promise<AccessState | undefined> {
    const [row] = await this.accessStateQuery({ userId, jti, familyId: familyId ?? '' });
    if (!row) return undefined;
    return { user: toUser(row), jtiRevoked: Boolean(row.jti_revoked), familyRevoked: Boolean(row.family_revoked) };
  }

  async revokeJti(jti: string, expiresAt: number, now: number): Promise<void> {
    await this.d.db.transaction().execute(async (trx) => {
      await trx.insertInto('revoked_tokens').values({ jti, expires_at: expiresAt }).onConflict((oc) => oc.column('jti').doNothing()).execute();
      await announceAccessChange(trx, this.d.dialect, 'jti', jti, now);
    });
  }

  async createRefreshFamily(f: RefreshFamily): Promise<void> {
    await this.d.db
      .insertInto('refresh_families')
      .values({ id: f.id, user_id: f.userId, scope: f.scope, created_at: f.createdAt, expires_at: f.expiresAt, revoked_at: null })
      .execute();
  }

  async addRefreshToken(t: { hash: string; familyId: string; userId: string; expiresAt: number }): Promise<void> {
    await this.d.db
      .insertInto('refresh_tokens')
      .values({ hash: t.hash, family_id: t.familyId, user_id: t.userId, expires_at: t.expiresAt, used_at: null })
      .execute();
  }

  async getRefreshToken(hash: string): Promise<RefreshTokenRecord | undefined> {
    const row = await this.d.db
      .selectFrom('refresh_tokens as t')
      .innerJoin('refresh_families as f', 'f.id', 't.family_id')
      .select(['t.hash', 't.family_id', 't.user_id', 't.expires_at', 't.used_at', 'f.scope', 'f.revoked_at'])
      .where('t.hash', '=', hash)
      .executeTakeFirst();
    if (!row) return undefined;
    return {
      hash: row.hash,
      familyId: row.family_id,
      userId: row.user_id,
      expiresAt: Number(row.expires_at),
      usedAt: row.used_at === null ? null : Number(row.used_at),
      familyScope: row.scope,
      familyRevokedAt: row.revoked_at === null ? null : Number(row.revoked_at),
    };
  }

  async markRefreshTokenUsed(hash: string, now: number): Promise<boolean> {
    const result = await this.d.db.updateTable('refresh_tokens').set({ used_at: now }).where('hash', '=', hash).where('used_at', 'is', null).executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async revokeRefreshFamily(familyId: string, now: number): Promise<void> {
    await this.d.db.transaction().execute(async (trx) => {
      await trx.updateTable('refresh_families').set({ revoked_at: now }).where('id', '=', familyId).where('revoked_at', 'is', null).execute();
      await announceAccessChange(trx, this.d.dialect, 'family', familyId, now);
    });
  }

  async spendChallenge(jti: string, expiresAt: number): Promise<boolean> {
    const result = await this.d.db
      .insertInto('used_challenges')
      .values({ jti, expires_at: expiresAt })
      .onConflict((oc) => oc.column('jti').doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
  }
}

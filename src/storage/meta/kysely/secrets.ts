/**
 * What many nodes share through the database, sealed with COFFER_SECRET_KEY: the signing keys
 * and named secrets (the presign HMAC key). A rotation is announced as an access event, so every
 * node reloads its keys at once.
 */
import { sql } from 'kysely';
import type { SigningKeyStore, StoredSigningKey } from '../../../auth/signing-key-store.js';
import type { JwtAlgorithm } from '../../../config.js';
import type { SecretBox } from '../../../util/secret-box.js';
import { announceAccessChange } from './access-events.js';
import { takeTurn } from '../locks.js';
import { isUniqueViolation, msOrNull, type Db } from './rows.js';

export class KyselySigningKeyStore implements SigningKeyStore {
  constructor(
    private readonly d: Db,
    private readonly box: SecretBox,
  ) {}

  async load(): Promise<StoredSigningKey[]> {
    const rows = await this.d.db.selectFrom('signing_keys').selectAll().orderBy('created_at').execute();
    return rows.map((r) => ({
      kid: r.kid,
      alg: r.alg as JwtAlgorithm,
      privateJwk: JSON.parse(this.box.open(r.private_key)) as StoredSigningKey['privateJwk'],
      createdAt: Number(r.created_at),
      ...(r.retire_at !== null ? { retireAt: Number(r.retire_at) } : {}),
    }));
  }

  async rotate(key: StoredSigningKey, retireOthersAt: number, now: number): Promise<void> {
    await this.d.db.transaction().execute(async (trx) => {
      // Two nodes rotating at once take turns: the second retires the first one's new key.
      await takeTurn(trx, this.d.dialect, 'signing_keys');
      await trx.deleteFrom('signing_keys').where('retire_at', '<=', now).execute();
      await trx.updateTable('signing_keys').set({ retire_at: retireOthersAt }).where('retire_at', 'is', null).execute();
      await trx
        .insertInto('signing_keys')
        .values({ kid: key.kid, alg: key.alg, private_key: this.box.seal(JSON.stringify(key.privateJwk)), created_at: key.createdAt, retire_at: key.retireAt ?? null })
        .execute();
      await announceAccessChange(trx, this.d.dialect, 'keys', key.kid, now);
    });
  }

  async version(): Promise<string> {
    const row = await sql<{ n: number | string; newest: number | string | null; retiring: number | string | null }>`
      select count(*) as n, max(created_at) as newest, max(retire_at) as retiring from signing_keys`.execute(this.d.db);
    const r = row.rows[0]!;
    return `${Number(r.n)}:${msOrNull(r.newest)}:${msOrNull(r.retiring)}`;
  }
}

/** Named secrets: made once (by whichever node comes first), then read by every node. */
export class KyselySecretStore {
  constructor(
    private readonly d: Db,
    private readonly box: SecretBox,
  ) {}

  async getOrCreate(name: string, make: () => string | Promise<string>, now: number): Promise<string> {
    const found = await this.d.db.selectFrom('secrets').select('value').where('name', '=', name).executeTakeFirst();
    if (found) return this.box.open(found.value);
    const value = await make();
    try {
      await this.d.db.insertInto('secrets').values({ name, value: this.box.seal(value), created_at: now }).execute();
      return value;
    } catch (e) {
      if (!isUniqueViolation(e)) throw e;
      return this.getOrCreate(name, make, now); // another node made it first
    }
  }
}

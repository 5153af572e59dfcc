/**
 * The token port: what decides whether an access token still works (revoked jtis and refresh
 * families, read with the user in one query), the refresh-token families, and the one-time jtis
 * of challenge tokens. Every revocation is also written to the access-event log.
 */
import type { UserRecord } from '../users/user-store.js';

/** What a request's access token needs checked against live state, in one read. */
export interface AccessState {
  user: UserRecord;
  jtiRevoked: boolean;
  familyRevoked: boolean;
}

export interface RefreshFamily {
  id: string;
  userId: string;
  /** The scopes granted at login; refreshes never widen them. */
  scope: string;
  createdAt: number;
  expiresAt: number;
}

export interface RefreshTokenRecord {
  hash: string;
  familyId: string;
  userId: string;
  expiresAt: number;
  usedAt: number | null;
  familyScope: string;
  familyRevokedAt: number | null;
}

export interface TokenStore {
  accessState(userId: string, jti: string, familyId: string | undefined): Promise<AccessState | undefined>;
  /** Revokes one access token until it expires. */
  revokeJti(jti: string, expiresAt: number, now: number): Promise<void>;

  createRefreshFamily(family: RefreshFamily): Promise<void>;
  addRefreshToken(token: { hash: string; familyId: string; userId: string; expiresAt: number }): Promise<void>;
  getRefreshToken(hash: string): Promise<RefreshTokenRecord | undefined>;
  /** Marks an unused refresh token used; false when it was already used (a replay or a race). */
  markRefreshTokenUsed(hash: string, now: number): Promise<boolean>;
  revokeRefreshFamily(familyId: string, now: number): Promise<void>;

  /**
   * Spends a challenge token's jti; false when it was spent already. Atomic across processes
   * (a primary key), so of many concurrent replays exactly one wins.
   */
  spendChallenge(jti: string, expiresAt: number): Promise<boolean>;
}

/**
 * Access tokens (signed JWTs, typ at+jwt) and refresh tokens (opaque, stored hashed).
 *
 * Verifying a signature costs ~140 µs with Ed25519, so verified tokens are cached until they
 * expire. The live state (user disabled or deleted, token version bumped, jti or refresh family
 * revoked) is read in one query and kept in the AccessCache, which every change empties at once
 * on this node and within a second on the others (AccessFeed); while the feed is not current,
 * every request reads the database.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { JWTPayload } from 'jose';
import { invalidToken, CofferError } from '../errors.js';
import type { Audit } from '../util/audit.js';
import { effectiveGrants, isScope, type Scope } from '../users/scopes.js';
import type { Actor } from '../users/user-service.js';
import type { UserRecord } from '../users/user-store.js';
import { epochSeconds, type Clock } from '../util/clock.js';
import type { SigningKeys } from './signing-keys.js';
import type { AccessCache } from './access-cache.js';
import type { AccessFeed } from './access-feed.js';
import type { AccessState, TokenStore } from './token-store.js';

export const ACCESS_TOKEN_TYPE = 'at+jwt';

export interface AccessClaims extends JWTPayload {
  iss: string;
  sub: string;
  public_id: string;
  username: string;
  scope: string;
  iat: number;
  exp: number;
  jti: string;
  /** The refresh family (login session) the token belongs to. */
  sid?: string;
  /** The user's token version when issued; a bump kills the token. */
  ver: number;
}

/** The caller of a request, after its token was verified against live state. */
export interface Principal extends Actor {
  /** How the caller proved who it is; an assertion (SPEC §2) only reaches POST /v1/presign. */
  via?: 'assertion';
  claims: AccessClaims;
  token: string;
}

export interface TokenSettings {
  issuer: string;
  audience: string | undefined;
  accessTtl: number;
  refreshTtl: number;
  clockSkew: number;
}

const CACHE_LIMIT = 10_000;
const ACCESS_PROBLEMS = {
  malformed: 'The access token is not a JWT.',
  'unknown key': 'The access token was signed by an unknown key.',
  expired: 'The access token has expired.',
  invalid: undefined,
} as const;
const REFRESH_PREFIX = 'crt_';

export class TokenService {
  private readonly verified = new Map<string, AccessClaims>();
  private readonly scopesByState = new WeakMap<AccessState, ReadonlySet<Scope>>();

  constructor(
    private readonly store: TokenStore,
    private readonly keys: SigningKeys,
    private readonly settings: TokenSettings,
    private readonly audit: Audit,
    private readonly clock: Clock,
    private readonly cache: AccessCache,
    private readonly feed: AccessFeed,
  ) {}

  async issueAccessToken(user: UserRecord, scopes: readonly Scope[], familyId?: string): Promise<{ token: string; claims: AccessClaims }> {
    const now = epochSeconds(this.clock);
    const claims: AccessClaims = {
      iss: this.settings.issuer,
      sub: user.id,
      public_id: user.id,
      username: user.username,
      scope: scopes.join(' '),
      iat: now,
      exp: now + this.settings.accessTtl,
      jti: randomUUID(),
      ...(familyId ? { sid: familyId } : {}),
      ver: user.tokenVersion,
      ...(this.settings.audience ? { aud: this.settings.audience } : {}),
    };
    return { token: await this.keys.sign(claims, ACCESS_TOKEN_TYPE), claims };
  }

  /** Checks signature, type and time claims (cached); not revocation. Throws invalid_token. */
  async verifyAccessToken(token: string): Promise<AccessClaims> {
    const cached = this.cachedClaims(token);
    if (cached) return cached;
    const claims = await this.verifySignedToken(token);
    if (this.verified.size >= CACHE_LIMIT) this.verified.delete(this.verified.keys().next().value!);
    this.verified.set(token, claims);
    return claims;
  }

  /** A token whose signature was checked before: its claims, or invalid_token once it has expired. */
  private cachedClaims(token: string): AccessClaims | undefined {
    const cached = this.verified.get(token);
    if (!cached || cached.exp + this.settings.clockSkew > this.clock.now() / 1000) return cached;
    this.verified.delete(token);
    throw invalidToken('The access token has expired.');
  }

  private async verifySignedToken(token: string): Promise<AccessClaims> {
    const payload = await this.keys.verify(
      token,
      ACCESS_TOKEN_TYPE,
      {
        issuer: this.settings.issuer,
        ...(this.settings.audience ? { audience: this.settings.audience } : {}),
        clockTolerance: this.settings.clockSkew,
        currentDate: new Date(this.clock.now()),
        requiredClaims: ['iat', 'exp', 'jti', 'sub'],
      },
      (problem) => invalidToken(ACCESS_PROBLEMS[problem]),
    );
    const claims = payload as AccessClaims;
    if (typeof claims.scope !== 'string' || typeof claims.ver !== 'number' || claims.sub !== claims.public_id) {
      throw invalidToken('The access token lacks Coffer claims.');
    }
    return claims;
  }

  /** Verifies a token and its live state: the full check every protected request makes. */
  async authenticate(token: string): Promise<Principal> {
    const claims = await this.verifyAccessToken(token);
    return this.principal(token, claims, await this.accessState(claims));
  }

  /**
   * `authenticate` without waiting, when the token's signature and its live state are both in
   * the caches (most requests): undefined when either is not, and the caller takes the full path.
   * Throws as `authenticate` does for an expired or revoked token.
   */
  cachedPrincipal(token: string): Principal | undefined {
    const claims = this.cachedClaims(token);
    if (!claims) return undefined;
    const state = this.cachedState(claims);
    return state && this.principal(token, claims, state);
  }

  /** A token's live state as this node's cache holds it, trusted only while the feed is current. */
  private cachedState(claims: AccessClaims): AccessState | undefined {
    return this.feed.current ? this.cache.get(claims.jti) : undefined;
  }

  private principal(token: string, claims: AccessClaims, state: AccessState | undefined): Principal {
    if (!state || state.user.disabled || state.user.tokenVersion !== claims.ver) throw invalidToken('The access token has been revoked.');
    if (state.jtiRevoked || state.familyRevoked) throw invalidToken('The access token has been revoked.');
    return { user: state.user, claims, scopes: this.scopesOf(claims, state), token };
  }

  /** The token's scopes that its user still holds; kept per cached state (one jti, so one scope claim). */
  private scopesOf(claims: AccessClaims, state: AccessState): ReadonlySet<Scope> {
    let scopes = this.scopesByState.get(state);
    if (!scopes) {
      const granted = new Set(effectiveGrants(state.user));
      scopes = new Set(claims.scope.split(' ').filter((s): s is Scope => isScope(s) && granted.has(s)));
      this.scopesByState.set(state, scopes);
    }
    return scopes;
  }

  /** The live state of a token's user, jti and family: from the cache while the feed is current. */
  private async accessState(claims: AccessClaims): Promise<AccessState | undefined> {
    const cached = this.cachedState(claims);
    if (cached) return cached;
    const current = this.feed.current;
    const mark = this.cache.mark();
    const state = await this.store.accessState(claims.sub, claims.jti, claims.sid);
    if (state && current) this.cache.set(claims.jti, claims.sid, state, mark);
    return state;
  }

  /** Revokes one access token until it expires. */
  async revokeAccessToken(claims: AccessClaims): Promise<void> {
    await this.store.revokeJti(claims.jti, (claims.exp + this.settings.clockSkew) * 1000, this.clock.now());
    this.verified.forEach((c, t) => c.jti === claims.jti && this.verified.delete(t));
    await this.accessChanged();
  }

  /** Makes this node's cache see a change it made at once (the others follow the event log). */
  accessChanged(): Promise<void> {
    return this.feed.catchUp();
  }

  /** Starts a login session: a refresh family and its first token. */
  async startRefreshFamily(userId: string, scopes: readonly Scope[]): Promise<{ familyId: string; refreshToken: string }> {
    const now = this.clock.now();
    const familyId = randomUUID();
    const expiresAt = now + this.settings.refreshTtl * 1000;
    await this.store.createRefreshFamily({ id: familyId, userId, scope: scopes.join(' '), createdAt: now, expiresAt });
    const refreshToken = await this.addRefreshToken(familyId, userId, expiresAt);
    return { familyId, refreshToken };
  }

  /**
   * Spends a refresh token and returns its successor in the same family. A token presented a
   * second time means it was stolen or leaked: the whole family is revoked.
   */
  async rotateRefreshToken(
    refreshToken: unknown,
  ): Promise<{ userId: string; familyId: string; scope: string; refreshToken: string }> {
    const grantError = (msg: string) => new CofferError('invalid_grant', msg);
    if (typeof refreshToken !== 'string' || !refreshToken.startsWith(REFRESH_PREFIX) || refreshToken.length > 256) {
      throw grantError('The refresh token is not one Coffer issued.');
    }
    const hash = hashRefreshToken(refreshToken);
    const record = await this.store.getRefreshToken(hash);
    const now = this.clock.now();
    if (!record) throw grantError('The refresh token is unknown.');
    if (record.familyRevokedAt !== null) throw grantError('The refresh token has been revoked.');
    if (record.expiresAt <= now) throw grantError('The refresh token has expired.');
    if (record.usedAt !== null || !(await this.store.markRefreshTokenUsed(hash, now))) {
      await this.store.revokeRefreshFamily(record.familyId, now);
      await this.accessChanged();
      this.audit('token.refresh_reuse', { user_id: record.userId, family: record.familyId });
      throw grantError('The refresh token was already used; its session has been revoked.');
    }
    const next = await this.addRefreshToken(record.familyId, record.userId, record.expiresAt);
    return { userId: record.userId, familyId: record.familyId, scope: record.familyScope, refreshToken: next };
  }

  async revokeRefreshFamily(familyId: string): Promise<void> {
    await this.store.revokeRefreshFamily(familyId, this.clock.now());
    await this.accessChanged();
  }

  /** The family a refresh token belongs to, if Coffer issued it. */
  async refreshFamilyOf(refreshToken: unknown): Promise<{ familyId: string; userId: string } | undefined> {
    if (typeof refreshToken !== 'string' || !refreshToken.startsWith(REFRESH_PREFIX)) return undefined;
    const record = await this.store.getRefreshToken(hashRefreshToken(refreshToken));
    return record && { familyId: record.familyId, userId: record.userId };
  }

  private async addRefreshToken(familyId: string, userId: string, expiresAt: number): Promise<string> {
    const token = REFRESH_PREFIX + randomBytes(32).toString('base64url');
    await this.store.addRefreshToken({ hash: hashRefreshToken(token), familyId, userId, expiresAt });
    return token;
  }
}

/** Refresh tokens are 256 random bits, so a plain SHA-256 is a safe way to store them. */
function hashRefreshToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

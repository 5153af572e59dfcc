/**
 * Login, refresh, logout, verify and introspect: the token life cycle of SPEC §2.
 */
import { CofferError, badRequest } from '../errors.js';
import type { Audit } from '../util/audit.js';
import type { PasswordHasher } from '../users/passwords.js';
import { effectiveGrants, narrowScopes, type Scope } from '../users/scopes.js';
import type { UserRecord, UserStore } from '../users/user-store.js';
import { isValidUsername } from '../users/username.js';
import type { LoginThrottle } from './login-throttle.js';
import type { SigningKeys } from './signing-keys.js';
import type { AccessClaims, Principal, TokenService } from './tokens.js';

export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  refresh_token: string;
  scope: string;
  /** Aliases for clients of the older designs (storserv read `jwt`, the Flask gateway `token`). */
  jwt: string;
  token: string;
}

const invalidCredentials = (message = 'Wrong username or password.') =>
  new CofferError('invalid_credentials', message, { 'www-authenticate': 'Basic realm="coffer", charset="UTF-8"' });

export class AuthService {
  constructor(
    private readonly users: UserStore,
    private readonly passwords: PasswordHasher,
    private readonly tokens: TokenService,
    private readonly signingKeys: SigningKeys,
    private readonly throttle: LoginThrottle,
    private readonly audit: Audit,
    private readonly accessTtl: number,
  ) {}

  /**
   * Password login. An unknown user, a wrong password and a disabled account get the same 401
   * after the same argon2 work, so the answer reveals nothing about which it was.
   */
  async login(username: unknown, password: unknown, requestedScope: unknown): Promise<TokenResponse> {
    if (typeof username !== 'string' || username === '' || typeof password !== 'string' || password === '') {
      throw invalidCredentials('Send "username" and "password" (form fields, JSON, or HTTP Basic).');
    }
    if (requestedScope !== undefined && typeof requestedScope !== 'string') throw badRequest('"scope" must be a space-separated string.');
    // Names that cannot exist are not tracked, so the throttle table stays bounded.
    const tracked = isValidUsername(username);
    let endTurn = () => {};
    if (tracked) {
      try {
        endTurn = await this.throttle.admit(username);
      } catch (e) {
        this.audit('login.throttled', { username });
        throw e;
      }
    }
    let user: UserRecord | undefined;
    try {
      user = tracked ? await this.users.getByName(username) : undefined;
      const ok = await this.passwords.verify(user?.passwordHash, password);
      if (!ok || !user || user.disabled) {
        if (tracked) await this.throttle.recordFailure(username);
        this.audit('login.failure', { username: tracked ? username : '(invalid name)' });
        throw invalidCredentials();
      }
      await this.throttle.reset(username);
    } finally {
      endTurn();
    }
    const scopes = narrowScopes(effectiveGrants(user), requestedScope);
    // Asking only for scopes one does not hold is an error; holding none is not (the token still
    // reads /v1/users/me and changes the password).
    if (scopes.length === 0 && typeof requestedScope === 'string' && requestedScope.trim() !== '') {
      throw badRequest(`None of the requested scopes (${requestedScope}) is granted to this user.`);
    }
    this.audit('login.success', { username });
    return this.issue(user, scopes);
  }

  private async issue(user: UserRecord, scopes: Scope[], familyId?: string, refreshToken?: string): Promise<TokenResponse> {
    if (!familyId || !refreshToken) ({ familyId, refreshToken } = await this.tokens.startRefreshFamily(user.id, scopes));
    const { token } = await this.tokens.issueAccessToken(user, scopes, familyId);
    return {
      access_token: token,
      token_type: 'Bearer',
      expires_in: this.accessTtl,
      refresh_token: refreshToken,
      scope: scopes.join(' '),
      jwt: token,
      token,
    };
  }

  /** Trades a refresh token for a new pair; the scopes never exceed the login's or the user's. */
  async refresh(refreshToken: unknown): Promise<TokenResponse> {
    const next = await this.tokens.rotateRefreshToken(refreshToken);
    const user = await this.users.getById(next.userId);
    if (!user || user.disabled) {
      await this.tokens.revokeRefreshFamily(next.familyId);
      throw new CofferError('invalid_grant', 'The refresh token belongs to an account that is disabled or gone.');
    }
    const scopes = narrowScopes(effectiveGrants(user), next.scope);
    this.audit('token.refresh', { username: user.username });
    return this.issue(user, scopes, next.familyId, next.refreshToken);
  }

  /** Ends the session the access token belongs to (and the one of `refreshToken`, if it is the caller's). */
  async logout(principal: Principal, refreshToken: unknown): Promise<void> {
    // The refresh families go first: should a step fail (the database gone mid-way), no refresh
    // token outlives the access token (revoking its own session ends that too).
    if (principal.claims.sid) await this.tokens.revokeRefreshFamily(principal.claims.sid);
    if (refreshToken !== undefined) {
      const family = await this.tokens.refreshFamilyOf(refreshToken);
      if (family && family.userId === principal.user.id) await this.tokens.revokeRefreshFamily(family.familyId);
    }
    await this.tokens.revokeAccessToken(principal.claims);
    this.audit('token.revoke', { username: principal.user.username, jti: principal.claims.jti });
  }

  /** RFC 7662: inactive unless the token is valid now and (for non-admins) the caller's own. */
  async introspect(caller: Principal, token: unknown): Promise<({ active: true; token_type: string } & AccessClaims) | { active: false }> {
    if (typeof token !== 'string' || token === '') throw badRequest('Send the token to inspect as the "token" field.');
    let subject: Principal;
    try {
      subject = await this.tokens.authenticate(token);
    } catch (e) {
      if (e instanceof CofferError && e.status === 401) return { active: false };
      throw e;
    }
    if (!caller.scopes.has('admin') && subject.user.id !== caller.user.id) return { active: false };
    return { active: true, token_type: 'Bearer', ...subject.claims };
  }

  /** The public keys that verify access tokens, with any rotation another node made picked up. */
  async jwks() {
    await this.signingKeys.refresh();
    return this.signingKeys.jwks();
  }

  /** Starts signing with a new key (admin); old tokens stay valid until they expire. */
  async rotateSigningKey(actor: Principal): Promise<{ kid: string }> {
    const kid = await this.signingKeys.rotate();
    this.audit('signing_key.rotate', { by: actor.user.username, kid });
    return { kid };
  }
}

/**
 * The challenge flow of SPEC §2, for clients that hold a key pair instead of a password (AMO's
 * parcel clients). Coffer hands out a short-lived token bound to a user and an operation; the
 * client proves it holds a key of that user by signing the token's exact bytes; Coffer then
 * spends the token's `jti`, once, in the metadata store (so also across many nodes).
 */
import { randomUUID } from 'node:crypto';
import type { JWTPayload } from 'jose';
import type { SigningKeys } from '../auth/signing-keys.js';
import type { TokenStore } from '../auth/token-store.js';
import { badRequest, CofferError, forbidden } from '../errors.js';
import type { KeyService } from '../keys/key-service.js';
import { parsePublicKey, verifySignature, type ParsedPublicKey } from '../keys/public-keys.js';
import type { Audit } from '../util/audit.js';
import { isSha256Hex } from '../util/hashing.js';
import { effectiveGrants, type Scope } from '../users/scopes.js';
import type { UserService } from '../users/user-service.js';
import type { UserRecord, UserStore } from '../users/user-store.js';
import { epochSeconds, type Clock } from '../util/clock.js';
import { parseParcelId } from './parcel-id.js';

/** The `typ` of challenge tokens: never accepted where an access token is expected, nor the reverse. */
const CHALLENGE_TOKEN_TYPE = 'coffer-challenge+jwt';

export type OperationName = 'upload' | 'download' | 'remove';

/** What a challenge binds: the operation, and the data's hash (upload) or the parcel's id. */
export interface ChallengeOperation {
  name: OperationName;
  hash?: string;
  id?: string;
}

interface ChallengeClaims extends JWTPayload {
  user: string;
  operation: string | { name: string; hash?: string; id?: string };
  jti: string;
  exp: number;
}

/** The three headers of a signed request. */
export interface SignedRequest {
  token: string | undefined;
  publicKey: string | undefined;
  signature: string | undefined;
}

/** What a challenge that checked out grants. */
export interface ChallengeGrant {
  /** The user who acts. */
  user: UserRecord;
  /** The `user` the challenge was issued for: that user's name, or the key's address. */
  identity: string;
  operation: ChallengeOperation;
}

export interface ChallengeSettings {
  issuer: string;
  ttlSeconds: number;
  selfRegistration: boolean;
}

const OPERATION_NAMES: readonly OperationName[] = ['upload', 'download', 'remove'];
const SCOPE_OF: Record<OperationName, Scope> = { upload: 'objects:write', download: 'objects:read', remove: 'objects:write' };

const refused = (message: string) => new CofferError('invalid_token', message);
const CHALLENGE_PROBLEMS = {
  malformed: 'X-Auth-Token is not a challenge token from POST /api/v1/auth.',
  'unknown key': 'X-Auth-Token was signed by a key Coffer does not know.',
  expired: 'The challenge token has expired; ask POST /api/v1/auth for a new one.',
  invalid: 'X-Auth-Token is not a valid challenge token from POST /api/v1/auth.',
} as const;

/**
 * A key that is not the user's and a signature that does not verify get the same answer, so a
 * signed request cannot be used to learn which users exist or which keys they hold (the audit
 * log says which it was).
 */
const notProven = () =>
  new CofferError(
    'invalid_signature',
    'X-Public-Key is not a key of this user, or X-Signature does not verify: sign the exact bytes of X-Auth-Token with the private key of a key registered to the user (or whose address is the user).',
  );

/** Parses the `operation` of a challenge request (SPEC §2); 400 says what is wrong. */
export function parseOperation(raw: unknown): ChallengeOperation {
  const names = OPERATION_NAMES.join('", "');
  if (typeof raw === 'string') {
    if (!(OPERATION_NAMES as readonly string[]).includes(raw)) throw badRequest(`"operation" must be one of "${names}", or an object with "name".`);
    return { name: raw as OperationName };
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw badRequest('"operation" is required: {"name":"upload","hash": sha256_hex}, {"name":"download"|"remove","id": parcel_id}, or a bare name.');
  }
  const { name, hash, id } = raw as Record<string, unknown>;
  if (typeof name !== 'string' || !(OPERATION_NAMES as readonly string[]).includes(name)) throw badRequest(`"operation.name" must be one of "${names}".`);
  if (name === 'upload') {
    if (id !== undefined) throw badRequest('An upload binds the data\'s "hash", not an "id".');
    if (hash === undefined) return { name };
    if (typeof hash !== 'string' || !isSha256Hex(hash)) throw badRequest('"operation.hash" must be the SHA-256 of the data: 64 hex digits.');
    return { name, hash: hash.toLowerCase() };
  }
  if (hash !== undefined) throw badRequest(`A ${name} binds the parcel's "id", not a "hash".`);
  if (id === undefined) return { name: name as OperationName };
  if (typeof id !== 'string') throw badRequest('"operation.id" must be a parcel id: 72 hex digits.');
  return { name: name as OperationName, id: parseParcelId(id) };
}

export class ChallengeService {
  constructor(
    private readonly tokens: TokenStore,
    private readonly users: UserStore,
    private readonly accounts: UserService,
    private readonly keys: KeyService,
    private readonly signingKeys: SigningKeys,
    private readonly settings: ChallengeSettings,
    private readonly audit: Audit,
    private readonly clock: Clock,
  ) {}

  /** POST /api/v1/auth: a token for any well-formed request; whether the user exists is not revealed. */
  async issue(input: { user?: unknown; operation?: unknown }): Promise<{ token: string }> {
    const { user } = input;
    if (typeof user !== 'string' || user === '' || user.length > 200) throw badRequest('"user" is required: a username or a P-256 key address.');
    const operation = parseOperation(input.operation);
    const now = epochSeconds(this.clock);
    const claims: ChallengeClaims = {
      iss: this.settings.issuer,
      user,
      operation: typeof input.operation === 'string' ? operation.name : operation,
      jti: randomUUID(),
      iat: now,
      exp: now + this.settings.ttlSeconds,
    };
    return { token: await this.signingKeys.sign(claims, CHALLENGE_TOKEN_TYPE) };
  }

  /**
   * Checks a signed request for `expected` in SPEC's order (token, operation, key, signature)
   * and then spends the token. The caller checks the data's hash against `operation.hash`: a
   * failure then still leaves the token spent.
   */
  async authorize(request: SignedRequest, expected: { name: OperationName; id?: string }): Promise<ChallengeGrant> {
    const { token, publicKey, signature } = request;
    if (!token) throw refused('Send X-Auth-Token: the token from POST /api/v1/auth.');
    if (!publicKey) throw refused('Send X-Public-Key: the public key whose private key signed the token.');
    if (!signature) throw refused('Send X-Signature: the signature of the X-Auth-Token bytes.');
    const claims = await this.verifyToken(token);

    const operation = parseOperationClaim(claims.operation);
    if (operation.name !== expected.name) throw refused(`This token was issued for ${operation.name}, not ${expected.name}.`);
    if (operation.id !== undefined && expected.id !== undefined && operation.id !== expected.id.toUpperCase()) {
      throw refused(`This token was issued for parcel ${operation.id}, not ${expected.id}.`);
    }

    const key = parsePublicKey(publicKey);
    const owner = await this.ownerOf(claims.user, key);
    if (!verifySignature(key, Buffer.from(token, 'ascii'), signature)) {
      this.audit('challenge.refused', { user: claims.user, key: key.id, reason: 'signature' });
      throw notProven();
    }
    if (!(await this.tokens.spendChallenge(claims.jti, claims.exp * 1000))) {
      this.audit('challenge.replay', { user: claims.user, jti: claims.jti });
      throw refused('This challenge token was used already; ask POST /api/v1/auth for a new one.');
    }
    const user = owner === 'create' ? await this.selfRegister(key) : owner;
    if (!effectiveGrants(user).includes(SCOPE_OF[expected.name])) {
      throw forbidden(`User ${user.username} lacks the ${SCOPE_OF[expected.name]} grant that ${expected.name} needs.`, 'insufficient_scope');
    }
    return { user, identity: claims.user, operation };
  }

  private async verifyToken(token: string): Promise<ChallengeClaims> {
    const payload = await this.signingKeys.verify(
      token,
      CHALLENGE_TOKEN_TYPE,
      // Only Coffer's own clocks are involved: a challenge lives exactly its lifetime.
      { issuer: this.settings.issuer, clockTolerance: 0, currentDate: new Date(this.clock.now()), requiredClaims: ['exp', 'jti', 'user', 'operation'] },
      (problem) => refused(CHALLENGE_PROBLEMS[problem]),
    );
    if (typeof payload.user !== 'string' || typeof payload.jti !== 'string') throw refused('X-Auth-Token lacks the challenge claims.');
    return payload as ChallengeClaims;
  }

  /**
   * The user the key acts for (SPEC §2). A key has at most one holder: the user who registered
   * it. `identity` may name that user, or be the key's own address (AMO's clients always send
   * their address): then the holder acts, and when nobody registered the key, the user named by
   * the address does ('create' when it is to be self-registered once the signature checks out).
   */
  private async ownerOf(identity: string, key: ParsedPublicKey): Promise<UserRecord | 'create'> {
    const holderId = await this.keys.holderOf(key.id);
    const holder = holderId === undefined ? undefined : await this.users.getById(holderId);
    const byAddress = key.address !== undefined && identity.toUpperCase() === key.address;
    let reason: string;
    if (holder && (holder.username === identity || byAddress)) {
      if (!holder.disabled) return holder;
      reason = 'user disabled';
    } else if (holder) {
      reason = 'key registered to another user';
    } else if (byAddress) {
      const addressUser = await this.users.getByName(key.address!);
      if (addressUser && !addressUser.disabled) return addressUser;
      if (!addressUser && this.settings.selfRegistration) return 'create';
      reason = addressUser ? 'user disabled' : 'unknown address, self-registration off';
    } else {
      reason = 'key registered to nobody';
    }
    this.audit('challenge.refused', { user: identity, key: key.id, reason });
    throw notProven();
  }

  /** Makes the user named by the key's address, with the key registered (a concurrent first request may have made it). */
  private async selfRegister(key: ParsedPublicKey): Promise<UserRecord> {
    const { user, created } = await this.accounts.createKeyHolder(key.address!);
    if (created) {
      await this.keys.registerParsed(user, key, 'self-registered');
      this.audit('user.self_register', { username: user.username, key: key.id });
    }
    return user;
  }
}

/** The operation claim of a token Coffer signed (so well-formed, but read defensively). */
function parseOperationClaim(raw: ChallengeClaims['operation']): ChallengeOperation {
  try {
    return parseOperation(raw);
  } catch {
    throw refused('X-Auth-Token names no operation Coffer knows.');
  }
}

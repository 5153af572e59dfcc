/**
 * Client-signed assertions (SPEC §2): on POST /v1/presign only, the bearer token may be a JWT the
 * caller signed with one of its registered keys (what the presign prototype's client does). It
 * has no jti, so it can be replayed until it expires: that is why it grants `presign` (with the
 * object scopes its user holds, which the signed methods need) and nothing else, on that route
 * only, and lives at most an hour.
 */
import { createPublicKey, generateKeyPair } from 'node:crypto';
import { promisify } from 'node:util';
import { decodeJwt, decodeProtectedHeader, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import { invalidToken } from '../errors.js';
import type { KeyStore, PublicKeyRecord } from '../keys/key-store.js';
import type { PublicKeyType } from '../keys/public-keys.js';
import type { Audit } from '../util/audit.js';
import { effectiveGrants, type Scope } from '../users/scopes.js';
import type { UserStore } from '../users/user-store.js';
import { isValidUsername } from '../users/username.js';
import type { Clock } from '../util/clock.js';
import type { SigningKeys } from './signing-keys.js';
import { ACCESS_TOKEN_TYPE, type Principal } from './tokens.js';

/** The longest an assertion may live: `exp − iat`, and its age. */
export const MAX_ASSERTION_SECONDS = 3600;

/** Which registered key type signs with each accepted algorithm. */
const KEY_TYPE_OF: Record<string, PublicKeyType> = { RS256: 'rsa', PS256: 'rsa', ES256: 'p256', EdDSA: 'ed25519' };

/** What an assertion may grant, of what its user holds. */
const ASSERTION_SCOPES: readonly Scope[] = ['presign', 'objects:read', 'objects:write'];

const makeKeyPair = promisify(generateKeyPair);

const NOT_PROVEN = 'The assertion is not signed by a key registered to an active user named by its "sub" (register the key with POST /v1/keys).';

/** A key nobody holds, verified against when there is no real candidate (same work, same answer). */
const decoys = new Map<PublicKeyType, Promise<PublicKeyRecord>>();
function decoyKey(type: PublicKeyType): Promise<PublicKeyRecord> {
  let decoy = decoys.get(type);
  if (!decoy) {
    const made = type === 'rsa' ? makeKeyPair('rsa', { modulusLength: 2048 }) : type === 'p256' ? makeKeyPair('ec', { namedCurve: 'P-256' }) : makeKeyPair('ed25519');
    decoy = made.then(({ publicKey }) => ({ id: 'decoy', type, spki: publicKey.export({ format: 'der', type: 'spki' }).toString('base64'), label: null, address: null, createdAt: 0 }));
    decoys.set(type, decoy);
  }
  return decoy;
}

/** Whether a bearer token is meant as an assertion: anything that is not a Coffer access token. */
export function isAssertion(token: string): boolean {
  try {
    return decodeProtectedHeader(token).typ !== ACCESS_TOKEN_TYPE;
  } catch {
    return false;
  }
}

export class AssertionService {
  constructor(
    private readonly users: UserStore,
    private readonly keys: KeyStore,
    private readonly signingKeys: SigningKeys,
    private readonly clockSkew: number,
    private readonly audit: Audit,
    private readonly clock: Clock,
  ) {}

  /** Verifies an assertion against the keys `sub` registered; the principal holds `presign` only. */
  async authenticate(token: string): Promise<Principal> {
    let header: ReturnType<typeof decodeProtectedHeader>;
    let unverified: JWTPayload;
    try {
      header = decodeProtectedHeader(token);
      unverified = decodeJwt(token);
    } catch {
      throw invalidToken('The bearer token is not a JWT.');
    }
    const alg = header.alg ?? '';
    const keyType = KEY_TYPE_OF[alg];
    if (!keyType) throw invalidToken(`An assertion is signed with RS256, PS256, ES256 or EdDSA, not ${alg || 'nothing'}.`);
    if (header.kid !== undefined && this.signingKeys.verificationKey(header.kid)) throw invalidToken('An assertion is signed with your own key; it carries no Coffer kid.');
    const sub = unverified.sub;
    const found = isValidUsername(sub) ? await this.users.getByName(sub) : undefined;
    const user = found && !found.disabled ? found : undefined;
    // An unknown or disabled `sub` and a key that is not the user's get the same answer after
    // the same work (one key lookup, one verification), so an assertion tells nobody who exists.
    const candidates = (await this.keys.list(user?.id ?? '')).filter(
      (k) => k.type === keyType && (header.kid === undefined || !isKeyId(header.kid) || k.id === header.kid),
    );
    // A key that verifies the signature but whose claims fail tells what is wrong with them.
    let payload: JWTPayload | string | undefined;
    for (const key of candidates) {
      payload = await this.verifyWith(token, key, alg);
      if (payload) break;
    }
    if (candidates.length === 0) await this.verifyWith(token, await decoyKey(keyType), alg);
    if (!user || !payload) return this.refuse(String(sub), NOT_PROVEN);
    if (typeof payload === 'string') return this.refuse(user.username, payload);
    const { iat, exp } = payload as { iat: number; exp: number };
    if (exp - iat > MAX_ASSERTION_SECONDS) return this.refuse(user.username, `An assertion lives at most ${MAX_ASSERTION_SECONDS} s (exp − iat); this one asks for ${exp - iat} s.`);
    // The presign scope, and the object scopes the methods it signs need (SPEC §2).
    const scopes = new Set(effectiveGrants(user).filter((s) => ASSERTION_SCOPES.includes(s)));
    return {
      user,
      via: 'assertion',
      // Only POST /v1/presign accepts an assertion, and it reads the user alone; these claims
      // describe the assertion in access-token terms for the logs.
      claims: { iss: user.username, sub: user.id, public_id: user.id, username: user.username, scope: [...scopes].join(' '), iat, exp, jti: '', ver: user.tokenVersion },
      scopes,
      token,
    };
  }

  /** The payload when `key` signed the token and its claims check out; what is wrong with the claims when only they fail. */
  private async verifyWith(token: string, key: PublicKeyRecord, alg: string): Promise<JWTPayload | string | undefined> {
    try {
      const { payload } = await jwtVerify(token, createPublicKey({ key: Buffer.from(key.spki, 'base64'), format: 'der', type: 'spki' }), {
        algorithms: [alg],
        requiredClaims: ['iat', 'exp', 'sub'],
        maxTokenAge: MAX_ASSERTION_SECONDS,
        clockTolerance: this.clockSkew,
        currentDate: new Date(this.clock.now()),
      });
      return payload;
    } catch (e) {
      if (e instanceof joseErrors.JWTExpired) return 'The assertion has expired; sign a new one.';
      if (e instanceof joseErrors.JWTClaimValidationFailed) {
        if (e.reason === 'missing') return `The assertion lacks "${e.claim}": "sub", "iat" and "exp" are required.`;
        if (e.claim === 'iat') return `The assertion's "iat" is in the future or more than ${MAX_ASSERTION_SECONDS} s ago; sign a new one.`;
        return `The assertion's "${e.claim}" claim is not valid (${e.message}).`;
      }
      if (e instanceof joseErrors.JOSEError) return undefined;
      throw e;
    }
  }

  private refuse(user: string, message: string): never {
    this.audit('assertion.refused', { user });
    throw invalidToken(message);
  }
}

function isKeyId(kid: string): boolean {
  return /^[0-9a-f]{64}$/.test(kid);
}

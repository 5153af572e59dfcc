/**
 * The access-token signing keys. The newest key signs; every key not yet retired verifies, so a
 * rotation logs nobody out: a replaced key is kept until the last token it signed expires. The
 * keys are kept by a SigningKeyStore (a file, or the shared database); a key this node does not
 * know makes it look again (at most once a second), and so does a change another node announces.
 * HS256 mode uses the configured secret instead and publishes no JWKS.
 */
import {
  calculateJwkThumbprint,
  errors as joseErrors,
  exportJWK,
  generateKeyPair,
  importJWK,
  jwtVerify,
  SignJWT,
  type CryptoKey,
  type JWK,
  type JWTPayload,
  type JWTVerifyOptions,
} from 'jose';
import type { JwtAlgorithm } from '../config.js';
import { CofferError } from '../errors.js';
import type { Clock } from '../util/clock.js';
import type { SigningKeyStore, StoredSigningKey } from './signing-key-store.js';

interface LiveKey {
  kid: string;
  alg: JwtAlgorithm;
  privateKey: CryptoKey | Uint8Array;
  verifyKey: CryptoKey | Uint8Array;
  publicJwk?: JWK;
  retireAt?: number;
}

const GENERATE_OPTIONS: Record<Exclude<JwtAlgorithm, 'HS256'>, { crv?: string; modulusLength?: number }> = {
  EdDSA: { crv: 'Ed25519' },
  ES256: {},
  RS256: { modulusLength: 2048 },
};

export class SigningKeys {
  private keys: LiveKey[] = [];
  private storeVersion = '';
  private lastReload = -Infinity;

  private constructor(
    readonly algorithm: JwtAlgorithm,
    private readonly store: SigningKeyStore | undefined,
    /** How long a replaced key keeps verifying: the longest token lifetime plus clock skew. */
    private readonly retireAfterMs: number,
    private readonly clock: Clock,
  ) {}

  /** HS256: the configured secret signs and verifies. */
  static shared(secret: string, clock: Clock): SigningKeys {
    const ring = new SigningKeys('HS256', undefined, 0, clock);
    const key = new TextEncoder().encode(secret);
    ring.keys = [{ kid: 'hs256', alg: 'HS256', privateKey: key, verifyKey: key }];
    return ring;
  }

  /** The keys in `store`; a first key is made when there is none of `algorithm` that signs. */
  static async open(store: SigningKeyStore, algorithm: Exclude<JwtAlgorithm, 'HS256'>, retireAfterMs: number, clock: Clock): Promise<SigningKeys> {
    const ring = new SigningKeys(algorithm, store, retireAfterMs, clock);
    await ring.reload();
    if (!ring.keys.some((k) => k.alg === algorithm && k.retireAt === undefined)) await ring.rotate();
    return ring;
  }

  /** The key new tokens are signed with. */
  get current(): LiveKey {
    return this.keys[this.keys.length - 1]!;
  }

  /** The key that verifies a token with this `kid`, if it is still live. */
  verificationKey(kid: string | undefined): LiveKey | undefined {
    if (this.algorithm === 'HS256') return this.keys[0];
    const now = this.clock.now();
    return this.keys.find((k) => k.kid === kid && k.alg === this.algorithm && (k.retireAt === undefined || k.retireAt > now));
  }

  /**
   * The key that verifies a token with this `kid`. Another node may have rotated the keys, so
   * an unknown kid makes it look at the store again (`refresh`).
   */
  async resolve(kid: string | undefined): Promise<LiveKey | undefined> {
    const key = this.verificationKey(kid);
    if (key) return key;
    await this.refresh();
    return this.verificationKey(kid);
  }

  /**
   * Looks at the store for keys another node wrote, at most once a second: callers anyone can
   * make (unknown kids, the public JWKS) must not turn into a store read each. Real time, not the
   * service clock: this bounds reads of the store, whatever time tokens live in.
   */
  async refresh(): Promise<void> {
    if (performance.now() - this.lastReload <= 1000) return;
    this.lastReload = performance.now();
    await this.reloadIfChanged();
  }

  /** Signs `claims` with the current key as a JWT of type `typ`. */
  sign(claims: JWTPayload, typ: string): Promise<string> {
    const key = this.current;
    const header = { alg: key.alg, typ, ...(key.alg === 'HS256' ? {} : { kid: key.kid }) };
    return new SignJWT(claims).setProtectedHeader(header).sign(key.privateKey);
  }

  /**
   * Verifies a JWT Coffer signed: its shape, its key (by kid), the algorithm, `typ` and the time
   * claims. What is wrong is reported through `refuse`, in the caller's words.
   */
  async verify(
    token: string,
    typ: string,
    options: Pick<JWTVerifyOptions, 'issuer' | 'audience' | 'clockTolerance' | 'currentDate' | 'requiredClaims'>,
    refuse: (problem: 'malformed' | 'unknown key' | 'expired' | 'invalid') => Error,
  ): Promise<JWTPayload> {
    if (typeof token !== 'string' || token.length > 8192 || token.split('.').length !== 3) throw refuse('malformed');
    try {
      const { payload } = await jwtVerify(token, async (header) => {
        const key = await this.resolve(header.kid);
        if (!key) throw refuse('unknown key');
        return key.verifyKey;
      }, { ...options, algorithms: [this.algorithm], typ });
      return payload;
    } catch (e) {
      if (e instanceof joseErrors.JWTExpired) throw refuse('expired');
      if (e instanceof joseErrors.JOSEError) throw refuse('invalid');
      throw e;
    }
  }

  /** The public keys for /.well-known/jwks.json. */
  jwks(): { keys: JWK[] } {
    const now = this.clock.now();
    return {
      keys: this.keys
        .filter((k) => k.publicJwk && (k.retireAt === undefined || k.retireAt > now))
        .map((k) => ({ ...k.publicJwk!, kid: k.kid, alg: k.alg, use: 'sig' })),
    };
  }

  /** Makes a new current key; the old ones verify until their tokens have expired. */
  async rotate(): Promise<string> {
    if (!this.store) {
      throw new CofferError('conflict', 'With COFFER_JWT_ALG=HS256 the key is COFFER_JWT_SECRET: rotate it by changing that setting.');
    }
    const alg = this.algorithm as Exclude<JwtAlgorithm, 'HS256'>;
    const { privateKey } = await generateKeyPair(alg, { ...GENERATE_OPTIONS[alg], extractable: true });
    const privateJwk = await exportJWK(privateKey);
    const kid = await calculateJwkThumbprint(privateJwk);
    const now = this.clock.now();
    await this.store.rotate({ kid, alg, privateJwk, createdAt: now }, now + this.retireAfterMs, now);
    await this.reload();
    return kid;
  }

  /** Picks up keys another node (or process) wrote; cheap when nothing changed. */
  async reloadIfChanged(): Promise<void> {
    if (this.store && (await this.store.version()) !== this.storeVersion) await this.reload();
  }

  private async reload(): Promise<void> {
    if (!this.store) return;
    const version = await this.store.version();
    const stored = await this.store.load();
    const live: LiveKey[] = [];
    for (const k of stored.sort((a, b) => a.createdAt - b.createdAt || a.kid.localeCompare(b.kid))) live.push(await liveKey(k));
    // The current key is the newest one that is not retiring.
    live.sort((a, b) => Number(a.retireAt === undefined) - Number(b.retireAt === undefined));
    this.keys = live;
    this.storeVersion = version;
  }
}

async function liveKey(k: StoredSigningKey): Promise<LiveKey> {
  const { d: _private, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...publicJwk } = k.privateJwk as JWK & Record<'d' | 'p' | 'q' | 'dp' | 'dq' | 'qi', unknown>;
  return {
    kid: k.kid,
    alg: k.alg,
    privateKey: (await importJWK(k.privateJwk, k.alg)) as CryptoKey,
    verifyKey: (await importJWK(publicJwk, k.alg)) as CryptoKey,
    publicJwk,
    ...(k.retireAt !== undefined ? { retireAt: k.retireAt } : {}),
  };
}

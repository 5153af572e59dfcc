/**
 * The access-token signing keys. Asymmetric keys live in `<dataDir>/keys/jwt-signing-keys.json`
 * (mode 0600, created on first start). The newest key signs; every key not yet retired verifies,
 * so a rotation logs nobody out: a replaced key is kept until the last token it signed expires.
 * HS256 mode uses the configured secret instead and publishes no JWKS.
 */
import { mkdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
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
import type { Config, JwtAlgorithm } from '../config.js';
import { CofferError } from '../errors.js';
import { systemClock, type Clock } from '../util/clock.js';
import { writeFileAtomic } from '../util/atomic-file.js';

interface StoredKey {
  kid: string;
  alg: JwtAlgorithm;
  privateJwk: JWK;
  createdAt: number;
  /** Once set: after this instant (ms) the key verifies nothing and is dropped. */
  retireAt?: number;
}

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

/** The signing keys a configuration names: the server and `coffer jwks` open them the same way. */
export function openSigningKeys(config: Config, clock: Clock = systemClock): Promise<SigningKeys> {
  return SigningKeys.open({
    algorithm: config.jwtAlgorithm,
    dataDir: config.dataDir,
    ...(config.jwtSecret ? { secret: config.jwtSecret } : {}),
    // A replaced key verifies until the last token it signed has expired, clock skew included.
    retireAfterMs: (config.accessTokenTtl + config.clockSkewSeconds) * 1000,
    clock,
  });
}

export class SigningKeys {
  private keys: LiveKey[] = [];
  private fileMtime = 0;
  private lastReload = -Infinity;

  private constructor(
    readonly algorithm: JwtAlgorithm,
    private readonly file: string | undefined,
    /** How long a replaced key keeps verifying: the longest token lifetime plus clock skew. */
    private readonly retireAfterMs: number,
    private readonly clock: Clock,
  ) {}

  static async open(options: {
    algorithm: JwtAlgorithm;
    dataDir: string;
    secret?: string;
    retireAfterMs: number;
    clock?: Clock;
  }): Promise<SigningKeys> {
    const clock = options.clock ?? systemClock;
    if (options.algorithm === 'HS256') {
      const ring = new SigningKeys('HS256', undefined, options.retireAfterMs, clock);
      const secret = new TextEncoder().encode(options.secret);
      ring.keys = [{ kid: 'hs256', alg: 'HS256', privateKey: secret, verifyKey: secret }];
      return ring;
    }
    const dir = path.join(options.dataDir, 'keys');
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const ring = new SigningKeys(options.algorithm, path.join(dir, 'jwt-signing-keys.json'), options.retireAfterMs, clock);
    await ring.reload();
    if (!ring.keys.some((k) => k.alg === options.algorithm && k.retireAt === undefined)) await ring.rotate();
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
   * The key that verifies a token with this `kid`. Another process may have rotated the keys,
   * so an unknown kid makes it look at the key file, at most once a second.
   */
  async resolve(kid: string | undefined): Promise<LiveKey | undefined> {
    const key = this.verificationKey(kid);
    // Real time, not the service clock: this bounds file reads, whatever time the tokens live in.
    if (key || performance.now() - this.lastReload <= 1000) return key;
    this.lastReload = performance.now();
    await this.reloadIfChanged();
    return this.verificationKey(kid);
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
    if (!this.file) {
      throw new CofferError('conflict', 'With COFFER_JWT_ALG=HS256 the key is COFFER_JWT_SECRET: rotate it by changing that setting.');
    }
    const alg = this.algorithm as Exclude<JwtAlgorithm, 'HS256'>;
    const { privateKey } = await generateKeyPair(alg, { ...GENERATE_OPTIONS[alg], extractable: true });
    const privateJwk = await exportJWK(privateKey);
    const stored = await this.readFile();
    const now = this.clock.now();
    for (const k of stored) k.retireAt ??= now + this.retireAfterMs;
    const kid = await calculateJwkThumbprint(privateJwk);
    stored.push({ kid, alg, privateJwk, createdAt: now });
    await writeFileAtomic(this.file, JSON.stringify(stored.filter((k) => k.retireAt === undefined || k.retireAt > now), null, 2));
    await this.reload();
    return kid;
  }

  /** Picks up keys another process (or `coffer keys rotate`) wrote; cheap when nothing changed. */
  async reloadIfChanged(): Promise<void> {
    if (!this.file) return;
    const s = await stat(this.file).catch(() => undefined);
    if (s && s.mtimeMs !== this.fileMtime) await this.reload();
  }

  private async readFile(): Promise<StoredKey[]> {
    if (!this.file) return [];
    try {
      const parsed: unknown = JSON.parse(await readFile(this.file, 'utf8'));
      if (!Array.isArray(parsed)) throw new Error('not a JSON array');
      return parsed as StoredKey[];
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw new Error(`cannot read the signing keys in ${this.file}: ${(e as Error).message}`);
    }
  }

  private async reload(): Promise<void> {
    const stored = await this.readFile();
    const s = this.file ? await stat(this.file).catch(() => undefined) : undefined;
    const live: LiveKey[] = [];
    for (const k of stored.sort((a, b) => a.createdAt - b.createdAt)) {
      const { d: _private, ...publicJwk } = k.privateJwk as JWK & { d?: string };
      const extra = ['p', 'q', 'dp', 'dq', 'qi'];
      for (const f of extra) delete (publicJwk as Record<string, unknown>)[f];
      live.push({
        kid: k.kid,
        alg: k.alg,
        privateKey: (await importJWK(k.privateJwk, k.alg)) as CryptoKey,
        verifyKey: (await importJWK(publicJwk, k.alg)) as CryptoKey,
        publicJwk,
        ...(k.retireAt !== undefined ? { retireAt: k.retireAt } : {}),
      });
    }
    // The current key is the newest one that is not retiring.
    live.sort((a, b) => Number(a.retireAt === undefined) - Number(b.retireAt === undefined));
    this.keys = live;
    this.fileMtime = s?.mtimeMs ?? 0;
  }
}

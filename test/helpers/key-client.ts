/**
 * A client that holds a key pair, written with node:crypto's own primitives (never the server's
 * helpers): it makes keys, encodes them in each wire form, signs challenge tokens the way AMO's
 * clients do, and signs its own JWT assertions the way the presign prototype's client does.
 */
import { constants, createHash, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';

export type KeyType = 'ed25519' | 'p256' | 'rsa';
export type Encoding = 'hex' | 'HEX' | 'base64' | 'base64url';

export interface KeyHolder {
  type: KeyType;
  publicKey: KeyObject;
  privateKey: KeyObject;
  /** The raw key: 32 bytes (Ed25519), the 65-byte point (P-256), SPKI DER (RSA). */
  raw: Buffer;
  /** P-256 only: AMO's address (uppercase hex of the first 20 bytes of SHA-256 of the point). */
  address?: string;
}

export function makeKey(type: KeyType): KeyHolder {
  const pair =
    type === 'ed25519'
      ? generateKeyPairSync('ed25519')
      : type === 'p256'
        ? generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
        : generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = pair.publicKey.export({ format: 'jwk' });
  let raw: Buffer;
  if (type === 'ed25519') raw = Buffer.from(jwk.x!, 'base64url');
  else if (type === 'p256') raw = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url')]);
  else raw = pair.publicKey.export({ format: 'der', type: 'spki' });
  const holder: KeyHolder = { type, publicKey: pair.publicKey, privateKey: pair.privateKey, raw };
  if (type === 'p256') holder.address = createHash('sha256').update(raw).digest().subarray(0, 20).toString('hex').toUpperCase();
  return holder;
}

export function encode(bytes: Buffer, encoding: Encoding): string {
  if (encoding === 'hex') return bytes.toString('hex');
  if (encoding === 'HEX') return bytes.toString('hex').toUpperCase();
  return bytes.toString(encoding);
}

/** The P-256 curve order: s and n − s are both valid signatures of the same message. */
const P256_N = BigInt('0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551');

/** True when a raw r‖s P-256 signature has s > n/2 (Go and elliptic send these; OpenSSL normalises some). */
export function isHighS(sig: Buffer): boolean {
  return BigInt('0x' + sig.subarray(32).toString('hex')) > P256_N / 2n;
}

/** Flips s to n − s: the other valid signature (turns low-S into high-S and back). */
export function flipS(sig: Buffer): Buffer {
  const s = BigInt('0x' + sig.subarray(32).toString('hex'));
  return Buffer.concat([sig.subarray(0, 32), Buffer.from((P256_N - s).toString(16).padStart(64, '0'), 'hex')]);
}

export interface SignOptions {
  /** P-256: raw r‖s (AMO) or DER. */
  p256Form?: 'raw' | 'der';
  /** P-256 raw: force the high-S form. */
  highS?: boolean;
  /** RSA: PKCS#1 v1.5 (default) or PSS. */
  rsaPadding?: 'pkcs1' | 'pss';
}

/** Signs `message` (the exact ASCII of a token) with the holder's private key. */
export function signBytes(holder: KeyHolder, message: Buffer, options: SignOptions = {}): Buffer {
  if (holder.type === 'ed25519') return sign(null, message, holder.privateKey);
  if (holder.type === 'p256') {
    if (options.p256Form === 'der') return sign('sha256', message, holder.privateKey);
    const sig = sign('sha256', message, { key: holder.privateKey, dsaEncoding: 'ieee-p1363' });
    return options.highS && !isHighS(sig) ? flipS(sig) : sig;
  }
  const padding = options.rsaPadding === 'pss' ? constants.RSA_PKCS1_PSS_PADDING : constants.RSA_PKCS1_PADDING;
  return sign('sha256', message, { key: holder.privateKey, padding, ...(options.rsaPadding === 'pss' ? { saltLength: 32 } : {}) });
}

/** The three headers of a signed parcel request. */
export function challengeHeaders(holder: KeyHolder, token: string, encoding: Encoding = 'hex', options: SignOptions = {}): Record<string, string> {
  return {
    'x-auth-token': token,
    'x-public-key': encode(holder.raw, encoding),
    'x-signature': encode(signBytes(holder, Buffer.from(token, 'ascii'), options), encoding),
  };
}

const JWT_ALG: Record<KeyType, string[]> = { rsa: ['RS256', 'PS256'], p256: ['ES256'], ed25519: ['EdDSA'] };

/** A JWT the client signs itself (no kid), as the presign prototype's client does. */
export function selfSignedJwt(holder: KeyHolder, claims: Record<string, unknown>, alg = JWT_ALG[holder.type][0]!, header: Record<string, unknown> = {}): string {
  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const input = `${b64({ alg, typ: 'JWT', ...header })}.${b64(claims)}`;
  const options: SignOptions = alg === 'PS256' ? { rsaPadding: 'pss' } : {};
  // JWS ES256 signatures are raw r‖s.
  return `${input}.${signBytes(holder, Buffer.from(input), { ...options, p256Form: 'raw' }).toString('base64url')}`;
}

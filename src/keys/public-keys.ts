/**
 * Public keys of clients that hold a key pair (SPEC §2 "Public keys"): parsing every accepted
 * form, the fingerprint id, the P-256 address, and signature checks. Pure functions over
 * node:crypto; the endpoints and the challenge flow build on them.
 */
import { createHash, createPublicKey, constants, verify, type KeyObject } from 'node:crypto';
import { badRequest } from '../errors.js';

export type PublicKeyType = 'ed25519' | 'p256' | 'rsa';

export interface ParsedPublicKey {
  key: KeyObject;
  type: PublicKeyType;
  /** Lowercase hex SHA-256 of the SPKI DER. */
  id: string;
  /** P-256 only: uppercase hex of the first 20 bytes of SHA-256 of the 65-byte point (AMO's convention). */
  address?: string;
}

const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const P256_SPKI_PREFIX = Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200', 'hex');
const P256_COMPRESSED_SPKI_PREFIX = Buffer.from('3039301306072a8648ce3d020106082a8648ce3d030107032200', 'hex');
const MIN_RSA_BITS = 2048;

/**
 * Binary values arrive as text: a value of only hex digits with an even length is hex; anything
 * else is base64 (standard or URL-safe, padded or not).
 */
export function decodeBinary(text: string, what: string): Buffer {
  const s = text.trim();
  if (s.length > 0 && s.length % 2 === 0 && /^[0-9a-fA-F]+$/.test(s)) return Buffer.from(s, 'hex');
  if (s.length === 0 || !/^[A-Za-z0-9+/_-]+={0,2}$/.test(s)) throw badRequest(`The ${what} is neither hex nor base64.`);
  return Buffer.from(s, 'base64');
}

function fromDer(der: Buffer): KeyObject {
  for (const type of ['spki', 'pkcs1'] as const) {
    try {
      return createPublicKey({ key: der, format: 'der', type });
    } catch {
      // try the next form
    }
  }
  throw badRequest('The key is not a public key in a form Coffer reads (PEM, SPKI DER, raw Ed25519, raw P-256).');
}

function keyObjectOf(input: string): KeyObject {
  const text = input.trim();
  if (text.startsWith('-----BEGIN')) {
    try {
      return createPublicKey(text);
    } catch {
      throw badRequest('The PEM is not a public key (SPKI "PUBLIC KEY", or "RSA PUBLIC KEY").');
    }
  }
  const bytes = decodeBinary(text, 'key');
  try {
    if (bytes.length === 32) return createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, bytes]), format: 'der', type: 'spki' });
    if (bytes.length === 65 && bytes[0] === 0x04) return createPublicKey({ key: Buffer.concat([P256_SPKI_PREFIX, bytes]), format: 'der', type: 'spki' });
    if (bytes.length === 33 && (bytes[0] === 0x02 || bytes[0] === 0x03)) {
      return createPublicKey({ key: Buffer.concat([P256_COMPRESSED_SPKI_PREFIX, bytes]), format: 'der', type: 'spki' });
    }
  } catch {
    throw badRequest(bytes.length === 32 ? 'The key is not a valid Ed25519 public key.' : 'The key is not a point on the P-256 curve.');
  }
  return fromDer(bytes);
}

/** The 65-byte uncompressed point of a P-256 key. */
function p256Point(key: KeyObject): Buffer {
  const jwk = key.export({ format: 'jwk' });
  return Buffer.concat([Buffer.from([0x04]), Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url')]);
}

function p256Address(point: Buffer): string {
  return createHash('sha256').update(point).digest().subarray(0, 20).toString('hex').toUpperCase();
}

/** Parses a public key in any accepted form; refuses weak, unsupported or malformed keys with 400. */
export function parsePublicKey(input: string): ParsedPublicKey {
  if (typeof input !== 'string' || input.trim() === '') throw badRequest('Send the public key.');
  const key = keyObjectOf(input);
  let type: PublicKeyType;
  if (key.asymmetricKeyType === 'ed25519') type = 'ed25519';
  else if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') type = 'p256';
  else if (key.asymmetricKeyType === 'rsa') {
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < MIN_RSA_BITS) throw badRequest(`The RSA key has ${bits} bits; at least ${MIN_RSA_BITS} are required.`);
    type = 'rsa';
  } else {
    throw badRequest(`Keys of type ${key.asymmetricKeyType}${key.asymmetricKeyDetails?.namedCurve ? ` (${key.asymmetricKeyDetails.namedCurve})` : ''} are not accepted: use Ed25519, P-256 or RSA.`);
  }
  // A P-256 key's id is that of its uncompressed SPKI, however it arrived.
  const point = type === 'p256' ? p256Point(key) : undefined;
  const spki = point ? Buffer.concat([P256_SPKI_PREFIX, point]) : key.export({ format: 'der', type: 'spki' });
  const parsed: ParsedPublicKey = { key, type, id: createHash('sha256').update(spki).digest('hex') };
  if (point) parsed.address = p256Address(point);
  return parsed;
}

/**
 * Whether `signature` (hex, base64url or base64) signs `message` with `key`: Ed25519; ECDSA
 * P-256/SHA-256 as raw r‖s or DER (high-S accepted); RSA PKCS#1 v1.5 or PSS (any salt) with SHA-256.
 * Malformed signatures are simply not valid.
 */
export function verifySignature(key: ParsedPublicKey, message: Buffer, signature: string): boolean {
  let sig: Buffer;
  try {
    sig = decodeBinary(signature, 'signature');
  } catch {
    return false;
  }
  const attempt = (fn: () => boolean) => {
    try {
      return fn();
    } catch {
      return false;
    }
  };
  switch (key.type) {
    case 'ed25519':
      return attempt(() => verify(null, message, key.key, sig));
    case 'p256':
      // 64 bytes is almost always r‖s, but a DER signature can be 64 bytes long too.
      return (
        (sig.length === 64 && attempt(() => verify('sha256', message, { key: key.key, dsaEncoding: 'ieee-p1363' }, sig))) ||
        attempt(() => verify('sha256', message, { key: key.key, dsaEncoding: 'der' }, sig))
      );
    case 'rsa':
      return (
        attempt(() => verify('sha256', message, { key: key.key, padding: constants.RSA_PKCS1_PADDING }, sig)) ||
        attempt(() => verify('sha256', message, { key: key.key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_AUTO }, sig))
      );
  }
}

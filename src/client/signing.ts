/**
 * A private key that signs for its holder, with WebCrypto: the challenge tokens of SPEC §2
 * (X-Auth-Token / X-Public-Key / X-Signature) and JWT assertions for POST /v1/presign. Keys come
 * as PEM (PKCS#8 `PRIVATE KEY`, SEC1 `EC PRIVATE KEY`, PKCS#1 `RSA PRIVATE KEY`, as `coffer keygen`
 * and OpenSSL write them), PKCS#8 DER, or raw (a 32-byte Ed25519 seed or P-256 scalar, as bytes,
 * hex or base64, with `type`).
 */
import { fromBase64, fromHex, sha256Hex, toBase64, toBase64Url, toHex, utf8 } from './bytes.js';

export type SignerKeyType = 'ed25519' | 'p256' | 'rsa';

export interface Signer {
  readonly type: SignerKeyType;
  /** The public key as X-Public-Key sends it: raw Ed25519 (32 bytes), the raw P-256 point (65), RSA's SPKI DER. */
  readonly publicKey: Uint8Array;
  /** The public key's SPKI DER (what POST /v1/keys registers; its SHA-256 is the key's id). */
  readonly spki: Uint8Array;
  /** The public key as PEM (SPKI). */
  readonly publicKeyPem: string;
  /** The key's id on the server: lowercase hex SHA-256 of the SPKI. */
  readonly id: string;
  /** P-256 only: AMO's address (uppercase hex of the first 20 bytes of SHA-256 of the point). */
  readonly address?: string;
  /** Signs bytes (a string: its UTF-8): Ed25519; ECDSA P-256 SHA-256 as raw r‖s; RSA PKCS#1 v1.5 SHA-256. */
  sign(message: Uint8Array | string): Promise<Uint8Array>;
  /** The three headers of a signed parcel request for a challenge token. */
  signedHeaders(token: string): Promise<Record<'x-auth-token' | 'x-public-key' | 'x-signature', string>>;
  /** A JWT this key signs for `username` (sub, iat, exp), accepted by POST /v1/presign alone. */
  assertion(username: string, lifetimeSeconds?: number): Promise<string>;
}

export interface ImportSignerOptions {
  /** Needed for a raw 32-byte key (an Ed25519 seed and a P-256 scalar look alike). */
  type?: SignerKeyType;
}

const OID = {
  ed25519: [0x06, 0x03, 0x2b, 0x65, 0x70],
  ec: [0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01],
  p256: [0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07],
  rsa: [0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01],
};

function derLength(n: number): number[] {
  if (n < 0x80) return [n];
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return [0x80 | bytes.length, ...bytes];
}

function tlv(tag: number, ...content: Array<number[] | Uint8Array>): Uint8Array {
  const body = content.flatMap((c) => [...c]);
  return new Uint8Array([tag, ...derLength(body.length), ...body]);
}

const SEQ = 0x30;
const OCTETS = 0x04;
const VERSION_0 = [0x02, 0x01, 0x00];

function pkcs8(algorithm: Uint8Array, privateKey: Uint8Array): Uint8Array {
  return tlv(SEQ, VERSION_0, algorithm, tlv(OCTETS, privateKey));
}

const ALGORITHMS = {
  ed25519: () => tlv(SEQ, OID.ed25519),
  p256: () => tlv(SEQ, OID.ec, OID.p256),
  rsa: () => tlv(SEQ, OID.rsa, [0x05, 0x00]),
};

function contains(haystack: Uint8Array, needle: number[], within = 64): boolean {
  outer: for (let i = 0; i + needle.length <= Math.min(haystack.length, within); i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

function typeOfPkcs8(der: Uint8Array): SignerKeyType {
  if (contains(der, OID.ed25519, 24)) return 'ed25519';
  if (contains(der, OID.ec, 32)) {
    if (!contains(der, OID.p256, 48)) throw new TypeError('Only the P-256 curve is supported for EC keys.');
    return 'p256';
  }
  if (contains(der, OID.rsa, 32)) return 'rsa';
  throw new TypeError('Unsupported private key: Ed25519, P-256 or RSA expected.');
}

/** A private key in any accepted form as PKCS#8 DER and its type. */
function toPkcs8(key: string | Uint8Array, o: ImportSignerOptions): { der: Uint8Array; type: SignerKeyType } {
  if (typeof key === 'string') {
    const pem = /-----BEGIN ([A-Z ]+)-----([\s\S]*?)-----END \1-----/.exec(key);
    if (pem) {
      const der = fromBase64(pem[2]!.replace(/\s+/g, ''));
      switch (pem[1]) {
        case 'PRIVATE KEY':
          return { der, type: typeOfPkcs8(der) };
        case 'EC PRIVATE KEY':
          return { der: pkcs8(ALGORITHMS.p256(), der), type: 'p256' };
        case 'RSA PRIVATE KEY':
          return { der: pkcs8(ALGORITHMS.rsa(), der), type: 'rsa' };
        default:
          throw new TypeError(`A private key is needed; this PEM holds a "${pem[1]}".`);
      }
    }
    const text = key.trim();
    return toPkcs8(/^[0-9a-fA-F]+$/.test(text) && text.length % 2 === 0 ? fromHex(text) : fromBase64(text), o);
  }
  if (key.length === 32) {
    if (o.type === 'ed25519') return { der: pkcs8(ALGORITHMS.ed25519(), tlv(OCTETS, key)), type: 'ed25519' };
    if (o.type === 'p256') return { der: pkcs8(ALGORITHMS.p256(), tlv(SEQ, [0x02, 0x01, 0x01], tlv(OCTETS, key))), type: 'p256' };
    throw new TypeError('A raw 32-byte private key needs its type: { type: "ed25519" } or { type: "p256" }.');
  }
  if (key[0] === SEQ) return { der: key, type: typeOfPkcs8(key) };
  throw new TypeError('Unrecognised private key: PEM, PKCS#8 DER, or a raw 32-byte key with its type.');
}

const IMPORT: Record<SignerKeyType, EcKeyImportParams | RsaHashedImportParams | Algorithm> = {
  ed25519: { name: 'Ed25519' },
  p256: { name: 'ECDSA', namedCurve: 'P-256' },
  rsa: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
};
const SIGN: Record<SignerKeyType, AlgorithmIdentifier | EcdsaParams> = {
  ed25519: { name: 'Ed25519' },
  p256: { name: 'ECDSA', hash: 'SHA-256' },
  rsa: { name: 'RSASSA-PKCS1-v1_5' },
};
const JWT_ALG: Record<SignerKeyType, string> = { ed25519: 'EdDSA', p256: 'ES256', rsa: 'RS256' };

const buf = (b: Uint8Array) => b as Uint8Array<ArrayBuffer>;

/** Makes a Signer from a private key (see the file's comment for the forms). */
export async function importSigner(key: string | Uint8Array, options: ImportSignerOptions = {}): Promise<Signer> {
  const { der, type } = toPkcs8(key, options);
  if (options.type && options.type !== type) throw new TypeError(`The key is ${type}, not ${options.type}.`);
  const subtle = globalThis.crypto.subtle;
  const privateKey = await subtle.importKey('pkcs8', buf(der), IMPORT[type], true, ['sign']);
  const jwk = await subtle.exportKey('jwk', privateKey);
  const publicJwk: JsonWebKey =
    type === 'ed25519' ? { kty: 'OKP', crv: 'Ed25519', x: jwk.x! } : type === 'p256' ? { kty: 'EC', crv: 'P-256', x: jwk.x!, y: jwk.y! } : { kty: 'RSA', n: jwk.n!, e: jwk.e! };
  const publicCryptoKey = await subtle.importKey('jwk', publicJwk, IMPORT[type], true, type === 'ed25519' || type === 'p256' ? ['verify'] : ['verify']);
  const spki = new Uint8Array(await subtle.exportKey('spki', publicCryptoKey));
  const publicKey = type === 'rsa' ? spki : new Uint8Array(await subtle.exportKey('raw', publicCryptoKey));
  const address = type === 'p256' ? (await sha256Hex(publicKey)).slice(0, 40).toUpperCase() : undefined;
  const b64 = toBase64(spki);
  const publicKeyPem = `-----BEGIN PUBLIC KEY-----\n${b64.replace(/(.{64})/g, '$1\n').replace(/\n$/, '')}\n-----END PUBLIC KEY-----\n`;

  const sign = async (message: Uint8Array | string) =>
    new Uint8Array(await subtle.sign(SIGN[type], privateKey, buf(typeof message === 'string' ? utf8(message) : message)));

  return {
    type,
    publicKey,
    spki,
    publicKeyPem,
    id: await sha256Hex(spki),
    ...(address ? { address } : {}),
    sign,
    async signedHeaders(token) {
      return { 'x-auth-token': token, 'x-public-key': toHex(publicKey), 'x-signature': toHex(await sign(token)) };
    },
    async assertion(username, lifetimeSeconds = 300) {
      const now = Math.floor(Date.now() / 1000);
      const part = (o: unknown) => toBase64Url(utf8(JSON.stringify(o)));
      const input = `${part({ alg: JWT_ALG[type], typ: 'JWT' })}.${part({ sub: username, iat: now, exp: now + lifetimeSeconds })}`;
      return `${input}.${toBase64Url(await sign(input))}`;
    },
  };
}

/**
 * A client of the challenge flow (SPEC §2) and the older parcel API (SPEC §4), as AMO's clients
 * speak them, for the tests: ask POST /api/v1/auth for a token, sign its bytes, send the three
 * headers. node:crypto only (key-client.ts), never the server's own helpers.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { challengeHeaders, type Encoding, type KeyHolder, type SignOptions } from './key-client.js';
import { bearer, type TestServer } from './server.js';

export const JSON_HEADERS = { 'content-type': 'application/json' };
export const STORAGE_ID = '00000001';

export const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
/** SPEC §4: storage id + uppercase SHA-256 of the data. */
export const parcelIdOf = (bytes: Buffer) => STORAGE_ID + sha256(bytes).toUpperCase();

export type Operation = string | { name: string; hash?: string; id?: string };

/** POST /api/v1/auth; the raw response. */
export function askChallenge(s: TestServer, body: unknown): Promise<Response> {
  return s.fetch('/api/v1/auth', { method: 'POST', headers: JSON_HEADERS, body: JSON.stringify(body) });
}

/** A challenge token for `user` and `operation` (asserts 200). */
export async function challengeFor(s: TestServer, user: string, operation: Operation): Promise<string> {
  const res = await askChallenge(s, { user, operation });
  const text = await res.text();
  assert.equal(res.status, 200, `POST /api/v1/auth -> ${res.status} ${text}`);
  const { token } = JSON.parse(text) as { token: string };
  assert.equal(typeof token, 'string');
  return token;
}

/** The signed headers of one request: the holder signs `token` in `encoding`. */
export interface Signer {
  holder: KeyHolder;
  encoding?: Encoding;
  options?: SignOptions;
}

export const signedBy = (signer: Signer, token: string) => challengeHeaders(signer.holder, token, signer.encoding ?? 'hex', signer.options ?? {});

export function uploadJson(s: TestServer, headers: Record<string, string>, body: Record<string, unknown>): Promise<Response> {
  return s.fetch('/api/v1/parcels', { method: 'POST', headers: { ...headers, ...JSON_HEADERS }, body: JSON.stringify(body) });
}

export function uploadRaw(s: TestServer, headers: Record<string, string>, data: Buffer): Promise<Response> {
  return s.fetch('/api/v1/parcels', { method: 'POST', headers: { ...headers, 'content-type': 'application/octet-stream' }, body: new Uint8Array(data) });
}

export async function expectStatus(res: Response, status: number, what = ''): Promise<string> {
  const text = await res.text();
  assert.equal(res.status, status, `${what} expected ${status}, got ${res.status} ${text}`);
  return text;
}

/** ?key=owner needs no proof: 200 {"owner"} while the parcel exists, 404 after. */
export async function ownerOf(s: TestServer, id: string): Promise<{ status: number; owner?: string }> {
  const res = await s.fetch(`/api/v1/parcels/${id}?key=owner`);
  if (res.status !== 200) {
    await res.text();
    return { status: res.status };
  }
  return { status: 200, owner: ((await res.json()) as { owner: string }).owner };
}

/** Uploads `data` (JSON form) for `user` with a fresh challenge; asserts 200 and returns the id. */
export async function uploadAs(s: TestServer, user: string, signer: Signer, data: Buffer, metadata: unknown = {}): Promise<string> {
  const token = await challengeFor(s, user, { name: 'upload', hash: sha256(data) });
  const res = await uploadJson(s, signedBy(signer, token), { owner: user, metadata, data: data.toString('hex') });
  const text = await expectStatus(res, 200, 'upload');
  return (JSON.parse(text) as { id: string }).id;
}

export async function registerKey(s: TestServer, userToken: string, key: string): Promise<void> {
  const res = await s.fetch('/v1/keys', { method: 'POST', headers: bearer(userToken, JSON_HEADERS), body: JSON.stringify({ key }) });
  await expectStatus(res, 201, 'POST /v1/keys');
}

export async function usernames(s: TestServer): Promise<string[]> {
  const res = await s.fetch('/v1/users', { headers: bearer(await s.adminToken()) });
  assert.equal(res.status, 200);
  return ((await res.json()) as { users: { username: string }[] }).users.map((u) => u.username);
}

export function decodeJwtPart(token: string, part: 0 | 1): Record<string, unknown> {
  const parts = token.split('.');
  assert.equal(parts.length, 3, 'a JWT has three parts');
  return JSON.parse(Buffer.from(parts[part]!, 'base64url').toString('utf8')) as Record<string, unknown>;
}

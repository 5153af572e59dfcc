/** Signing tokens with a test server's own key, to build well-formed tokens that must still fail. */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { importJWK, SignJWT, type JWK, type JWTPayload } from 'jose';
import type { TestServer } from './server.js';

interface StoredKey {
  kid: string;
  alg: string;
  privateJwk: JWK;
  createdAt: number;
  retireAt?: number;
}

/** The key the server signs with now, read from its data directory. */
export async function currentSigningKey(server: TestServer) {
  const stored = JSON.parse(await readFile(path.join(server.dataDir, 'keys', 'jwt-signing-keys.json'), 'utf8')) as StoredKey[];
  const live = stored.filter((k) => k.retireAt === undefined).sort((a, b) => b.createdAt - a.createdAt)[0];
  if (!live) throw new Error('the keys file has no current key');
  return { kid: live.kid, alg: live.alg, key: await importJWK(live.privateJwk, live.alg) };
}

/** Signs `claims` with the server's real key; the header defaults to what Coffer itself writes. */
export async function signWithServerKey(server: TestServer, claims: JWTPayload, header: Record<string, unknown> = {}): Promise<string> {
  const k = await currentSigningKey(server);
  return new SignJWT(claims).setProtectedHeader({ alg: k.alg, typ: 'at+jwt', kid: k.kid, ...header } as never).sign(k.key);
}

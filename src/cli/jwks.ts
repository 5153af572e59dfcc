/** `coffer jwks [--pem]`: print the public keys that verify access tokens. */
import { createPublicKey } from 'node:crypto';
import { SigningKeys } from '../auth/signing-keys.js';
import { loadConfig } from '../config.js';

export async function printJwks(options: { pem?: boolean; config?: string }): Promise<void> {
  const config = loadConfig(process.env, options.config ?? process.env.COFFER_CONFIG);
  if (config.jwtAlgorithm === 'HS256') throw new Error('HS256 tokens are verified with the shared secret (COFFER_JWT_SECRET); there is no public key');
  const keys = await SigningKeys.open({ algorithm: config.jwtAlgorithm, dataDir: config.dataDir, retireAfterMs: config.accessTokenTtl * 1000 });
  const jwks = keys.jwks();
  if (!options.pem) {
    process.stdout.write(JSON.stringify(jwks, null, 2) + '\n');
    return;
  }
  for (const jwk of jwks.keys) {
    const pem = createPublicKey({ key: jwk as import('node:crypto').JsonWebKey, format: 'jwk' }).export({ type: 'spki', format: 'pem' });
    process.stdout.write(`# kid ${jwk.kid} (${jwk.alg})\n${pem.toString()}`);
  }
}

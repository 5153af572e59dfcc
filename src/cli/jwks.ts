/** `coffer jwks [--pem]`: print the public keys that verify access tokens. */
import { createPublicKey, type JsonWebKey } from 'node:crypto';
import { openSigningKeys } from '../auth/signing-keys.js';
import type { Config } from '../config.js';

export async function printJwks(config: Config, options: { pem?: boolean }): Promise<void> {
  if (config.jwtAlgorithm === 'HS256') throw new Error('HS256 tokens are verified with the shared secret (COFFER_JWT_SECRET); there is no public key');
  const jwks = (await openSigningKeys(config)).jwks();
  if (!options.pem) {
    process.stdout.write(JSON.stringify(jwks, null, 2) + '\n');
    return;
  }
  for (const jwk of jwks.keys) {
    const pem = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' }).export({ type: 'spki', format: 'pem' });
    process.stdout.write(`# kid ${jwk.kid} (${jwk.alg})\n${pem.toString()}`);
  }
}

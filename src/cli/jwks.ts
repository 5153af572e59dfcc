/** `coffer jwks [--pem]`: print the public keys that verify access tokens. */
import { createPublicKey, type JsonWebKey } from 'node:crypto';
import type { Config } from '../config.js';
import { openKeyring } from '../keyring.js';
import { createMetadataStores } from '../storage/meta/index.js';
import { systemClock } from '../util/clock.js';

export async function printJwks(config: Config, options: { pem?: boolean }): Promise<void> {
  if (config.jwtAlgorithm === 'HS256') throw new Error('HS256 tokens are verified with the shared secret (COFFER_JWT_SECRET); there is no public key');
  // With COFFER_SECRET_KEY the keys are in the database (never migrated from here: it may be
  // shared by running nodes of another version); else in the data directory.
  const stores = config.secretKey ? await createMetadataStores(config.databaseUrl, { migrate: false }) : undefined;
  const jwks = await openKeyring(config, systemClock, stores)
    .then(({ signingKeys }) => signingKeys.jwks())
    .finally(() => stores?.close());
  if (!options.pem) {
    process.stdout.write(JSON.stringify(jwks, null, 2) + '\n');
    return;
  }
  for (const jwk of jwks.keys) {
    const pem = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' }).export({ type: 'spki', format: 'pem' });
    process.stdout.write(`# kid ${jwk.kid} (${jwk.alg})\n${pem.toString()}`);
  }
}

/**
 * Where the access-token signing keys and the presign secret live, by configuration (SPEC §5).
 * With COFFER_SECRET_KEY: in the database, sealed with it, shared by every node (keys and a secret
 * that a single node kept in its data directory are carried over, so turning it on logs nobody
 * out). Without: in files of the data directory, for one node. The first node to start makes
 * them; nodes starting at the same moment wait for it and read them.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { SigningKeys } from './auth/signing-keys.js';
import type { SigningKeyStore } from './auth/signing-key-store.js';
import type { Config } from './config.js';
import { FileSigningKeyStore } from './storage/files/signing-keys-file.js';
import { loadOrCreateSecret, readSecret } from './storage/files/secret-file.js';
import type { MetadataStores } from './storage/meta/index.js';
import type { Clock } from './util/clock.js';
import { SecretBox } from './util/secret-box.js';

export interface Keyring {
  signingKeys: SigningKeys;
  /** Signs the URLs Coffer serves itself (fs presigned URLs). */
  presignSecret: Buffer;
}

/** `stores` may be left out when no COFFER_SECRET_KEY is set (the keys are files then). */
export async function openKeyring(config: Config, clock: Clock, stores?: MetadataStores): Promise<Keyring> {
  const presignFile = path.join(config.dataDir, 'keys', 'presign.key');
  const fileKeys = new FileSigningKeyStore(config.dataDir);
  if (!config.secretKey) {
    return { signingKeys: await signingKeysIn(fileKeys, config, clock), presignSecret: await loadOrCreateSecret(presignFile) };
  }
  if (!stores) throw new Error('openKeyring: COFFER_SECRET_KEY keeps the keys in the database; open it first');
  const shared = stores.sharedSecrets(new SecretBox(config.secretKey, 'shared secrets'));
  return stores.exclusively('keyring', async () => {
    await carryOver(fileKeys, shared.signingKeys, retireAfterMs(config), clock.now());
    const presign = await shared.secrets.getOrCreate('presign', async () => ((await readSecret(presignFile)) ?? randomBytes(32)).toString('hex'), clock.now());
    return { signingKeys: await signingKeysIn(shared.signingKeys, config, clock), presignSecret: Buffer.from(presign, 'hex') };
  });
}

function signingKeysIn(store: SigningKeyStore, config: Config, clock: Clock): Promise<SigningKeys> {
  if (config.jwtAlgorithm === 'HS256') return Promise.resolve(SigningKeys.shared(config.jwtSecret!, clock));
  return SigningKeys.open(store, config.jwtAlgorithm, retireAfterMs(config), clock);
}

/** A replaced key verifies until the last token it signed has expired, clock skew included. */
function retireAfterMs(config: Config): number {
  return (config.accessTokenTtl + config.clockSkewSeconds) * 1000;
}

/** The keys of the data directory move into an empty database, newest last, so their tokens stay valid. */
async function carryOver(from: SigningKeyStore, to: SigningKeyStore, retireAfter: number, now: number): Promise<void> {
  if ((await to.load()).length > 0) return;
  for (const key of (await from.load()).sort((a, b) => a.createdAt - b.createdAt)) {
    if (key.retireAt === undefined || key.retireAt > now) await to.rotate(key, now + retireAfter, now);
  }
}

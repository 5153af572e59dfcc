/**
 * Where the access-token signing keys are kept: a file in the data directory (one node, or nodes
 * that share the directory), or the metadata database, sealed with COFFER_SECRET_KEY, which every
 * node of a cluster reads (SPEC §5).
 */
import type { JWK } from 'jose';
import type { JwtAlgorithm } from '../config.js';

export interface StoredSigningKey {
  kid: string;
  alg: JwtAlgorithm;
  privateJwk: JWK;
  createdAt: number;
  /** Once set: after this instant (ms) the key verifies nothing and is dropped. */
  retireAt?: number;
}

export interface SigningKeyStore {
  /** Every key kept. */
  load(): Promise<StoredSigningKey[]>;
  /**
   * Adds `key` and sets every key that is not retiring yet to retire at `retireOthersAt`; keys
   * retired by `now` are dropped. One change, whatever other nodes do at the same time.
   */
  rotate(key: StoredSigningKey, retireOthersAt: number, now: number): Promise<void>;
  /** Changes whenever the keys change; cheap to read. */
  version(): Promise<string>;
}

/** The public keys port: keys registered to users; a key has at most one holder (SPEC §2). */

export interface PublicKeyRecord {
  id: string;
  type: string;
  /** SPKI DER, base64. */
  spki: string;
  label: string | null;
  address: string | null;
  createdAt: number;
}

export interface KeyStore {
  /** Registers a key; false when it is registered already (to this owner or another). */
  add(owner: string, key: PublicKeyRecord): Promise<boolean>;
  list(owner: string): Promise<PublicKeyRecord[]>;
  delete(owner: string, id: string): Promise<boolean>;
  /** The id of the user who registered the key, if anyone did. */
  holderOf(id: string): Promise<string | undefined>;
}

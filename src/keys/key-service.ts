/** Registered public keys (SPEC §2 "Public keys"): add, list, remove; a key has one holder. */
import { badRequest, conflict, notFound } from '../errors.js';
import type { Audit } from '../util/audit.js';
import type { UserRecord } from '../users/user-store.js';
import type { Clock } from '../util/clock.js';
import type { KeyStore, PublicKeyRecord } from './key-store.js';
import { parsePublicKey, type ParsedPublicKey } from './public-keys.js';

export interface KeyView {
  id: string;
  type: string;
  label: string | null;
  address?: string;
  created_at: string;
}

export function toKeyView(k: PublicKeyRecord): KeyView {
  return { id: k.id, type: k.type, label: k.label, ...(k.address ? { address: k.address } : {}), created_at: new Date(k.createdAt).toISOString() };
}

export class KeyService {
  constructor(
    private readonly keys: KeyStore,
    private readonly audit: Audit,
    private readonly clock: Clock,
  ) {}

  /** Registers `key` (any accepted form) for `owner`; 409 when anyone holds it already. */
  async add(owner: UserRecord, key: unknown, label: unknown, by: UserRecord): Promise<PublicKeyRecord> {
    if (typeof key !== 'string') throw badRequest('Send the public key as {"key": "...", "label"?: "..."} or as a PEM body.');
    if (label !== undefined && (typeof label !== 'string' || label.length > 200)) throw badRequest('"label" must be a string of at most 200 characters.');
    const parsed = parsePublicKey(key);
    const record = this.recordOf(parsed, label ?? null);
    if (!(await this.keys.add(owner.id, record))) throw conflict(`This key (${parsed.id}) is registered already: a key belongs to one user only.`);
    this.audit('key.add', { username: owner.username, by: by.username, id: record.id, type: record.type });
    return record;
  }

  /** Registers a key that proved itself (a self-registered address user's); false when someone holds it. */
  registerParsed(owner: UserRecord, parsed: ParsedPublicKey, label: string): Promise<boolean> {
    return this.keys.add(owner.id, this.recordOf(parsed, label));
  }

  list(owner: UserRecord): Promise<PublicKeyRecord[]> {
    return this.keys.list(owner.id);
  }

  /** The id of the user who registered the key, if anyone did. */
  holderOf(keyId: string): Promise<string | undefined> {
    return this.keys.holderOf(keyId);
  }

  async remove(owner: UserRecord, id: string): Promise<void> {
    if (!(await this.keys.delete(owner.id, id))) throw notFound(`No key ${id}.`);
    this.audit('key.remove', { username: owner.username, id });
  }

  private recordOf(parsed: ParsedPublicKey, label: string | null): PublicKeyRecord {
    return {
      id: parsed.id,
      type: parsed.type,
      spki: parsed.key.export({ format: 'der', type: 'spki' }).toString('base64'),
      label,
      address: parsed.address ?? null,
      createdAt: this.clock.now(),
    };
  }
}

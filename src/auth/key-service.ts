/** Registered public keys (SPEC §2 "Public keys"): add, list, remove. */
import { badRequest, conflict, notFound } from '../errors.js';
import type { MetadataStore, PublicKeyRecord, UserRecord } from '../storage/meta/metadata-store.js';
import type { Audit } from './audit.js';
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

export function keyRecordOf(parsed: ParsedPublicKey, label: string | null): PublicKeyRecord {
  return {
    id: parsed.id,
    type: parsed.type,
    spki: parsed.key.export({ format: 'der', type: 'spki' }).toString('base64'),
    label,
    address: parsed.address ?? null,
    createdAt: Date.now(),
  };
}

export class KeyService {
  constructor(
    private readonly store: MetadataStore,
    private readonly audit: Audit,
  ) {}

  /** Registers `key` (any accepted form) for `owner`; 409 when anyone holds it already. */
  async add(owner: UserRecord, key: unknown, label: unknown, by: UserRecord): Promise<PublicKeyRecord> {
    if (typeof key !== 'string') throw badRequest('Send the public key as {"key": "...", "label"?: "..."} or as a PEM body.');
    if (label !== undefined && (typeof label !== 'string' || label.length > 200)) throw badRequest('"label" must be a string of at most 200 characters.');
    const parsed = parsePublicKey(key);
    const record = keyRecordOf(parsed, label ?? null);
    if (!(await this.store.addPublicKey(owner.id, record))) throw conflict(`This key (${parsed.id}) is registered already: a key belongs to one user only.`);
    this.audit('key.add', { username: owner.username, by: by.username, id: record.id, type: record.type });
    return record;
  }

  list(owner: UserRecord): Promise<PublicKeyRecord[]> {
    return this.store.listPublicKeys(owner.id);
  }

  async remove(owner: UserRecord, id: string): Promise<void> {
    if (!(await this.store.deletePublicKey(owner.id, id))) throw notFound(`No key ${id}.`);
    this.audit('key.remove', { username: owner.username, id });
  }
}

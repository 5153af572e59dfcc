/**
 * The older parcel API of SPEC §4 (what AMO's clients speak): a parcel is content-addressed,
 * id = storage id + uppercase SHA-256 of its bytes, and belongs to one owner. Its bytes are that
 * owner's object `parcels/{id}`, so /v1/objects sees (and may delete) it; its owner and metadata
 * sit in the parcels table, written in the same transaction as the object's index entry.
 */
import type { Readable } from 'node:stream';
import { badRequest, conflict, forbidden, notFound } from '../errors.js';
import type { MetadataStore, ObjectRecord, ParcelRecord } from '../storage/meta/metadata-store.js';
import { newObjectRecord, type ObjectService, type Owner, type StoredBlob } from './object-service.js';
import { parcelObjectPath } from './parcel-id.js';

export interface ParcelUpload {
  /** The SHA-256 the data must have (the challenge's), hex. */
  expectedSha256: string | undefined;
  contentType: string | undefined;
  size: number | undefined;
  /** Fires when the client went away: the upload stops at once. */
  signal?: AbortSignal | undefined;
}

/** Bytes in the blob store, not yet a parcel. */
export interface StoredParcelBytes extends StoredBlob {
  contentType: string | undefined;
}

/** A parcel's metadata (SPEC §4): a JSON object, kept as given; `{}` when absent or null. */
export function parcelMetadata(raw: unknown): object {
  const kept = raw ?? {};
  if (typeof kept !== 'object' || Array.isArray(kept)) throw badRequest('"metadata" must be a JSON object.');
  return kept;
}

export class ParcelService {
  constructor(
    private readonly store: MetadataStore,
    private readonly objects: ObjectService,
    private readonly storageId: string,
  ) {}

  /** Stores the bytes and records the parcel (the raw form of an upload). */
  async upload(owner: Owner, body: Readable, upload: ParcelUpload, metadata: unknown = {}): Promise<{ id: string; created: boolean }> {
    return this.commit(owner, await this.storeBytes(owner, body, upload), metadata);
  }

  /** Streams the bytes into a fresh blob (checked against `expectedSha256`); `commit` or `discard` follows. */
  async storeBytes(owner: Owner, body: Readable, upload: ParcelUpload): Promise<StoredParcelBytes> {
    return { ...(await this.objects.storeBlob(owner, body, upload)), contentType: upload.contentType };
  }

  discard(stored: StoredParcelBytes): Promise<void> {
    return this.objects.discardBlob(stored.blobKey);
  }

  /** Records stored bytes as a parcel; the same owner again changes nothing, another owner gets 409. */
  async commit(owner: Owner, stored: StoredParcelBytes, metadata: unknown): Promise<{ id: string; created: boolean }> {
    const { blobKey, size, sha256 } = stored;
    const id = this.storageId + sha256.toUpperCase();
    let result: Awaited<ReturnType<MetadataStore['parcelPut']>>;
    try {
      const parcel: ParcelRecord = { id, owner: owner.id, metadata: JSON.stringify(parcelMetadata(metadata)), createdAt: Date.now() };
      result = await this.store.parcelPut(parcel, newObjectRecord(parcelObjectPath(id), blobKey, size, sha256, stored.contentType));
    } catch (e) {
      await this.discard(stored);
      throw e;
    }
    if (result.existing) {
      await this.discard(stored);
      if (result.existing.owner !== owner.id) throw conflict(`Parcel ${id} exists already and belongs to another user.`);
      return { id, created: false };
    }
    if (result.previousObject) await this.objects.discardBlob(result.previousObject.blobKey);
    return { id, created: true };
  }

  /** The parcel (for inspection: no owner check). */
  async get(id: string): Promise<ParcelRecord> {
    const parcel = await this.store.parcelGet(id);
    if (!parcel) throw notFound(`No parcel ${id}.`);
    return parcel;
  }

  /** The parcel and its object, for its owner only. */
  async open(ownerId: string, id: string): Promise<{ parcel: ParcelRecord; object: ObjectRecord }> {
    const parcel = await this.ownedBy(ownerId, id);
    const object = await this.store.objectGet(ownerId, parcelObjectPath(id));
    if (!object) throw notFound(`No parcel ${id}.`);
    return { parcel, object };
  }

  /** Removes the parcel and its object together. */
  async remove(ownerId: string, id: string): Promise<void> {
    await this.ownedBy(ownerId, id);
    await this.objects.delete(ownerId, parcelObjectPath(id));
  }

  private async ownedBy(ownerId: string, id: string): Promise<ParcelRecord> {
    const parcel = await this.get(id);
    if (parcel.owner !== ownerId) throw forbidden(`Parcel ${id} belongs to another user.`);
    return parcel;
  }
}

/**
 * The older parcel API of SPEC §4 (what AMO's clients speak): a parcel is content-addressed,
 * id = storage id + uppercase SHA-256 of its bytes, and belongs to one owner. Its bytes are that
 * owner's object `parcels/{id}`, so /v1/objects sees (and may delete) it; its owner and metadata
 * sit in the parcels table, written in the same transaction as the object's index entry.
 */
import type { Readable } from 'node:stream';
import { badRequest, conflict, forbidden, notFound } from '../errors.js';
import type { ObjectRecord } from '../objects/object-index.js';
import type { ObjectService, Owner, ReservedPaths, StoredBlob } from '../objects/object-service.js';
import type { UserStore } from '../users/user-store.js';
import type { Clock } from '../util/clock.js';
import { isParcelPathShape, parcelIdOfPath, parcelObjectPath } from './parcel-id.js';
import type { ParcelRecord, ParcelStore } from './parcel-store.js';

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

/**
 * The `parcels/{id}` paths of /v1/objects: only the parcel API writes them (so a parcel's bytes
 * always match its id), and deleting one there deletes its parcel too.
 */
export function parcelPaths(parcels: ParcelStore): ReservedPaths {
  return {
    refusal: (path) =>
      isParcelPathShape(path) ? `"${path}" is a parcel's path, written only by the parcel API (POST /api/v1/parcels); pick another path.` : undefined,
    delete: (owner, path) => {
      const id = parcelIdOfPath(path);
      return id === undefined ? undefined : parcels.delete(owner, id, path);
    },
  };
}

export class ParcelService {
  constructor(
    private readonly parcels: ParcelStore,
    private readonly users: UserStore,
    private readonly objects: ObjectService,
    private readonly storageId: string,
    private readonly clock: Clock,
  ) {}

  /**
   * What an upload of bytes with this SHA-256 comes to before any byte is read: the parcel id
   * when the owner has it already (the same bytes again change nothing), 409 when another user
   * does, undefined when it is new (or the hash is not known yet).
   */
  async alreadyThere(owner: Owner, sha256: string | undefined): Promise<string | undefined> {
    if (sha256 === undefined) return undefined;
    const existing = await this.parcels.find(this.idOf(sha256));
    if (!existing) return undefined;
    if (existing.owner !== owner.id) throw this.taken(existing.id);
    return existing.id;
  }

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
    const id = this.idOf(sha256);
    let result: Awaited<ReturnType<ParcelStore['put']>>;
    try {
      const parcel = { id, metadata: JSON.stringify(parcelMetadata(metadata)), createdAt: this.clock.now() };
      result = await this.parcels.put(owner.id, parcel, this.objects.newRecord(parcelObjectPath(id), blobKey, size, sha256, stored.contentType));
    } catch (e) {
      await this.discard(stored);
      throw e;
    }
    if (result.existing) {
      await this.discard(stored);
      if (result.existing.owner !== owner.id) throw this.taken(id);
      return { id, created: false };
    }
    if (result.previousObject) await this.objects.discardBlob(result.previousObject.blobKey);
    return { id, created: true };
  }

  /** The parcel (for inspection: no owner check). */
  async get(id: string): Promise<ParcelRecord> {
    const parcel = await this.parcels.find(id);
    if (!parcel) throw notFound(`No parcel ${id}.`);
    return parcel;
  }

  /** The name of the parcel's owner (inspection; null if the account is gone). */
  async ownerName(id: string): Promise<string | null> {
    return (await this.users.getById((await this.get(id)).owner))?.username ?? null;
  }

  /** The parcel and its object, for its owner only. */
  async open(ownerId: string, id: string): Promise<{ parcel: ParcelRecord; object: ObjectRecord }> {
    const parcel = await this.ownedBy(ownerId, id);
    const object = await this.objects.find(ownerId, parcelObjectPath(id));
    if (!object) throw notFound(`No parcel ${id}.`);
    return { parcel, object };
  }

  /** Removes the parcel and its object together. */
  async remove(ownerId: string, id: string): Promise<void> {
    await this.ownedBy(ownerId, id);
    await this.objects.delete(ownerId, parcelObjectPath(id));
  }

  private idOf(sha256: string): string {
    return this.storageId + sha256.toUpperCase();
  }

  private taken(id: string) {
    return conflict(`Parcel ${id} exists already and belongs to another user.`);
  }

  private async ownedBy(ownerId: string, id: string): Promise<ParcelRecord> {
    const parcel = await this.get(id);
    if (parcel.owner !== ownerId) throw forbidden(`Parcel ${id} belongs to another user.`);
    return parcel;
  }
}

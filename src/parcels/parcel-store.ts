/**
 * The parcel port (the older parcel API of SPEC §4): a parcel's id, owner and metadata; its
 * bytes are the owner's object `parcels/{id}`, written in the same transaction.
 */
import type { ObjectRecord } from '../objects/object-index.js';

export interface ParcelRecord {
  /** Uppercase: storage id + SHA-256. */
  id: string;
  owner: string;
  /** The metadata object as uploaded, JSON text. */
  metadata: string;
  createdAt: number;
}

export interface ParcelStore {
  /** Any owner's parcel: ids are content addresses, inspected without proof (SPEC §4). */
  find(id: string): Promise<ParcelRecord | undefined>;
  /**
   * Records the owner's parcel and points their object at its blob, in one transaction; when the
   * id exists already nothing changes and the existing parcel is resolved (the caller drops its blob).
   */
  put(owner: string, parcel: Omit<ParcelRecord, 'owner'>, object: ObjectRecord): Promise<{ existing?: ParcelRecord; previousObject?: ObjectRecord }>;
  /** Removes the owner's parcel and its object `objectPath` together; resolves the object removed. */
  delete(owner: string, id: string, objectPath: string): Promise<ObjectRecord | undefined>;
}

/**
 * Parcel ids (SPEC §4): the storage id and the uppercase SHA-256 of the data, 72 hex digits; a
 * parcel's bytes are its owner's object `parcels/{id}`. Everything that knows this shape is here.
 */
import { badRequest } from '../errors.js';
import type { ObjectPath } from '../paths/key-path.js';

const PARCEL_ID = /^[0-9a-fA-F]{72}$/;
const PREFIX = 'parcels/';

/** A parcel id as stored (uppercase); 400 when it cannot be one. */
export function parseParcelId(raw: string): string {
  if (!PARCEL_ID.test(raw)) throw badRequest(`"${raw.slice(0, 100)}" is not a parcel id: those are 72 hex digits (storage id + SHA-256).`);
  return raw.toUpperCase();
}

export function parcelObjectPath(id: string): ObjectPath {
  return (PREFIX + id) as ObjectPath;
}

/** The id of the parcel whose object this is (exactly as the parcel API writes it), if any. */
export function parcelIdOfPath(path: string): string | undefined {
  const id = path.slice(PREFIX.length);
  return path.startsWith(PREFIX) && PARCEL_ID.test(id) && id === id.toUpperCase() ? id : undefined;
}

/** Whether a path has the shape of a parcel's object in any case (only the parcel API writes those). */
export function isParcelPathShape(path: string): boolean {
  return path.startsWith(PREFIX) && PARCEL_ID.test(path.slice(PREFIX.length));
}

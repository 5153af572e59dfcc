/**
 * Page cursors of listings: opaque to clients, they name their listing (so a cursor cannot be
 * carried to another one) and the last entry the previous page returned.
 */
import { badRequest } from '../errors.js';

export function encodeCursor(listing: readonly unknown[], lastEntry: string): string {
  return Buffer.from(JSON.stringify([listing, lastEntry])).toString('base64url');
}

/** The last entry of the previous page, or a 400 when the cursor is not one of this listing's. */
export function decodeCursor(cursor: string, listing: readonly unknown[], isEntry: (last: string) => boolean = () => true): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString());
  } catch {
    parsed = undefined;
  }
  const [named, last] = Array.isArray(parsed) ? parsed : [];
  if (JSON.stringify(named) !== JSON.stringify(listing) || typeof last !== 'string' || !isEntry(last)) {
    throw badRequest('The cursor does not belong to this listing; pass the "cursor" of the previous page unchanged.');
  }
  return last;
}

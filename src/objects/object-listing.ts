/**
 * S3-style listing of a user's objects: paths starting with `prefix` in byte order; with
 * delimiter "/", one level (deeper paths folded into `prefixes`). The cursor names its listing
 * and the last path or prefix returned.
 */
import { badRequest } from '../errors.js';
import type { ObjectIndex, ObjectRecord } from './object-index.js';
import { toObjectView, type ObjectView } from './object-view.js';

export const DEFAULT_OBJECT_LIST_LIMIT = 1000;

export interface ListOptions {
  prefix: string;
  cursor?: string;
  limit?: number;
  delimiter?: string;
}

export interface ObjectListing {
  objects: ObjectView[];
  prefixes?: string[];
  cursor: string | null;
}

export async function listObjects(index: ObjectIndex, owner: string, options: ListOptions): Promise<ObjectListing> {
  const limit = options.limit ?? DEFAULT_OBJECT_LIST_LIMIT;
  const { prefix, delimiter } = options;
  let after = options.cursor === undefined ? undefined : decodeCursor(options.cursor, prefix);
  // Entries are objects, or (with the delimiter) folded prefixes; one more than a page tells
  // whether there is a next page.
  const entries: Array<ObjectRecord | string> = [];
  while (entries.length <= limit) {
    const wanted = limit + 1 - entries.length;
    const batch = await index.list(owner, { prefix, ...(after !== undefined ? { after } : {}), limit: wanted });
    let skipped = false;
    for (const o of batch) {
      const slash = delimiter ? o.path.indexOf('/', prefix.length) : -1;
      if (slash < 0) {
        entries.push(o);
        after = o.path;
      } else {
        const folded = o.path.slice(0, slash + 1);
        entries.push(folded);
        after = skipPast(folded);
        skipped = true;
        break; // everything below `folded` is skipped by the next query
      }
      if (entries.length > limit) break;
    }
    if (!skipped && batch.length < wanted) break;
  }
  const page = entries.slice(0, limit);
  const last = page[page.length - 1];
  return {
    objects: page.filter((e): e is ObjectRecord => typeof e !== 'string').map(toObjectView),
    ...(delimiter ? { prefixes: page.filter((e): e is string => typeof e === 'string') } : {}),
    cursor: entries.length > limit && last !== undefined ? encodeCursor(prefix, typeof last === 'string' ? skipPast(last) : last.path) : null,
  };
}

/** A string that sorts after every path below `folded` (which ends in "/") and before the next sibling. */
function skipPast(folded: string): string {
  return folded + '\u{10FFFF}';
}

function encodeCursor(prefix: string, after: string): string {
  return Buffer.from(JSON.stringify([prefix, after])).toString('base64url');
}

function decodeCursor(cursor: string, prefix: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString());
  } catch {
    parsed = undefined;
  }
  const [p, after] = Array.isArray(parsed) ? parsed : [];
  if (p !== prefix || typeof after !== 'string') {
    throw badRequest('The cursor does not belong to this listing; pass the "cursor" of the previous page unchanged.');
  }
  return after;
}

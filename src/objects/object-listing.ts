/**
 * S3-style listing of a user's objects: paths starting with `prefix` in byte order; with
 * delimiter "/", one level (deeper paths folded into `prefixes`). The cursor names its listing
 * and the last path or prefix returned.
 */
import { decodeCursor, encodeCursor } from '../util/list-cursor.js';
import { prefixUpperBound } from '../util/prefix.js';
import type { ListFrom, ObjectIndex, ObjectRecord } from './object-index.js';
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
  const listing = [prefix, delimiter ?? null];
  const folds = (entry: string) => delimiter !== undefined && entry.indexOf(delimiter, prefix.length) >= 0;
  let from: ListFrom | undefined;
  if (options.cursor !== undefined) {
    const last = decodeCursor(options.cursor, listing, (entry) => entry.startsWith(prefix));
    from = resumeAfter(last, folds(last));
  }
  // Entries are objects, or (with the delimiter) folded prefixes; one more than a page tells
  // whether there is a next page.
  const entries: Array<ObjectRecord | string> = [];
  while (entries.length <= limit) {
    const wanted = limit + 1 - entries.length;
    const batch = await index.list(owner, { prefix, ...(from ? { from } : {}), limit: wanted });
    let skipped = false;
    for (const o of batch) {
      const slash = delimiter ? o.path.indexOf(delimiter, prefix.length) : -1;
      if (slash < 0) {
        entries.push(o);
        from = resumeAfter(o.path, false);
      } else {
        const folded = o.path.slice(0, slash + delimiter!.length);
        entries.push(folded);
        from = resumeAfter(folded, true);
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
    cursor: entries.length > limit && last !== undefined ? encodeCursor(listing, typeof last === 'string' ? last : last.path) : null,
  };
}

/** Where the next query starts: past a path, or past everything below a folded prefix. */
function resumeAfter(entry: string, folded: boolean): ListFrom {
  return folded ? { path: prefixUpperBound(entry), inclusive: true } : { path: entry, inclusive: false };
}

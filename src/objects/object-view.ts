/** How an object is shown to clients (SPEC §4): its JSON fields and its entity tag. */
import type { ObjectRecord } from './object-index.js';

export interface ObjectView {
  path: string;
  size: number;
  sha256: string;
  content_type: string;
  etag: string;
  updated_at: string;
}

/** Strong, and the same for the same bytes wherever they are stored. */
export function etagOf(o: ObjectRecord): string {
  return `"${o.sha256}"`;
}

export function toObjectView(o: ObjectRecord): ObjectView {
  return { path: o.path, size: o.size, sha256: o.sha256, content_type: o.contentType, etag: etagOf(o), updated_at: new Date(o.updatedAt).toISOString() };
}

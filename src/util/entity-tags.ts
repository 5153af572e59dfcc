/**
 * Entity-tag comparison of RFC 9110 §13.1, the one rule behind every conditional request (KV
 * reads and writes, object downloads): If-Match compares strongly (a weak W/ tag never matches),
 * If-None-Match weakly.
 */

/** True when an If-Match / If-None-Match header value names this entity tag (or is "*"). */
export function etagMatches(header: string, etag: string, comparison: 'strong' | 'weak'): boolean {
  return header
    .split(',')
    .map((t) => t.trim())
    .some((t) => t === '*' || t === etag || (comparison === 'weak' && t === `W/${etag}`));
}

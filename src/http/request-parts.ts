/** Pieces of a request that several files read the same way: paths, query parameters, its state. */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { badRequest } from '../errors.js';
import { parseEncodedKeyPath, type KeyPath } from '../paths/key-path.js';

export type Query = Record<string, string | string[] | undefined>;

/** The status counted for a request its client abandoned mid-way (nginx's "client closed request"). */
export const CLIENT_CLOSED = 499;

/** Did the client close its connection before its request was all received? */
export function clientClosed(request: FastifyRequest): boolean {
  return !request.raw.complete && (request.raw.destroyed || request.raw.socket?.destroyed === true);
}

/** The path after `routePrefix` in the raw URL: percent-decoded once, after the query is cut off. */
export function pathAfter(request: FastifyRequest, routePrefix: string, what = 'key'): KeyPath {
  const raw = request.url.slice(routePrefix.length);
  const q = raw.indexOf('?');
  return parseEncodedKeyPath(q < 0 ? raw : raw.slice(0, q), what);
}

export function single(query: Query, name: string): string | undefined {
  const v = query[name];
  if (Array.isArray(v)) throw badRequest(`"${name}" was given more than once.`);
  return v;
}

export function parseFlag(query: Query, name: string): boolean {
  const v = single(query, name);
  if (v === undefined || v === 'false' || v === '0') return false;
  if (v === '' || v === 'true' || v === '1') return true;
  throw badRequest(`"${name}" must be true or false.`);
}

/** A page size: a whole number from 1; more than `max` is served as `max` (as S3 does). */
export function parseLimit(query: Query, max: number): number | undefined {
  const v = single(query, 'limit');
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < 1) throw badRequest(`"limit" must be a whole number from 1 (at most ${max} are returned).`);
  return Math.min(n, max);
}

/**
 * True when Accept prefers `type` over everything else: it has the highest q-value, and among
 * equal q-values it is listed first.
 */
export function prefers(accept: string | undefined, type: string): boolean {
  if (!accept) return false;
  let best: { type: string; q: number } | undefined;
  for (const part of accept.split(',')) {
    const [range, ...params] = part.split(';').map((p) => p.trim().toLowerCase());
    if (!range) continue;
    const qParam = params.find((p) => p.startsWith('q='));
    const q = qParam ? Number(qParam.slice(2)) : 1;
    if (Number.isNaN(q)) continue;
    if (!best || q > best.q) best = { type: range, q };
  }
  return best !== undefined && best.q > 0 && best.type === type;
}

/**
 * Headers for bytes a user stored, served with the content type they chose: the browser must not
 * guess another type, and an HTML or SVG upload must not run scripts on Coffer's origin (a
 * presigned link to it would otherwise be a stored XSS).
 */
export function userContentHeaders(reply: FastifyReply): void {
  reply.header('x-content-type-options', 'nosniff');
  reply.header('content-security-policy', 'sandbox');
}

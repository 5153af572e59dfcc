/**
 * The TTL rule of SPEC §3: `ttl` is whole seconds from 1; a key with an expiry is gone, for every
 * reader and writer, from that instant (the sweep only reclaims the rows later).
 */
import { badRequest } from '../errors.js';

const MAX_TTL_SECONDS = 10 * 365 * 86_400;

/** A TTL from a query parameter or a body field: whole seconds >= 1. */
export function parseTtl(raw: unknown): number | undefined {
  if (raw === undefined) return undefined;
  const n = typeof raw === 'number' ? raw : typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(n) || n < 1 || n > MAX_TTL_SECONDS) {
    throw badRequest(`"ttl" must be a whole number of seconds from 1 to ${MAX_TTL_SECONDS}.`);
  }
  return n;
}

/** When a value written at `now` with `ttlSeconds` expires (null: never). */
export function expiryOf(now: number, ttlSeconds: number | undefined): number | null {
  return ttlSeconds ? now + ttlSeconds * 1000 : null;
}

/** Whether an entry with this expiry is still there at `now`. */
export function isLive(expiresAt: number | null, now: number): boolean {
  return expiresAt === null || expiresAt > now;
}

/**
 * Per-client-address rate limits (@fastify/rate-limit) on the routes that cost a password check
 * or a signature: one counter per address across them, kept in the metadata store so that every
 * node counts the same requests. The address is the socket's, or X-Forwarded-For's when
 * COFFER_TRUST_PROXY says whose to believe.
 */
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { CofferError } from '../errors.js';
import type { RateLimits } from '../ops/rate-limits.js';

/** Counts one request of this address, and refuses it with 429 past the limit. */
export type AddressLimit = (request: FastifyRequest) => Promise<void>;

/**
 * Registers the limits; routes opt in with `config: { rateLimit: {} }`. Resolves the same limit
 * as a function, for what a route's own hooks would reach too late (the client-signed
 * assertions, checked while authenticating).
 */
export async function addRateLimits(app: FastifyInstance, limits: RateLimits, settings: { max: number; windowMs: number }): Promise<AddressLimit> {
  /** The plugin's store, shared by every limited route (`child` hands out the same counters). */
  class SharedCounters {
    incr(key: string, done: (err: Error | null, result?: { current: number; ttl: number }) => void, windowMs: number): void {
      limits.hit(`address:${key}`, windowMs).then(
        (hit) => done(null, { current: hit.count, ttl: hit.resetInMs }),
        (err: Error) => done(err),
      );
    }

    child(): SharedCounters {
      return this;
    }
  }

  await app.register(rateLimit, {
    global: false,
    max: settings.max,
    timeWindow: settings.windowMs,
    store: SharedCounters,
    hook: 'onRequest',
    errorResponseBuilder: (_request, context) => tooMany(context.ttl),
  });
  const check = app.createRateLimit();
  return async (request) => {
    const result = await check(request);
    if (!result.isAllowed && result.isExceeded) throw tooMany(result.ttl);
  };
}

function tooMany(ttlMs: number): CofferError {
  const seconds = Math.max(1, Math.ceil(ttlMs / 1000));
  return new CofferError('too_many_requests', `Too many requests from this address; try again in ${seconds} s.`, { 'retry-after': String(seconds) });
}

/**
 * Authentication for protected routes. Routes that need a caller are registered inside one child
 * context that installs `requireAccessToken` first, so a new route cannot forget it. It runs on
 * onRequest, before any body is read: a refused request does not wait for its upload.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { insufficientScope, invalidToken } from '../errors.js';
import { isAssertion, type AssertionService } from '../auth/assertions.js';
import type { Scope } from '../users/scopes.js';
import type { Principal, TokenService } from '../auth/tokens.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
  interface FastifyContextConfig {
    /** The scope the route needs; 'any' for any valid access token. */
    scope?: Scope | 'any';
    /** The route also takes a client-signed assertion (SPEC §2): POST /v1/presign only. */
    acceptsAssertion?: boolean;
    /** Request bodies the route takes unvalidated (raw bytes, streams), for the API document only. */
    bodyDoc?: Record<string, { schema: unknown }>;
  }
}

/** The access token from `Authorization: Bearer`, `x-access-tokens` or `X-Auth-Token`. */
export function extractAccessToken(request: FastifyRequest): string | undefined {
  const match = /^Bearer[ ]+(\S+)\s*$/i.exec(request.headers.authorization ?? '');
  if (match) return match[1];
  // Another scheme (Basic, kept by a client session) does not hide the other headers.
  const alt = request.headers['x-access-tokens'] ?? request.headers['x-auth-token'];
  return typeof alt === 'string' && alt.trim() !== '' ? alt.trim() : undefined;
}

/** Names every header a token is read from: clients of the older designs send the other two. */
const MISSING_TOKEN =
  'This request needs an access token (from POST /v1/login): send "Authorization: Bearer <token>", "x-access-tokens: <token>" or "X-Auth-Token: <token>".';

/**
 * `limitAssertions` counts a client-signed assertion against its address's rate limit before its
 * signature is checked (assertions cost as much as logins, and carry no one-time jti).
 */
export function requireAccessToken(app: FastifyInstance, tokens: TokenService, assertions: AssertionService, limitAssertions: (request: FastifyRequest) => Promise<void>): void {
  // A protected route that forgot its scope fails at start-up, not on its first request.
  app.addHook('onRoute', (route) => {
    if (route.config?.scope === undefined) throw new Error(`protected route ${route.method} ${route.url} declares no scope`);
  });
  // Callback style, so that a token found in the caches (most requests) is admitted without a
  // promise or a microtask on the hot path.
  app.addHook('onRequest', (request, _reply, done) => {
    const token = extractAccessToken(request);
    if (!token) return done(invalidToken(MISSING_TOKEN));
    const config = request.routeOptions.config;
    const admit = (principal: Principal) => {
      const scope = config.scope!;
      if (scope !== 'any' && !principal.scopes.has(scope)) return done(insufficientScope(scope));
      request.principal = principal;
      done();
    };
    if (config.acceptsAssertion && isAssertion(token)) {
      limitAssertions(request).then(() => assertions.authenticate(token)).then(admit, done);
      return;
    }
    let cached: Principal | undefined;
    try {
      cached = tokens.cachedPrincipal(token);
    } catch (e) {
      return done(e as Error);
    }
    if (cached) return admit(cached);
    tokens.authenticate(token).then(admit, done);
  });
}

export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new Error('principalOf() on a route outside the protected context');
  return request.principal;
}

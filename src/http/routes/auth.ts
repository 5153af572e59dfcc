/** Login, tokens, JWKS: SPEC §2 "Login and tokens". */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Services } from '../../services.js';
import { principalOf } from '../auth-context.js';
import { bodyFields } from '../body.js';
import { answers, bearer, formOrJson, NoContent } from '../schemas/common.js';
import { Claims, Introspection, IntrospectBody, Jwks, LoginBody, LogoutBody, RefreshBody, Rotated, TokenAnswer } from '../schemas/auth.js';

/** `Authorization: Basic base64(user:password)`, if present. */
function basicCredentials(request: FastifyRequest): { username: string; password: string } | undefined {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(request.headers.authorization ?? '');
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

const tags = ['auth'];

export function authPublicRoutes(app: FastifyInstance, s: Services): void {
  app.post(
    '/v1/login',
    {
      config: { rateLimit: {} },
      schema: {
        tags,
        summary: 'Log in with a password (form, JSON or HTTP Basic) and receive tokens',
        description: 'Fields username (alias name), password, optional scope (space-separated, also as a query parameter); or an Authorization: Basic header.',
        body: formOrJson(LoginBody),
        response: answers({ 200: TokenAnswer }),
      },
    },
    async (request, reply) => {
      reply.header('cache-control', 'no-store'); // RFC 6749 §5.1: token responses are never cached
      const basic = basicCredentials(request);
      const fields = bodyFields(request);
      const scope = fields.scope ?? (request.query as Record<string, unknown>).scope;
      if (basic) return s.auth.login(basic.username, basic.password, scope);
      return s.auth.login(fields.username ?? fields.name, fields.password, scope);
    },
  );

  app.post(
    '/v1/token/refresh',
    {
      schema: {
        tags,
        summary: 'Trade a refresh token for a new pair (refresh tokens rotate; reusing one revokes its session)',
        body: RefreshBody,
        response: answers({ 200: TokenAnswer }),
      },
    },
    async (request, reply) => {
      reply.header('cache-control', 'no-store');
      return s.auth.refresh(bodyFields(request).refresh_token);
    },
  );

  app.get('/.well-known/jwks.json', { schema: { tags, summary: 'Public keys that verify access tokens', response: answers({ 200: Jwks }) } }, async (_request, reply) => {
    reply.header('cache-control', 'public, max-age=300');
    return s.auth.jwks();
  });
}

export function authProtectedRoutes(app: FastifyInstance, s: Services): void {
  app.post(
    '/v1/logout',
    {
      config: { scope: 'any' },
      schema: { tags, summary: 'Revoke this access token and its session', security: bearer, body: formOrJson(LogoutBody), response: answers({ 204: NoContent }) },
    },
    async (request, reply) => {
      await s.auth.logout(principalOf(request), bodyFields(request).refresh_token);
      return reply.code(204).send();
    },
  );

  app.get(
    '/v1/verify',
    {
      config: { scope: 'any' },
      schema: { tags, summary: '202 with the claims when the token is valid', security: bearer, response: answers({ 202: Claims }) },
    },
    async (request, reply) => reply.code(202).send(principalOf(request).claims),
  );

  app.post(
    '/v1/introspect',
    {
      config: { scope: 'any' },
      schema: { tags, summary: 'RFC 7662 token introspection', security: bearer, body: formOrJson(IntrospectBody), response: answers({ 200: Introspection }) },
    },
    async (request) => s.auth.introspect(principalOf(request), bodyFields(request).token),
  );

  app.post(
    '/v1/admin/signing-keys/rotate',
    {
      config: { scope: 'admin' },
      schema: { tags, summary: 'Start signing with a new key; old tokens stay valid until they expire', security: bearer, response: answers({ 200: Rotated }) },
    },
    async (request) => s.auth.rotateSigningKey(principalOf(request)),
  );
}

/** Public keys: SPEC §2. JSON {"key","label"}, or the PEM itself as the body. */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Services } from '../../services.js';
import { toKeyView } from '../../keys/key-service.js';
import { principalOf } from '../auth-context.js';
import { bodyFields, mediaType } from '../body.js';
import { answers, bearer, formOrJson, NoContent } from '../schemas/common.js';
import { KeyBody, KeyId, KeyList, KeyView, PemBody } from '../schemas/keys.js';
import { Username } from '../schemas/users.js';

const tags = ['keys'];
const PEM_TYPES = ['text/plain', 'application/x-pem-file'];

/** The key and label of a request: JSON/form fields, or a PEM body. */
function keyInput(request: FastifyRequest): { key: unknown; label: unknown } {
  if (PEM_TYPES.includes(mediaType(request)) && Buffer.isBuffer(request.body)) return { key: request.body.toString('utf8'), label: undefined };
  const fields = bodyFields(request);
  return { key: fields.key, label: fields.label };
}

export function keyRoutes(app: FastifyInstance, s: Services): void {
  app.post(
    '/v1/keys',
    {
      config: { scope: 'any', bodyDoc: PemBody },
      schema: { tags, summary: 'Register a public key for yourself (Ed25519, P-256, RSA >= 2048); 409 when anyone holds it', security: bearer, body: formOrJson(KeyBody), response: answers({ 201: KeyView }) },
    },
    async (request, reply) => {
      const me = principalOf(request).user;
      const { key, label } = keyInput(request);
      return reply.code(201).send(toKeyView(await s.keys.add(me, key, label, me)));
    },
  );

  app.get('/v1/keys', { config: { scope: 'any' }, schema: { tags, summary: 'Your public keys', security: bearer, response: answers({ 200: KeyList }) } }, async (request) => ({
    keys: (await s.keys.list(principalOf(request).user)).map(toKeyView),
  }));

  app.delete(
    '/v1/keys/:id',
    { config: { scope: 'any' }, schema: { tags, summary: 'Remove one of your public keys', security: bearer, params: KeyId, response: answers({ 204: NoContent }) } },
    async (request, reply) => {
      await s.keys.remove(principalOf(request).user, (request.params as { id: string }).id);
      return reply.code(204).send();
    },
  );

  app.post(
    '/v1/users/:username/keys',
    {
      config: { scope: 'admin', bodyDoc: PemBody },
      schema: { tags, summary: 'Register a public key for a user (admin)', security: bearer, params: Username, body: formOrJson(KeyBody), response: answers({ 201: KeyView }) },
    },
    async (request, reply) => {
      const { username } = request.params as { username: string };
      const owner = await s.users.get(username);
      const { key, label } = keyInput(request);
      return reply.code(201).send(toKeyView(await s.keys.add(owner, key, label, principalOf(request).user)));
    },
  );
}

/** Presigned URLs: SPEC §4. POST /v1/presign signs; /v1/presigned/{path} serves Coffer-signed URLs. */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Services } from '../../services.js';
import { PRESIGNED_ROUTE } from '../../objects/presign-service.js';
import { principalOf } from '../auth-context.js';
import { bodyFields } from '../body.js';
import { objectPathOf } from '../../paths/key-path.js';
import { pathAfter } from '../request-parts.js';
import { acceptStreamedBodies, bodyStream, sendObject, uploadOptions, writeAnswer } from '../object-transfer.js';
import { answers, bearer, formOrJson } from '../schemas/common.js';
import { PresignBody, Presigned } from '../schemas/objects.js';

/** The absolute base of URLs Coffer hands out: COFFER_PUBLIC_URL, else how the client reached us. */
function baseUrl(request: FastifyRequest, s: Services): string {
  return s.config.publicUrl ?? `${request.protocol}://${request.host}`;
}

export function presignRoutes(app: FastifyInstance, s: Services): void {
  app.post(
    '/v1/presign',
    {
      config: { scope: 'presign', acceptsAssertion: true },
      schema: {
        tags: ['objects'],
        summary: 'A URL that needs no token: {"path","method":"GET"|"PUT","expires_in"} (alias {"file","user"} presigns a PUT)',
        description: 'Needs the presign scope and the object scope of the method. Also takes a JWT the caller signed with its own registered key (SPEC §2).',
        security: bearer,
        body: formOrJson(PresignBody),
        response: answers({ 200: Presigned }),
      },
    },
    async (request) => s.presign.presign(principalOf(request), bodyFields(request), baseUrl(request, s)),
  );
}

/** The routes that serve Coffer-signed URLs: no token, the signature is the authority. */
export function presignedRoutes(app: FastifyInstance, s: Services): void {
  acceptStreamedBodies(app);

  const grantOf = (request: FastifyRequest, method: 'GET' | 'PUT') =>
    s.presign.authorize(method, objectPathOf(pathAfter(request, PRESIGNED_ROUTE, 'object path')), request.query as Record<string, unknown>);

  const read = (withBody: boolean) => async (request: FastifyRequest, reply: import('fastify').FastifyReply) => {
    const grant = await grantOf(request, 'GET');
    // A shared link may be embedded by any site (an <img>, say), as an S3 presigned URL can.
    reply.header('cross-origin-resource-policy', 'cross-origin');
    return sendObject(request, reply, s.objects, await s.objects.get(grant.owner.id, grant.path), withBody);
  };
  const hidden = { schema: { hide: true }, exposeHeadRoute: false };
  app.get(`${PRESIGNED_ROUTE}*`, hidden, read(true));
  app.head(`${PRESIGNED_ROUTE}*`, { schema: { hide: true } }, read(false));
  app.put(`${PRESIGNED_ROUTE}*`, { schema: { hide: true } }, async (request, reply) => {
    const grant = await grantOf(request, 'PUT');
    const { object } = await s.objects.put(grant.owner, grant.path, bodyStream(request), uploadOptions(request));
    // S3 answers a presigned PUT with 200 whether it created or replaced; so does Coffer.
    return writeAnswer(reply, object, false);
  });
}

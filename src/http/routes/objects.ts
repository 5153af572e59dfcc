/**
 * Objects (parcels): SPEC §4. Bodies stream straight from the socket into the BlobStore and back
 * out; nothing here holds a whole object in memory.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { badRequest } from '../../errors.js';
import { DEFAULT_OBJECT_LIST_LIMIT } from '../../objects/object-listing.js';
import { toObjectView } from '../../objects/object-view.js';
import { objectPathOf } from '../../paths/key-path.js';
import type { Services } from '../../services.js';
import { principalOf } from '../auth-context.js';
import { acceptStreamedBodies, bodyStream, sendObject, uploadOptions, writeAnswer } from '../object-transfer.js';
import { parseLimit, pathAfter, single, type Query } from '../request-parts.js';
import { answers, bearer, Bytes, NoContent, Wildcard } from '../schemas/common.js';
import { ListQuery, ObjectDeleted, ObjectListing, ObjectRead, ObjectWritten, ReadQuery, StreamedBody, UploadHeaders } from '../schemas/objects.js';

const PREFIX = '/v1/objects/';
const tags = ['objects'];

export function objectRoutes(app: FastifyInstance, s: Services): void {
  acceptStreamedBodies(app);

  const list = async (request: FastifyRequest, prefix: string) => {
    const query = request.query as Query;
    const queryPrefix = single(query, 'prefix') ?? '';
    const cursor = single(query, 'cursor');
    const delimiter = single(query, 'delimiter') || undefined;
    if (delimiter !== undefined && delimiter !== '/') throw badRequest(`delimiter must be "/" (got ${JSON.stringify(delimiter)}); leave it out for a flat listing.`);
    const limit = parseLimit(query, DEFAULT_OBJECT_LIST_LIMIT);
    return s.objects.list(principalOf(request).user.id, {
      prefix: prefix + queryPrefix,
      ...(cursor !== undefined ? { cursor } : {}),
      ...(limit !== undefined ? { limit } : {}),
      ...(delimiter !== undefined ? { delimiter } : {}),
    });
  };

  app.get(
    '/v1/objects',
    {
      config: { scope: 'objects:read' },
      schema: { tags, summary: 'List objects (S3-style: prefix, cursor, limit, delimiter=/)', security: bearer, querystring: ListQuery, response: answers({ 200: ObjectListing }) },
    },
    (request) => list(request, ''),
  );

  const read = async (request: FastifyRequest, reply: FastifyReply, withBody: boolean) => {
    const { path, isDir } = pathAfter(request, PREFIX, 'object path');
    if (isDir) {
      if (!withBody) throw badRequest('HEAD needs an object path, not a directory.');
      return list(request, path);
    }
    const object = await s.objects.get(principalOf(request).user.id, path);
    if ('meta' in (request.query as Query)) return toObjectView(object);
    return sendObject(request, reply, s.objects, object, withBody);
  };

  app.get(
    `${PREFIX}*`,
    {
      exposeHeadRoute: false,
      config: { scope: 'objects:read' },
      schema: {
        tags,
        summary: 'Download an object (Range, If-None-Match); ?meta for its metadata; a path ending in / lists',
        description: 'Listing query: prefix, cursor, limit (1-1000), delimiter=/.',
        security: bearer,
        params: Wildcard,
        querystring: ReadQuery,
        response: answers({
          200: { description: 'the bytes, the metadata (?meta) or the listing', content: { 'application/json': { schema: ObjectRead }, ...Bytes.content } },
          206: Bytes,
          304: NoContent,
        }),
      },
    },
    (request, reply) => read(request, reply, true),
  );

  app.head(
    `${PREFIX}*`,
    { config: { scope: 'objects:read' }, schema: { tags, summary: "An object's metadata as headers", security: bearer, params: Wildcard, response: answers({ 200: NoContent, 304: NoContent }) } },
    (request, reply) => read(request, reply, false),
  );

  app.put(
    `${PREFIX}*`,
    {
      config: { scope: 'objects:write', bodyDoc: StreamedBody },
      schema: {
        tags,
        summary: 'Upload (stream) an object; x-coffer-sha256 is checked before it is committed',
        security: bearer,
        params: Wildcard,
        headers: UploadHeaders,
        response: answers({ 200: ObjectWritten, 201: ObjectWritten }),
      },
    },
    async (request, reply) => {
      const path = objectPathOf(pathAfter(request, PREFIX, 'object path'));
      const { object, created } = await s.objects.put(principalOf(request).user, path, bodyStream(request), uploadOptions(request));
      return writeAnswer(reply, object, created);
    },
  );

  app.post(
    '/v1/objects',
    {
      config: { scope: 'objects:write', bodyDoc: StreamedBody },
      schema: {
        tags,
        summary: 'Upload by content: the path is the SHA-256 of the body (the same bytes again: 200)',
        security: bearer,
        headers: UploadHeaders,
        response: answers({ 200: ObjectWritten, 201: ObjectWritten }),
      },
    },
    async (request, reply) => {
      const { object, created } = await s.objects.putContentAddressed(principalOf(request).user, bodyStream(request), uploadOptions(request));
      return writeAnswer(reply, object, created);
    },
  );

  app.delete(
    `${PREFIX}*`,
    { config: { scope: 'objects:write' }, schema: { tags, summary: 'Delete an object (a parcel\'s takes its parcel along)', security: bearer, params: Wildcard, response: answers({ 200: ObjectDeleted }) } },
    async (request) => {
      const path = objectPathOf(pathAfter(request, PREFIX, 'object path'));
      await s.objects.delete(principalOf(request).user.id, path);
      return { path, deleted: true };
    },
  );
}

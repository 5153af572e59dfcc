/**
 * Objects (parcels): SPEC §4. Bodies stream straight from the socket into the BlobStore and back
 * out; nothing here holds a whole object in memory.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Readable } from 'node:stream';
import type { Services } from '../../services.js';
import { badRequest, CofferError } from '../../errors.js';
import type { ObjectRecord } from '../../objects/object-index.js';
import { DEFAULT_OBJECT_LIST_LIMIT } from '../../objects/object-listing.js';
import type { ObjectService } from '../../objects/object-service.js';
import { etagOf, toObjectView } from '../../objects/object-view.js';
import { objectPathOf } from '../../paths/key-path.js';
import { etagMatches } from '../../util/entity-tags.js';
import { principalOf } from '../auth-context.js';
import { parseLimit, pathAfter, single, userContentHeaders, type Query } from '../request-parts.js';

const PREFIX = '/v1/objects/';
const bearer = [{ bearer: [] }];

/**
 * The one Range form worth serving: a single `bytes=a-b`, `bytes=a-` or `bytes=-n`. Anything
 * else is ignored (the whole object, 200), as RFC 9110 allows; an unsatisfiable range is 416.
 */
function parseRange(header: string | undefined, size: number): { start: number; end: number } | 'unsatisfiable' | undefined {
  const m = header === undefined ? null : /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (m[2] !== '' && Number(m[2]) < start) return undefined;
  if (start >= size) return 'unsatisfiable';
  return { start, end };
}

function objectHeaders(reply: FastifyReply, object: ObjectRecord): void {
  reply.header('etag', etagOf(object));
  reply.header('last-modified', new Date(object.updatedAt).toUTCString());
  reply.header('accept-ranges', 'bytes');
  reply.header('x-coffer-sha256', object.sha256);
  userContentHeaders(reply);
}

export function uploadOptions(request: FastifyRequest) {
  const sha = request.headers['x-coffer-sha256'];
  if (Array.isArray(sha)) throw badRequest('Send x-coffer-sha256 once.');
  const length = request.headers['content-length'];
  const size = length !== undefined && /^\d+$/.test(length) ? Number(length) : undefined;
  return { contentType: request.headers['content-type'], expectedSha256: sha, size, signal: clientGone(request) };
}

/**
 * Fires when the client goes away before its body has all arrived: the store then stops the
 * upload at once (an S3 PUT of declared length would otherwise wait out the gateway's timeout).
 */
function clientGone(request: FastifyRequest): AbortSignal {
  const controller = new AbortController();
  request.raw.once('close', () => {
    if (!request.raw.complete) controller.abort(new Error('the client went away before its upload was complete'));
  });
  return controller.signal;
}

/** The request body as a stream (the routes below register a parser that does not read it). */
export function bodyStream(request: FastifyRequest): Readable {
  return (request.body as Readable | undefined) ?? request.raw;
}

export function writeAnswer(reply: FastifyReply, object: ObjectRecord, created: boolean) {
  const { updated_at: _u, ...answer } = toObjectView(object);
  return reply.code(created ? 201 : 200).header('etag', etagOf(object)).send(answer);
}

/** In this plugin context every body reaches the handler unread, as a stream, whatever its type. */
export function acceptStreamedBodies(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
}

/** Answers with an object's bytes (or a range of them, or only its headers). */
export async function sendObject(request: FastifyRequest, reply: FastifyReply, objects: ObjectService, object: ObjectRecord, withBody: boolean) {
  objectHeaders(reply, object);
  const inm = request.headers['if-none-match'];
  if (inm !== undefined && etagMatches(inm, etagOf(object), 'weak')) return reply.code(304).send();
  const range = parseRange(request.headers.range, object.size);
  if (range === 'unsatisfiable') {
    throw new CofferError('range_not_satisfiable', `The object has ${object.size} bytes; the range asks for none of them.`, {
      'content-range': `bytes */${object.size}`,
    });
  }
  reply.type(object.contentType);
  if (range) reply.code(206).header('content-range', `bytes ${range.start}-${range.end}/${object.size}`);
  reply.header('content-length', String(range ? range.end - range.start + 1 : object.size));
  if (!withBody) return reply.send();
  return reply.send(await objects.open(object, range));
}

export function objectRoutes(app: FastifyInstance, s: Services): void {
  acceptStreamedBodies(app);

  const list = async (request: FastifyRequest, prefix: string) => {
    const query = request.query as Query;
    const queryPrefix = single(query, 'prefix') ?? '';
    const cursor = single(query, 'cursor');
    const delimiter = single(query, 'delimiter');
    const limit = parseLimit(query, DEFAULT_OBJECT_LIST_LIMIT);
    return s.objects.list(principalOf(request).user.id, {
      prefix: prefix + queryPrefix,
      ...(cursor !== undefined ? { cursor } : {}),
      ...(limit !== undefined ? { limit } : {}),
      ...(delimiter !== undefined ? { delimiter } : {}),
    });
  };

  app.get('/v1/objects', { config: { scope: 'objects:read' }, schema: { tags: ['objects'], summary: 'List objects', security: bearer } }, (request) =>
    list(request, ''),
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
        tags: ['objects'],
        summary: 'Download an object (Range, If-None-Match); ?meta for its metadata; a path ending in / lists',
        description: 'Listing query: prefix, cursor, limit (1-1000), delimiter=/.',
        security: bearer,
      },
    },
    (request, reply) => read(request, reply, true),
  );

  app.head(
    `${PREFIX}*`,
    { config: { scope: 'objects:read' }, schema: { tags: ['objects'], summary: "An object's metadata as headers", security: bearer } },
    (request, reply) => read(request, reply, false),
  );

  app.put(
    `${PREFIX}*`,
    {
      config: { scope: 'objects:write' },
      schema: { tags: ['objects'], summary: 'Upload (stream) an object; x-coffer-sha256 is checked before it is committed', security: bearer },
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
      config: { scope: 'objects:write' },
      schema: { tags: ['objects'], summary: 'Upload by content: the path is the SHA-256 of the body', security: bearer },
    },
    async (request, reply) => {
      const { object, created } = await s.objects.putContentAddressed(principalOf(request).user, bodyStream(request), uploadOptions(request));
      return writeAnswer(reply, object, created);
    },
  );

  app.delete(
    `${PREFIX}*`,
    { config: { scope: 'objects:write' }, schema: { tags: ['objects'], summary: 'Delete an object', security: bearer } },
    async (request) => {
      const path = objectPathOf(pathAfter(request, PREFIX, 'object path'));
      await s.objects.delete(principalOf(request).user.id, path);
      return { path, deleted: true };
    },
  );
}

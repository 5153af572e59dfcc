/** The key/value store: SPEC §3. One wildcard route per method under /v1/data/. */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Services } from '../../services.js';
import { badRequest } from '../../errors.js';
import { MAX_LIST_LIMIT, type IncomingValue } from '../../kv/kv-service.js';
import type { KvEntry } from '../../kv/kv-store.js';
import { parseTtl } from '../../kv/ttl.js';
import { etagMatches } from '../../util/entity-tags.js';
import { principalOf } from '../auth-context.js';
import { FORM, isJson, mediaType } from '../body.js';
import { parseFlag, parseLimit, pathAfter, prefers, single, userContentHeaders, type Query } from '../request-parts.js';
import { answers, bearer, Bytes, formOrJson, NoContent, Wildcard } from '../schemas/common.js';
import { KvDeleted, KvDeleteQuery, KvListing, KvListQuery, KvRead, KvValueBody, KvWriteQuery, KvWritten } from '../schemas/kv.js';

const PREFIX = '/v1/data/';
const tags = ['kv'];
/** True when Accept prefers application/json over everything else. */
export function prefersJson(accept: string | undefined): boolean {
  return prefers(accept, 'application/json');
}

/** The value of a POST/PUT: a form field, a JSON field, or the raw body. */
function incomingValue(request: FastifyRequest): { value: IncomingValue; ttl: unknown } {
  const type = mediaType(request);
  const body = request.body;
  if (isJson(type) || type === FORM) {
    const fields = body as Record<string, unknown> | null;
    if (fields === null || typeof fields !== 'object' || Array.isArray(fields) || !('value' in fields)) {
      throw badRequest(
        type === FORM ? 'Send the value as the form field "value" (-d value=...).' : 'Send the value as {"value": ...} in the JSON body.',
        'missing_value',
      );
    }
    if (type === FORM) {
      if (typeof fields.value !== 'string') throw badRequest('Send exactly one form field "value".', 'missing_value');
      return { value: { kind: 'text', contentType: null, bytes: Buffer.from(fields.value) }, ttl: fields.ttl };
    }
    return { value: { kind: 'json', contentType: null, bytes: Buffer.from(JSON.stringify(fields.value)) }, ttl: fields.ttl };
  }
  if (type === '' && (!Buffer.isBuffer(body) || body.length === 0)) {
    throw badRequest('No value: send -d value=..., JSON {"value": ...}, or a raw body with its Content-Type.', 'missing_value');
  }
  const bytes = Buffer.isBuffer(body) ? body : Buffer.alloc(0);
  const contentType = request.headers['content-type'] ?? 'application/octet-stream';
  return { value: { kind: 'raw', contentType, bytes }, ttl: undefined };
}

function sendEntry(request: FastifyRequest, reply: FastifyReply, entry: KvEntry) {
  reply.header('etag', entry.etag);
  if (entry.kind === 'text') return { key: entry.key, value: entry.value.toString('utf8') };
  if (entry.kind === 'json') {
    // The stored bytes are already the value's JSON (written by JSON.stringify): sent as they are.
    return reply.type('application/json; charset=utf-8').send(`{"key":${JSON.stringify(entry.key)},"value":${entry.value.toString('utf8')}}`);
  }
  if (prefersJson(request.headers.accept)) {
    reply.header('vary', 'accept');
    return { key: entry.key, value: entry.value.toString('base64'), encoding: 'base64', content_type: entry.contentType };
  }
  // The same key answers raw bytes or JSON by Accept: caches must tell them apart.
  userContentHeaders(reply);
  return reply.header('vary', 'accept').type(entry.contentType ?? 'application/octet-stream').send(entry.value);
}

function writeAnswer(entry: KvEntry) {
  if (entry.kind === 'raw') return { key: entry.key, size: entry.size, content_type: entry.contentType };
  return { key: entry.key, value: entry.kind === 'json' ? (JSON.parse(entry.value.toString('utf8')) as unknown) : entry.value.toString('utf8') };
}

export function kvRoutes(app: FastifyInstance, s: Services): void {
  // Room for a JSON-escaped value of the largest size (\uXXXX is 6 bytes for 1); the service
  // enforces the exact limit on the stored bytes.
  const bodyLimit = s.config.kvMaxBytes * 6 + 64 * 1024;

  const listDir = (request: FastifyRequest, dir: string) => {
    const query = request.query as Query;
    const cursor = single(query, 'cursor');
    const limit = parseLimit(query, MAX_LIST_LIMIT);
    return s.kv.list(principalOf(request).user.id, dir, {
      recursive: parseFlag(query, 'recursive'),
      ...(limit !== undefined ? { limit } : {}),
      ...(cursor !== undefined ? { cursor } : {}),
    });
  };

  app.get(
    '/v1/data',
    {
      config: { scope: 'kv:read' },
      schema: { tags, summary: 'List the root directory', security: bearer, querystring: KvListQuery, response: answers({ 200: KvListing }) },
    },
    (request) => listDir(request, ''),
  );

  app.get(
    `${PREFIX}*`,
    {
      config: { scope: 'kv:read' },
      schema: {
        tags,
        summary: 'Read a key, or list a directory (path ending in /)',
        description: 'A key answers {"key","value"}, or its raw bytes with their content type (JSON with base64 when Accept prefers application/json); If-None-Match gives 304. A directory answers its listing: limit (1-1000), cursor, recursive=true.',
        security: bearer,
        params: Wildcard,
        querystring: KvListQuery,
        response: answers({ 200: { description: 'the entry or the listing', content: { 'application/json': { schema: KvRead }, ...Bytes.content } }, 304: NoContent }),
      },
    },
    async (request, reply) => {
      const { path, isDir } = pathAfter(request, PREFIX);
      if (isDir) return listDir(request, path);
      const entry = await s.kv.get(principalOf(request).user.id, path);
      const inm = request.headers['if-none-match'];
      if (inm !== undefined && etagMatches(inm, entry.etag, 'weak')) return reply.code(304).header('etag', entry.etag).send();
      return sendEntry(request, reply, entry);
    },
  );

  for (const method of ['POST', 'PUT'] as const) {
    app.route({
      method,
      url: `${PREFIX}*`,
      bodyLimit,
      config: { scope: 'kv:write', bodyDoc: Bytes.content },
      schema: {
        tags,
        summary: method === 'POST' ? 'Create a key (409 if it exists)' : 'Create or replace a key',
        description: 'The value as the form field "value", JSON {"value": ...}, or a raw body with any other content type. Optional ttl (seconds, query or body), If-Match, If-None-Match: *.',
        security: bearer,
        params: Wildcard,
        querystring: KvWriteQuery,
        body: formOrJson(KvValueBody),
        response: answers({ 200: KvWritten, 201: KvWritten }),
      },
      handler: async (request, reply) => {
        const owner = principalOf(request).user.id;
        const { path, isDir } = pathAfter(request, PREFIX);
        if (isDir) throw badRequest(`"${path}" names a directory (it ends in "/"); a value needs a key.`, 'invalid_key');
        const { value, ttl } = incomingValue(request);
        const queryTtl = single(request.query as Query, 'ttl');
        if (queryTtl !== undefined && ttl !== undefined) throw badRequest('Give "ttl" once: in the query or in the body.');
        const { entry, created } = await s.kv.write(owner, path, value, {
          mode: method === 'POST' ? 'create' : 'put',
          ifMatch: request.headers['if-match'],
          ifNoneMatch: request.headers['if-none-match'],
          ttlSeconds: parseTtl(queryTtl ?? ttl),
        });
        return reply.code(created ? 201 : 200).header('etag', entry.etag).send(writeAnswer(entry));
      },
    });
  }

  app.delete(
    `${PREFIX}*`,
    {
      config: { scope: 'kv:write' },
      schema: {
        tags,
        summary: 'Delete a key (If-Match honoured), or a whole directory with ?recursive=true',
        security: bearer,
        params: Wildcard,
        querystring: KvDeleteQuery,
        response: answers({ 200: KvDeleted }),
      },
    },
    async (request) => {
      const owner = principalOf(request).user.id;
      const { path, isDir } = pathAfter(request, PREFIX);
      if (!isDir) {
        await s.kv.delete(owner, path, request.headers['if-match']);
        return { key: path, deleted: true };
      }
      if (!parseFlag(request.query as Query, 'recursive')) {
        throw badRequest(`"${path || '/'}" is a directory: add ?recursive=true to delete everything below it.`);
      }
      return { dir: path, deleted: await s.kv.deleteTree(owner, path) };
    },
  );
}

/**
 * Object bytes in and out over HTTP, for every route that moves them (/v1/objects, presigned
 * URLs, AMO parcels): bodies stream straight from the socket into the store and back out, with
 * Range, conditional requests and the headers of stored bytes. Nothing holds a whole object.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Readable } from 'node:stream';
import { badRequest, CofferError } from '../errors.js';
import type { ObjectRecord } from '../objects/object-index.js';
import type { ObjectService, UploadOptions } from '../objects/object-service.js';
import { etagOf, toObjectView } from '../objects/object-view.js';
import { etagMatches } from '../util/entity-tags.js';
import { userContentHeaders } from './request-parts.js';

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

/** What an upload request says about its body: type, announced SHA-256, length; and when its client leaves. */
export function uploadOptions(request: FastifyRequest): UploadOptions & { contentType: string | undefined; size: number | undefined; signal: AbortSignal } {
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
  return reply.send(await objects.bytesToSend(object, range));
}


/** Reading the small JSON-or-form bodies of the routes that take no upload. */
import type { FastifyRequest } from 'fastify';
import { CofferError } from '../errors.js';

export function mediaType(request: FastifyRequest): string {
  return (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
}

/** Only application/json carries fields; other +json types are data (a raw KV value, say). */
export function isJson(type: string): boolean {
  return type === 'application/json';
}

export const FORM = 'application/x-www-form-urlencoded';

/**
 * The body's fields, from JSON or a form. An absent body is no fields; any other content type
 * is refused with 415 rather than silently ignored.
 */
export function bodyFields(request: FastifyRequest): Record<string, unknown> {
  const body = request.body;
  if (body === undefined || body === null) return {};
  const type = mediaType(request);
  if (!isJson(type) && type !== FORM) {
    if (Buffer.isBuffer(body) && body.length === 0) return {};
    throw new CofferError('unsupported_media_type', `Send this body as application/json or ${FORM}, not ${type || 'an untyped body'}.`);
  }
  if (typeof body !== 'object' || Array.isArray(body)) {
    throw new CofferError('invalid_request', 'The JSON body must be an object of fields.');
  }
  return body as Record<string, unknown>;
}

/**
 * One place turns every failure into application/problem+json (RFC 9457):
 * {"type","title","status","detail","code","error"}. Client errors say what is wrong; anything
 * unexpected is logged with its stack and answered as a bare 500 with the request id.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import FindMyWay, { type HTTPVersion } from 'find-my-way';
import { asCofferError, CofferError, statusOf, titleOf, type ErrorCode } from '../errors.js';
import { CLIENT_CLOSED, clientClosed } from './request-parts.js';

function problemBody(status: number, code: ErrorCode, detail: string) {
  return { type: `urn:coffer:error:${code}`, title: titleOf(code), status, detail, code, error: detail };
}

export function sendProblem(reply: FastifyReply, error: CofferError, extra: Record<string, unknown> = {}): FastifyReply {
  return reply
    .code(error.status)
    .header('x-content-type-options', 'nosniff') // also on errors met before the hooks that set it
    .headers(error.headers)
    .type('application/problem+json')
    .send({ ...problemBody(error.status, error.code, error.message), ...extra });
}

/** Fastify's own errors (body parsing, validation, limits) as CofferErrors. */
function fromFastifyError(error: FastifyError): CofferError | undefined {
  if (error.validation) {
    return new CofferError('invalid_request', `Invalid request: ${error.message.replace(/^(body|querystring|params)\//, '$1.')}.`);
  }
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new CofferError('payload_too_large', 'The request body is larger than this route accepts.');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new CofferError('unsupported_media_type', `This route does not accept the content type ${error.message.split(': ').pop()}.`);
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new CofferError('invalid_json', error.message);
  }
  if (error instanceof SyntaxError || error.code === 'FST_ERR_CTP_INVALID_JSON') {
    return new CofferError('invalid_json', `The body is not valid JSON: ${error.message}`);
  }
  const status = error.statusCode ?? 500;
  if (status >= 400 && status < 500) {
    const code: ErrorCode = status === 413 ? 'payload_too_large' : status === 415 ? 'unsupported_media_type' : status === 408 ? 'request_timeout' : 'invalid_request';
    return new CofferError(code, error.message);
  }
  return undefined;
}

/** Errors Fastify meets before routing (a URL it cannot decode): problem+json like the rest. */
export function frameworkErrorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const known =
    error.code === 'FST_ERR_BAD_URL'
      ? new CofferError('invalid_request', 'The URL has malformed percent-encoding or is not UTF-8.')
      : (fromFastifyError(error) ?? new CofferError('invalid_request', 'The request could not be read.'));
  request.log.info({ err: error }, 'request refused before routing');
  sendProblem(reply, known);
}

/** A problem answered outside Fastify: its status, its headers (the security headers included) and its body. */
function bareProblem(code: ErrorCode, detail: string, headers: Array<[string, string]>) {
  const status = statusOf(code);
  const body = JSON.stringify(problemBody(status, code, detail));
  const all: Array<[string, string]> = [
    ['content-type', 'application/problem+json'],
    ['x-content-type-options', 'nosniff'],
    ...headers.filter(([name]) => name !== 'x-content-type-options'),
    ['content-length', String(Buffer.byteLength(body))],
    ['connection', 'close'],
  ];
  return { status, headers: all, body };
}

/** The same as raw `HTTP/1.1` text, for answers written straight on a socket. */
function rawProblem(code: ErrorCode, detail: string, headers: Array<[string, string]>): string {
  const answer = bareProblem(code, detail, headers);
  return `HTTP/1.1 ${answer.status} ${titleOf(code)}\r\n${answer.headers.map(([name, value]) => `${name}: ${value}\r\n`).join('')}\r\n${answer.body}`;
}

/**
 * Errors Node meets before there is a request at all (headers too slow or malformed): a bare
 * problem+json answer written on the socket, then the connection is closed.
 */
export function clientErrorHandler(error: Error & { code?: string }, socket: import('node:net').Socket, headers: Array<[string, string]> = []): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const [code, detail] = clientErrorAnswer(error.code);
  socket.end(rawProblem(code, detail, headers));
}

/**
 * A request whose `Expect` is not `100-continue` (RFC 9110 §10.1.1: 417): Node answers it itself,
 * before any route, with neither a problem body nor the security headers; this answer has both.
 * The body the client may still send is not read: the connection is closed.
 */
export function expectationFailedHandler(headers: Array<[string, string]>) {
  return (request: IncomingMessage, response: ServerResponse): void => {
    const answer = bareProblem('expectation_failed', `Expect: ${request.headers.expect ?? ''} is not supported; only 100-continue is.`, headers);
    response.writeHead(answer.status, answer.headers.flat());
    response.end(answer.body);
  };
}

/**
 * CONNECT (a proxy's method): Node hands it over as a bare socket and, with nobody listening,
 * answers nothing at all. Coffer is no proxy: 405 with the methods it serves, then close. The
 * socket is Node's no more: its errors (a client's reset) must be handled here or they crash the
 * process, and what the client sends after the request is read and dropped, or a socket whose
 * client went away would never be noticed (and held for good).
 */
export function connectHandler(headers: Array<[string, string]>) {
  return (_request: IncomingMessage, socket: import('node:stream').Duplex & { setTimeout?: (ms: number, cb: () => void) => void }): void => {
    socket.on('error', () => socket.destroy());
    socket.setTimeout?.(5000, () => socket.destroy());
    socket.resume();
    socket.end(rawProblem('method_not_allowed', 'CONNECT is a proxy\'s method; Coffer is not a proxy.', [...headers, ['allow', METHODS.join(', ')]]));
  };
}

function clientErrorAnswer(nodeCode: string | undefined): [ErrorCode, string] {
  switch (nodeCode) {
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return ['request_timeout', 'The request headers did not arrive in time.'];
    case 'HPE_HEADER_OVERFLOW':
      return ['headers_too_large', 'The request headers are too large (16 KiB in all at most): send fewer or shorter ones.'];
    default:
      return ['invalid_request', 'The request could not be parsed as HTTP.'];
  }
}

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

/**
 * Installs the error and not-found handlers. A path that exists under another method answers
 * 405 with Allow, which Fastify alone does not do: a shadow router remembers every route.
 */
export function installProblemHandlers(app: FastifyInstance): void {
  const shadow = FindMyWay<HTTPVersion.V1>({ ignoreTrailingSlash: false });
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const m of methods) {
      try {
        shadow.on(m as 'GET', route.url, () => {});
      } catch {
        // the same method and path registered twice (HEAD for GET): already known
      }
    }
  });

  app.setErrorHandler((error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    // The client went away mid-request (an upload cut short; its stream fails with ECONNRESET):
    // nobody reads the answer, and it is not the server's trouble, so not logged as a failure
    // (metrics.ts counts it as 499).
    if (clientClosed(request)) return reply.code(CLIENT_CLOSED).send();
    // Refused before its body was all read (401 at onRequest, 413 mid-stream): close the
    // connection after answering rather than read the rest of an upload nobody wants.
    if (!request.raw.complete) reply.header('connection', 'close');
    const known = asCofferError(error) ?? fromFastifyError(error);
    if (known) {
      if (known.status >= 500) request.log.error({ err: error }, 'request failed');
      return sendProblem(reply, known);
    }
    request.log.error({ err: error }, 'unexpected error');
    return sendProblem(reply, new CofferError('internal_error', `Internal error; quote request id ${request.id} to the operator.`), {
      request_id: request.id,
    });
  });

  app.setNotFoundHandler((request, reply) => {
    const url = request.url.split('?')[0]!;
    const allowed = METHODS.filter((m) => m !== request.method && shadow.find(m, url) !== null);
    if (allowed.length > 0) {
      const allow = allowed.join(', ');
      return sendProblem(reply, new CofferError('method_not_allowed', `${request.method} is not allowed here; use ${allow}.`, { allow }));
    }
    return sendProblem(reply, new CofferError('not_found', `No route ${request.method} ${url}.`));
  });
}

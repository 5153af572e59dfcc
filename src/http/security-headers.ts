/**
 * The usual security headers on every response (SPEC §6), as `helmet` defines them. They depend
 * only on the configuration, so helmet runs once at start and each response gets the result.
 * @fastify/helmet builds helmet's middleware anew on every request: an authenticated KV read then
 * cost ~185 µs of server CPU against ~135 without headers; set this way, ~144 (wrk, 3 rounds).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import helmet, { type HelmetOptions } from 'helmet';

/** The headers helmet sets for `options`, by name. */
export function helmetHeaders(options: HelmetOptions): Array<[string, string]> {
  const headers = new Map<string, string>();
  const response = {
    setHeader: (name: string, value: string | number) => headers.set(name.toLowerCase(), String(value)),
    removeHeader: (name: string) => headers.delete(name.toLowerCase()),
  };
  helmet(options)({} as IncomingMessage, response as unknown as ServerResponse, (err?: unknown) => {
    if (err) throw err;
  });
  return [...headers];
}

/** Coffer's security headers: helmet's defaults, fitted to an API that may run on plain HTTP. */
export function securityHeaders(options: { https: boolean }): Array<[string, string]> {
  return helmetHeaders({
    // Plain-HTTP installs must keep loading their own assets (the API docs).
    contentSecurityPolicy: { useDefaults: true, directives: { upgradeInsecureRequests: null } },
    // HSTS means nothing over plain HTTP, and a TLS proxy in front sets its own.
    strictTransportSecurity: options.https,
  });
}

export function setHeaders(response: ServerResponse, headers: Array<[string, string]>): void {
  for (const [name, value] of headers) response.setHeader(name, value);
}

/**
 * Sets them on the reply at onRequest: what a route sets later with `reply.header` (stored bytes
 * replace the CSP with `sandbox`, presigned downloads allow cross-origin embedding) wins; an
 * override must go through the reply, as Fastify's headers are written over the raw response's.
 * Fastify writes them with its own in one `writeHead`; set on the raw response instead, Node kept
 * its own copy of each per response. Answers given outside Fastify set them themselves
 * (server.ts: frameworkErrors, clientErrorHandler, the 417 for an unknown Expect); the API docs,
 * which answer on the raw response, copy the reply's headers.
 */
export function addSecurityHeaders(app: FastifyInstance, headers: Array<[string, string]>): void {
  const byName = Object.fromEntries(headers);
  app.addHook('onRequest', (_request, reply, done) => {
    reply.headers(byName);
    done();
  });
}

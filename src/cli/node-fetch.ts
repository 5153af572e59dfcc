/**
 * A fetch for the CLI over node:http(s). Node 20's global fetch reads a streamed request body
 * as fast as the disk gives it, whatever the socket takes: a 1 GiB upload held the whole file in
 * memory (peak RSS 1150 MiB). Piping into an http.ClientRequest waits for the socket. The client
 * library keeps the global fetch (it must run in browsers); the CLI hands it this one.
 */
import http from 'node:http';
import https from 'node:https';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';

const agents = { 'http:': new http.Agent({ keepAlive: true }), 'https:': new https.Agent({ keepAlive: true }) };
const NULL_BODY = new Set([101, 204, 205, 304]);

export async function nodeFetch(input: string | URL | Request, init: RequestInit = {}): Promise<Response> {
  const url = new URL(input instanceof Request ? input.url : input);
  const protocol = url.protocol as keyof typeof agents;
  const headers = new Headers(init.headers);
  const request = (protocol === 'https:' ? https : http).request(url, {
    method: init.method ?? 'GET',
    headers: Object.fromEntries(headers),
    agent: agents[protocol],
    ...(init.signal ? { signal: init.signal } : {}),
  });
  const answered = new Promise<http.IncomingMessage>((resolve, reject) => {
    request.once('response', resolve);
    request.once('error', reject);
  });
  const body = init.body;
  if (body instanceof ReadableStream) {
    pipeline(Readable.fromWeb(body as NodeReadableStream<Uint8Array>), request).catch((e: unknown) => request.destroy(e as Error));
  } else if (body === undefined || body === null) {
    request.end();
  } else if (typeof body === 'string' || body instanceof Uint8Array) {
    request.end(body);
  } else if (body instanceof Blob) {
    request.end(Buffer.from(await body.arrayBuffer()));
  } else {
    request.destroy();
    throw new TypeError('nodeFetch sends strings, bytes, Blobs and streams only');
  }
  const res = await answered;
  const answerHeaders = new Headers();
  for (const [name, value] of Object.entries(res.headers)) {
    for (const v of Array.isArray(value) ? value : value === undefined ? [] : [value]) answerHeaders.append(name, v);
  }
  const status = res.statusCode ?? 0;
  const answerBody = NULL_BODY.has(status) || init.method === 'HEAD' ? (res.resume(), null) : (Readable.toWeb(res) as unknown as ReadableStream<Uint8Array>);
  return new Response(answerBody, { status, statusText: res.statusMessage ?? '', headers: answerHeaders });
}

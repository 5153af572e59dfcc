/**
 * A fetch for the CLI over node:http(s). Node 20's global fetch reads a streamed request body
 * as fast as the disk gives it, whatever the socket takes: a 1 GiB upload held the whole file in
 * memory (peak RSS 1150 MiB). Piping into an http.ClientRequest waits for the socket. The client
 * library keeps the global fetch (it must run in browsers); the CLI hands it this one.
 *
 * No web streams on the bulk paths: a Node Readable (or async iterable) request body is piped
 * into the request as it is, and an answer's body stays the untouched IncomingMessage until
 * something reads the Response's web body; `takeNodeBody` hands it to the CLI instead, which
 * pipes it into a file (a download then costs no web-stream hop per socket read).
 */
import http from 'node:http';
import https from 'node:https';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';

const agents = { 'http:': new http.Agent({ keepAlive: true }), 'https:': new https.Agent({ keepAlive: true }) };
const NULL_BODY = new Set([101, 204, 205, 304]);

/** An answer's IncomingMessage, until the web body or takeNodeBody claims it (whichever comes first). */
interface Unread {
  message: http.IncomingMessage | undefined;
}
const unread = new WeakMap<Response, Unread>();

/** The answer's body as the Node stream it is, if nothing has read the Response's body yet (then only once). */
export function takeNodeBody(res: Response): http.IncomingMessage | undefined {
  const holder = unread.get(res);
  const message = holder?.message;
  if (holder) holder.message = undefined;
  return message;
}

/** A web body that touches the IncomingMessage only when first read (highWaterMark 0: no read-ahead). */
function lazyWebBody(holder: Unread): ReadableStream<Uint8Array> {
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (!reader) {
          const message = holder.message;
          if (!message) throw new TypeError('this body was handed over as a Node stream');
          holder.message = undefined;
          reader = (Readable.toWeb(message) as unknown as ReadableStream<Uint8Array>).getReader();
        }
        const { value, done } = await reader.read();
        if (done) controller.close();
        else controller.enqueue(value);
      },
      async cancel(reason) {
        if (reader) await reader.cancel(reason);
        else holder.message?.destroy();
        holder.message = undefined;
      },
    },
    { highWaterMark: 0 },
  );
}

const isAsyncIterable = (x: unknown): x is AsyncIterable<Uint8Array> => typeof x === 'object' && x !== null && Symbol.asyncIterator in x;

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
  const body: unknown = init.body;
  if (body instanceof ReadableStream) {
    pipeline(Readable.fromWeb(body as NodeReadableStream<Uint8Array>), request).catch((e: unknown) => request.destroy(e as Error));
  } else if (body instanceof Readable || isAsyncIterable(body)) {
    // A file stream (the CLI's uploads): piped as it is, each chunk waiting for the socket.
    pipeline(body as AsyncIterable<Uint8Array>, request).catch((e: unknown) => request.destroy(e as Error));
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
  if (NULL_BODY.has(status) || init.method === 'HEAD') {
    res.resume();
    return new Response(null, { status, statusText: res.statusMessage ?? '', headers: answerHeaders });
  }
  const holder: Unread = { message: res };
  const response = new Response(lazyWebBody(holder), { status, statusText: res.statusMessage ?? '', headers: answerHeaders });
  unread.set(response, holder);
  return response;
}

/**
 * HTTP/1.1 on a bare socket, for the CLI's file transfers only. Node's HTTP client hands a
 * response over in fresh 64 KiB buffers through the parser and a stream (a 1 GiB download cost
 * ~1 s of CPU and ~40 MiB of garbage waiting for the GC); here the socket reads into one reused
 * 1 MiB buffer (net/tls `onread`) and the body goes from it straight to the file. An upload is
 * read from disk (pread, on this thread) into two reused buffers, each written to the socket and
 * awaited before reuse.
 *
 * One request per connection. A download takes an answer framed by Content-Length; anything else
 * (chunked, a redirect, an error status) is left to the caller, which falls back to the client
 * library's path. An upload's answer may also be chunked. Proxies are not supported, as by
 * node-fetch.ts.
 */
import { readSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import net from 'node:net';
import tls from 'node:tls';

export interface RawHead {
  status: number;
  statusText: string;
  /** Lower-case names; repeated headers joined with ", ". */
  headers: Record<string, string>;
}

const READ_BUFFER = 1024 * 1024;
/** How long a transfer may see no byte move either way (COFFER_IDLE_TIMEOUT, seconds). */
const IDLE_TIMEOUT_MS = 1000 * (Number(process.env.COFFER_IDLE_TIMEOUT) > 0 ? Number(process.env.COFFER_IDLE_TIMEOUT) : 300);
const MAX_HEAD = 64 * 1024;
const HEAD_END = Buffer.from('\r\n\r\n');

function parseHead(text: string): RawHead {
  const [statusLine = '', ...lines] = text.split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3}) ?(.*)$/.exec(statusLine);
  if (!m) throw new Error(`not an HTTP/1.1 answer: ${JSON.stringify(statusLine.slice(0, 80))}`);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  return { status: Number(m[1]), statusText: m[2] ?? '', headers };
}

/** A body the caller may take: its length when Content-Length frames it, else undefined. */
export function framedLength(head: RawHead): number | undefined {
  if (head.headers['transfer-encoding'] !== undefined) return undefined;
  const cl = head.headers['content-length'];
  return cl !== undefined && /^\d+$/.test(cl) ? Number(cl) : undefined;
}

/**
 * One exchange on a fresh connection: `head` settles when the answer's head is in; the body's
 * chunks then go to the sink set by `onBody` (a chunk is only valid during the call: the buffer
 * is reused), and `done` settles when Content-Length bytes were seen, or at the close without one.
 */
export class RawExchange {
  readonly socket: net.Socket;
  readonly head: Promise<RawHead>;
  readonly done: Promise<void>;
  /** Whether the answer's head is in. */
  get answered(): boolean {
    return this.parsed !== undefined;
  }
  private headBytes: Buffer[] = [];
  private headSize = 0;
  private parsed: RawHead | undefined;
  private early: Buffer[] = [];
  private sink: ((chunk: Buffer) => void) | undefined;
  private remaining: number | undefined;
  private complete = false;
  /** A chunked answer (small ones only: an upload's JSON), gathered until its last chunk. */
  private chunked: Buffer[] | undefined;
  private settleHead!: [(h: RawHead) => void, (e: Error) => void];
  private settleDone!: [() => void, (e: Error) => void];

  constructor(url: URL, request: string, signal: AbortSignal) {
    this.head = new Promise((resolve, reject) => (this.settleHead = [resolve, reject]));
    this.done = new Promise((resolve, reject) => (this.settleDone = [resolve, reject]));
    this.head.catch(() => undefined);
    this.done.catch(() => undefined);
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
    const buffer = Buffer.allocUnsafe(READ_BUFFER);
    const onread = {
      buffer,
      callback: (n: number): boolean => {
        this.take(buffer.subarray(0, n));
        return true;
      },
    };
    // (tls.connect takes onread as net.connect does; its types do not say so.)
    this.socket =
      url.protocol === 'https:'
        ? tls.connect({ host, port, onread, ...(net.isIP(host) ? {} : { servername: host }) } as tls.ConnectionOptions)
        : net.connect({ host, port, onread });
    // Written now, queued until connected: whatever the caller writes next follows it.
    this.socket.write(request);
    const fail = (error: Error) => {
      // A broken pipe here is the server's doing, not a closed stdout (which the CLI keeps quiet about).
      const e = (error as NodeJS.ErrnoException).code === 'EPIPE' ? Object.assign(new Error('the server closed the connection', { cause: error }), { code: 'ECONNRESET' }) : error;
      this.settleHead[1](e);
      this.settleDone[1](e);
    };
    this.socket.on('error', fail);
    // A server that stops sending or reading for this long is gone: fail rather than hang (cron).
    this.socket.setTimeout(IDLE_TIMEOUT_MS, () =>
      this.socket.destroy(Object.assign(new Error(`the server sent and took nothing for ${IDLE_TIMEOUT_MS / 1000} s`), { code: 'ETIMEDOUT' })),
    );
    this.socket.on('close', () => {
      if (!this.parsed) fail(Object.assign(new Error('the server closed the connection'), { code: 'ECONNRESET' }));
      else if (this.complete) return;
      else if (this.remaining === undefined && !this.chunked) this.settleDone[0](); // a body that ends with the connection
      else fail(Object.assign(new Error('the server closed the connection before the end of its answer'), { code: 'ECONNRESET' }));
    });
    const onAbort = () => this.socket.destroy(Object.assign(new Error('aborted'), { name: 'AbortError' }));
    if (signal.aborted) onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    this.socket.once('close', () => signal.removeEventListener('abort', onAbort));
  }

  /** Where the body goes; bytes that came before are handed over first. */
  onBody(sink: (chunk: Buffer) => void): void {
    this.sink = sink;
    for (const chunk of this.early.splice(0)) sink(chunk);
  }

  close(): void {
    this.socket.destroy();
  }

  private take(chunk: Buffer): void {
    if (this.parsed) return this.body(chunk);
    this.headBytes.push(Buffer.from(chunk));
    this.headSize += chunk.length;
    const all = Buffer.concat(this.headBytes, this.headSize);
    const end = all.indexOf(HEAD_END);
    if (end < 0) {
      if (this.headSize > MAX_HEAD) this.socket.destroy(new Error('the answer\'s head is too long'));
      return;
    }
    this.headBytes = [];
    this.headSize = 0;
    try {
      this.parsed = parseHead(all.subarray(0, end).toString('latin1'));
    } catch (e) {
      return void this.socket.destroy(e as Error);
    }
    if (this.parsed.status >= 100 && this.parsed.status < 200 && this.parsed.status !== 101) {
      // An interim answer: the real one follows.
      this.parsed = undefined;
      if (all.length > end + 4) this.take(all.subarray(end + 4));
      return;
    }
    this.remaining = framedLength(this.parsed);
    if (/chunked/i.test(this.parsed.headers['transfer-encoding'] ?? '')) this.chunked = [];
    if (this.remaining === 0) {
      this.complete = true;
      this.settleDone[0]();
    }
    if (all.length > end + 4) this.body(all.subarray(end + 4));
    this.settleHead[0](this.parsed);
  }

  /**
   * A piece of the body: counted (and the exchange done at its end) as it arrives, whether or not
   * a sink is set yet, so that an answer fully read stands even if the socket then fails.
   */
  private body(chunk: Buffer): void {
    if (this.complete) return;
    if (this.chunked) {
      this.chunked.push(Buffer.from(chunk));
      let whole: Buffer | undefined;
      try {
        whole = dechunk(Buffer.concat(this.chunked));
      } catch (e) {
        return void this.socket.destroy(e as Error);
      }
      if (whole === undefined) return;
      this.complete = true;
      this.deliver(whole);
    } else {
      if (this.remaining !== undefined) {
        if (chunk.length > this.remaining) return void this.socket.destroy(new Error('the server sent more bytes than it announced'));
        this.remaining -= chunk.length;
        this.complete = this.remaining === 0;
      }
      this.deliver(chunk);
    }
    if (this.complete) {
      this.settleDone[0]();
      this.socket.destroy();
    }
  }

  private deliver(chunk: Buffer): void {
    if (!this.sink) return void this.early.push(Buffer.from(chunk));
    try {
      this.sink(chunk);
    } catch (e) {
      this.socket.destroy(e as Error);
    }
  }
}

/** A whole chunked body decoded, or undefined while its last chunk has not come. */
function dechunk(raw: Buffer): Buffer | undefined {
  const parts: Buffer[] = [];
  for (let at = 0; ; ) {
    const eol = raw.indexOf('\r\n', at);
    if (eol < 0) return undefined;
    const size = Number.parseInt(raw.subarray(at, eol).toString('latin1').split(';')[0]!.trim(), 16);
    if (!Number.isFinite(size) || size < 0) throw new Error('a malformed chunked answer');
    // The last chunk: then optional trailers and an empty line.
    if (size === 0) return raw.indexOf('\r\n\r\n', eol) >= 0 ? Buffer.concat(parts) : undefined;
    if (raw.length < eol + 2 + size + 2) return undefined;
    parts.push(raw.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
}

/**
 * The request head: the method, the URL's path and query, Host and `headers`; with `close`,
 * Connection: close. (An upload keeps the connection: a server that refuses it early then
 * reads and drops the rest of the body instead of resetting the connection, which could lose
 * its answer before it is read.)
 */
export function requestHead(method: string, url: URL, headers: Record<string, string>, close = true): string {
  const lines = [`${method} ${url.pathname}${url.search} HTTP/1.1`, `host: ${url.host}`, ...(close ? ['connection: close'] : [])];
  for (const [name, value] of Object.entries(headers)) {
    if (/[\r\n]/.test(name + value)) throw new TypeError(`a header holds a line break: ${name}`);
    lines.push(`${name}: ${value}`);
  }
  return `${lines.join('\r\n')}\r\n\r\n`;
}

/**
 * Writes `size` bytes of `file` to the exchange's socket in 1 MiB chunks: one buffer is read
 * while the other is written, and a buffer is reused only once the socket has taken it.
 */
export async function sendFile(exchange: RawExchange, file: FileHandle, size: number, progress: { sent: number }): Promise<void> {
  const socket = exchange.socket;
  const buffers = [Buffer.allocUnsafe(READ_BUFFER), Buffer.allocUnsafe(READ_BUFFER)];
  const written = (chunk: Buffer) =>
    new Promise<void>((resolve, reject) => {
      socket.write(chunk, (e) => (e ? reject(e) : resolve()));
    });
  let inFlight: Promise<void> = Promise.resolve();
  let position = 0;
  // Until the whole file is sent, or the server has answered (a refusal does not wait for it).
  for (let i = 0; position < size && !exchange.answered; i ^= 1) {
    // Read on this thread, as curl does: through libuv's pool each chunk waits for two thread
    // wake-ups, which a machine busy with the store (Ceph's daemons) can delay.
    const bytesRead = readSync(file.fd, buffers[i]!, 0, Math.min(READ_BUFFER, size - position), position);
    if (bytesRead === 0) throw new Error('the file got shorter while it was being sent');
    await inFlight; // the other buffer is free again
    // Written from the check phase, after the loop has polled the socket: an answer that came
    // meanwhile (a refusal, then the server's close) is read before a write could fail on it.
    await new Promise(setImmediate);
    if (exchange.answered) break;
    position += bytesRead;
    const chunk = buffers[i]!.subarray(0, bytesRead);
    inFlight = written(chunk).then(() => void (progress.sent += chunk.length));
    inFlight.catch(() => undefined); // awaited at the next turn, not left unhandled meanwhile
  }
  await inFlight;
}

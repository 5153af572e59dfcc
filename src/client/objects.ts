/** Objects (SPEC §4): streamed uploads and downloads with progress and AbortSignal, metadata, listings. */
import { encodePath } from './bytes.js';
import { CofferError, errorFromThrown } from './errors.js';
import { jsonOf, type Transport } from './http.js';
import { counting, countingIterable, isReplayable, knownSize, passesIterables, toStream, type UploadBody } from './streams.js';
import type { ObjectListing, ObjectView, ObjectWritten } from './types.js';

export interface UploadOptions {
  /** Stored with the object (default application/octet-stream). */
  contentType?: string;
  /** The body's length, when it is a stream of known length: sent as Content-Length. */
  size?: number;
  /** The body's SHA-256 (hex): the server refuses the upload (400 hash_mismatch) when it differs. */
  sha256?: string;
  /** Called as bytes leave, with the count so far and the total when known. */
  onProgress?: (sent: number, total: number | undefined) => void;
  signal?: AbortSignal;
}

export interface DownloadOptions {
  /** Bytes start..end, both inclusive (end: to the last byte). */
  range?: { start: number; end?: number };
  /** Called as bytes are read from the returned stream. */
  onProgress?: (received: number, total: number | undefined) => void;
  signal?: AbortSignal;
  /** An ETag held: a 304 then answers `notModified` with no body. */
  ifNoneMatch?: string;
}

export interface Download {
  /** The bytes, read as they arrive. Read or cancel it (built when first asked for). */
  readonly body: ReadableStream<Uint8Array>;
  /**
   * The answer itself, for a caller that reads its body another way (the CLI takes the Node
   * stream beneath it). Read this or `body`, not both.
   */
  response: Response;
  /** The whole object's size (with a range, the part is `length` bytes). */
  size: number;
  /** The bytes this answer carries. */
  length: number;
  contentType: string;
  etag: string | null;
  sha256: string | null;
  /** With `ifNoneMatch`: true when the object is still that one (the body is then empty). */
  notModified: boolean;
}

export type UploadedObject = ObjectWritten & { created: boolean };

export interface ObjectListOptions {
  prefix?: string;
  /** `/`: list one level, with `prefixes` for the folders below. */
  delimiter?: '/';
  cursor?: string;
  limit?: number;
}

export class ObjectsApi {
  constructor(private readonly http: Transport) {}

  /**
   * Streams `body` to `path` (201 created, 200 replaced). A stream body is sent once: a 401 on it
   * is not retried, so an expired token is refreshed before sending when its expiry is known.
   */
  async upload(path: string, body: UploadBody, o: UploadOptions = {}): Promise<UploadedObject> {
    return this.send(`/v1/objects/${encodePath(path)}`, 'PUT', body, o);
  }

  /** Uploads by content: the path is the body's SHA-256 (the same bytes again: created false). */
  uploadContent(body: UploadBody, o: UploadOptions = {}): Promise<UploadedObject> {
    return this.send('/v1/objects', 'POST', body, o);
  }

  private async send(url: string, method: string, body: UploadBody, o: UploadOptions): Promise<UploadedObject> {
    const total = o.size ?? knownSize(body);
    const headers = {
      'content-type': o.contentType ?? (body instanceof Blob && body.type ? body.type : 'application/octet-stream'),
      'x-coffer-sha256': o.sha256,
      // Node's fetch sends it as given with a stream; browsers set it themselves (a stream then goes chunked).
      'content-length': total !== undefined ? String(total) : undefined,
    };
    const onProgress = o.onProgress;
    const make = (): BodyInit => {
      // In Node, fetch takes an async iterable (a file stream) as it is: no web-stream hop per chunk.
      if (passesIterables(body)) return (onProgress ? countingIterable(body, onProgress, total) : body) as unknown as BodyInit;
      if (onProgress) return toStream(body).pipeThrough(counting(onProgress, total));
      return isReplayable(body) ? (body as BodyInit) : toStream(body);
    };
    const res = await this.http.request(url, { method, headers, body: isReplayable(body) ? make : make(), signal: o.signal });
    const answer = await jsonOf<ObjectWritten>(res);
    return { ...answer, created: res.status === 201 };
  }

  /** Streams an object back: the body is a web stream, counted for `onProgress` as it is read. */
  async download(path: string, o: DownloadOptions = {}): Promise<Download> {
    const range = o.range ? `bytes=${o.range.start}-${o.range.end ?? ''}` : undefined;
    const res = await this.http.request(`/v1/objects/${encodePath(path)}`, {
      headers: { range, accept: '*/*', 'if-none-match': o.ifNoneMatch },
      signal: o.signal,
      accept: [304],
    });
    const length = Number(res.headers.get('content-length') ?? NaN);
    const whole = /\/(\d+)$/.exec(res.headers.get('content-range') ?? '');
    const size = whole ? Number(whole[1]) : length;
    let body: ReadableStream<Uint8Array> | undefined;
    const build = (): ReadableStream<Uint8Array> => {
      let b = res.body ?? new ReadableStream<Uint8Array>({ start: (c) => c.close() });
      if (o.onProgress && res.status !== 304) b = b.pipeThrough(counting(o.onProgress, Number.isFinite(length) ? length : undefined));
      return o.signal ? abortable(b, o.signal) : b;
    };
    return {
      get body() {
        return (body ??= build());
      },
      response: res,
      size: Number.isFinite(size) ? size : -1,
      length: Number.isFinite(length) ? length : -1,
      contentType: res.headers.get('content-type') ?? 'application/octet-stream',
      etag: res.headers.get('etag'),
      sha256: res.headers.get('x-coffer-sha256'),
      notModified: res.status === 304,
    };
  }

  /** An object's metadata; 404 `not_found` if absent. */
  async inspect(path: string): Promise<ObjectView> {
    return jsonOf<ObjectView>(await this.http.request(`/v1/objects/${encodePath(path)}`, { query: { meta: '' } }));
  }

  /** Whether an object exists (HEAD). */
  async exists(path: string): Promise<boolean> {
    try {
      await this.http.request(`/v1/objects/${encodePath(path)}`, { method: 'HEAD' });
      return true;
    } catch (e) {
      if (e instanceof CofferError && e.status === 404) return false;
      throw e;
    }
  }

  /** One page of the listing (S3-style prefix match, in path byte order). */
  async list(o: ObjectListOptions = {}): Promise<ObjectListing> {
    return jsonOf<ObjectListing>(await this.http.request('/v1/objects', { query: { prefix: o.prefix, delimiter: o.delimiter, cursor: o.cursor, limit: o.limit } }));
  }

  /** Every object under `prefix`, paging through cursors. */
  async *listAll(o: { prefix?: string; pageSize?: number } = {}): AsyncIterable<ObjectView> {
    let cursor: string | undefined;
    do {
      const page = await this.list({ ...(o.prefix ? { prefix: o.prefix } : {}), ...(o.pageSize ? { limit: o.pageSize } : {}), ...(cursor ? { cursor } : {}) });
      yield* page.objects;
      cursor = page.cursor ?? undefined;
    } while (cursor);
  }

  /** Deletes an object; 404 `not_found` if absent. */
  async delete(path: string): Promise<void> {
    await jsonOf<unknown>(await this.http.request(`/v1/objects/${encodePath(path)}`, { method: 'DELETE' }));
  }
}

/** Read errors of an aborted download surface as CofferError `aborted`, like the request's. */
function abortable(body: ReadableStream<Uint8Array>, signal: AbortSignal): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { value, done } = await reader.read();
        if (done) controller.close();
        else controller.enqueue(value);
      } catch (e) {
        controller.error(errorFromThrown(e, signal));
      }
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
}

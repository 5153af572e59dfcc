/** The key/value store (SPEC §3): /v1/data/{key}. */
import { encodePath, fromBase64, utf8 } from './bytes.js';
import { jsonOf, type Transport } from './http.js';
import type { KvDeleted, KvEntry, KvListing, KvWritten } from './types.js';

export interface KvGetAnswer {
  key: string;
  /** The value as it was written: any JSON value, a string (form values), or a Uint8Array for a raw value. */
  value: unknown;
  etag: string | null;
  /** Raw values only: their content type. */
  contentType: string | null;
}

export interface KvBytesAnswer {
  bytes: Uint8Array;
  /** A raw value's content type; text/plain for a string, application/json for another JSON value. */
  contentType: string | null;
  etag: string | null;
}

export interface KvPutOptions {
  /** Seconds until the key disappears (whole, from 1). */
  ttl?: number;
  /** Write only if the key's current ETag is this one (412 otherwise, and when it does not exist). */
  ifMatch?: string;
  /** `*`: write only if the key does not exist (412 otherwise). */
  ifNoneMatch?: string;
  /** With a Uint8Array, ArrayBuffer or Blob value: the raw bytes' content type (default application/octet-stream). */
  contentType?: string;
}

export interface KvWriteAnswer {
  created: boolean;
  etag: string | null;
  answer: KvWritten;
}

const isBytes = (v: unknown): v is Uint8Array | ArrayBuffer | Blob => v instanceof Uint8Array || v instanceof ArrayBuffer || v instanceof Blob;

/** `a/b` → `a/b/`; `` and `/` → `` (the root). */
function dirPath(dir: string): string {
  const d = dir.replace(/^\/+/, '');
  return d === '' || d.endsWith('/') ? d : `${d}/`;
}

export class KvApi {
  constructor(private readonly http: Transport) {}

  private url(key: string): string {
    return `/v1/data/${encodePath(key)}`;
  }

  /** A key's value: JSON values as they were given, raw values as a Uint8Array. 404 if absent. */
  async get(key: string): Promise<KvGetAnswer> {
    const res = await this.http.request(this.url(key), { headers: { accept: 'application/json' } });
    const entry = await jsonOf<KvEntry>(res);
    const raw = entry.encoding === 'base64';
    return {
      key: entry.key,
      value: raw ? fromBase64(String(entry.value)) : entry.value,
      etag: res.headers.get('etag'),
      contentType: raw ? (entry.content_type ?? null) : null,
    };
  }

  /** A key's value as bytes: a raw value as stored, a string as UTF-8, another JSON value as its JSON. */
  async getBytes(key: string): Promise<KvBytesAnswer> {
    const { value, etag, contentType } = await this.get(key);
    if (value instanceof Uint8Array) return { bytes: value, contentType, etag };
    if (typeof value === 'string') return { bytes: utf8(value), contentType: 'text/plain; charset=utf-8', etag };
    return { bytes: utf8(JSON.stringify(value)), contentType: 'application/json', etag };
  }

  /** Creates or replaces a key (PUT): any JSON value, or raw bytes (Uint8Array, ArrayBuffer, Blob). */
  put(key: string, value: unknown, o: KvPutOptions = {}): Promise<KvWriteAnswer> {
    return this.write('PUT', key, value, o);
  }

  /** Creates a key (POST); 409 `conflict` if it exists. */
  create(key: string, value: unknown, o: Pick<KvPutOptions, 'ttl' | 'contentType'> = {}): Promise<KvWriteAnswer> {
    return this.write('POST', key, value, o);
  }

  private async write(method: 'PUT' | 'POST', key: string, value: unknown, o: KvPutOptions): Promise<KvWriteAnswer> {
    if (value === undefined) throw new TypeError('A value is needed (undefined is not a JSON value).');
    const headers = { 'if-match': o.ifMatch, 'if-none-match': o.ifNoneMatch };
    const query = { ttl: o.ttl };
    const res = isBytes(value)
      ? await this.http.request(this.url(key), { method, query, headers: { ...headers, 'content-type': o.contentType ?? 'application/octet-stream' }, body: value as BodyInit })
      : await this.http.request(this.url(key), { method, query, headers, json: { value } });
    return { created: res.status === 201, etag: res.headers.get('etag'), answer: await jsonOf<KvWritten>(res) };
  }

  /** Deletes a key; 404 if absent; with `ifMatch`, 412 unless the ETag is still that one. */
  async delete(key: string, o: { ifMatch?: string } = {}): Promise<void> {
    await jsonOf<KvDeleted>(await this.http.request(this.url(key), { method: 'DELETE', headers: { 'if-match': o.ifMatch } }));
  }

  /** Deletes everything below a directory; answers how many keys went. */
  async deleteDir(dir: string): Promise<number> {
    const answer = await jsonOf<KvDeleted>(await this.http.request(`/v1/data/${encodePath(dirPath(dir))}`, { method: 'DELETE', query: { recursive: true } }));
    return Number(answer.deleted);
  }

  /** One page of a directory: direct children (keys, and dirs ending in /), or every key below with `recursive`. */
  async list(dir = '', o: { recursive?: boolean; limit?: number; cursor?: string } = {}): Promise<KvListing> {
    return jsonOf<KvListing>(
      await this.http.request(`/v1/data/${encodePath(dirPath(dir))}`, { query: { recursive: o.recursive, limit: o.limit, cursor: o.cursor } }),
    );
  }

  /** Every entry of a directory (keys and dirs, in byte order within each page), paging through cursors. */
  async *listAll(dir = '', o: { recursive?: boolean; pageSize?: number } = {}): AsyncIterable<string> {
    let cursor: string | undefined;
    do {
      const page = await this.list(dir, { ...(o.recursive ? { recursive: true } : {}), ...(o.pageSize ? { limit: o.pageSize } : {}), ...(cursor ? { cursor } : {}) });
      yield* [...page.keys, ...page.dirs].sort(byBytes);
      cursor = page.cursor ?? undefined;
    } while (cursor);
  }
}

/** Compares as UTF-8 bytes do (code points), as the server sorts. */
function byBytes(a: string, b: string): number {
  const x = [...a];
  const y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = x[i]!.codePointAt(0)! - y[i]!.codePointAt(0)!;
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

/**
 * The JSON form of a parcel upload, {"owner","metadata","data": hex}, read as it streams: the hex
 * of `data` is decoded into the upload as it arrives, so the body (up to
 * COFFER_PARCEL_JSON_MAX_BYTES) is never whole in memory. Only `owner` and `metadata` are kept,
 * and they are small by rule.
 */
import { once } from 'node:events';
import { PassThrough, Transform, finished, pipeline, type Readable } from 'node:stream';
import type { Assembler } from 'stream-json/assembler.js';
import type { Token } from 'stream-json/parser.js';
import { asCofferError, badRequest, payloadTooLarge } from '../errors.js';
import { MAX_JSON_DEPTH, tooDeepMessage } from '../util/json-depth.js';

/** The largest `metadata` (and `owner`) kept, in characters of JSON text. */
const PARCEL_METADATA_MAX_CHARS = 64 * 1024;
/** Hex digits decoded and handed to the upload at a time. */
const HEX_BATCH = 32 * 1024;

/** Keys, numbers and small strings come packed; strings stream, so `data` can be any length. */
const TOKENS = { packKeys: true, streamKeys: false, packNumbers: true, streamNumbers: false, packStrings: false, streamStrings: true };

export interface ParcelJson<T> {
  /** The `owner` value as sent (undefined when absent). */
  owner: unknown;
  /** The `metadata` value as sent (undefined when absent). */
  metadata: unknown;
  /** What `store` made of the data. */
  stored: T;
}

export interface ParcelJsonSink<T> {
  /**
   * Checks `owner` or `metadata` as soon as it has arrived, and throws to refuse the upload: when
   * they come before `data` (as AMO's clients send them), nothing was stored yet.
   */
  check(field: 'owner' | 'metadata', value: unknown): void;
  /** Consumes the decoded bytes of `data` (called when "data" starts). */
  store(bytes: Readable): Promise<T>;
  /** Undoes `store` when the rest of the body turns out bad. */
  discard(stored: T): Promise<void>;
}

export const jsonTooLarge = (max: number) => payloadTooLarge(`A JSON parcel upload is limited to ${max} bytes (COFFER_PARCEL_JSON_MAX_BYTES); send the raw bytes instead (any other content type), which stream without a limit.`);
const dataRule = () => badRequest('"data" must be the parcel\'s bytes in hex (a string of an even number of hex digits).');

/** Counts a JSON value's tokens until it is complete; refuses nesting past the bound. */
class ValueEnd {
  private level = 0;
  /** True when `t` completes the value. */
  feed(t: Token): boolean {
    if (t.name === 'startObject' || t.name === 'startArray') {
      // The body's own object is the first level.
      if (++this.level + 1 > MAX_JSON_DEPTH) throw badRequest(tooDeepMessage, 'invalid_json');
    } else if (t.name === 'endObject' || t.name === 'endArray') this.level--;
    else if (t.name === 'startString' || t.name === 'stringChunk' || t.name === 'keyValue') return false;
    return this.level === 0;
  }
}

/** stream-json, loaded with the first parcel upload: a server that never takes one never holds it. */
async function loadStreamJson() {
  const [{ default: parser }, { Assembler }] = await Promise.all([import('stream-json/parser.js'), import('stream-json/assembler.js')]);
  return { parser, Assembler };
}
let streamJson: ReturnType<typeof loadStreamJson> | undefined;

export async function readParcelJson<T>(body: Readable, maxBytes: number, sink: ParcelJsonSink<T>): Promise<ParcelJson<T>> {
  const { parser, Assembler } = await (streamJson ??= loadStreamJson());
  let received = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      received += chunk.length;
      done(received > maxBytes ? jsonTooLarge(maxBytes) : null, chunk);
    },
  });
  // The request itself stays out of the pipeline: a failure must not destroy it before the
  // answer is written (the connection is closed after it instead).
  body.pipe(counter);
  // pipe() passes on no failure: a client that goes away mid-body must still stop the parser.
  const stopWatching = finished(body, (err) => err && counter.destroy(err));
  const tokens = pipeline(counter, parser.asStream(TOKENS), () => {}) as AsyncIterable<Token> & Readable;

  let owner: unknown;
  let metadata: unknown;
  let storing: Promise<T> | undefined;
  let data: PassThrough | undefined;
  try {
    let started = false;
    let complete = false;
    // The field whose value is being read, and how it is read.
    let field: { name: string; end: ValueEnd; kept: number; asm?: Assembler; string?: string } | undefined;
    let hex = '';
    for await (const t of tokens) {
      if (!started) {
        if (t.name !== 'startObject') throw badRequest('The JSON body must be an object: {"owner","metadata","data": hex}.');
        started = true;
        continue;
      }
      if (!field) {
        if (t.name === 'endObject') {
          complete = true;
          continue;
        }
        if (t.name !== 'keyValue') throw badRequest('The JSON body is not an object of fields.');
        if (t.value === 'data' && data) throw badRequest('"data" was sent twice.');
        field = { name: t.value, end: new ValueEnd(), kept: 0 };
        continue;
      }
      const done = field.end.feed(t);
      if (field.name === 'data') {
        if (!data) {
          if (t.name !== 'startString') throw dataRule();
          data = new PassThrough();
          // The store sees a failure through its own reading; this keeps a late one from going uncaught.
          data.on('error', () => {});
          storing = sink.store(data);
          storing.catch(() => {}); // awaited below; a failure also ends the body's reading
        } else if (t.name === 'stringChunk') {
          hex += t.value;
          if (hex.length >= HEX_BATCH) hex = await feed(data, hex, storing!);
        } else if (t.name === 'endString') {
          if (hex.length % 2 !== 0) throw dataRule();
          await feed(data, hex, storing!);
          data.end();
        }
      } else if (field.name === 'owner' || field.name === 'metadata') {
        field.kept += t.name === 'stringChunk' || t.name === 'keyValue' || t.name === 'numberValue' ? t.value.length : 1;
        if (field.kept > PARCEL_METADATA_MAX_CHARS) throw badRequest(`"${field.name}" is limited to ${PARCEL_METADATA_MAX_CHARS} characters.`);
        // The Assembler reads packed strings: pack them here (keys and numbers come packed).
        if (t.name === 'startString') field.string = '';
        else if (t.name === 'stringChunk') field.string += t.value;
        else {
          field.asm ??= new Assembler();
          field.asm.consume(t.name === 'endString' ? { name: 'stringValue', value: field.string! } : t);
        }
      }
      if (done) {
        if (field.name === 'owner') sink.check('owner', (owner = field.asm?.current));
        if (field.name === 'metadata') sink.check('metadata', (metadata = field.asm?.current));
        field = undefined;
      }
    }
    if (!complete) throw badRequest('The JSON body ended early.');
    if (!storing) throw dataRule();
    const stored = await storing;
    return { owner, metadata, stored };
  } catch (e) {
    body.unpipe(counter);
    tokens.destroy();
    data?.destroy(e as Error);
    // What was stored is dropped. `e` is the store's own failure when it failed first (a hash
    // mismatch, say); otherwise the store failed because of `e`, which is what the client hears.
    const outcome = storing && (await storing.then((v) => ({ v }), () => ({})));
    if (outcome && 'v' in outcome) await sink.discard(outcome.v).catch(() => {});
    throw asClientError(e);
  } finally {
    stopWatching();
  }
}

/** Hands the even part of `hex` to the upload (waiting while it is busy) and returns the rest. */
async function feed(data: PassThrough, hex: string, storing: Promise<unknown>): Promise<string> {
  const even = hex.length - (hex.length % 2);
  if (even === 0) return hex;
  // Buffer's hex decoding stops at the first character that is not a hex digit.
  const bytes = Buffer.from(hex.slice(0, even), 'hex');
  if (bytes.length * 2 !== even) throw dataRule();
  if (!data.write(bytes)) await Promise.race([once(data, 'drain'), storing]);
  return hex.slice(even);
}

/** The parser's syntax errors are the client's: 400 with what it said. */
function asClientError(e: unknown): unknown {
  const known = asCofferError(e);
  if (known) return known;
  if (e instanceof Error && /^Parser/.test(e.message)) return badRequest(`The body is not valid JSON: ${e.message}.`, 'invalid_json');
  return e;
}

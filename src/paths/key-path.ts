/**
 * Key paths (SPEC §3), shared by key/value keys and object paths: segments of 1-255 bytes of
 * UTF-8 joined by "/", never "." or "..", no control characters (C0 or DEL), at most 1024
 * bytes in all. A trailing "/" names a directory; "" is the root directory.
 */
import { badRequest } from '../errors.js';

export interface KeyPath {
  /** "a/b/c" for a key, "a/b/" for a directory, "" for the root directory. */
  path: string;
  isDir: boolean;
}

const MAX_SEGMENT_BYTES = 255;
const MAX_PATH_BYTES = 1024;
const CONTROL = /[\u0000-\u001f\u007f]/;

/** Parses the still percent-encoded path that follows the route prefix in the URL. */
export function parseEncodedKeyPath(encoded: string, what = 'key'): KeyPath {
  let decoded: string;
  try {
    decoded = decodeURIComponent(encoded);
  } catch {
    throw badRequest(`The ${what} has malformed percent-encoding or is not UTF-8.`, 'invalid_key');
  }
  return parseKeyPath(decoded, what);
}

export function parseKeyPath(path: string, what = 'key'): KeyPath {
  if (path === '') return { path: '', isDir: true };
  const isDir = path.endsWith('/');
  const body = isDir ? path.slice(0, -1) : path;
  if (Buffer.byteLength(path) > MAX_PATH_BYTES) {
    throw badRequest(`The ${what} is ${Buffer.byteLength(path)} bytes long; at most ${MAX_PATH_BYTES} are allowed.`, 'invalid_key');
  }
  const segments = body.split('/');
  segments.forEach((segment, i) => {
    const where = `Segment ${i + 1} of the ${what}`;
    if (segment === '') throw badRequest(`${where} is empty (a leading "/" or "//").`, 'invalid_key');
    if (segment === '.' || segment === '..') throw badRequest(`${where} is "${segment}", which is not allowed.`, 'invalid_key');
    const control = CONTROL.exec(segment);
    if (control) {
      const code = control[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0');
      throw badRequest(`${where} contains the control character U+${code}.`, 'invalid_key');
    }
    if (Buffer.byteLength(segment) > MAX_SEGMENT_BYTES) {
      throw badRequest(`${where} is longer than ${MAX_SEGMENT_BYTES} bytes.`, 'invalid_key');
    }
  });
  return { path, isDir };
}

/** A checked object path: the key rules of SPEC §3, and a name rather than a directory. */
export type ObjectPath = string & { readonly __objectPath: true };

/** An object path from a parsed key path; 400 for a directory. */
export function objectPathOf(parsed: KeyPath): ObjectPath {
  if (parsed.isDir) throw badRequest(`"${parsed.path}" ends in "/": an object needs a name, not a directory.`, 'invalid_key');
  return parsed.path as ObjectPath;
}

/** An object path from a raw string (a JSON field, say). */
export function parseObjectPath(path: string): ObjectPath {
  return objectPathOf(parseKeyPath(path, 'object path'));
}

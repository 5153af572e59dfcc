/**
 * How each setting's text becomes its value: a parser returns the value, or an Error saying what
 * it accepts (config.ts names the setting and collects every problem).
 */
import { readFileSync } from 'node:fs';
import { isValidUsername, USERNAME_RULE } from './users/username.js';

export type Parser<T> = (raw: string) => T | Error;

export const str = (raw: string) => raw;
export const optionalStr = (raw: string) => (raw === '' ? undefined : raw);

export function int(min: number, max: number): Parser<number> {
  return (raw) => {
    const n = Number(raw);
    if (!/^-?\d+$/.test(raw.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
      return new Error(`a whole number from ${min} to ${max}`);
    }
    return n;
  };
}

export function oneOf<T extends string>(values: readonly T[]): Parser<T> {
  return (raw) => (values as readonly string[]).includes(raw) ? (raw as T) : new Error(`one of ${values.join(', ')}`);
}

export const bool: Parser<boolean> = (raw) => {
  const v = raw.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(v)) return true;
  if (['false', '0', 'no', 'off', ''].includes(v)) return false;
  return new Error('true or false');
};

export const list: Parser<string[]> = (raw) => raw.split(',').map((s) => s.trim()).filter(Boolean);

export const username: Parser<string> = (raw) => (isValidUsername(raw) ? raw : new Error(USERNAME_RULE));

export const databaseUrl: Parser<string> = (raw) =>
  /^(sqlite:|postgres:\/\/|postgresql:\/\/)/.test(raw) ? raw : new Error('sqlite:<file> or postgres://user@host:port/db');

export const optionalUrl: Parser<string | undefined> = (raw) => {
  if (raw === '') return undefined;
  try {
    const u = new URL(raw);
    return u.protocol === 'http:' || u.protocol === 'https:' ? raw : new Error('an http:// or https:// URL');
  } catch {
    return new Error('an http:// or https:// URL');
  }
};

export const bucketName: Parser<string> = (raw) =>
  /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(raw) ? raw : new Error('an S3 bucket name (3-63 of a-z 0-9 . -)');

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
}

/** A key.json `{"access_key","secret_key"}` (the AMO adapter's format), read once at start. */
export const s3KeyFile: Parser<S3Credentials | undefined> = (raw) => {
  if (raw === '') return undefined;
  let parsed: { access_key?: unknown; secret_key?: unknown };
  try {
    parsed = JSON.parse(readFileSync(raw, 'utf8')) as typeof parsed;
  } catch (e) {
    return new Error(`a readable JSON file (${(e as Error).message})`);
  }
  if (typeof parsed?.access_key !== 'string' || typeof parsed.secret_key !== 'string') return new Error('a file holding {"access_key": "...", "secret_key": "..."}');
  return { accessKeyId: parsed.access_key, secretAccessKey: parsed.secret_key };
};

export const storageId: Parser<string> = (raw) => (/^[0-9a-fA-F]{8}$/.test(raw) ? raw.toUpperCase() : new Error('8 hex digits'));

/** A secret string of at least `min` characters, or unset. */
export function optionalSecret(min: number): Parser<string | undefined> {
  return (raw) => (raw === '' ? undefined : raw.length >= min ? raw : new Error(`at least ${min} characters (e.g. \`openssl rand -hex 24\`)`));
}

/** Fastify's trustProxy: false, true, a hop count, or addresses and CIDRs. */
export type TrustProxy = boolean | number | string[];

export const trustProxy: Parser<TrustProxy> = (raw) => {
  const v = raw.trim().toLowerCase();
  if (['', 'false', 'no', 'off', '0'].includes(v)) return false;
  if (['true', 'yes', 'on'].includes(v)) return true;
  if (/^\d+$/.test(v)) return Number(v);
  const addresses = raw.split(',').map((s) => s.trim()).filter(Boolean);
  const address = /^[0-9a-fA-F:.]+(\/\d{1,3})?$/;
  return addresses.every((a) => address.test(a)) ? addresses : new Error('false, true, a number of proxy hops, or IP addresses/CIDRs separated by commas');
};

/** The key/value store's requests and answers (SPEC §3). */
import { Type, type Static } from '@sinclair/typebox';
import { Flag, Limit, Nullable } from './common.js';

export const KvValueBody = Type.Object(
  {
    value: Type.Optional(Type.Unknown({ description: 'required: a string (form) or any JSON value (JSON)' })),
    ttl: Type.Optional(Type.Unknown({ description: 'whole seconds from 1 until the key disappears' })),
  },
  { additionalProperties: true },
);

/** A key's value as JSON: `value` as it was given, or a raw value in base64 when Accept prefers JSON. */
export const KvEntry = Type.Object({
  key: Type.String(),
  value: Type.Unknown(),
  encoding: Type.Optional(Type.Literal('base64', { description: 'a raw value, base64' })),
  content_type: Type.Optional(Nullable(Type.String())),
});
export type KvEntry = Static<typeof KvEntry>;

export const KvListing = Type.Object({
  dir: Type.String({ description: '"" at the root, else "a/b/"' }),
  keys: Type.Array(Type.String()),
  dirs: Type.Array(Type.String({ description: 'ends in /' })),
  cursor: Nullable(Type.String()),
});
export type KvListing = Static<typeof KvListing>;

/** GET /v1/data/{path}: a key's entry, or a directory's listing when the path ends in "/" (one shape for the serializer). */
export const KvRead = Type.Object(
  {
    key: Type.Optional(KvEntry.properties.key),
    value: Type.Optional(Type.Unknown()),
    encoding: KvEntry.properties.encoding,
    content_type: KvEntry.properties.content_type,
    dir: Type.Optional(KvListing.properties.dir),
    keys: Type.Optional(KvListing.properties.keys),
    dirs: Type.Optional(KvListing.properties.dirs),
    cursor: Type.Optional(KvListing.properties.cursor),
  },
  { description: 'a key: {key, value[, encoding, content_type]}; a directory: {dir, keys, dirs, cursor}' },
);

/** What a write answers: the value as stored, or for a raw value its size and type. */
export const KvWritten = Type.Object({
  key: Type.String(),
  value: Type.Optional(Type.Unknown()),
  size: Type.Optional(Type.Integer()),
  content_type: Type.Optional(Nullable(Type.String())),
});
export type KvWritten = Static<typeof KvWritten>;

export const KvListQuery = Type.Object({
  limit: Type.Optional(Limit),
  cursor: Type.Optional(Type.String()),
  recursive: Type.Optional(Flag),
});

export const KvWriteQuery = Type.Object({ ttl: Type.Optional(Type.String({ description: 'whole seconds from 1 until the key disappears' })) });

export const KvDeleteQuery = Type.Object({ recursive: Type.Optional(Flag) });

export const KvDeleted = Type.Object({
  key: Type.Optional(Type.String()),
  dir: Type.Optional(Type.String()),
  deleted: Type.Unsafe<true | number>({ type: ['boolean', 'integer'], description: 'true for a key; how many keys for a directory' }),
});
export type KvDeleted = Static<typeof KvDeleted>;

/** Objects and presigned URLs (SPEC §4). */
import { Type, type Static } from '@sinclair/typebox';
import { Limit, Nullable } from './common.js';

const objectFields = {
  path: Type.String(),
  size: Type.Integer(),
  sha256: Type.String({ description: 'lowercase hex' }),
  content_type: Type.String(),
  etag: Type.String(),
};

/** What an upload answers. */
export const ObjectWritten = Type.Object(objectFields);
export type ObjectWritten = Static<typeof ObjectWritten>;

/** An object's metadata (?meta, and each entry of a listing). */
export const ObjectInfo = Type.Object({ ...objectFields, updated_at: Type.String({ format: 'date-time' }) });
export type ObjectInfo = Static<typeof ObjectInfo>;

export const ObjectListing = Type.Object({
  objects: Type.Array(ObjectInfo),
  prefixes: Type.Optional(Type.Array(Type.String({ description: 'ends in /' }), { description: 'with delimiter=/' })),
  cursor: Nullable(Type.String()),
});
export type ObjectListing = Static<typeof ObjectListing>;

/** GET /v1/objects/{path} as JSON: ?meta, or a listing when the path ends in "/" (one shape for the serializer). */
export const ObjectRead = Type.Object(
  {
    ...Object.fromEntries(Object.entries(ObjectInfo.properties).map(([k, v]) => [k, Type.Optional(v)])),
    objects: Type.Optional(ObjectListing.properties.objects),
    prefixes: ObjectListing.properties.prefixes,
    cursor: Type.Optional(ObjectListing.properties.cursor),
  },
  { description: 'with ?meta: the object\'s metadata; for a path ending in "/": a listing' },
);

export const ListQuery = Type.Object({
  prefix: Type.Optional(Type.String()),
  cursor: Type.Optional(Type.String()),
  limit: Type.Optional(Limit),
  delimiter: Type.Optional(Type.String({ description: 'only "/"' })),
});

export const ReadQuery = Type.Object({
  ...ListQuery.properties,
  meta: Type.Optional(Type.String({ description: 'present: answer the metadata as JSON' })),
});

export const ObjectDeleted = Type.Object({ path: Type.String(), deleted: Type.Literal(true) });

export const UploadHeaders = Type.Object(
  { 'x-coffer-sha256': Type.Optional(Type.String({ description: 'the SHA-256 of the body, checked before the object is committed' })) },
  { additionalProperties: true },
);

/** Streamed request bodies: any bytes, any content type (stored with the object). */
export const StreamedBody = { '*/*': { schema: { type: 'string', format: 'binary' } } };

export const PresignBody = Type.Object(
  {
    path: Type.Optional(Type.String()),
    file: Type.Optional(Type.String({ description: 'alias of path (the presign prototype\'s client); without method it presigns a PUT' })),
    method: Type.Optional(Type.String({ description: 'GET or PUT' })),
    expires_in: Type.Optional(Type.Unknown({ description: 'seconds, 1 to 604800 (default 3600)' })),
    content_type: Type.Optional(Type.String()),
    user: Type.Optional(Type.String({ description: 'must be the caller' })),
  },
  { additionalProperties: true },
);
export type PresignBody = Static<typeof PresignBody>;

export const Presigned = Type.Object({
  url: Type.String(),
  method: Type.String(),
  headers: Type.Record(Type.String(), Type.String(), { description: 'headers the request must carry' }),
  expires_at: Type.String({ format: 'date-time' }),
  presigned_url: Type.String({ description: 'repeats url' }),
});
export type Presigned = Static<typeof Presigned>;

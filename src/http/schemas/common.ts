/**
 * Schema pieces every route shares. The route schemas document the API (/openapi.json), keep
 * anything unlisted (a hash!) out of answers, and give the TypeScript client its types.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';

/** Every refusal (SPEC §6, RFC 9457); some carry more fields (`checks`, `request_id`). */
export const Problem = Type.Object(
  {
    type: Type.String({ description: 'urn:coffer:error:{code}' }),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    code: Type.String({ description: 'stable, machine-readable' }),
    error: Type.String({ description: 'repeats detail (for clients of the older designs)' }),
  },
  { additionalProperties: true, description: 'application/problem+json' },
);

const problem = { content: { 'application/problem+json': { schema: Problem } } };

/** The answers of a route: its successes, and problem+json for every 4xx and 5xx. */
export function answers<R extends Record<number, TSchema | { content: object; description?: string }>>(success: R) {
  return { ...success, '4xx': { description: 'a refusal', ...problem }, '5xx': { description: 'a failure', ...problem } };
}

/** A 204 (or any bodiless answer). */
export const NoContent = Type.Null({ description: 'no body' });

/** Bytes as they were stored, with their own content type. */
export const Bytes = { description: 'the bytes, with their content type', content: { '*/*': { schema: { type: 'string', format: 'binary' } } } } as const;

export const bearer = [{ bearer: [] }];
export const signed = [{ challenge: [] }];

/** The rest of the URL after a route prefix (a key, an object path). */
export const Wildcard = Type.Object({ '*': Type.String({ description: 'the key or path, percent-encoded' }) });

/**
 * A body of fields, as JSON or as a form: `content` schemas per media type, the same fields in
 * both. An empty body declared as JSON is no body (null), which the routes take as no fields.
 */
export function formOrJson(schema: TSchema) {
  return { content: { 'application/json': { schema: orNull(schema) }, 'application/x-www-form-urlencoded': { schema } } };
}

function orNull(schema: TSchema): TSchema {
  return { ...schema, type: ['object', 'null'] } as unknown as TSchema;
}

/*
 * Query parameters are declared as strings: their values are checked where they are read
 * (request-parts.ts), so that a bad one gets a message that says what to send instead.
 */

/** `true` or `false` (also `1`, `0`, and empty for true). */
export const Flag = Type.String({ description: 'true or false' });

/** Page size: a whole number from 1; above the route's maximum is served as the maximum. */
export const Limit = Type.String({ description: 'page size, a whole number from 1' });

/**
 * `T` or null, as one JSON Schema type list: the serializer writes it directly, where a union
 * (anyOf) would make it try each branch in turn.
 */
export function Nullable<T extends TSchema>(schema: T) {
  return Type.Unsafe<Static<T> | null>({ ...schema, type: [(schema as { type?: string }).type, 'null'] });
}

/** The older parcel API and its challenge (SPEC §2, §4): what AMO's clients speak. */
import { Type, type Static } from '@sinclair/typebox';

export const ChallengeBody = Type.Object(
  {
    user: Type.Optional(Type.String({ description: 'required: a username, or a P-256 key address' })),
    operation: Type.Optional(
      Type.Unknown({ description: 'required: {"name":"upload","hash"}, {"name":"download"|"remove","id"}, or a bare name' }),
    ),
  },
  { additionalProperties: true },
);
export type ChallengeBody = Static<typeof ChallengeBody>;

export const ChallengeToken = Type.Object({ token: Type.String({ description: 'sign its exact bytes; send it as X-Auth-Token' }) });
export type ChallengeToken = Static<typeof ChallengeToken>;

export const ParcelUploadJson = Type.Object(
  {
    owner: Type.Optional(Type.String({ description: "the challenge's user, or absent" })),
    metadata: Type.Optional(Type.Object({}, { additionalProperties: true })),
    data: Type.String({ description: 'the bytes, hex' }),
  },
  { description: 'or the raw bytes with any other content type' },
);

export const ParcelCreated = Type.Object({ id: Type.String({ description: 'storage id + uppercase SHA-256: 72 hex digits' }) });
export type ParcelCreated = Static<typeof ParcelCreated>;

export const ParcelId = Type.Object({ id: Type.String({ description: '72 hex digits, any case' }) });

export const ParcelQuery = Type.Object({ key: Type.Optional(Type.String({ description: 'metadata or owner: inspect without proof' })) });

/** GET /api/v1/parcels/{id} as JSON (streamed, so not serialized by this schema): the parcel, or one inspected field. */
export const ParcelRead = Type.Object(
  {
    id: Type.Optional(Type.String()),
    owner: Type.Optional(Type.Unsafe<string | null>({ type: ['string', 'null'] })),
    metadata: Type.Optional(Type.Object({}, { additionalProperties: true })),
    data: Type.Optional(Type.String({ description: 'the bytes, lowercase hex' })),
  },
  { description: 'the parcel {"id","owner","metadata","data"}; with ?key=metadata {"metadata"}; with ?key=owner {"owner"}' },
);
export type ParcelRead = Static<typeof ParcelRead>;

/** The three headers of a signed request, for the API document. */
export const SignedHeaders = Type.Object(
  {
    'x-auth-token': Type.Optional(Type.String({ description: 'the token from POST /api/v1/auth' })),
    'x-public-key': Type.Optional(Type.String({ description: 'the public key, hex or base64' })),
    'x-signature': Type.Optional(Type.String({ description: 'the signature of the token bytes, hex or base64' })),
  },
  { additionalProperties: true },
);

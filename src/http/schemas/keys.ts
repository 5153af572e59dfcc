/** Public keys of clients that sign instead of sending a password (SPEC §2 "Public keys"). */
import { Type, type Static } from '@sinclair/typebox';

export const KeyBody = Type.Object(
  {
    key: Type.Optional(Type.String({ description: 'required: PEM, SPKI DER, raw Ed25519 or raw P-256, binary forms in hex or base64' })),
    label: Type.Optional(Type.String({ description: 'at most 200 characters' })),
  },
  { additionalProperties: true },
);
export type KeyBody = Static<typeof KeyBody>;

export const KeyView = Type.Object({
  id: Type.String({ description: 'lowercase hex SHA-256 of the SPKI DER' }),
  type: Type.String({ description: 'ed25519, p256 or rsa' }),
  label: Type.Unsafe<string | null>({ type: ['string', 'null'] }),
  address: Type.Optional(Type.String({ description: "a P-256 key's AMO address" })),
  created_at: Type.String({ format: 'date-time' }),
});
export type KeyView = Static<typeof KeyView>;

export const KeyList = Type.Object({ keys: Type.Array(KeyView) });

export const KeyId = Type.Object({ id: Type.String() });

/** A PEM key sent as the body itself. */
export const PemBody = { 'text/plain': { schema: { type: 'string' } }, 'application/x-pem-file': { schema: { type: 'string' } } };

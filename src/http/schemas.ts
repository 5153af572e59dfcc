/** Response schemas: they document the API and keep anything unlisted (a hash!) out of answers. */
import { Type } from '@sinclair/typebox';

export const TokenResponse = Type.Object({
  access_token: Type.String(),
  token_type: Type.Literal('Bearer'),
  expires_in: Type.Integer(),
  refresh_token: Type.String(),
  scope: Type.String(),
  jwt: Type.String({ description: 'alias of access_token (storserv clients)' }),
  token: Type.String({ description: 'alias of access_token (Flask gateway clients)' }),
});

export const UserView = Type.Object({
  public_id: Type.String({ format: 'uuid' }),
  username: Type.String(),
  admin: Type.Boolean(),
  disabled: Type.Boolean(),
  grants: Type.Array(Type.String()),
  created_at: Type.String({ format: 'date-time' }),
  updated_at: Type.String({ format: 'date-time' }),
});

export const Claims = Type.Object({}, { additionalProperties: true, description: 'the token claims' });

export const Credentials = Type.Object(
  {
    username: Type.Optional(Type.String()),
    name: Type.Optional(Type.String({ description: 'alias of username' })),
    password: Type.Optional(Type.String()),
  },
  { additionalProperties: true },
);

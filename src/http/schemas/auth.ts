/** Login, tokens and keys that verify them (SPEC §2 "Login and tokens"). */
import { Type, type Static } from '@sinclair/typebox';

export const LoginBody = Type.Object(
  {
    username: Type.Optional(Type.String()),
    name: Type.Optional(Type.String({ description: 'alias of username' })),
    password: Type.Optional(Type.String()),
    scope: Type.Optional(Type.String({ description: 'space-separated scopes to narrow the token to' })),
  },
  { additionalProperties: true, description: 'or send the credentials as Authorization: Basic' },
);
export type LoginBody = Static<typeof LoginBody>;

export const TokenAnswer = Type.Object({
  access_token: Type.String(),
  token_type: Type.Literal('Bearer'),
  expires_in: Type.Integer(),
  refresh_token: Type.String(),
  scope: Type.String(),
  jwt: Type.String({ description: 'alias of access_token (storserv clients)' }),
  token: Type.String({ description: 'alias of access_token (Flask gateway clients)' }),
});
export type TokenAnswer = Static<typeof TokenAnswer>;

export const RefreshBody = Type.Object({ refresh_token: Type.String() });

export const LogoutBody = Type.Object({ refresh_token: Type.Optional(Type.String({ description: 'also end this session' })) }, { additionalProperties: true });

export const IntrospectBody = Type.Object({ token: Type.Optional(Type.String({ description: 'required: the token to inspect' })) }, { additionalProperties: true });

export const Claims = Type.Object(
  {
    iss: Type.Optional(Type.String()),
    sub: Type.Optional(Type.String()),
    public_id: Type.Optional(Type.String()),
    username: Type.Optional(Type.String()),
    scope: Type.Optional(Type.String()),
    iat: Type.Optional(Type.Integer()),
    exp: Type.Optional(Type.Integer()),
    jti: Type.Optional(Type.String()),
  },
  { additionalProperties: true, description: 'the token claims' },
);
export type Claims = Static<typeof Claims>;

export const Introspection = Type.Object(
  { active: Type.Boolean(), token_type: Type.Optional(Type.String()) },
  { additionalProperties: true, description: 'RFC 7662: {"active": false}, or {"active": true, "token_type", ...claims}' },
);
export type Introspection = Static<typeof Introspection>;

export const Jwks = Type.Object({ keys: Type.Array(Type.Object({ kid: Type.String(), alg: Type.String(), use: Type.String() }, { additionalProperties: true })) });
export type Jwks = Static<typeof Jwks>;

export const Rotated = Type.Object({ kid: Type.String({ description: 'the new signing key' }) });

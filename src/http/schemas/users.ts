/** Users (SPEC §2): what an account looks like; never a password hash. */
import { Type, type Static } from '@sinclair/typebox';

export const Username = Type.Object({ username: Type.String() });

export const UserView = Type.Object({
  public_id: Type.String({ format: 'uuid' }),
  username: Type.String(),
  admin: Type.Boolean(),
  disabled: Type.Boolean(),
  grants: Type.Array(Type.String()),
  created_at: Type.String({ format: 'date-time' }),
  updated_at: Type.String({ format: 'date-time' }),
});
export type UserView = Static<typeof UserView>;

export const Registered = Type.Object({ public_id: Type.String(), username: Type.String(), admin: Type.Boolean() });
export type Registered = Static<typeof Registered>;

const Grants = Type.Unsafe<string[] | string>({ type: ['array', 'string'], items: { type: 'string' }, description: 'scopes: a list, or one space-separated string' });

export const NewUserBody = Type.Object(
  {
    username: Type.Optional(Type.String()),
    name: Type.Optional(Type.String({ description: 'alias of username' })),
    password: Type.Optional(Type.String()),
    admin: Type.Optional(Type.Unsafe<boolean | string>({ type: ['boolean', 'string'] })),
    grants: Type.Optional(Grants),
  },
  { additionalProperties: true },
);
export type NewUserBody = Static<typeof NewUserBody>;

export const UserPatchBody = Type.Object(
  {
    password: Type.Optional(Type.String()),
    current_password: Type.Optional(Type.String({ description: 'your current password, when you change your own' })),
    disabled: Type.Optional(Type.Unsafe<boolean | string>({ type: ['boolean', 'string'] })),
    grants: Type.Optional(Grants),
    admin: Type.Optional(Type.Unsafe<boolean | string>({ type: ['boolean', 'string'] })),
  },
  { additionalProperties: true, description: 'unknown fields are refused' },
);
export type UserPatchBody = Static<typeof UserPatchBody>;

export const UserList = Type.Object({ users: Type.Array(UserView) });

export const UserDeleted = Type.Object({ username: Type.String(), deleted: Type.Literal(true) });

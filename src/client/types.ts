/**
 * The requests and answers of the API, derived from the route schemas (src/http/schemas): one
 * source of truth. Types only: `import type` keeps every server module out of a bundle.
 */
import type { Static } from '@sinclair/typebox';
import type * as Auth from '../http/schemas/auth.js';
import type * as Keys from '../http/schemas/keys.js';
import type * as Kv from '../http/schemas/kv.js';
import type * as Objects from '../http/schemas/objects.js';
import type * as Parcels from '../http/schemas/parcels.js';
import type * as Users from '../http/schemas/users.js';
import type * as Common from '../http/schemas/common.js';

export type Problem = Static<typeof Common.Problem>;

export type TokenAnswer = Static<typeof Auth.TokenAnswer>;
export type LoginBody = Static<typeof Auth.LoginBody>;
/** The claims of a valid token (GET /v1/verify). */
export type VerifyAnswer = Static<typeof Auth.Claims>;
export type Claims = VerifyAnswer;
/** RFC 7662: {"active": false}, or {"active": true, "token_type", ...claims}. */
export type Introspection = Static<typeof Auth.Introspection> & VerifyAnswer;
export type JwkSet = Static<typeof Auth.Jwks>;
export type Rotated = Static<typeof Auth.Rotated>;

export type UserView = Static<typeof Users.UserView>;
export type Registered = Static<typeof Users.Registered>;
export type NewUserBody = Static<typeof Users.NewUserBody>;
export type UserPatchBody = Static<typeof Users.UserPatchBody>;
export type UserList = Static<typeof Users.UserList>;

export type KeyBody = Static<typeof Keys.KeyBody>;
export type KeyView = Static<typeof Keys.KeyView>;
export type KeyList = Static<typeof Keys.KeyList>;

export type KvEntry = Static<typeof Kv.KvEntry>;
export type KvListing = Static<typeof Kv.KvListing>;
export type KvWritten = Static<typeof Kv.KvWritten>;
export type KvDeleted = Static<typeof Kv.KvDeleted>;

/** What an upload answers (PUT /v1/objects/{path}, POST /v1/objects). */
export type ObjectWritten = Static<typeof Objects.ObjectWritten>;
/** An object's metadata (?meta, and each entry of a listing). */
export type ObjectView = Static<typeof Objects.ObjectInfo>;
export type ObjectListing = Static<typeof Objects.ObjectListing>;
export type PresignBody = Static<typeof Objects.PresignBody>;
export type PresignAnswer = Static<typeof Objects.Presigned>;

export type ChallengeBody = Static<typeof Parcels.ChallengeBody>;
export type ChallengeToken = Static<typeof Parcels.ChallengeToken>;
export type ParcelCreated = Static<typeof Parcels.ParcelCreated>;
export type ParcelRead = Static<typeof Parcels.ParcelRead>;

/**
 * Users: registration, admin management, self-service password change, and the admin created on
 * first start. No method returns a password hash: callers get UserView.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { badRequest, conflict, forbidden, notFound } from '../errors.js';
import type { Audit } from '../util/audit.js';
import type { Clock } from '../util/clock.js';
import { checkPasswordPolicy, type PasswordHasher } from './passwords.js';
import { DEFAULT_GRANTS, effectiveGrants, isScope, SCOPES, type Scope } from './scopes.js';
import type { UserPatch, UserRecord, UserStore } from './user-store.js';
import { isAddressName, isValidUsername, USERNAME_RULE } from './username.js';

/** Who asks for a change: a user and the scopes their request carries. */
export interface Actor {
  user: UserRecord;
  scopes: ReadonlySet<Scope>;
}

export interface UserView {
  public_id: string;
  username: string;
  admin: boolean;
  disabled: boolean;
  grants: Scope[];
  created_at: string;
  updated_at: string;
}

export function toUserView(u: UserRecord): UserView {
  return {
    public_id: u.id,
    username: u.username,
    admin: u.admin,
    disabled: u.disabled,
    grants: effectiveGrants(u),
    created_at: new Date(u.createdAt).toISOString(),
    updated_at: new Date(u.updatedAt).toISOString(),
  };
}

export function parseUsername(name: unknown): string {
  if (name === undefined || name === null || name === '') throw badRequest('"username" is required.');
  if (!isValidUsername(name)) throw badRequest(`"username" must be ${USERNAME_RULE}.`);
  return name;
}

/** A form sends one string ("kv:read kv:write") or repeats the field; JSON sends a list. */
function grantList(raw: unknown): unknown {
  return typeof raw === 'string' ? raw.split(/[\s,]+/).filter(Boolean) : raw;
}

function parseGrants(raw: unknown): Scope[] {
  const grants = grantList(raw);
  if (!Array.isArray(grants) || !grants.every((g) => typeof g === 'string')) {
    throw badRequest(`"grants" must be a list of scopes (${SCOPES.join(', ')}).`);
  }
  const unknown = grants.filter((g) => !isScope(g));
  if (unknown.length > 0) throw badRequest(`Unknown scope(s) ${unknown.join(', ')}; known: ${SCOPES.join(', ')}.`);
  return SCOPES.filter((s) => s !== 'admin' && grants.includes(s));
}

/** Whether a grants value names the admin scope (which is the admin flag, not a stored grant). */
function grantsAdmin(raw: unknown): boolean {
  const list = grantList(raw);
  return Array.isArray(list) && list.includes('admin');
}

function parseBoolean(value: unknown, field: string): boolean {
  if (typeof value === 'boolean') return value;
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw badRequest(`"${field}" must be true or false.`);
}

export interface NewUserInput {
  username?: unknown;
  name?: unknown;
  password?: unknown;
  admin?: unknown;
  grants?: unknown;
}

export interface UserPatchInput {
  password?: unknown;
  current_password?: unknown;
  disabled?: unknown;
  grants?: unknown;
  admin?: unknown;
}

export class UserService {
  constructor(
    private readonly users: UserStore,
    private readonly passwords: PasswordHasher,
    private readonly audit: Audit,
    private readonly settings: { openRegistration: boolean; passwordMinLength: number },
    /** Removes what the user keeps outside the metadata store (their objects' bytes). */
    private readonly deleteUserData: (userId: string) => Promise<void>,
    /** Makes this node's access cache see a change at once (others follow the event log). */
    private readonly accessChanged: () => Promise<void>,
    private readonly clock: Clock,
  ) {}

  /** Self-service sign-up (only with open registration); never makes an admin. */
  async register(input: NewUserInput): Promise<UserRecord> {
    if (!this.settings.openRegistration) {
      throw forbidden('Registration is closed; ask an admin for an account (COFFER_OPEN_REGISTRATION).', 'registration_closed');
    }
    const username = parseUsername(input.username ?? input.name);
    // Whoever holds a P-256 key acts as the user named by its address: nobody else may sign up
    // under that name (an admin may create it, as COFFER_PUBKEY_SELF_REGISTRATION would).
    if (isAddressName(username)) {
      throw badRequest('Names of 40 hex digits are P-256 key addresses, kept for the holders of those keys (they sign in with the key, see POST /api/v1/auth).');
    }
    const user = await this.insert(username, input.password, false, [...DEFAULT_GRANTS]);
    this.audit('user.register', { username: user.username });
    return user;
  }

  async create(actor: Actor, input: NewUserInput): Promise<UserRecord> {
    const username = parseUsername(input.username ?? input.name);
    // The name of a key holder is the address in uppercase, as self-registration makes it.
    if (isAddressName(username) && username !== username.toUpperCase()) {
      throw badRequest(`A user named by a P-256 key address is spelled in uppercase: ${username.toUpperCase()}.`);
    }
    const admin = input.admin === undefined ? false : parseBoolean(input.admin, 'admin');
    const grants = input.grants === undefined ? [...DEFAULT_GRANTS] : parseGrants(input.grants);
    const wantsAdmin = admin || grantsAdmin(input.grants);
    const user = await this.insert(username, input.password, wantsAdmin, grants);
    this.audit('user.create', { by: actor.user.username, username, admin: wantsAdmin });
    return user;
  }

  private async insert(username: string, password: unknown, admin: boolean, grants: Scope[]): Promise<UserRecord> {
    const plain = checkPasswordPolicy(password, this.settings.passwordMinLength);
    const user = await this.users.create({
      id: randomUUID(),
      username,
      passwordHash: await this.passwords.hash(plain),
      admin,
      disabled: false,
      grants,
      createdAt: this.clock.now(),
    });
    if (!user) throw conflict(`The username "${username}" is taken.`);
    return user;
  }

  /** The user of that name; 404 when there is none. */
  async get(username: string): Promise<UserRecord> {
    const user = await this.users.getByName(username);
    if (!user) throw notFound(`No user "${username}".`);
    return user;
  }

  list(): Promise<UserRecord[]> {
    return this.users.list();
  }

  async update(actor: Actor, name: string, input: UserPatchInput): Promise<UserRecord> {
    // "me" is the caller, as in GET /v1/users/me.
    const username = name === 'me' ? actor.user.username : name;
    const isAdmin = actor.scopes.has('admin');
    const isSelf = actor.user.username === username;
    if (!isAdmin && !isSelf) throw forbidden('Only an admin may change another user.');
    const target = await this.get(username);
    const fields = Object.keys(input).filter((k) => (input as Record<string, unknown>)[k] !== undefined);
    const allowed = ['password', 'current_password', 'disabled', 'grants', 'admin'];
    const unknown = fields.filter((f) => !allowed.includes(f));
    if (unknown.length > 0) throw badRequest(`Unknown field(s) ${unknown.join(', ')}; a user has ${allowed.join(', ')}.`);
    if (fields.length === 0) throw badRequest(`Nothing to change: send one of password, disabled, grants, admin.`);

    const patch: UserPatch = {};
    if (!isAdmin) {
      const others = fields.filter((f) => f !== 'password' && f !== 'current_password');
      if (others.length > 0) throw forbidden(`Only an admin may change ${others.join(', ')}.`);
      if (input.password === undefined) throw badRequest('"password" is required.');
      if (typeof input.current_password !== 'string' || !(await this.passwords.verify(target.passwordHash, input.current_password))) {
        throw forbidden('"current_password" is missing or wrong.');
      }
    }
    if (input.password !== undefined) {
      patch.passwordHash = await this.passwords.hash(checkPasswordPolicy(input.password, this.settings.passwordMinLength));
      patch.bumpTokenVersion = true;
    }
    if (input.disabled !== undefined) {
      patch.disabled = parseBoolean(input.disabled, 'disabled');
      if (patch.disabled) patch.bumpTokenVersion = true;
    }
    if (input.grants !== undefined) patch.grants = parseGrants(input.grants);
    if (input.admin !== undefined) patch.admin = parseBoolean(input.admin, 'admin');
    else if (input.grants !== undefined) patch.admin = grantsAdmin(input.grants); // grants list the whole set
    if (target.admin && !target.disabled && (patch.admin === false || patch.disabled === true)) {
      await this.assertNotLastAdmin();
    }

    const now = this.clock.now();
    const updated = await this.users.update(target.id, patch, now);
    if (!updated) throw notFound(`No user "${username}".`);
    await this.accessChanged();
    this.audit('user.update', { by: actor.user.username, username, fields: fields.filter((f) => f !== 'current_password') });
    return updated;
  }

  /**
   * The user named by a P-256 address, made on its key holder's first signed request
   * (COFFER_PUBKEY_SELF_REGISTRATION): no password, the default grants. `created` is false when a
   * concurrent first request made it a moment ago (that one stands).
   */
  async createKeyHolder(address: string): Promise<{ user: UserRecord; created: boolean }> {
    const user = await this.users.create({
      id: randomUUID(),
      username: address,
      passwordHash: null,
      admin: false,
      disabled: false,
      grants: [...DEFAULT_GRANTS],
      createdAt: this.clock.now(),
    });
    return user ? { user, created: true } : { user: (await this.users.getByName(address))!, created: false };
  }

  /** Deletes the user and everything they own. */
  async remove(actor: Actor, username: string): Promise<void> {
    const target = await this.get(username);
    if (target.admin && !target.disabled) await this.assertNotLastAdmin();
    await this.deleteUserData(target.id);
    await this.users.delete(target.id, this.clock.now());
    await this.accessChanged();
    this.audit('user.delete', { by: actor.user.username, username });
  }

  private async assertNotLastAdmin(): Promise<void> {
    if ((await this.users.countActiveAdmins()) <= 1) {
      throw conflict('This is the last active admin; make another admin first.');
    }
  }

  /**
   * On first start (no admin exists yet) creates the admin account, with the configured password
   * or a generated one that the caller prints once.
   */
  async bootstrapAdmin(username: string, password: string | undefined): Promise<{ created: boolean; generatedPassword?: string }> {
    if ((await this.users.countActiveAdmins()) > 0 || (await this.users.getByName(username))) return { created: false };
    const plain = password ?? randomBytes(18).toString('base64url');
    const user = await this.users.create({
      id: randomUUID(),
      username,
      passwordHash: await this.passwords.hash(plain),
      admin: true,
      disabled: false,
      grants: [...DEFAULT_GRANTS],
      createdAt: this.clock.now(),
    });
    if (!user) return { created: false }; // another node created it a moment ago
    this.audit('user.bootstrap_admin', { username });
    return password === undefined ? { created: true, generatedPassword: plain } : { created: true };
  }
}

/** The scopes of SPEC §2. A token carries the user's grants, narrowed on request. */
export const SCOPES = ['kv:read', 'kv:write', 'objects:read', 'objects:write', 'presign', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

/** What a new user may do unless the creator says otherwise: everything but admin. */
export const DEFAULT_GRANTS: readonly Scope[] = SCOPES.filter((s) => s !== 'admin');

export function isScope(s: string): s is Scope {
  return (SCOPES as readonly string[]).includes(s);
}

/** The scopes a user holds: their grants, plus `admin` for admins. */
export function effectiveGrants(user: { admin: boolean; grants: readonly string[] }): Scope[] {
  const held = new Set(user.grants.filter(isScope));
  if (user.admin) held.add('admin');
  else held.delete('admin');
  return SCOPES.filter((s) => held.has(s));
}

/** The grants narrowed to a space-separated request; unknown or ungranted scopes are dropped. */
export function narrowScopes(granted: readonly Scope[], requested: string | undefined): Scope[] {
  if (requested === undefined || requested.trim() === '') return [...granted];
  const want = new Set(requested.split(/\s+/));
  return granted.filter((s) => want.has(s));
}

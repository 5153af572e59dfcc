/**
 * What each node remembers of the live access state (SPEC §5, DESIGN "The hot path"): for each
 * token seen (by jti), its user's record and whether its jti or refresh family is revoked. An
 * access event drops every entry it may change, at once on the node that made the change and
 * within a second everywhere else (AccessFeed); an entry is used only while the feed is current.
 */
import type { AccessState } from './token-store.js';
import type { AccessEvent } from './access-events.js';

interface Entry {
  state: AccessState;
  familyId: string | undefined;
}

const LIMIT = 20_000;

export class AccessCache {
  private readonly byJti = new Map<string, Entry>();
  private readonly byUser = new Map<string, Set<string>>();
  private readonly byFamily = new Map<string, Set<string>>();
  /** Bumped by every invalidation: a read that started before one must not be cached after it. */
  private generation = 0;

  get(jti: string): AccessState | undefined {
    return this.byJti.get(jti)?.state;
  }

  /** A marker to pass to `set`, taken before the state is read from the database. */
  mark(): number {
    return this.generation;
  }

  set(jti: string, familyId: string | undefined, state: AccessState, mark: number): void {
    if (mark !== this.generation) return; // something changed while it was being read
    if (this.byJti.size >= LIMIT) this.drop(this.byJti.keys().next().value!);
    this.byJti.set(jti, { state, familyId });
    index(this.byUser, state.user.id, jti);
    if (familyId) index(this.byFamily, familyId, jti);
  }

  /** Drops what `event` may have changed. */
  invalidate(event: Pick<AccessEvent, 'kind' | 'subject'>): void {
    this.generation++;
    if (event.kind === 'jti') this.drop(event.subject);
    else if (event.kind === 'user') for (const jti of [...(this.byUser.get(event.subject) ?? [])]) this.drop(jti);
    else if (event.kind === 'family') for (const jti of [...(this.byFamily.get(event.subject) ?? [])]) this.drop(jti);
  }

  clear(): void {
    this.generation++;
    this.byJti.clear();
    this.byUser.clear();
    this.byFamily.clear();
  }

  private drop(jti: string): void {
    const entry = this.byJti.get(jti);
    if (!entry) return;
    this.byJti.delete(jti);
    unindex(this.byUser, entry.state.user.id, jti);
    if (entry.familyId) unindex(this.byFamily, entry.familyId, jti);
  }
}

function index(map: Map<string, Set<string>>, key: string, jti: string): void {
  let set = map.get(key);
  if (!set) map.set(key, (set = new Set()));
  set.add(jti);
}

function unindex(map: Map<string, Set<string>>, key: string, jti: string): void {
  const set = map.get(key);
  if (!set) return;
  set.delete(jti);
  if (set.size === 0) map.delete(key);
}

/**
 * The access events: every change that can end a token's life (a user disabled, deleted, given a
 * new password or other grants; a jti or a refresh family revoked; the signing keys rotated) is
 * written to a log in the shared database, in the same transaction as the change. Every node
 * follows the log (AccessFeed) and drops what its cache knew about the subject.
 */

export type AccessEventKind = 'user' | 'jti' | 'family' | 'keys';

export interface AccessEvent {
  id: number;
  kind: AccessEventKind;
  subject: string;
}

/** The port: read the log. (The stores write it, with each change.) */
export interface AccessEventLog {
  /** The id of the newest event (0 when there is none). */
  latest(): Promise<number>;
  /** Events after `id`, oldest first. */
  since(id: number, limit: number): Promise<AccessEvent[]>;
  /**
   * Calls `wake` as soon as another node writes an event, where the database can tell (PostgreSQL
   * LISTEN/NOTIFY); resolves a function that stops listening.
   */
  listen?(wake: () => void, onError: (err: unknown) => void): Promise<() => Promise<void>>;
}

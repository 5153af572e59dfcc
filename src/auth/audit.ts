/** Security events (logins, failures, revocations, admin actions), written as structured log lines. */
export type AuditEvent =
  | 'login.success'
  | 'login.failure'
  | 'login.throttled'
  | 'token.refresh'
  | 'token.refresh_reuse'
  | 'token.revoke'
  | 'signing_key.rotate'
  | 'key.add'
  | 'key.remove'
  | 'user.register'
  | 'user.create'
  | 'user.update'
  | 'user.delete'
  | 'user.bootstrap_admin';

export type Audit = (event: AuditEvent, fields: Record<string, unknown>) => void;

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
  | 'user.bootstrap_admin'
  | 'user.self_register'
  | 'challenge.refused'
  | 'challenge.replay'
  | 'assertion.refused';

export type Audit = (event: AuditEvent, fields: Record<string, unknown>) => void;

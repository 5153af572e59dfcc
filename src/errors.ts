/**
 * One error type for everything a client may be told. Services throw CofferError with a stable
 * `code`; the HTTP layer turns it into application/problem+json. Anything else that escapes is a
 * bug and becomes a 500 whose details stay in the log.
 */
export type ErrorCode =
  | 'invalid_request'
  | 'invalid_key'
  | 'invalid_json'
  | 'unsupported_media_type'
  | 'missing_value'
  | 'weak_password'
  | 'unauthorized'
  | 'invalid_token'
  | 'invalid_credentials'
  | 'invalid_grant'
  | 'insufficient_scope'
  | 'forbidden'
  | 'registration_closed'
  | 'not_found'
  | 'method_not_allowed'
  | 'conflict'
  | 'precondition_failed'
  | 'payload_too_large'
  | 'headers_too_large'
  | 'too_many_requests'
  | 'not_acceptable'
  | 'request_timeout'
  | 'internal_error'
  | 'unavailable'
  | 'hash_mismatch'
  | 'range_not_satisfiable'
  | 'invalid_signature'
  | 'expired';

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  408: 'Request Timeout',
  409: 'Conflict',
  412: 'Precondition Failed',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  416: 'Range Not Satisfiable',
  431: 'Request Header Fields Too Large',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export function statusTitle(status: number): string {
  return TITLES[status] ?? 'Error';
}

export class CofferError extends Error {
  override readonly name = 'CofferError';
  /** Extra response headers (Retry-After, Allow, WWW-Authenticate). */
  readonly headers: Record<string, string>;

  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    headers: Record<string, string> = {},
  ) {
    super(message);
    this.headers = headers;
  }
}

export const badRequest = (message: string, code: ErrorCode = 'invalid_request') =>
  new CofferError(400, code, message);

export const notFound = (message: string) => new CofferError(404, 'not_found', message);

export const conflict = (message: string) => new CofferError(409, 'conflict', message);

export const forbidden = (message: string, code: ErrorCode = 'forbidden') =>
  new CofferError(403, code, message);

/** 401 for a missing or unusable access token; tells the client which scheme we expect. */
export const invalidToken = (message = 'The access token is missing, invalid, expired or revoked.') =>
  new CofferError(401, 'invalid_token', message, { 'www-authenticate': 'Bearer error="invalid_token"' });

export const insufficientScope = (scope: string) =>
  new CofferError(403, 'insufficient_scope', `This request needs the "${scope}" scope.`, {
    'www-authenticate': `Bearer error="insufficient_scope", scope="${scope}"`,
  });

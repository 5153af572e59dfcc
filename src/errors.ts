/**
 * The error catalogue: every code a client may be told, with its HTTP status, in one place.
 * Services throw CofferError by code; the HTTP layer turns it into application/problem+json.
 * Layers below the services (stores, configuration) throw the typed errors at the end of this
 * file, which say what happened rather than what to answer; `asCofferError` maps them. Anything
 * else that escapes is a bug and becomes a 500 whose details stay in the log.
 */
const CATALOGUE = {
  invalid_request: 400,
  invalid_key: 400,
  invalid_json: 400,
  missing_value: 400,
  weak_password: 400,
  hash_mismatch: 400,
  unauthorized: 401,
  invalid_token: 401,
  invalid_credentials: 401,
  invalid_grant: 401,
  invalid_signature: 401,
  forbidden: 403,
  insufficient_scope: 403,
  registration_closed: 403,
  presigned_url_invalid: 403,
  presigned_url_expired: 403,
  not_found: 404,
  method_not_allowed: 405,
  request_timeout: 408,
  conflict: 409,
  precondition_failed: 412,
  payload_too_large: 413,
  unsupported_media_type: 415,
  range_not_satisfiable: 416,
  expectation_failed: 417,
  too_many_requests: 429,
  headers_too_large: 431,
  internal_error: 500,
  unavailable: 503,
} as const;

export type ErrorCode = keyof typeof CATALOGUE;

export const ERROR_CODES = Object.keys(CATALOGUE) as ErrorCode[];

/** The problem's `title`: the reason phrase of its status. */
const REASON_PHRASES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  409: 'Conflict',
  412: 'Precondition Failed',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  416: 'Range Not Satisfiable',
  417: 'Expectation Failed',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export function statusOf(code: ErrorCode): number {
  return CATALOGUE[code];
}

export function titleOf(code: ErrorCode): string {
  return REASON_PHRASES[CATALOGUE[code]]!;
}

export class CofferError extends Error {
  override readonly name = 'CofferError';
  readonly status: number;

  constructor(
    readonly code: ErrorCode,
    message: string,
    /** Extra response headers (Retry-After, Allow, WWW-Authenticate). */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.status = CATALOGUE[code];
  }
}

export const badRequest = (message: string, code: 'invalid_request' | 'invalid_key' | 'invalid_json' | 'missing_value' | 'weak_password' = 'invalid_request') =>
  new CofferError(code, message);

export const notFound = (message: string) => new CofferError('not_found', message);

export const conflict = (message: string) => new CofferError('conflict', message);

export const forbidden = (message: string, code: 'forbidden' | 'insufficient_scope' | 'registration_closed' = 'forbidden') => new CofferError(code, message);

export const preconditionFailed = (message: string) => new CofferError('precondition_failed', message);

export const payloadTooLarge = (message: string) => new CofferError('payload_too_large', message);

/** 401 for a missing or unusable access token; tells the client which scheme we expect. */
export const invalidToken = (message = 'The access token is missing, invalid, expired or revoked.') =>
  new CofferError('invalid_token', message, { 'www-authenticate': 'Bearer error="invalid_token"' });

export const insufficientScope = (scope: string) =>
  new CofferError('insufficient_scope', `This request needs the "${scope}" scope.`, {
    'www-authenticate': `Bearer error="insufficient_scope", scope="${scope}"`,
  });

// ---------------------------------------------------------------------------------------------
// What the layers below the services report.

/** A body's SHA-256 was not the one announced; nothing was stored. */
export class HashMismatchError extends Error {
  override readonly name = 'HashMismatchError';
  constructor(
    readonly expected: string,
    readonly actual: string,
  ) {
    super(`SHA-256 ${actual}, expected ${expected}`);
  }
}

/** A body went past the bytes allowed; nothing was stored. */
export class TooLargeError extends Error {
  override readonly name = 'TooLargeError';
  constructor(readonly maxBytes: number) {
    super(`more than ${maxBytes} bytes`);
  }
}

/** A setting is missing or wrong: Coffer does not start. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/**
 * Node's and PostgreSQL's codes for "the other side is not there": a database or a store that a
 * request needs does not answer. That is the server's trouble, and passes: 503, try again.
 */
const UNREACHABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', '57P01', '57P02', '57P03', '08000', '08001', '08003', '08006']);

/** The client's answer for a failure, when it is one a client may be told. */
export function asCofferError(e: unknown): CofferError | undefined {
  if (e instanceof CofferError) return e;
  if (UNREACHABLE.has((e as { code?: string })?.code ?? '') || /Connection terminated|connection timeout/i.test((e as Error)?.message ?? '')) {
    return new CofferError('unavailable', 'A database or a store Coffer needs does not answer; try again in a moment.', { 'retry-after': '5' });
  }
  if (e instanceof HashMismatchError) {
    return new CofferError('hash_mismatch', `The body's SHA-256 is ${e.actual}, not the ${e.expected.toLowerCase()} that was announced; nothing was stored.`);
  }
  if (e instanceof TooLargeError) return payloadTooLarge(`The body is larger than the ${e.maxBytes} bytes allowed here.`);
  return undefined;
}

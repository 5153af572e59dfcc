/**
 * How the CLI fails: one line on stderr saying what went wrong, a hint on what to do, and an exit
 * code that says which kind of failure it was (scripts branch on it). The stack trace only with
 * COFFER_DEBUG.
 */

export const EXIT = {
  ok: 0,
  generic: 1,
  usage: 2,
  auth: 3,
  notFound: 4,
  conflict: 5,
  tooLarge: 6,
  unavailable: 7,
  interrupted: 130,
} as const;

export const EXIT_CODES_HELP = `
Exit codes:
  0  success
  1  any other failure (network, server error, bad local file, bad server settings)
  2  usage: unknown command or option, missing or invalid argument, value refused by the server (400)
  3  authentication: not logged in, wrong password, session expired or revoked (401), not allowed (403)
  4  not found (404)
  5  conflict or failed precondition: exists already, changed meanwhile (409, 412)
  6  too large (413)
  7  unavailable or rate-limited: try again later (429, 503)
  130 interrupted (Ctrl-C)

Environment:
  COFFER_URL       the server (overrides the one saved by "coffer login")
  COFFER_TOKEN     an access token to use instead of the saved session (scripts, CI)
  COFFER_PASSWORD  the password for "coffer login" and the password commands (else prompt or --password-stdin)
  XDG_CONFIG_HOME  the session is kept in $XDG_CONFIG_HOME/coffer/session.json (default ~/.config)
  COFFER_DEBUG     print stack traces with errors`;

/** A failure the CLI itself detects or translates: printed as `coffer: <message>` then `hint: <hint>`. */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    message: string,
    readonly exitCode: number = EXIT.generic,
    readonly hint?: string,
  ) {
    super(message);
  }
}

export const usageError = (message: string, hint?: string) => new CliError(message, EXIT.usage, hint);

/** The server's error as the client reports it (duck-typed: status, code, detail). */
interface ApiErrorLike extends Error {
  status: number;
  code?: string;
  detail?: string;
}

function isApiError(e: unknown): e is ApiErrorLike {
  return e instanceof Error && typeof (e as { status?: unknown }).status === 'number';
}

export function exitCodeForStatus(status: number): number {
  if (status === 401 || status === 403) return EXIT.auth;
  if (status === 404) return EXIT.notFound;
  if (status === 409 || status === 412) return EXIT.conflict;
  if (status === 413) return EXIT.tooLarge;
  if (status === 429 || status === 503) return EXIT.unavailable;
  if (status >= 400 && status < 500) return EXIT.usage;
  return EXIT.generic;
}

function hintForApi(e: ApiErrorLike): string | undefined {
  switch (e.code) {
    case 'invalid_credentials':
      return 'check the user name and password';
    case 'invalid_grant':
    case 'invalid_token':
    case 'unauthorized':
      return 'the session has expired or was revoked: run "coffer login" again';
    case 'insufficient_scope':
    case 'forbidden':
      return 'this account is not allowed to do that (an admin can change its grants)';
    case 'too_many_requests':
      return 'too many attempts: wait a while and try again';
    case 'weak_password':
      return 'choose a longer password that is not a common one';
    case 'payload_too_large':
      return 'key/value entries are small; keep large data as objects: "coffer upload"';
    case 'precondition_failed':
      return 'the value changed meanwhile: read it again and retry';
    case 'conflict':
      return 'it exists already: "coffer put" replaces, "coffer create" only creates';
    default:
      return undefined;
  }
}

const REACH_HINT = 'hint: is the URL right and the server running? (coffer login <url>, or COFFER_URL)';
const TLS_HINT = 'hint: for a certificate of your own (coffer cert), trust it with NODE_EXTRA_CA_CERTS=<its cert.pem>';

/** Network failures (server down, DNS, TLS) as a sentence and a hint on what to do. */
function networkFailure(e: Error): [string, string] | undefined {
  const message = networkMessage(e);
  if (!message) return undefined;
  if (message.includes('TLS certificate')) return [message, TLS_HINT];
  // Reached, then lost mid-way: the URL is right; the transfer is worth another try.
  if (/before the end|bytes before|sent and took nothing/.test(message)) return [message, 'hint: try again; if it keeps happening, the server\'s log says why'];
  return [message, REACH_HINT];
}

function networkMessage(e: Error): string | undefined {
  let cause = (e as { cause?: { code?: string; message?: string; cause?: unknown } }).cause;
  // The client wraps fetch's TypeError, which wraps the socket's error.
  if (cause && !cause.code && cause.cause) cause = cause.cause as typeof cause;
  const code = cause?.code ?? (e as { code?: string }).code;
  if (code === 'ECONNREFUSED') return 'cannot reach the server (connection refused)';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'cannot reach the server (unknown host)';
  if (code === 'ECONNRESET') return e.message.startsWith('the server closed') ? e.message : 'the server closed the connection';
  if (code === 'ETIMEDOUT' && e.message.startsWith('the server sent')) return e.message;
  if (code && /CERT|SELF_SIGNED|TLS/i.test(code)) return `the server's TLS certificate was refused (${code})`;
  if (e.message === 'fetch failed') return `cannot reach the server${cause?.message ? ` (${cause.message})` : ''}`;
  return undefined;
}

/** Formats any error as the lines to print and the exit code. */
export function describeError(e: unknown): { lines: string[]; exitCode: number } {
  if (e instanceof CliError) return { lines: [e.message, ...(e.hint ? [`hint: ${e.hint}`] : [])], exitCode: e.exitCode };
  if (isApiError(e) && e.status === 0) {
    if (e.code === 'aborted') return { lines: ['interrupted'], exitCode: EXIT.interrupted };
    return { lines: networkFailure(e) ?? [e.detail || e.message, REACH_HINT], exitCode: EXIT.generic };
  }
  if (isApiError(e)) {
    const detail = e.detail || e.message || `HTTP ${e.status}`;
    const hint = hintForApi(e);
    return { lines: [`${detail}${e.code ? ` (${e.status} ${e.code})` : ` (${e.status})`}`, ...(hint ? [`hint: ${hint}`] : [])], exitCode: exitCodeForStatus(e.status) };
  }
  if (e instanceof Error && (e.name === 'AbortError' || (e as { code?: string }).code === 'ABORT_ERR')) {
    return { lines: ['interrupted'], exitCode: EXIT.interrupted };
  }
  if (e instanceof Error) {
    const net = networkFailure(e);
    if (net) return { lines: net, exitCode: EXIT.generic };
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && (e as NodeJS.ErrnoException).path) return { lines: [`no such file: ${(e as NodeJS.ErrnoException).path}`], exitCode: EXIT.generic };
    if (code === 'EACCES' && (e as NodeJS.ErrnoException).path) return { lines: [`permission denied: ${(e as NodeJS.ErrnoException).path}`], exitCode: EXIT.generic };
    if (code === 'EPIPE') return { lines: [], exitCode: EXIT.ok };
    return { lines: [e.message.split('\n')[0]!], exitCode: EXIT.generic };
  }
  return { lines: [String(e)], exitCode: EXIT.generic };
}

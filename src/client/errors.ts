/**
 * The client's one error: a refusal of the server (its problem+json `code`, `status`, `detail`),
 * or a failure to reach it (`network_error`, status 0), or a request the caller aborted
 * (`aborted`, status 0). Browser-safe: no Node built-ins.
 */

/** The server's codes (src/errors.ts), and the client's own for failures that never got an answer. */
export type CofferErrorCode = import('../errors.js').ErrorCode | 'network_error' | 'aborted' | 'invalid_response' | (string & {});

export class CofferError extends Error {
  override readonly name = 'CofferError';

  constructor(
    /** The HTTP status; 0 when no answer came. */
    readonly status: number,
    /** A stable, machine-readable code: the server's problem `code`, or `network_error`, `aborted`, `invalid_response`. */
    readonly code: CofferErrorCode,
    /** What went wrong, in words (the problem's `detail`). */
    readonly detail: string,
    /** The whole problem body as the server sent it, when there was one. */
    readonly problem?: Record<string, unknown>,
    /** Seconds to wait before trying again (429, 503), from Retry-After. */
    readonly retryAfter?: number,
    options?: { cause?: unknown },
  ) {
    super(detail, options);
  }
}

/** The error of an answer that is not a success: its problem+json, or what the status says. */
export async function errorFromResponse(res: Response): Promise<CofferError> {
  const text = await res.text().catch(() => '');
  const retry = res.headers.get('retry-after');
  const retryAfter = retry !== null && /^\d+$/.test(retry) ? Number(retry) : undefined;
  let problem: Record<string, unknown> | undefined;
  try {
    const parsed = JSON.parse(text) as unknown;
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) problem = parsed as Record<string, unknown>;
  } catch {
    // not JSON: a proxy's page, or nothing
  }
  const code = typeof problem?.code === 'string' ? problem.code : `http_${res.status}`;
  const detail =
    typeof problem?.detail === 'string'
      ? problem.detail
      : typeof problem?.error === 'string'
        ? problem.error
        : `${res.status} ${res.statusText}${text && !problem ? `: ${text.slice(0, 200)}` : ''}`.trim();
  return new CofferError(res.status, code, detail, problem, retryAfter);
}

/** A fetch that threw: the caller's abort, or the network. */
export function errorFromThrown(e: unknown, signal?: AbortSignal | null): CofferError {
  if (e instanceof CofferError) return e;
  const name = (e as { name?: string })?.name;
  if (signal?.aborted || name === 'AbortError') {
    return new CofferError(0, 'aborted', 'The request was aborted.', undefined, undefined, { cause: signal?.reason ?? e });
  }
  const cause = (e as { cause?: { code?: string; message?: string } })?.cause;
  const why = cause?.code ?? cause?.message ?? (e as Error)?.message ?? String(e);
  return new CofferError(0, 'network_error', `Could not reach the server: ${why}.`, undefined, undefined, { cause: e });
}

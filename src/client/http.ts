/**
 * The session and the one request path every method takes: the bearer token, errors as
 * CofferError, and a refresh that happens once however many calls meet an expired token.
 */
import { CofferError, errorFromResponse, errorFromThrown } from './errors.js';
import type { TokenAnswer } from './types.js';

export interface SessionTokens {
  accessToken: string;
  refreshToken?: string;
  /** When the access token expires, in epoch milliseconds (when known). */
  expiresAt?: number;
}

export interface TransportOptions {
  url: string;
  accessToken?: string | undefined;
  refreshToken?: string | undefined;
  expiresAt?: number | undefined;
  fetch?: typeof fetch | undefined;
  onTokens?: ((tokens: SessionTokens | undefined) => void) | undefined;
}

export interface RequestOptions {
  method?: string;
  /** Query parameters; undefined values are left out. */
  query?: Record<string, string | number | boolean | undefined>;
  headers?: Record<string, string | undefined>;
  /** A JSON body (sent with content-type application/json). */
  json?: unknown;
  /** Any other body; a function makes a fresh one for a retry (a stream can be sent once). */
  body?: BodyInit | (() => BodyInit) | null;
  /** Send the access token (default true). */
  auth?: boolean;
  signal?: AbortSignal | undefined;
  /** Statuses besides 2xx that are answers, not errors (304). */
  accept?: number[];
}

/** Refresh this long before the access token's known expiry, for clock skew and transit. */
const EXPIRY_MARGIN_MS = 10_000;

export class Transport {
  readonly url: string;
  private readonly fetchFn: typeof fetch;
  private readonly onTokens: ((tokens: SessionTokens | undefined) => void) | undefined;
  private session: SessionTokens | undefined;
  private refreshing: Promise<TokenAnswer> | undefined;

  constructor(options: TransportOptions) {
    if (!/^https?:\/\//i.test(options.url)) throw new TypeError(`The server URL must start with http:// or https:// (got "${options.url}").`);
    this.url = options.url.replace(/\/+$/, '');
    const f = options.fetch ?? globalThis.fetch;
    // A bare reference to the global fetch, called as a method of the client, is an "Illegal invocation" in browsers.
    this.fetchFn = (input, init) => f(input, init);
    this.onTokens = options.onTokens;
    if (options.accessToken !== undefined || options.refreshToken !== undefined) {
      this.session = {
        accessToken: options.accessToken ?? '',
        ...(options.refreshToken !== undefined ? { refreshToken: options.refreshToken } : {}),
        ...(options.expiresAt !== undefined ? { expiresAt: options.expiresAt } : {}),
      };
    }
  }

  tokens(): SessionTokens | undefined {
    return this.session ? { ...this.session } : undefined;
  }

  /** Takes a token answer (login, refresh) as the session. */
  adopt(answer: TokenAnswer): void {
    this.session = { accessToken: answer.access_token, refreshToken: answer.refresh_token, expiresAt: Date.now() + answer.expires_in * 1000 };
    this.onTokens?.(this.tokens());
  }

  clear(): void {
    this.session = undefined;
    this.onTokens?.(undefined);
  }

  /**
   * A new pair from the refresh token. Single-flight: every caller while one is under way shares
   * its answer (refresh tokens rotate, and a second use of one would end the session).
   */
  refresh(): Promise<TokenAnswer> {
    this.refreshing ??= this.doRefresh().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  private async doRefresh(): Promise<TokenAnswer> {
    const refreshToken = this.session?.refreshToken;
    if (!refreshToken) throw new CofferError(401, 'invalid_grant', 'No refresh token: log in again.');
    let res: Response;
    try {
      res = await this.fetchFn(`${this.url}/v1/token/refresh`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({ refresh_token: refreshToken }),
      });
    } catch (e) {
      throw errorFromThrown(e);
    }
    if (!res.ok) {
      const error = await errorFromResponse(res);
      // The session is over (used, revoked or expired refresh token): forget it, unless a login meanwhile replaced it.
      if (error.code === 'invalid_grant' && this.session?.refreshToken === refreshToken) this.clear();
      throw error;
    }
    const answer = (await res.json()) as TokenAnswer;
    this.adopt(answer);
    return answer;
  }

  /** Sends a request; answers 2xx (and `accept`ed statuses), throws CofferError for the rest. */
  async request(path: string, options: RequestOptions = {}): Promise<Response> {
    const auth = options.auth ?? true;
    const replayable = typeof options.body !== 'object' || options.body === null || options.body instanceof Blob || options.body instanceof Uint8Array || typeof options.body === 'string';
    // A token known to be expired is renewed before the request rather than after a 401.
    if (auth && this.session?.refreshToken && this.session.expiresAt !== undefined && this.session.expiresAt - EXPIRY_MARGIN_MS <= Date.now()) {
      await this.refresh().catch(() => undefined); // the request then meets its own 401
    }
    const sentWith = this.session?.accessToken;
    let res = await this.send(path, options, auth);
    if (res.status === 401 && auth && replayable && this.session?.refreshToken) {
      // Another call may have refreshed since this one was sent: then only retry.
      if (this.session.accessToken === sentWith) {
        try {
          await this.refresh();
        } catch (e) {
          await res.body?.cancel().catch(() => undefined);
          throw e;
        }
      }
      await res.body?.cancel().catch(() => undefined);
      res = await this.send(path, options, auth);
    }
    if (res.ok || options.accept?.includes(res.status)) return res;
    throw await errorFromResponse(res);
  }

  private async send(path: string, options: RequestOptions, auth: boolean): Promise<Response> {
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(options.headers ?? {})) if (v !== undefined) headers[k.toLowerCase()] = v;
    if (auth && this.session?.accessToken && headers.authorization === undefined) headers.authorization = `Bearer ${this.session.accessToken}`;
    let body: BodyInit | null | undefined = typeof options.body === 'function' ? options.body() : options.body;
    if (options.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(options.json);
    }
    headers.accept ??= 'application/json';
    const init: RequestInit & { duplex?: 'half' } = { method: options.method ?? 'GET', headers };
    if (body !== undefined && body !== null) init.body = body;
    // A streamed request body (Node's fetch, and browsers that stream uploads) needs duplex: 'half'.
    // (So does an async iterable, which Node's fetch takes as a body.)
    if (body instanceof ReadableStream || (typeof body === 'object' && body !== null && Symbol.asyncIterator in body)) init.duplex = 'half';
    if (options.signal) init.signal = options.signal;
    try {
      return await this.fetchFn(this.urlOf(path, options.query), init);
    } catch (e) {
      throw errorFromThrown(e, options.signal);
    }
  }

  urlOf(path: string, query?: RequestOptions['query']): string {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined && v !== false) params.set(k, String(v));
    const qs = params.toString();
    return `${this.url}${path}${qs ? `?${qs}` : ''}`;
  }
}

/** An answer's JSON body, or an `invalid_response` error when it is not JSON. */
export async function jsonOf<T>(res: Response): Promise<T> {
  const text = await res.text();
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new CofferError(res.status, 'invalid_response', `The server answered ${res.status} with a body that is not JSON.`);
  }
}

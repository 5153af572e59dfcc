/**
 * The client a command talks to the server with: the saved session (refreshed by the client,
 * and written back through onTokens), or COFFER_TOKEN for scripts. The server is COFFER_URL, else
 * the session's.
 */
import { Coffer, type CofferOptions, type SessionTokens } from '../client/index.js';
import { nodeFetch } from './node-fetch.js';
import type { CliContext } from './context.js';
import { CliError, EXIT } from './errors.js';
import { readSession, writeSession, type Session } from './session.js';

export const DEFAULT_URL = 'http://127.0.0.1:8080';

export interface Connection {
  client: Coffer;
  url: string;
  /** The saved session, when one is used (not with COFFER_TOKEN). */
  session: Session | undefined;
  /** Waits until every session change is on disk. */
  flush(): Promise<void>;
}

/** Saves what the client tells after a login, refresh or logout, one write after another. */
export function sessionKeeper(ctx: CliContext, base: { url: string; username?: string | undefined }) {
  let pending: Promise<void> = Promise.resolve();
  let failure: unknown;
  const onTokens = (tokens: SessionTokens | undefined) => {
    const session: Session = { url: base.url, ...(base.username ? { username: base.username } : {}) };
    if (tokens) {
      session.access_token = tokens.accessToken;
      if (tokens.refreshToken) session.refresh_token = tokens.refreshToken;
      if (tokens.expiresAt) session.expires_at = tokens.expiresAt;
    }
    pending = pending.then(() => writeSession(ctx.env.configHome, session)).catch((e: unknown) => void (failure ??= e));
  };
  return {
    onTokens,
    async flush() {
      await pending;
      if (failure) throw failure;
    },
  };
}

export function normalizeUrl(url: string): string {
  const u = /^[a-z][a-z0-9+.-]*:\/\//i.test(url) ? url : `http://${url}`;
  try {
    new URL(u);
  } catch {
    throw new CliError(`"${url}" is not a URL`, EXIT.usage, 'e.g. http://127.0.0.1:8080');
  }
  return u.replace(/\/+$/, '');
}

/** The CLI's client: the library's, sending through node:http (see node-fetch.ts). */
export function cliClient(options: CofferOptions): Coffer {
  return new Coffer({ fetch: nodeFetch, ...options });
}

/** A client with credentials, or a CliError saying how to get them. */
export async function connect(ctx: CliContext): Promise<Connection> {
  const session = await readSession(ctx.env.configHome);
  const envUrl = ctx.env.url ? normalizeUrl(ctx.env.url) : undefined;
  if (ctx.env.token) {
    const url = envUrl ?? session?.url;
    if (!url) throw new CliError('COFFER_TOKEN is set but not the server', EXIT.usage, 'set COFFER_URL too');
    return { client: cliClient({ url, accessToken: ctx.env.token }), url, session: undefined, flush: async () => {} };
  }
  const url = envUrl ?? session?.url;
  // Tokens of one server are never sent to another.
  if (!session?.access_token || !url || (envUrl !== undefined && envUrl !== session.url)) {
    throw new CliError(`not logged in${url ? ` to ${url}` : ''}`, EXIT.auth, `run "coffer login ${url ?? '<url>'} -u <user>" (or set COFFER_TOKEN)`);
  }
  const keeper = sessionKeeper(ctx, { url, username: session.username });
  const client = cliClient({
    url,
    accessToken: session.access_token,
    ...(session.refresh_token ? { refreshToken: session.refresh_token } : {}),
    ...(session.expires_at ? { expiresAt: session.expires_at } : {}),
    onTokens: keeper.onTokens,
  });
  return { client, url, session, flush: keeper.flush };
}

/** Runs `fn` with a connected client and saves the session it leaves, even when `fn` fails. */
export async function withClient<T>(ctx: CliContext, fn: (c: Connection) => Promise<T>): Promise<T> {
  const connection = await connect(ctx);
  try {
    return await fn(connection);
  } finally {
    await connection.flush();
  }
}

/**
 * The access token to send now, refreshed first when it is known to expire within 10 s, for the
 * CLI's own requests beside the client (raw-http.ts). Undefined when there is none.
 */
export async function freshAccessToken(client: Coffer): Promise<string | undefined> {
  const t = client.tokens();
  if (!t?.accessToken) return undefined;
  if (t.refreshToken && t.expiresAt !== undefined && t.expiresAt - 10_000 <= Date.now()) {
    await client.refresh();
    return client.tokens()?.accessToken;
  }
  return t.accessToken;
}

/**
 * Starts a real Coffer (the same buildApp the CLI uses) on a free loopback port with a fresh data
 * directory, and talks to it over real HTTP with fetch.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildApp, type BuildOptions, type CofferApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';

export const ADMIN_PASSWORD = 'admin-password-for-tests';

export interface TestServer {
  base: string;
  coffer: CofferApp;
  dataDir: string;
  /** fetch relative to the server's base URL. */
  fetch(path: string, init?: RequestInit): Promise<Response>;
  /** Logs in and returns the access token. */
  login(username: string, password: string): Promise<string>;
  adminToken(): Promise<string>;
  /** Creates a user through the admin API and returns a token for them. */
  createUser(username: string, password?: string, extra?: Record<string, unknown>): Promise<string>;
  close(): Promise<void>;
}

/** A server on a fresh data dir; `options.clock` controls the time its services read. */
export async function startServer(env: Record<string, string> = {}, options: BuildOptions = {}): Promise<TestServer> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'coffer-test-'));
  const config = loadConfig({
    COFFER_DATA_DIR: dataDir,
    COFFER_PORT: '0',
    COFFER_ADMIN_PASSWORD: ADMIN_PASSWORD,
    COFFER_LOG_LEVEL: 'silent',
    // Suites log in from 127.0.0.1 far more often than a person would; rate-limits.test.ts sets its own.
    COFFER_RATE_LIMIT: '1000000',
    ...env,
  });
  const coffer = await buildApp(config, options);
  const address = await coffer.app.listen({ host: '127.0.0.1', port: 0 });
  const base = address.replace('localhost', '127.0.0.1');
  const doFetch = (p: string, init?: RequestInit) => fetch(base + p, init);

  async function login(username: string, password: string): Promise<string> {
    const res = await doFetch('/v1/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username, password }),
    });
    if (res.status !== 200) throw new Error(`login ${username} -> ${res.status} ${await res.text()}`);
    return ((await res.json()) as { access_token: string }).access_token;
  }

  let admin: string | undefined;
  async function adminToken(): Promise<string> {
    admin ??= await login(config.adminUser, ADMIN_PASSWORD);
    return admin;
  }

  return {
    base,
    coffer,
    dataDir,
    fetch: doFetch,
    login,
    adminToken,
    async createUser(username, password = `${username}-password-1`, extra = {}) {
      const res = await doFetch('/v1/users', {
        method: 'POST',
        headers: { authorization: `Bearer ${await adminToken()}`, 'content-type': 'application/json' },
        body: JSON.stringify({ username, password, ...extra }),
      });
      if (res.status !== 201) throw new Error(`create ${username} -> ${res.status} ${await res.text()}`);
      return login(username, password);
    },
    async close() {
      await coffer.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export function bearer(token: string, headers: Record<string, string> = {}): Record<string, string> {
  return { authorization: `Bearer ${token}`, ...headers };
}

/**
 * One real `coffer serve` process from dist/ (npm test builds it first), run as `npm start` runs
 * it (flags and environment), on a throwaway data directory and a free port: for tests about the
 * process itself (memory, what it loads), where an in-process server would not tell the truth.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort, npmStartNode } from '../../bench/lib.js';

export { freePort };

export const BUILT_ADMIN_PASSWORD = 'built-admin-password';

export interface BuiltServer {
  child: ChildProcess;
  base: string;
  dir: string;
  /** An access token of the bootstrap admin. */
  login(): Promise<string>;
  /** What the process wrote to stderr so far (also passed on to the test's stderr). */
  stderr(): string;
  /** SIGTERM, waits for the exit, removes the data directory. */
  stop(): Promise<void>;
}

export async function startBuiltServer(env: Record<string, string> = {}, nodeArgs: string[] = []): Promise<BuiltServer> {
  const dir = await mkdtemp(path.join(tmpdir(), 'coffer-built-'));
  const port = await freePort();
  const start = npmStartNode();
  const child = spawn(process.execPath, [...start.flags, ...nodeArgs, path.resolve('dist/main.js'), 'serve'], {
    env: { ...process.env, ...start.env, COFFER_PORT: String(port), COFFER_DATA_DIR: dir, COFFER_ADMIN_PASSWORD: BUILT_ADMIN_PASSWORD, COFFER_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    process.stderr.write(chunk);
  });
  const base = `http://127.0.0.1:${port}`;
  const exited = new Promise((r) => child.once('exit', r));
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${base}/readyz`)).ok) break;
    } catch {
      // not listening yet
    }
    if (i > 200 || child.exitCode !== null) throw new Error('coffer did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    child,
    base,
    dir,
    async login() {
      const res = await fetch(`${base}/v1/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: BUILT_ADMIN_PASSWORD }) });
      if (!res.ok) throw new Error(`login answered ${res.status}: ${await res.text()}`);
      return ((await res.json()) as { access_token: string }).access_token;
    },
    stderr: () => stderr,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}

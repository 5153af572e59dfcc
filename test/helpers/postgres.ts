/**
 * The PostgreSQL of a test run: the one named by COFFER_TEST_DATABASE_URL (default
 * postgres://root@127.0.0.1:5432/test) when it answers; else a throwaway cluster booted by
 * scripts/postgres.sh on a free port (installing Debian's package first when it is missing and
 * this is root), stopped and removed by `stop`.
 */
import { execFile } from 'node:child_process';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort } from '../../bench/lib.js';

const run = promisify(execFile);
const SCRIPT = path.resolve('scripts/postgres.sh');
export const DEFAULT_URL = 'postgres://root@127.0.0.1:5432/test';

export interface TestPostgres {
  url: string;
  /** Whether this run booted it (and `stop` will remove it). */
  booted: boolean;
  stop(): Promise<void>;
}

async function answers(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

export async function ensurePostgres(say: (message: string) => void): Promise<TestPostgres> {
  const url = process.env.COFFER_TEST_DATABASE_URL ?? DEFAULT_URL;
  if (await answers(url)) return { url, booted: false, stop: async () => {} };
  say(`no PostgreSQL answers at ${url}: booting a throwaway one (scripts/postgres.sh)`);
  await run('bash', [SCRIPT, 'install'], { timeout: 300_000 });
  const parent = await mkdtemp(path.join(tmpdir(), 'coffer-pg-'));
  await chmod(parent, 0o711); // the server runs as `postgres` and must reach its directory
  const dir = path.join(parent, 'cluster');
  const port = await freePort();
  try {
    const { stdout } = await run('bash', [SCRIPT, 'up', dir, String(port)], { timeout: 120_000 });
    return {
      url: stdout.trim(),
      booted: true,
      async stop() {
        await run('bash', [SCRIPT, 'down', dir]).catch(() => {});
        await rm(parent, { recursive: true, force: true });
      },
    };
  } catch (e) {
    await run('bash', [SCRIPT, 'down', dir]).catch(() => {});
    await rm(parent, { recursive: true, force: true });
    throw new Error(`could not boot PostgreSQL: ${(e as { stderr?: string }).stderr ?? e}`);
  }
}

/**
 * Several real Coffer processes (`node dist/main.js serve`, as `npm start` runs it) over one
 * PostgreSQL schema and one S3 bucket, each with a data directory of its own: what they share,
 * they share through the database and the store only.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { freePort, npmStartNode } from '../../bench/lib.js';
import { freshBucket, type Rgw } from './ceph.js';

export const PG_URL = process.env.COFFER_TEST_DATABASE_URL ?? 'postgres://root@127.0.0.1:5432/test';
export const CLUSTER_ADMIN_PASSWORD = 'cluster-admin-password';

export interface Node {
  name: string;
  base: string;
  child: ChildProcess;
  /** What the process wrote on stderr (its log goes there too). */
  log(): string;
  fetch(path: string, init?: RequestInit): Promise<Response>;
  /** SIGKILL, as a crash. */
  kill(): Promise<void>;
}

export interface Cluster {
  nodes: Node[];
  schema: string;
  /** A plain client of the cluster's database. */
  db: pg.Client;
  /** Another node on the same database and store (a restart, say); `env` changes its settings. */
  start(name: string, env?: Record<string, string>): Promise<Node>;
  stop(): Promise<void>;
}

async function waitReady(base: string, child: ChildProcess, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the node exited with ${child.exitCode} before it was ready`);
    try {
      if ((await fetch(`${base}/readyz`)).ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${base} was not ready within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** `count` nodes, started at the same moment on an empty schema. */
export async function startCluster(count: number, rgw: Rgw, env: Record<string, string> = {}): Promise<Cluster> {
  const schema = `coffer_cluster_${randomBytes(5).toString('hex')}`;
  const db = new pg.Client({ connectionString: PG_URL });
  await db.connect();
  await db.query(`create schema ${schema}`);
  const url = new URL(PG_URL);
  url.searchParams.set('options', `-c search_path=${schema}`);
  const shared = {
    ...rgw.settings(freshBucket('coffer-cluster')),
    COFFER_DATABASE_URL: url.toString(),
    COFFER_SECRET_KEY: `cluster-secret-${randomBytes(16).toString('hex')}`,
    COFFER_ADMIN_PASSWORD: CLUSTER_ADMIN_PASSWORD,
    COFFER_LOG_LEVEL: 'warn',
    ...env,
  };
  const dirs: string[] = [];
  const nodes: Node[] = [];

  async function start(name: string, extra: Record<string, string> = {}): Promise<Node> {
    const dir = await mkdtemp(path.join(tmpdir(), `coffer-${name}-`));
    dirs.push(dir);
    const port = await freePort();
    const run = npmStartNode();
    const child = spawn(process.execPath, [...run.flags, path.resolve('dist/main.js'), 'serve'], {
      env: { ...process.env, ...run.env, ...shared, ...extra, COFFER_PORT: String(port), COFFER_DATA_DIR: dir },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    const base = `http://127.0.0.1:${port}`;
    const node: Node = {
      name,
      base,
      child,
      log: () => stderr,
      fetch: (p, init) => fetch(base + p, init),
      async kill() {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGKILL');
        await exited;
      },
    };
    await waitReady(base, child).catch((e: Error) => {
      throw new Error(`${name}: ${e.message}\n${stderr}`);
    });
    nodes.push(node);
    return node;
  }

  const names = Array.from({ length: count }, (_, i) => String.fromCharCode(65 + i));
  try {
    await Promise.all(names.map((n) => start(n)));
  } catch (e) {
    for (const n of nodes) await n.kill();
    throw e;
  }
  nodes.sort((a, b) => a.name.localeCompare(b.name));
  return {
    nodes,
    schema,
    db,
    start,
    async stop() {
      for (const n of nodes) {
        if (n.child.exitCode !== null || n.child.signalCode !== null) continue;
        const exited = new Promise((r) => n.child.once('exit', r));
        n.child.kill('SIGTERM');
        await exited;
      }
      for (const d of dirs) await rm(d, { recursive: true, force: true });
      await db.query(`drop schema ${schema} cascade`);
      await db.end();
    },
  };
}

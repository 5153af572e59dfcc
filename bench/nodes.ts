/**
 * Nodes: KV GET and PUT throughput of one Coffer on SQLite, one on PostgreSQL, and two on the same
 * PostgreSQL database, with the CPU each process spent per request, so the cost of a request can
 * be projected to a bigger machine.
 *
 *   npx tsx bench/nodes.ts          # against the dist/ you already built; ~2.5 minutes
 *
 * Configurations (each started fresh, `node dist/main.js serve` from dist/):
 *   sqlite-1   the embedded defaults (SQLite in the data dir)
 *   pg-1       COFFER_DATABASE_URL=postgres://…/<fresh database>, COFFER_SECRET_KEY, fs blobs
 *   pg-2       two nodes on that database with the same secret key; each has its own data dir
 *              whose blobs/ is a link to one shared directory
 * Scenarios: GET /v1/data/k (100 B value), PUT /v1/data/p<node>-<n mod 1000> (100 B octet-stream,
 * 1000 keys per node, so writes do not all queue on one row). The load is autocannon, run through
 * its API in one child process per node, BENCH_CONNECTIONS split evenly between the nodes; the
 * measured runs start together (after each child's warmup) and their req/s are summed.
 *
 * CPU: utime+stime from /proc/<pid>/stat over the measured run, of each node, of the PostgreSQL
 * backends serving the database (`postgres: … <db> …`), of PostgreSQL's own helpers (walwriter,
 * checkpointer, background writer, autovacuum) and of the load generators; divided by the
 * requests answered. That cost per request is what carries over to another machine.
 *
 * Settings (environment):
 *   BENCH_CONFIGS=sqlite-1,pg-1,pg-2
 *   BENCH_SCENARIOS=get,put
 *   BENCH_CONNECTIONS=50     in all, split between the nodes
 *   BENCH_DURATION=10        measured seconds per scenario
 *   BENCH_WARMUP=2           seconds of load before each measurement
 *   BENCH_PG_URL=postgres://postgres@127.0.0.1:5432/postgres   where to create (and drop) the database
 *   BENCH_SERVER_CPUS=       taskset CPU list for every node ('' = not pinned)
 *   BENCH_LOAD_CPUS=         taskset CPU list for the load generators ('' = not pinned)
 *   BENCH_PROJECT_CORES=16   the machine to project to
 *   BENCH_COFFER_MAIN, BENCH_COFFER_LOG_LEVEL, BENCH_KEEP   as for bench/http.ts
 */
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { mkdirSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { intEnv, sleep } from './lib.js';
import {
  ADMIN_PASSWORD, cpuBusy, cpuSeconds, createUser, fmtMs, fmtRate, login, machineLine, onCleanup, pgrep, putValue, quiesce, runMain,
  roleResult, spawnRole, startCoffer, stdinLines, table, tempDir, type Coffer,
} from './procs.js';

const SCRIPT = fileURLToPath(import.meta.url);
const PASSWORD = 'bench-password-0123456789';
const VALUE_100 = 'v'.repeat(100);
const PUT_BODY_100 = 'p'.repeat(100);

// ---------------------------------------------------------------------------------------------
// Role "load": autocannon through its API, warmup, then the measured run when told "go"

interface LoadParams { base: string; token: string; scenario: 'get' | 'put'; prefix: string; connections: number; duration: number; warmup: number }
interface AutocannonResult { duration: number; '2xx': number; non2xx: number; errors: number; timeouts: number; requests: { total: number }; latency: { p50: number; p99: number } }
interface LoadResult { requests: number; ok: number; reqPerSec: number; p50: number; p99: number; non2xx: number; errors: number; timeouts: number; seconds: number }

async function roleLoad(p: LoadParams): Promise<void> {
  // autocannon ships no types: the fields read below are those of its documented result object.
  const autocannon = createRequire(import.meta.url)('autocannon') as (opts: object) => Promise<AutocannonResult>;
  let n = 0;
  const requests =
    p.scenario === 'get'
      ? [{ method: 'GET', path: '/v1/data/k', headers: { authorization: `Bearer ${p.token}` } }]
      : [{
          method: 'PUT',
          headers: { authorization: `Bearer ${p.token}`, 'content-type': 'application/octet-stream' },
          body: PUT_BODY_100,
          setupRequest: (req: Record<string, unknown>) => ({ ...req, path: `/v1/data/${p.prefix}-${n++ % 1000}` }),
        }];
  const run = (duration: number) => autocannon({ url: p.base, connections: p.connections, duration, requests });
  if (p.warmup > 0) await run(p.warmup);
  console.log('WARM');
  let quit!: () => void;
  const quitting = new Promise<void>((r) => (quit = r));
  await new Promise<void>((resolve) => stdinLines((l) => (l === 'go' ? resolve() : l === 'quit' && quit())));
  const r = await run(p.duration);
  // The parent reads this process's CPU time now, so it stays alive until told to quit.
  console.log('END');
  await quitting;
  const seconds = r.duration;
  const ok = r['2xx'];
  const res: LoadResult = {
    requests: r.requests.total, ok, reqPerSec: ok / seconds, p50: r.latency.p50, p99: r.latency.p99,
    non2xx: r.non2xx, errors: r.errors, timeouts: r.timeouts, seconds,
  };
  console.log(JSON.stringify(res));
  process.exit(0);
}

// ---------------------------------------------------------------------------------------------
// Main

const CONFIGS = (process.env.BENCH_CONFIGS ?? 'sqlite-1,pg-1,pg-2').split(',').map((s) => s.trim()).filter(Boolean);
const SCENARIOS = (process.env.BENCH_SCENARIOS ?? 'get,put').split(',').map((s) => s.trim()).filter(Boolean) as Array<'get' | 'put'>;
const CONNECTIONS = intEnv('BENCH_CONNECTIONS', 50, 1);
const DURATION = intEnv('BENCH_DURATION', 10, 1);
const WARMUP = intEnv('BENCH_WARMUP', 2, 0);
const PG_URL = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const SERVER_CPUS = process.env.BENCH_SERVER_CPUS || undefined;
const LOAD_CPUS = process.env.BENCH_LOAD_CPUS || undefined;
const PROJECT_CORES = intEnv('BENCH_PROJECT_CORES', 16, 1);

interface Row {
  config: string;
  scenario: string;
  nodes: number;
  reqPerSec: number;
  p99: number;
  problems: string;
  /** CPU seconds over the measured run. */
  nodeCpu: number[];
  pgBackends: number;
  pgHelpers: number;
  load: number;
  machine: number;
  ok: number;
  seconds: number;
}

async function freshDatabase(): Promise<{ url: string; name: string }> {
  const { default: pg } = await import('pg');
  const name = `coffer_bench_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  onCleanup(async () => {
    const c = new pg.Client({ connectionString: PG_URL });
    await c.connect();
    await c.query(`drop database if exists ${name} with (force)`);
    await c.end();
  });
  const url = new URL(PG_URL);
  url.pathname = `/${name}`;
  return { url: url.toString(), name };
}

async function startConfig(config: string): Promise<{ nodes: Coffer[]; db?: string; stop: () => Promise<void> }> {
  const m = /^(sqlite|pg)-(\d+)$/.exec(config);
  if (!m) throw new Error(`BENCH_CONFIGS: unknown ${config} (sqlite-1, pg-1, pg-2, pg-N)`);
  const count = Number(m[2]);
  if (m[1] === 'sqlite' && count !== 1) throw new Error('sqlite runs one node only');
  const nodes: Coffer[] = [];
  let db: { url: string; name: string } | undefined;
  if (m[1] === 'sqlite') {
    nodes.push(await startCoffer({ name: `${config}-a`, env: {}, cpus: SERVER_CPUS }));
  } else {
    db = await freshDatabase();
    const shared = tempDir(`coffer-${config}-blobs-`);
    const env = { COFFER_DATABASE_URL: db.url, COFFER_SECRET_KEY: `bench-secret-${randomBytes(16).toString('hex')}`, COFFER_STORAGE_BACKEND: 'fs' };
    const names = Array.from({ length: count }, (_, i) => String.fromCharCode(97 + i));
    // The first node migrates the empty database; the others start after it.
    for (const n of names) {
      const dir = tempDir(`coffer-${config}-${n}-`);
      mkdirSync(path.join(dir, 'data'), { recursive: true, mode: 0o700 });
      symlinkSync(shared, path.join(dir, 'data', 'blobs'));
      nodes.push(await startCoffer({ name: `${config}-${n}`, env, cpus: SERVER_CPUS, dir }));
    }
  }
  return {
    nodes,
    ...(db ? { db: db.name } : {}),
    async stop() {
      for (const n of nodes) {
        if (n.child.exitCode !== null || n.child.signalCode !== null) continue;
        const exited = new Promise((r) => n.child.once('exit', r));
        n.child.kill('SIGTERM');
        await Promise.race([exited, sleep(10_000)]);
      }
    },
  };
}

const PG_HELPERS = /^postgres: .*(checkpointer|background writer|walwriter|autovacuum|logical replication)/;

async function runScenario(config: string, nodes: Coffer[], db: string | undefined, token: string, scenario: 'get' | 'put'): Promise<Row> {
  const backends = () => (db ? pgrep(new RegExp(`^postgres: .* ${db} `)) : []);
  const helpers = () => pgrep(PG_HELPERS);
  await quiesce(() => [...nodes.map((n) => n.pid), ...backends()]);
  const per = Math.max(1, Math.floor(CONNECTIONS / nodes.length));
  const kids = nodes.map((n, i) =>
    spawnRole(SCRIPT, 'load', { base: n.base, token, scenario, prefix: `p${i}`, connections: i === 0 ? CONNECTIONS - per * (nodes.length - 1) : per, duration: DURATION, warmup: WARMUP } satisfies LoadParams, LOAD_CPUS),
  );
  let warm = 0;
  let allWarm!: () => void;
  const warmed = new Promise<void>((r) => (allWarm = r));
  let ended = 0;
  let allEnded!: () => void;
  const done = new Promise<void>((r) => (allEnded = r));
  const results = kids.map((k, i) =>
    roleResult<LoadResult>(k, `${config} ${scenario} load ${i}`, (l) => {
      if (l === 'WARM' && ++warm === kids.length) allWarm();
      if (l === 'END' && ++ended === kids.length) allEnded();
    }),
  );
  await Promise.race([warmed, Promise.all(results)]);
  const sample = () => {
    const be = backends();
    const he = helpers();
    return {
      nodes: nodes.map((n) => cpuSeconds(n.pid)),
      backends: new Map(be.map((p) => [p, cpuSeconds(p)])),
      helpers: new Map(he.map((p) => [p, cpuSeconds(p)])),
      load: kids.map((k) => cpuSeconds(k.pid!)),
      machine: cpuBusy().get('all')!,
    };
  };
  const s0 = sample();
  for (const k of kids) k.stdin!.write('go\n');
  // Every child ends its run and waits (alive, so its CPU time can be read) until told to quit.
  await Promise.race([done, Promise.all(results)]);
  const s1 = sample();
  for (const k of kids) k.stdin!.write('quit\n');
  const res = await Promise.all(results);
  const sumDelta = (a: Map<number, number>, b: Map<number, number>) => [...b].reduce((s, [p, v]) => s + v - (a.get(p) ?? 0), 0);
  const ok = res.reduce((s, r) => s + r.ok, 0);
  const seconds = Math.max(...res.map((r) => r.seconds));
  const problems = [
    ['non-2xx', res.reduce((s, r) => s + r.non2xx, 0)],
    ['errors', res.reduce((s, r) => s + r.errors, 0)],
    ['timeouts', res.reduce((s, r) => s + r.timeouts, 0)],
  ].filter(([, v]) => v).map(([k, v]) => `${v} ${k}`).join(', ');
  return {
    config, scenario, nodes: nodes.length,
    reqPerSec: res.reduce((s, r) => s + r.reqPerSec, 0),
    p99: Math.max(...res.map((r) => r.p99)),
    problems,
    nodeCpu: nodes.map((_, i) => s1.nodes[i]! - s0.nodes[i]!),
    pgBackends: sumDelta(s0.backends, s1.backends),
    pgHelpers: sumDelta(s0.helpers, s1.helpers),
    load: s1.load.reduce((s, v, i) => s + v - s0.load[i]!, 0),
    machine: s1.machine - s0.machine,
    ok, seconds,
  };
}

async function main(): Promise<void> {
  console.log('Coffer nodes benchmark');
  console.log(`machine : ${machineLine()}`);
  console.log(`load    : autocannon (API, one child process per node), ${CONNECTIONS} connections in all split between the nodes, ${DURATION} s after ${WARMUP} s warmup`);
  console.log(`pinning : nodes ${SERVER_CPUS ? `on CPU ${SERVER_CPUS}` : 'not pinned'}, load ${LOAD_CPUS ? `on CPU ${LOAD_CPUS}` : 'not pinned'}; PostgreSQL at ${new URL(PG_URL).host}`);
  const rows: Row[] = [];
  for (const config of CONFIGS) {
    process.stderr.write(`  ${config}: starting...`);
    const { nodes, db, stop } = await startConfig(config);
    const admin = await login(nodes[0]!.base, 'admin', ADMIN_PASSWORD);
    await createUser(nodes[0]!.base, admin, 'bench', PASSWORD);
    const token = await login(nodes[0]!.base, 'bench', PASSWORD);
    await putValue(nodes[0]!.base, token, 'k', VALUE_100);
    // Every node must answer the GET with the token of the first (shared keys), or the numbers mean nothing.
    for (const n of nodes) {
      const res = await fetch(`${n.base}/v1/data/k`, { headers: { authorization: `Bearer ${token}` } });
      const body = await res.text();
      if (res.status !== 200 || !body.includes(VALUE_100)) throw new Error(`${n.name}: GET /v1/data/k answered ${res.status} ${body.slice(0, 200)}`);
    }
    process.stderr.write(` pids ${nodes.map((n) => n.pid).join(', ')}${db ? `, database ${db}` : ''}\n`);
    for (const scenario of SCENARIOS) {
      process.stderr.write(`    ${scenario}...`);
      const row = await runScenario(config, nodes, db, token, scenario);
      process.stderr.write(` ${fmtRate(row.reqPerSec)} req/s\n`);
      rows.push(row);
    }
    await stop();
  }

  const us = (cpu: number, r: Row) => (r.ok > 0 ? fmtRate((cpu * 1e6) / r.ok) : '-');
  const pctCore = (cpu: number, r: Row) => `${Math.round((100 * cpu) / r.seconds)}%`;
  console.log('');
  console.log('Throughput (sum over the nodes), and CPU per answered request in µs (utime+stime / 2xx answers):');
  const t: string[][] = [['config', 'scenario', 'req/s', 'p99 ms', 'node µs/req (each)', 'pg backends µs/req', 'pg helpers µs/req', 'server side µs/req', 'load gen µs/req', 'machine busy', 'notes']];
  for (const r of rows) {
    const server = r.nodeCpu.reduce((s, v) => s + v, 0) + r.pgBackends + r.pgHelpers;
    t.push([
      r.config, r.scenario.toUpperCase(), fmtRate(r.reqPerSec), fmtMs(r.p99),
      `${us(r.nodeCpu.reduce((s, v) => s + v, 0), r)} (${r.nodeCpu.map((c) => pctCore(c, r)).join(' + ')} of a core)`,
      r.config.startsWith('pg') ? us(r.pgBackends, r) : '-', r.config.startsWith('pg') ? us(r.pgHelpers, r) : '-',
      us(server, r), us(r.load, r), `${Math.round((100 * r.machine) / r.seconds)}% of 1 core`, r.problems,
    ]);
  }
  console.log(table(t));
  console.log('(node µs/req: all node processes together, and each one\'s share of a core; "pg helpers" = walwriter, checkpointer, bgwriter, autovacuum of the whole server;');
  console.log(' machine busy: every CPU, 200% = both cores; what is not node + pg + load generator is other processes and the kernel\'s loopback work.)');

  console.log('');
  console.log(`Projection to ${PROJECT_CORES} cores (CPU-bound, from the pg rows; ignores lock/WAL contention, network, and the load generator):`);
  for (const scenario of SCENARIOS) {
    const r = rows.filter((x) => x.scenario === scenario && x.config.startsWith('pg')).sort((a, b) => b.nodes - a.nodes)[0];
    if (!r || r.ok === 0) continue;
    const node = (r.nodeCpu.reduce((s, v) => s + v, 0) * 1e6) / r.ok;
    const pgc = ((r.pgBackends + r.pgHelpers) * 1e6) / r.ok;
    const perNode = 1e6 / node; // one event loop per node: at most one core of node CPU each
    const total = (PROJECT_CORES * 1e6) / (node + pgc);
    const nodeCores = (PROJECT_CORES * node) / (node + pgc);
    console.log(
      `  ${scenario.toUpperCase()} (${r.config}): node ${fmtRate(node)} µs + PostgreSQL ${fmtRate(pgc)} µs per request -> one node tops out near ${fmtRate(perNode)} req/s ` +
        `(one event loop = one core); ${PROJECT_CORES} cores split ~${nodeCores.toFixed(1)} for nodes / ${(PROJECT_CORES - nodeCores).toFixed(1)} for PostgreSQL ` +
        `-> ~${fmtRate(total)} req/s with ~${Math.round(nodeCores)} nodes`,
    );
  }
}

const [role, json] = process.argv.slice(2);
if (role === 'load') void roleLoad(JSON.parse(json!) as LoadParams);
else runMain(main);

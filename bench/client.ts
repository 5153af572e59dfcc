/**
 * bench/client.ts — what the TypeScript client (coffer/client) costs a caller: the same
 * authenticated KV GET, loaded by autocannon and by the client, against one Coffer.
 *
 *   npm run build && npx tsx bench/client.ts
 *
 * Both loads run in this machine's other processes the same way: autocannon as its own child
 * process, the client in a child process of its own (`role client`), each with BENCH_CONNECTIONS
 * requests in flight for BENCH_DURATION seconds after a warm-up. Printed: req/s, p99, and the
 * load generator's CPU per request (the client's overhead is what it spends beyond autocannon's).
 *
 *   BENCH_CONNECTIONS=10   requests in flight
 *   BENCH_DURATION=8       measured seconds per load
 *   BENCH_WARMUP=2         seconds of unmeasured load before each
 *   BENCH_COFFER_MAIN, BENCH_COFFER_LOG_LEVEL, BENCH_KEEP   as for bench/http.ts
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ADMIN_PASSWORD, createUser, fmtMs, fmtRate, login, putValue, ROOT, runMain, startCoffer, table, track } from './procs.js';

const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
const DURATION = Number(process.env.BENCH_DURATION ?? 8);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 2);
const AUTOCANNON = path.join(ROOT, 'node_modules', 'autocannon', 'autocannon.js');
const CLIENT = path.join(ROOT, 'dist', 'client', 'index.js');

interface LoadResult {
  requests: number;
  seconds: number;
  p99: number;
  errors: number;
  cpuMicros: number;
}

const CPU_AT_EXIT = path.join(ROOT, 'bench', 'cpu-at-exit.cjs');

/** Runs node with `args` as a child process: the last line it prints (JSON), and the CPU it used. */
function runChild(args: string[]): Promise<{ out: string; cpuMicros: number }> {
  return new Promise((resolve, reject) => {
    const child = track(spawn(process.execPath, ['--require', CPU_AT_EXIT, ...args], { stdio: ['ignore', 'pipe', 'pipe'] }));
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => (out += d));
    child.stderr!.on('data', (d: Buffer) => (err += d));
    child.once('exit', (code) => {
      if (code !== 0) return reject(new Error(`${args[0]} exited ${code}: ${err.slice(-400)}`));
      const last = out.trim().split('\n').pop()!;
      const { cpuMicros } = JSON.parse(err.trim().split('\n').filter((l) => l.startsWith('{"cpuMicros"')).pop() ?? '{"cpuMicros":0}') as { cpuMicros: number };
      resolve({ out: last, cpuMicros });
    });
  });
}

async function autocannon(url: string, token: string, seconds: number): Promise<LoadResult> {
  const { out, cpuMicros } = await runChild([AUTOCANNON, '-j', '-c', String(CONNECTIONS), '-d', String(seconds), '-H', `authorization=Bearer ${token}`, url]);
  const r = JSON.parse(out) as { requests: { total: number }; latency: { p99: number }; errors: number; non2xx: number; duration: number };
  return { requests: r.requests.total, seconds: r.duration, p99: r.latency.p99, errors: r.errors + r.non2xx, cpuMicros };
}

async function roleLoad(role: 'client' | 'fetch', base: string, token: string, seconds: number): Promise<LoadResult> {
  // The same loader this script runs under (tsx), for the role's TypeScript.
  const { out, cpuMicros } = await runChild([...process.execArgv, process.argv[1]!, role, JSON.stringify({ base, token, seconds })]);
  return { ...(JSON.parse(out) as Omit<LoadResult, 'cpuMicros'>), cpuMicros };
}

/** The load roles: CONNECTIONS loops of `kv.get` (client) or of a bare `fetch` and JSON parse, for `seconds`. */
async function roleLoop(role: string, { base, token, seconds }: { base: string; token: string; seconds: number }): Promise<void> {
  const { Coffer } = (await import(pathToFileURL(CLIENT).href)) as typeof import('../src/client/index.js');
  const coffer = new Coffer({ url: base, accessToken: token });
  const headers = { authorization: `Bearer ${token}` };
  const once =
    role === 'client'
      ? () => coffer.kv.get('k')
      : async () => {
          const res = await fetch(`${base}/v1/data/k`, { headers });
          if (!res.ok) throw new Error(String(res.status));
          return res.json();
        };
  const latencies: number[] = [];
  let errors = 0;
  const started = performance.now();
  const end = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (performance.now() < end) {
        const t0 = performance.now();
        try {
          await once();
          latencies.push(performance.now() - t0);
        } catch {
          errors++;
        }
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  console.log(JSON.stringify({ requests: latencies.length, seconds: (performance.now() - started) / 1000, p99: latencies[Math.floor(latencies.length * 0.99)] ?? NaN, errors }));
}

async function main(): Promise<void> {
  const coffer = await startCoffer({ name: 'client', env: {} });
  const admin = await login(coffer.base, 'admin', ADMIN_PASSWORD);
  await createUser(coffer.base, admin, 'bench', 'bench-password-123');
  const token = await login(coffer.base, 'bench', 'bench-password-123');
  await putValue(coffer.base, token, 'k', 'v'.repeat(100));
  const url = `${coffer.base}/v1/data/k`;

  const rows = [['load', 'req/s', 'p99 ms', 'load generator CPU µs/req', 'errors']];
  const results: Record<string, LoadResult> = {};
  for (const [name, run] of [
    ['autocannon', (s: number) => autocannon(url, token, s)],
    ['fetch (bare)', (s: number) => roleLoad('fetch', coffer.base, token, s)],
    ['coffer/client', (s: number) => roleLoad('client', coffer.base, token, s)],
  ] as const) {
    if (WARMUP > 0) await run(WARMUP);
    const r = await run(DURATION);
    results[name] = r;
    rows.push([name, fmtRate(r.requests / r.seconds), fmtMs(r.p99), (r.cpuMicros / r.requests).toFixed(1), String(r.errors)]);
  }
  console.log(`KV GET ${url}, ${CONNECTIONS} in flight, ${DURATION} s each after ${WARMUP} s of warm-up\n`);
  console.log(table(rows));
  const a = results.autocannon!;
  const c = results['coffer/client']!;
  const f = results['fetch (bare)']!;
  const rate = (r: LoadResult) => r.requests / r.seconds;
  console.log(`\nclient rate / autocannon rate: ${((rate(c) / rate(a)) * 100).toFixed(0)}%; client rate / bare fetch rate: ${((rate(c) / rate(f)) * 100).toFixed(0)}%`);
}

const [role, json] = process.argv.slice(2);
if (role === 'client' || role === 'fetch') void roleLoop(role, JSON.parse(json!) as { base: string; token: string; seconds: number });
else runMain(main);

/**
 * HTTP benchmark: Coffer (from dist/, embedded defaults) against a bare node:http "speed ceiling"
 * (bench/bare-server.mjs) on the same machine, in the same run, with the same load generator.
 *
 *   npm run bench                 # builds, then runs this file
 *   npx tsx bench/http.ts         # uses the existing dist/
 *
 * Each server and each autocannon run is its own child process, so the load generator never
 * shares an event loop with a server. Scenarios alternate bare/Coffer so drift in the machine's
 * load hits both sides alike. Compare the ratios within one run, not absolute numbers across runs.
 *
 * Settings (environment):
 *   BENCH_DURATION=10        seconds per scenario and server (GET, PUT, ping)
 *   BENCH_LOGIN_DURATION=5   seconds for the login scenario (argon2id makes Coffer's slow on purpose)
 *   BENCH_CONNECTIONS=50     concurrent connections
 *   BENCH_WARMUP=1           seconds of unmeasured load before each measurement (0 = none)
 *   BENCH_SCENARIOS=get,put,object,ping,login   which scenarios, in this order
 *   BENCH_COFFER_LOG=<file>  where Coffer's log goes (default: a file in the temp dir; /dev/null works)
 *   BENCH_COFFER_LOG_LEVEL=info   Coffer's log level (info is the default and part of the real cost)
 *   BENCH_COFFER_MAIN=<file> another build's main.js to run instead of dist/main.js (to compare builds)
 *   BENCH_TARGETS=bare,coffer     load only one of them (e.g. coffer while profiling)
 *   BENCH_CPU_PROF=<dir>     run Coffer under `node --cpu-prof` and leave the .cpuprofile in <dir>
 *                            (summarise it with `node bench/cpuprofile-top.mjs <file>`)
 *   BENCH_JSON=<file>        also write the results as JSON
 *   BENCH_KEEP=1             keep the temp dir (Coffer's data and log) and print its path
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cleanEnv, freePort, intEnv } from './lib.js';
import { ADMIN_PASSWORD, COFFER_MAIN, createUser, expectOk, login, putValue, ROOT, runMain, startCoffer, track, waitReady } from './procs.js';

const AUTOCANNON = path.join(ROOT, 'node_modules', 'autocannon', 'autocannon.js');
const BARE_SERVER = path.join(ROOT, 'bench', 'bare-server.mjs');


const DURATION = intEnv('BENCH_DURATION', 10, 1);
const LOGIN_DURATION = intEnv('BENCH_LOGIN_DURATION', Math.min(5, DURATION), 1);
const CONNECTIONS = intEnv('BENCH_CONNECTIONS', 50, 1);
const WARMUP = intEnv('BENCH_WARMUP', 1, 0);
const SCENARIO_NAMES = (process.env.BENCH_SCENARIOS ?? 'get,put,object,ping,login').split(',').map((s) => s.trim()).filter(Boolean);
const CPU_PROF_DIR = process.env.BENCH_CPU_PROF ? path.resolve(process.env.BENCH_CPU_PROF) : undefined;
const COFFER_LOG_LEVEL = process.env.BENCH_COFFER_LOG_LEVEL ?? 'info';
const TARGETS = (process.env.BENCH_TARGETS ?? 'bare,coffer').split(',').map((s) => s.trim());

const USERNAME = 'bench';
const PASSWORD = 'bench-password-0123456789';
const VALUE_100 = 'v'.repeat(100); // the GET value: {"key":"k","value":"vvv…"} like the bare server's answer
const PUT_BODY_100 = 'p'.repeat(100); // the PUT body: 100 raw bytes
const OBJECT_4K = 'o'.repeat(4096); // the object GET's body

// ---------------------------------------------------------------------------------------------
// Servers

interface Target {
  name: 'bare' | 'coffer';
  base: string;
  child: ChildProcess;
  token: string;
  logFile?: string;
}




async function startBare(): Promise<Target> {
  const port = await freePort();
  const child = track(
    spawn(process.execPath, [BARE_SERVER], {
      env: { PATH: process.env.PATH ?? '', BARE_PORT: String(port), BARE_HOST: '127.0.0.1' },
      stdio: ['ignore', 'ignore', 'inherit'],
    }),
  );
  const base = `http://127.0.0.1:${port}`;
  await waitReady(base, child, 'bare server', () => '', 30_000);
  const token = await login(base, USERNAME, PASSWORD);
  return { name: 'bare', base, child, token };
}

async function startCofferTarget(): Promise<Target> {
  const coffer = await startCoffer({
    name: 'coffer',
    // The load comes from one address; the per-address limit would measure only itself.
    env: { COFFER_RATE_LIMIT: '1000000' },
    logLevel: COFFER_LOG_LEVEL,
    nodeArgs: CPU_PROF_DIR ? ['--cpu-prof', `--cpu-prof-dir=${CPU_PROF_DIR}`] : [],
  });
  const { base, child, logFile } = coffer;
  // A plain (non-admin) user for the scenarios, the 100-byte value it reads, the 4 KiB object.
  await createUser(base, await login(base, 'admin', ADMIN_PASSWORD), USERNAME, PASSWORD);
  const token = await login(base, USERNAME, PASSWORD);
  await putValue(base, token, 'k', VALUE_100);
  await expectOk(
    await fetch(`${base}/v1/objects/o4k`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' },
      body: OBJECT_4K,
    }),
    'store the 4 KiB object',
  );
  return { name: 'coffer', base, child, token, logFile };
}

// ---------------------------------------------------------------------------------------------
// Scenarios

interface Request {
  method: 'GET' | 'PUT' | 'POST';
  path: string;
  headers: Record<string, string>;
  body?: string;
}

interface Scenario {
  name: string;
  duration: number;
  note?: string;
  /** Only Coffer has it (the bare server has no objects). */
  cofferOnly?: true;
  request(t: Target): Request;
  /** One request before the load: the scenario must answer 2xx with a sane body, or the numbers mean nothing. */
  check(t: Target, status: number, body: string): string | undefined;
}

const SCENARIOS: Record<string, Scenario> = {
  get: {
    name: 'GET /v1/data/k (auth, 100 B)',
    duration: DURATION,
    request: (t) => ({ method: 'GET', path: '/v1/data/k', headers: { authorization: `Bearer ${t.token}` } }),
    check: (_t, status, body) => {
      if (status !== 200) return `status ${status}`;
      const v = (JSON.parse(body) as { value?: unknown }).value;
      return v === VALUE_100 ? undefined : `unexpected body ${body.slice(0, 200)}`;
    },
  },
  put: {
    name: 'PUT /v1/data/w (auth, 100 B)',
    duration: DURATION,
    request: (t) => ({
      method: 'PUT',
      path: '/v1/data/w',
      headers: { authorization: `Bearer ${t.token}`, 'content-type': 'application/octet-stream' },
      body: PUT_BODY_100,
    }),
    check: (_t, status, body) => (status === 200 || status === 201 ? undefined : `status ${status} ${body.slice(0, 200)}`),
  },
  object: {
    name: 'GET /v1/objects/o4k (auth, 4 KiB)',
    duration: DURATION,
    cofferOnly: true,
    note: 'Coffer only: compare with its KV GET',
    request: (t) => ({ method: 'GET', path: '/v1/objects/o4k', headers: { authorization: `Bearer ${t.token}` } }),
    check: (_t, status, body) => (status === 200 && body.length === OBJECT_4K.length ? undefined : `status ${status}, ${body.length} bytes`),
  },
  ping: {
    name: 'GET /v1/ping',
    duration: DURATION,
    request: () => ({ method: 'GET', path: '/v1/ping', headers: {} }),
    check: (_t, status, body) => (status === 200 && body === 'pong' ? undefined : `status ${status} ${body.slice(0, 200)}`),
  },
  login: {
    name: 'POST /v1/login',
    duration: LOGIN_DURATION,
    note: "Coffer's login runs argon2id (19 MiB, t=2) by design; the bare one returns a fixed token",
    request: () => ({
      method: 'POST',
      path: '/v1/login',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: USERNAME, password: PASSWORD }),
    }),
    check: (_t, status, body) => (status === 200 && body.includes('access_token') ? undefined : `status ${status} ${body.slice(0, 200)}`),
  },
};

// ---------------------------------------------------------------------------------------------
// Load: autocannon in its own process

interface Result {
  reqPerSec: number;
  p50: number;
  p99: number;
  total: number;
  non2xx: number;
  errors: number;
  timeouts: number;
}

interface AutocannonJson {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number };
  errors: number;
  timeouts: number;
  non2xx: number;
  '2xx': number;
}

function runAutocannon(base: string, req: Request, duration: number): Promise<Result> {
  const args = [AUTOCANNON, '--json', '-n', '-c', String(CONNECTIONS), '-d', String(duration), '-m', req.method];
  if (WARMUP > 0) args.push('--warmup', '[', '-c', String(CONNECTIONS), '-d', String(WARMUP), ']');
  for (const [k, v] of Object.entries(req.headers)) args.push('-H', `${k}=${v}`);
  if (req.body !== undefined) args.push('-b', req.body);
  args.push(base + req.path);

  return new Promise((resolve, reject) => {
    const child = track(spawn(process.execPath, args, { env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] }));
    let out = '';
    let err = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
    const limit = setTimeout(() => child.kill('SIGKILL'), (duration + WARMUP + 30) * 1000);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(limit);
      try {
        if (code !== 0) throw new Error(`exit ${code}`);
        // With --warmup, autocannon prints the warmup's JSON line first: the measurement is the last line.
        const lines = out.trim().split('\n').filter((l) => l.startsWith('{'));
        const j = JSON.parse(lines[lines.length - 1] ?? '') as AutocannonJson;
        resolve({
          reqPerSec: j.requests.average,
          p50: j.latency.p50,
          p99: j.latency.p99,
          total: j.requests.total,
          non2xx: j.non2xx,
          errors: j.errors,
          timeouts: j.timeouts,
        });
      } catch (e) {
        reject(new Error(`autocannon ${req.method} ${base}${req.path} failed (${(e as Error).message}): ${err.slice(-500)}`));
      }
    });
  });
}

async function runScenario(s: Scenario, t: Target): Promise<Result> {
  const req = s.request(t);
  const res = await fetch(t.base + req.path, { method: req.method, headers: req.headers, ...(req.body !== undefined ? { body: req.body } : {}) });
  const problem = s.check(t, res.status, await res.text());
  if (problem) throw new Error(`${t.name}: ${s.name} does not work before the load: ${problem}`);
  return runAutocannon(t.base, req, s.duration);
}

// ---------------------------------------------------------------------------------------------
// Output

const fmtRate = (n: number) => (n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(1));
const fmtMs = (n: number) => (n >= 100 ? String(Math.round(n)) : n.toFixed(1));
const pct = (a: number, b: number) => (b > 0 ? `${((100 * a) / b).toFixed(1)}%` : 'n/a');

function problems(r: Result): string {
  const parts = [];
  if (r.non2xx) parts.push(`${r.non2xx} non-2xx`);
  if (r.errors) parts.push(`${r.errors} errors`);
  if (r.timeouts) parts.push(`${r.timeouts} timeouts`);
  return parts.join(', ');
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 || i === r.length - 1 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  return [line(rows[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n');
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const unknown = SCENARIO_NAMES.filter((n) => !(n in SCENARIOS));
  if (unknown.length) throw new Error(`BENCH_SCENARIOS: unknown ${unknown.join(', ')} (known: ${Object.keys(SCENARIOS).join(', ')})`);
  const scenarios = SCENARIO_NAMES.map((n) => SCENARIOS[n]!);
  const useBare = TARGETS.includes('bare');
  const useCoffer = TARGETS.includes('coffer');
  if (!useBare && !useCoffer) throw new Error('BENCH_TARGETS: name bare, coffer or both');

  const cpus = os.cpus();
  const loadavg = () => os.loadavg().map((l) => l.toFixed(2)).join(' ');
  console.log('Coffer HTTP benchmark');
  console.log(`machine : ${os.availableParallelism()} CPUs (${cpus[0]?.model.trim() ?? '?'}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, load avg ${loadavg()}`);
  console.log(`node    : ${process.version} (${os.platform()} ${os.release()})`);
  console.log(
    `settings: ${CONNECTIONS} connections, ${DURATION} s per scenario (login ${LOGIN_DURATION} s), ${WARMUP} s warmup, ` +
      'autocannon in its own process, bare and Coffer alternate per scenario',
  );
  console.log(
    `coffer  : ${path.relative(ROOT, COFFER_MAIN) || COFFER_MAIN} serve, embedded defaults (SQLite, EdDSA tokens), COFFER_LOG_LEVEL=${COFFER_LOG_LEVEL} to ${process.env.BENCH_COFFER_LOG ?? 'a file'}`,
  );
  console.log('bare    : bench/bare-server.mjs, node:http + HS256 JWT check per request, fixed answers');
  if (CPU_PROF_DIR) console.log(`profile : Coffer runs with --cpu-prof into ${CPU_PROF_DIR}`);

  const started = Date.now();
  // allSettled: when one start fails, the other has finished (and its child is tracked) before cleanup runs.
  const starts = await Promise.allSettled([useBare ? startBare() : undefined, useCoffer ? startCofferTarget() : undefined]);
  const failed = starts.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  const [bare, coffer] = starts.map((r) => (r as PromiseFulfilledResult<Target | undefined>).value);
  console.log(`pids    : bare ${bare?.child.pid ?? '-'}, coffer ${coffer?.child.pid ?? '-'}`);
  console.log('');

  const rows: string[][] = [['scenario', 'bare req/s', 'bare p99 ms', 'coffer req/s', 'coffer p99 ms', 'coffer/bare', 'notes']];
  const results = new Map<string, { bare?: Result; coffer?: Result }>();
  for (const s of scenarios) {
    process.stderr.write(`  ${s.name}:`);
    let b: Result | undefined;
    let c: Result | undefined;
    if (bare && !s.cofferOnly) {
      process.stderr.write(' bare... ');
      b = await runScenario(s, bare);
      process.stderr.write(`${fmtRate(b.reqPerSec)} req/s;`);
    }
    if (coffer) {
      process.stderr.write(' coffer... ');
      c = await runScenario(s, coffer);
      process.stderr.write(`${fmtRate(c.reqPerSec)} req/s`);
    }
    process.stderr.write('\n');
    results.set(s.name, { ...(b ? { bare: b } : {}), ...(c ? { coffer: c } : {}) });
    const notes = [b && problems(b) && `bare: ${problems(b)}`, c && problems(c) && `coffer: ${problems(c)}`, s.note].filter(Boolean).join('; ');
    rows.push([
      s.name,
      b ? fmtRate(b.reqPerSec) : '-',
      b ? fmtMs(b.p99) : '-',
      c ? fmtRate(c.reqPerSec) : '-',
      c ? fmtMs(c.p99) : '-',
      b && c ? pct(c.reqPerSec, b.reqPerSec) : '-',
      notes,
    ]);
  }

  console.log('');
  console.log(table(rows));
  console.log('');
  const get = results.get(SCENARIOS.get!.name);
  if (get?.bare && get.coffer) {
    console.log(
      `GET ratio: ${pct(get.coffer.reqPerSec, get.bare.reqPerSec)} (Coffer ${fmtRate(get.coffer.reqPerSec)} req/s vs bare ${fmtRate(get.bare.reqPerSec)} req/s, ` +
        `p99 ${fmtMs(get.coffer.p99)} ms vs ${fmtMs(get.bare.p99)} ms)`,
    );
  }
  const object = results.get(SCENARIOS.object!.name)?.coffer;
  if (object && get?.coffer) {
    console.log(`4 KiB object GET / KV GET: ${pct(object.reqPerSec, get.coffer.reqPerSec)} (${fmtRate(object.reqPerSec)} vs ${fmtRate(get.coffer.reqPerSec)} req/s)`);
  }
  console.log(`(${Math.round((Date.now() - started) / 1000)} s; load avg now ${loadavg()})`);
  if (process.env.BENCH_JSON) {
    const settings = { connections: CONNECTIONS, duration: DURATION, loginDuration: LOGIN_DURATION, warmup: WARMUP, cofferMain: COFFER_MAIN, cofferLogLevel: COFFER_LOG_LEVEL };
    const machine = { cpus: os.availableParallelism(), model: cpus[0]?.model.trim(), node: process.version };
    writeFileSync(process.env.BENCH_JSON, JSON.stringify({ machine, settings, results: Object.fromEntries(results) }, null, 2));
  }
}

runMain(main);

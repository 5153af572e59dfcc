/**
 * Login storm: do other clients' authenticated KV GETs keep their latency while many clients, from
 * many addresses, log in with the right password (argon2id each)?
 *
 *   npx tsx bench/login-storm.ts          # against the dist/ you already built; ~2 minutes
 *
 * One Coffer (dist/main.js serve, embedded defaults, fresh temp data dir) pinned to CPU 0 with
 * taskset; the GET load and the storm run in child processes of their own, pinned to CPU 1.
 * BENCH_ROUNDS rounds, each of two phases (the machine is shared and noisy: the bar compares the
 * medians over the rounds, and each round's ratio is printed too):
 *   A  (alone)   GET /v1/data/k at a fixed rate (open loop: each request is sent at its scheduled
 *                time whether or not earlier ones have answered; latency from that moment, so a
 *                stall is counted in full, not hidden by a waiting closed loop)
 *   B  (storm)   the same GET load while BENCH_STORM_CLIENTS loops (one keep-alive connection each,
 *                each bound to its own source address 127.0.0.2, .3, ...) POST /v1/login as fast
 *                as they are answered, each as its own user with the right password; every
 *                round's storm comes from new addresses, so the rate limit starts afresh
 * The bar: median GET p99 during the storm <= 3x median GET p99 alone.
 *
 * Settings (environment):
 *   BENCH_RATE=2000           GET requests per second (keep it well under capacity)
 *   BENCH_CONNECTIONS=10      at most this many GET connections (requests beyond wait for one)
 *   BENCH_ROUNDS=3            rounds of A then B
 *   BENCH_DURATION=10         measured seconds per phase
 *   BENCH_WARMUP=2            seconds of GET load before each measurement
 *   BENCH_STORM_CLIENTS=50    login loops, one source address each (127.0.0.2 ...)
 *   BENCH_STORM_SETTLE=3      seconds the storm runs before the GET load starts
 *   BENCH_STORM_RETRY=honor   honor: a loop answered 429/503 waits Retry-After seconds;
 *                             ignore: it asks again at once (a hostile or naive client)
 *   BENCH_SERVER_CPUS=0       taskset CPU list for Coffer ('' = not pinned)
 *   BENCH_LOAD_CPUS=1         taskset CPU list for the GET load and the storm ('' = not pinned)
 *   BENCH_GET_PATH=/v1/data/k   what the GET load asks for (/v1/ping: no token check, no database: the event loop alone)
 *   BENCH_HELPER_NICE=        e.g. 19: renice every thread of Coffer except the main (event
 *                             loop) thread once it is set up: an experiment, not a setting of Coffer
 *   BENCH_NICE=               e.g. -10 (root): Coffer and the clients run at this nice value, so other
 *                             jobs on a shared machine disturb less (Coffer's threads keep their relative priority)
 *   BENCH_COFFER_MAIN, BENCH_COFFER_LOG, BENCH_COFFER_LOG_LEVEL, BENCH_KEEP   as for bench/http.ts
 *   COFFER_*                  passed to Coffer (e.g. COFFER_PASSWORD_HASH_CONCURRENCY, COFFER_RATE_LIMIT)
 */
import { spawnSync } from 'node:child_process';
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { intEnv, sleep } from './lib.js';
import {
  ADMIN_PASSWORD, cpuBusy, createUser, fmtMs, fmtRate, HAVE_TASKSET, login, machineLine, NICE, percentile, putValue, quiesce, runMain,
  roleResult, spawnRole, startCoffer, stdinLines, table, threads, type Coffer, type ThreadSample,
} from './procs.js';

const SCRIPT = fileURLToPath(import.meta.url);
const PASSWORD = 'bench-password-0123456789';
const VALUE_100 = 'v'.repeat(100);

// ---------------------------------------------------------------------------------------------
// Role "get": paced GETs, open loop

interface GetParams { base: string; path: string; token: string; rate: number; connections: number; duration: number; warmup: number }
interface GetResult { sent: number; ok: number; other: Record<string, number>; errors: number; p50: number; p90: number; p99: number; p999: number; max: number; lateP99: number; lateMax: number; seconds: number }

async function roleGet(p: GetParams): Promise<void> {
  const url = new URL(p.base);
  const agent = new http.Agent({ keepAlive: true, maxSockets: p.connections });
  const interval = 1000 / p.rate;
  const t0 = performance.now() + 50;
  const mStart = t0 + p.warmup * 1000;
  const mEnd = mStart + p.duration * 1000;
  const lat: number[] = [];
  const late: number[] = [];
  const other: Record<string, number> = {};
  let errors = 0;
  let sent = 0;
  let ok = 0;
  let inFlight = 0;
  const fire = (sched: number) => {
    const start = performance.now();
    const measured = sched >= mStart;
    if (measured) {
      sent++;
      late.push(start - sched);
    }
    inFlight++;
    const req = http.request({ agent, host: url.hostname, port: url.port, path: p.path, headers: { authorization: `Bearer ${p.token}` } }, (res) => {
      res.on('data', () => {});
      res.on('end', () => {
        inFlight--;
        if (!measured) return;
        if (res.statusCode === 200) {
          ok++;
          lat.push(performance.now() - start);
        } else other[String(res.statusCode)] = (other[String(res.statusCode)] ?? 0) + 1;
      });
    });
    req.setTimeout(30_000, () => req.destroy(new Error('timeout')));
    req.on('error', () => {
      inFlight--;
      if (measured) errors++;
    });
    req.end();
  };
  setTimeout(() => console.log('START'), Math.max(0, mStart - performance.now()));
  await new Promise<void>((resolve) => {
    let i = 0;
    const tick = () => {
      const now = performance.now();
      for (let s = t0 + i * interval; s <= now && s < mEnd; s = t0 + ++i * interval) fire(s);
      const next = t0 + i * interval;
      if (next >= mEnd) return resolve();
      setTimeout(tick, Math.max(0, next - performance.now() - 0.5));
    };
    setTimeout(tick, Math.max(0, t0 - performance.now()));
  });
  console.log('END');
  const deadline = performance.now() + 30_000;
  while (inFlight > 0 && performance.now() < deadline) await sleep(5);
  lat.sort((a, b) => a - b);
  late.sort((a, b) => a - b);
  const r: GetResult = {
    sent, ok, other, errors: errors + inFlight,
    p50: percentile(lat, 50), p90: percentile(lat, 90), p99: percentile(lat, 99), p999: percentile(lat, 99.9), max: lat[lat.length - 1] ?? NaN,
    lateP99: percentile(late, 99), lateMax: late[late.length - 1] ?? NaN, seconds: p.duration,
  };
  agent.destroy();
  console.log(JSON.stringify(r));
}

// ---------------------------------------------------------------------------------------------
// Role "storm": login loops from many source addresses

interface StormParams { base: string; clients: Array<{ address: string; username: string }>; password: string; honorRetryAfter: boolean }
interface StormCounts { ok: number; s429: number; s503: number; other: number; errors: number; retryAfter: Record<string, number>; okLatencies: number[] }
interface StormWindow { seconds: number; ok: number; s429: number; s503: number; other: number; errors: number; retryAfter: Record<string, number>; okP50: number; okP99: number; okMax: number }
interface StormResult { window: StormWindow; total: StormWindow; addressesSeen: number }

async function roleStorm(p: StormParams): Promise<void> {
  const url = new URL(p.base);
  const started = performance.now();
  const events: Array<{ t: number; status: number; ms: number; retryAfter?: string }> = [];
  const marks: number[] = [];
  let stop = false;
  let wake: Array<() => void> = [];
  const addressesOk = new Set<string>();
  stdinLines((line) => {
    if (line === 'mark') marks.push(performance.now());
    if (line === 'stop') {
      stop = true;
      for (const w of wake) w();
      wake = [];
    }
  });
  const nap = (ms: number) => new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    wake.push(() => { clearTimeout(t); resolve(); });
  });
  const loop = async (c: { address: string; username: string }) => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1, localAddress: c.address });
    const body = JSON.stringify({ username: c.username, password: p.password });
    while (!stop) {
      const start = performance.now();
      const r = await new Promise<{ status: number; retryAfter?: string }>((resolve) => {
        const req = http.request(
          { agent, host: url.hostname, port: url.port, path: '/v1/login', method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
          (res) => {
            res.on('data', () => {});
            res.on('end', () => resolve({ status: res.statusCode ?? 0, ...(res.headers['retry-after'] ? { retryAfter: String(res.headers['retry-after']) } : {}) }));
          },
        );
        req.setTimeout(60_000, () => req.destroy(new Error('timeout')));
        req.on('error', () => resolve({ status: 0 }));
        req.end(body);
      });
      const now = performance.now();
      events.push({ t: now, status: r.status, ms: now - start, ...(r.retryAfter ? { retryAfter: r.retryAfter } : {}) });
      if (r.status === 200) addressesOk.add(c.address);
      if (r.status === 0) await nap(100); // a refused connection must not spin
      else if ((r.status === 429 || r.status === 503) && p.honorRetryAfter) await nap(Math.min(120, Number(r.retryAfter ?? 1) || 1) * 1000);
    }
    agent.destroy();
  };
  const loops = p.clients.map(loop);
  console.log('READY');
  await Promise.all(loops);
  const ended = performance.now();
  const summarize = (from: number, to: number): StormWindow => {
    const c: StormCounts = { ok: 0, s429: 0, s503: 0, other: 0, errors: 0, retryAfter: {}, okLatencies: [] };
    for (const e of events) {
      if (e.t < from || e.t >= to) continue;
      if (e.status === 200) { c.ok++; c.okLatencies.push(e.ms); } else if (e.status === 429) c.s429++;
      else if (e.status === 503) c.s503++;
      else if (e.status === 0) c.errors++;
      else c.other++;
      if (e.retryAfter) c.retryAfter[`${e.status}:${e.retryAfter}`] = (c.retryAfter[`${e.status}:${e.retryAfter}`] ?? 0) + 1;
    }
    c.okLatencies.sort((a, b) => a - b);
    const { okLatencies, ...rest } = c;
    return { seconds: (to - from) / 1000, ...rest, okP50: percentile(okLatencies, 50), okP99: percentile(okLatencies, 99), okMax: okLatencies[okLatencies.length - 1] ?? NaN };
  };
  const r: StormResult = {
    window: summarize(marks[0] ?? started, marks[1] ?? ended),
    total: summarize(started, ended),
    addressesSeen: addressesOk.size,
  };
  console.log(JSON.stringify(r));
  process.exit(0);
}

// ---------------------------------------------------------------------------------------------
// Main

const RATE = intEnv('BENCH_RATE', 2000, 1);
const CONNECTIONS = intEnv('BENCH_CONNECTIONS', 10, 1);
const DURATION = intEnv('BENCH_DURATION', 10, 1);
const WARMUP = intEnv('BENCH_WARMUP', 2, 0);
const STORM_CLIENTS = intEnv('BENCH_STORM_CLIENTS', 50, 1);
const STORM_SETTLE = intEnv('BENCH_STORM_SETTLE', 3, 0);
const STORM_RETRY = process.env.BENCH_STORM_RETRY ?? 'honor';
const SERVER_CPUS = process.env.BENCH_SERVER_CPUS ?? '0';
const LOAD_CPUS = process.env.BENCH_LOAD_CPUS ?? '1';
const HELPER_NICE = process.env.BENCH_HELPER_NICE;
const ROUNDS = intEnv('BENCH_ROUNDS', 3, 1);
const GET_PATH = process.env.BENCH_GET_PATH ?? '/v1/data/k';

/** The caller's COFFER_* settings go to Coffer, except those the benchmark sets itself. */
function passedSettings(): Record<string, string> {
  const own = new Set(['COFFER_HOST', 'COFFER_PORT', 'COFFER_DATA_DIR', 'COFFER_ADMIN_PASSWORD', 'COFFER_DATABASE_URL', 'COFFER_LOG_LEVEL']);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (k.startsWith('COFFER_') && !own.has(k) && v !== undefined) out[k] = v;
  return out;
}

interface Phase {
  name: string;
  get: GetResult;
  storm?: StormResult;
  /** Deltas over the measured window. */
  server: { cpu: number; main: ThreadSample; others: ThreadSample[] };
  cpus: Map<string, number>;
}

function diffThreads(a: Map<number, ThreadSample>, b: Map<number, ThreadSample>): ThreadSample[] {
  const out: ThreadSample[] = [];
  for (const [tid, t] of b) {
    const s = a.get(tid) ?? { tid, comm: t.comm, cpu: 0, runS: 0, waitS: 0, slices: 0 };
    out.push({ tid, comm: t.comm, cpu: t.cpu - s.cpu, runS: t.runS - s.runS, waitS: t.waitS - s.waitS, slices: t.slices - s.slices });
  }
  return out.sort((x, y) => y.runS - x.runS || y.cpu - x.cpu);
}

async function phase(name: string, coffer: Coffer, token: string, storm?: { clients: StormParams['clients'] }): Promise<Phase> {
  let stormChild: ReturnType<typeof spawnRole> | undefined;
  let stormDone: Promise<StormResult> | undefined;
  if (storm) {
    const params: StormParams = { base: coffer.base, clients: storm.clients, password: PASSWORD, honorRetryAfter: STORM_RETRY !== 'ignore' };
    stormChild = spawnRole(SCRIPT, 'storm', params, LOAD_CPUS || undefined);
    let ready!: () => void;
    const isReady = new Promise<void>((r) => (ready = r));
    stormDone = roleResult<StormResult>(stormChild, 'storm', (line) => line === 'READY' && ready());
    await Promise.race([isReady, stormDone]);
    await sleep(STORM_SETTLE * 1000);
  }
  const params: GetParams = { base: coffer.base, path: GET_PATH, token, rate: RATE, connections: CONNECTIONS, duration: DURATION, warmup: WARMUP };
  const child = spawnRole(SCRIPT, 'get', params, LOAD_CPUS || undefined);
  let t0 = threads(coffer.pid);
  let c0 = cpuBusy();
  let t1 = t0;
  let c1 = c0;
  const get = await roleResult<GetResult>(child, `${name} GET load`, (line) => {
    if (line === 'START') {
      t0 = threads(coffer.pid);
      c0 = cpuBusy();
      stormChild?.stdin!.write('mark\n');
    } else if (line === 'END') {
      t1 = threads(coffer.pid);
      c1 = cpuBusy();
      stormChild?.stdin!.write('mark\n');
    }
  });
  let stormResult: StormResult | undefined;
  if (stormChild && stormDone) {
    stormChild.stdin!.write('stop\n');
    stormResult = await stormDone;
  }
  const d = diffThreads(t0, t1);
  const main = d.find((t) => t.tid === coffer.pid)!;
  const cpus = new Map<string, number>();
  for (const [k, v] of c1) cpus.set(k, v - (c0.get(k) ?? 0));
  return { name, get, ...(stormResult ? { storm: stormResult } : {}), server: { cpu: d.reduce((s, t) => s + t.cpu, 0), main, others: d.filter((t) => t.tid !== coffer.pid) }, cpus };
}

async function main(): Promise<void> {
  if (STORM_CLIENTS * ROUNDS > 60_000) throw new Error('BENCH_STORM_CLIENTS x BENCH_ROUNDS: at most 60000 source addresses');
  const settings = passedSettings();
  console.log('Coffer login storm benchmark');
  console.log(`machine : ${machineLine()}`);
  console.log(
    `coffer  : ${Object.keys(settings).length ? Object.entries(settings).map(([k, v]) => `${k}=${v}`).join(' ') : 'embedded defaults'}, ` +
      `${HAVE_TASKSET && SERVER_CPUS ? `pinned to CPU ${SERVER_CPUS} (taskset)` : 'not pinned'}` +
      (NICE ? `; nice ${NICE}` : '') +
      (HELPER_NICE ? `; every thread but the event loop reniced to ${HELPER_NICE} (experiment)` : ''),
  );
  console.log(
    `load    : GET ${GET_PATH} at ${RATE} req/s (open loop, <= ${CONNECTIONS} connections), ${DURATION} s measured after ${WARMUP} s; ` +
      `client processes ${HAVE_TASKSET && LOAD_CPUS ? `pinned to CPU ${LOAD_CPUS}` : 'not pinned (anywhere)'}`,
  );
  console.log(`rounds  : ${ROUNDS} x (A: GET load alone, B: GET load during a storm); the bar compares the medians`);
  console.log(
    `storm   : ${STORM_CLIENTS} login loops from as many source addresses (127.0.0.2 on; each round new ones), one user each, right password; ` +
      `429/503 ${STORM_RETRY === 'ignore' ? 'retried at once' : 'wait Retry-After'}; starts ${STORM_SETTLE} s before the GET load`,
  );

  const coffer = await startCoffer({ name: 'coffer', env: settings, cpus: SERVER_CPUS || undefined });
  console.log(`pid     : ${coffer.pid}, log ${coffer.logFile}`);
  const admin = await login(coffer.base, 'admin', ADMIN_PASSWORD);
  await createUser(coffer.base, admin, 'bench', PASSWORD);
  const token = await login(coffer.base, 'bench', PASSWORD);
  await putValue(coffer.base, token, 'k', VALUE_100);
  process.stderr.write(`  creating ${STORM_CLIENTS} storm users...`);
  for (let i = 0; i < STORM_CLIENTS; i++) await createUser(coffer.base, admin, `storm${i + 1}`, PASSWORD);
  // Each round's storm comes from addresses of its own, so the per-address limit of one round
  // (COFFER_RATE_LIMIT per COFFER_RATE_LIMIT_WINDOW) does not carry into the next.
  const clientsOf = (round: number): StormParams['clients'] =>
    Array.from({ length: STORM_CLIENTS }, (_, i) => ({ address: `127.0.${Math.floor((2 + round * STORM_CLIENTS + i) / 256)}.${(2 + round * STORM_CLIENTS + i) % 256}`, username: `storm${i + 1}` }));
  process.stderr.write(' done\n');
  if (HELPER_NICE) {
    const tids = [...threads(coffer.pid).values()].filter((t) => t.tid !== coffer.pid);
    for (const t of tids) spawnSync('renice', ['--priority', HELPER_NICE, '-p', String(t.tid)], { stdio: 'ignore' });
    console.log(`reniced : ${tids.length} threads (${[...new Set(tids.map((t) => t.comm))].join(', ')}) to ${HELPER_NICE}`);
  }
  console.log('');

  const phases: Phase[] = [];
  const serverPids = () => [coffer.pid];
  for (let round = 0; round < ROUNDS; round++) {
    for (const storm of [false, true]) {
      const name = `${storm ? 'B storm' : 'A alone'} ${round + 1}`;
      await quiesce(serverPids);
      process.stderr.write(`  ${name}...`);
      const p = await phase(name, coffer, token, storm ? { clients: clientsOf(round) } : undefined);
      process.stderr.write(` p99 ${fmtMs(p.get.p99)} ms\n`);
      phases.push(p);
    }
  }
  const alone = phases.filter((p) => !p.storm);
  const storms = phases.filter((p) => p.storm);
  console.log('');
  console.log(`GET ${GET_PATH} latency (ms, from the moment the client sent it; "client late" = how far behind its schedule the client sent):`);
  const rows: string[][] = [['phase', 'ok/s', 'p50', 'p90', 'p99', 'p99.9', 'max', 'client late p99', 'server CPU', 'event loop CPU', 'its runqueue wait', 'other threads CPU', 'notes']];
  for (const p of phases) {
    const g = p.get;
    const notes = [
      Object.keys(g.other).length ? `non-200: ${JSON.stringify(g.other)}` : '',
      g.errors ? `${g.errors} errors` : '',
      g.sent < 0.97 * RATE * DURATION ? `sent only ${g.sent}` : '',
    ].filter(Boolean).join('; ');
    const sec = g.seconds;
    rows.push([
      p.name, fmtRate(g.ok / sec), fmtMs(g.p50), fmtMs(g.p90), fmtMs(g.p99), fmtMs(g.p999), fmtMs(g.max), fmtMs(g.lateP99),
      `${Math.round((100 * p.server.cpu) / sec)}%`, `${Math.round((100 * p.server.main.cpu) / sec)}%`,
      `${fmtMs((1000 * p.server.main.waitS) / Math.max(1, p.server.main.slices))} ms x ${p.server.main.slices} = ${Math.round((100 * p.server.main.waitS) / sec)}%`,
      `${Math.round((100 * p.server.others.reduce((s, t) => s + t.cpu, 0)) / sec)}%`, notes,
    ]);
  }
  console.log(table(rows));
  console.log('(CPU: % of one core over the measured window; runqueue wait: time the event loop thread was runnable but not running, per time it was scheduled, from schedstat;');
  console.log(' "others on the server\'s CPU": that CPU\'s busy time less Coffer\'s: other processes and the kernel\'s loopback work, a measure of disturbance)');
  const busy = (p: Phase) => [...p.cpus].filter(([k]) => k !== 'all').map(([k, v]) => `cpu${k} ${Math.round((100 * v) / p.get.seconds)}%`).join(', ');
  for (const p of phases) {
    const top = p.server.others.filter((t) => t.cpu > 0.01 * p.get.seconds).slice(0, 4).map((t) => `${t.comm}[${t.tid}] ${Math.round((100 * t.cpu) / p.get.seconds)}%`).join(', ');
    const serverCpu = HAVE_TASKSET && /^\d+$/.test(SERVER_CPUS) ? p.cpus.get(SERVER_CPUS) : undefined;
    const others = serverCpu === undefined ? '' : `; others on the server's CPU ${Math.max(0, Math.round((100 * (serverCpu - p.server.cpu)) / p.get.seconds))}%`;
    console.log(`  ${p.name.padEnd(9)} machine: ${busy(p)}${others}; busiest other server threads: ${top || '-'}`);
  }

  console.log('');
  console.log('Storm, during the measured window of each B phase (and over its whole run, settle and warmup included):');
  const srows: string[][] = [['phase', 'logins 200', 'logins/s', 'login p50 ms', 'login p99 ms', '429', '503', 'other', 'errors', 'Retry-After seen (status:seconds=count)', 'whole run', 'addresses with a 200']];
  for (const p of storms) {
    const w = p.storm!.window;
    const t = p.storm!.total;
    srows.push([
      p.name, String(w.ok), fmtRate(w.ok / w.seconds), fmtMs(w.okP50), fmtMs(w.okP99), String(w.s429), String(w.s503), String(w.other), String(w.errors), JSON.stringify(w.retryAfter),
      `${t.ok} x 200, ${t.s429} x 429, ${t.s503} x 503, ${t.errors} errors in ${t.seconds.toFixed(1)} s`, `${p.storm!.addressesSeen}/${STORM_CLIENTS}`,
    ]);
  }
  console.log(table(srows));

  const median = (xs: number[]) => {
    const v = [...xs].sort((x, y) => x - y);
    return v.length % 2 ? v[(v.length - 1) / 2]! : (v[v.length / 2 - 1]! + v[v.length / 2]!) / 2;
  };
  const a = { p50: median(alone.map((p) => p.get.p50)), p99: median(alone.map((p) => p.get.p99)), p999: median(alone.map((p) => p.get.p999)) };
  const b = { p50: median(storms.map((p) => p.get.p50)), p99: median(storms.map((p) => p.get.p99)), p999: median(storms.map((p) => p.get.p999)) };
  const ratio = b.p99 / a.p99;
  console.log('');
  console.log(`GET ${GET_PATH}, median over ${ROUNDS} round(s) (ms):   p50        p99        p99.9`);
  console.log(`  alone                                      ${fmtMs(a.p50).padStart(6)}     ${fmtMs(a.p99).padStart(6)}     ${fmtMs(a.p999).padStart(6)}`);
  console.log(`  during the storm                           ${fmtMs(b.p50).padStart(6)}     ${fmtMs(b.p99).padStart(6)}     ${fmtMs(b.p999).padStart(6)}`);
  console.log(`  ratio                                      ${(b.p50 / a.p50).toFixed(2).padStart(5)}x     ${ratio.toFixed(2).padStart(5)}x     ${(b.p999 / a.p999).toFixed(2).padStart(5)}x`);
  console.log(`  per round, p99 storm/alone: ${storms.map((p, i) => `${(p.get.p99 / alone[i]!.get.p99).toFixed(2)}x`).join(', ')}`);
  console.log(`bar (storm p99 <= 3x alone, medians): ${ratio <= 3 ? 'HOLDS' : 'FAILS'}`);
  if (!(ratio <= 3)) process.exitCode = 2;
}

const [role, json] = process.argv.slice(2);
if (role === 'get') void roleGet(JSON.parse(json!) as GetParams);
else if (role === 'storm') void roleStorm(JSON.parse(json!) as StormParams);
else runMain(main);

/**
 * Challenge benchmark: what a small upload costs a key-holding client (SPEC §2 "Challenge", §4
 * "The older parcel API") compared with a Bearer-token upload, in the same run, against the same
 * Coffer process (from dist/, embedded defaults, a fresh temp data dir):
 *
 *   bearer   PUT /v1/objects/bench/{n} with an access token                     (1 request per op)
 *   ed25519  POST /api/v1/auth {"user":"bench","operation":{"name":"upload","hash"}}, then a signed
 *            raw POST /api/v1/parcels; the Ed25519 key is registered to user bench (2 requests per op)
 *   p256     the same the AMO way: a P-256 key, user = its address (self-registered on first use,
 *            COFFER_PUBKEY_SELF_REGISTRATION=true), JSON {"owner","metadata","data": hex} upload,
 *            raw r‖s signature in hex                                            (2 requests per op)
 *
 *   npm run build && npx tsx bench/challenge.ts
 *
 * This script is the client: C loops in its own process, each running one operation after the
 * other over Node's fetch (undici, keep-alive). Coffer is a child process. An operation's time
 * includes the client's own work: hashing the payload, signing the token, hex-encoding (p256).
 * Payloads are random per operation (generated before the clock starts), so every id differs.
 * Phases run one after the other (bearer, ed25519, p256), each after an unmeasured warmup.
 * Compare the ratios to bearer within one run, not absolute numbers across runs.
 *
 * Any answer other than the expected one (201 for bearer, 200 for auth and parcels), or a network
 * error, is counted and listed, and makes the script exit 1. At the end it counts the spent
 * challenge jtis in Coffer's database (used_challenges) and checks the number against the
 * successful signed uploads (warmups and the setup checks included).
 *
 * Settings (environment):
 *   BENCH_CONCURRENCY=16     concurrent client loops (each one operation at a time)
 *   BENCH_DURATION=10        seconds measured per scenario
 *   BENCH_WARMUP=1           seconds of unmeasured load before each measurement (0 = none)
 *   BENCH_SIZE=1024          payload bytes per operation
 *   BENCH_SCENARIOS=bearer,ed25519,p256   which scenarios, in this order
 *   BENCH_COFFER_MAIN=<file> another build's main.js to run instead of dist/main.js
 *   BENCH_COFFER_LOG_LEVEL=info   Coffer's log level (info is the default and part of the real cost)
 *   BENCH_COFFER_LOG=<file>  where Coffer's log goes (default: a file in the temp dir; /dev/null works)
 *   BENCH_JSON=<file>        also write the results as JSON
 *   BENCH_KEEP=1             keep the temp dir (Coffer's data and log) and print its path
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import SQLite from 'better-sqlite3';
import { cleanEnv, freePort, intEnv, npmStartNode, sleep } from './lib.js';
import { challengeHeaders, makeKey, type KeyHolder } from '../test/helpers/key-client.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..');
const COFFER_MAIN = process.env.BENCH_COFFER_MAIN ? path.resolve(process.env.BENCH_COFFER_MAIN) : path.join(ROOT, 'dist', 'main.js');


const CONCURRENCY = intEnv('BENCH_CONCURRENCY', 16, 1);
const DURATION = intEnv('BENCH_DURATION', 10, 1);
const WARMUP = intEnv('BENCH_WARMUP', 1, 0);
const SIZE = intEnv('BENCH_SIZE', 1024, 1);
const SCENARIO_NAMES = (process.env.BENCH_SCENARIOS ?? 'bearer,ed25519,p256').split(',').map((s) => s.trim()).filter(Boolean);
const KEEP = process.env.BENCH_KEEP === '1';
const COFFER_LOG_LEVEL = process.env.BENCH_COFFER_LOG_LEVEL ?? 'info';

const USERNAME = 'bench';
const PASSWORD = 'bench-password-0123456789';
const ADMIN_PASSWORD = 'admin-password-0123456789';
/** Coffer's defaults (COFFER_CHALLENGE_TTL, COFFER_CLOCK_SKEW): a spent jti is swept this long after it was issued. */
const JTI_KEPT_MS = (60 + 30) * 1000;

// ---------------------------------------------------------------------------------------------
// The child process and temp dir, cleaned up on every exit path.

let child: ChildProcess | undefined;
let tempDir: string | undefined;
let stopping = false;

async function cleanup(): Promise<void> {
  stopping = true;
  const c = child;
  if (c && c.exitCode === null && c.signalCode === null) {
    const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
    c.kill('SIGTERM');
    const timer = setTimeout(() => c.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
  if (tempDir) {
    if (KEEP) console.log(`kept ${tempDir}`);
    else rmSync(tempDir, { recursive: true, force: true });
    tempDir = undefined;
  }
}

process.on('exit', () => {
  if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  if (tempDir && !KEEP) rmSync(tempDir, { recursive: true, force: true });
});
// `on`, not `once`: Ctrl-C can arrive twice (terminal and tsx), see bench/http.ts.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    console.error(`\n${signal}: stopping`);
    void cleanup().finally(() => process.exit(130));
  });
}

// ---------------------------------------------------------------------------------------------
// Coffer




async function expectStatus(res: Response, what: string, ...ok: number[]): Promise<string> {
  const text = await res.text();
  if (!ok.includes(res.status)) throw new Error(`${what}: HTTP ${res.status} ${text.slice(0, 300)}`);
  return text;
}

async function login(base: string, username: string, password: string): Promise<string> {
  const res = await fetch(`${base}/v1/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }) });
  const body = JSON.parse(await expectStatus(res, `login ${username}`, 200)) as { access_token?: string };
  if (!body.access_token) throw new Error(`login ${username}: no access_token`);
  return body.access_token;
}

interface Coffer {
  base: string;
  pid: number;
  dbFile: string;
  token: string;
}

async function startCoffer(): Promise<Coffer> {
  if (!existsSync(COFFER_MAIN)) throw new Error(`${COFFER_MAIN} is missing: run \`npm run build\` first`);
  tempDir = mkdtempSync(path.join(os.tmpdir(), 'coffer-bench-challenge-'));
  const dataDir = path.join(tempDir, 'data');
  const logFile = process.env.BENCH_COFFER_LOG ? path.resolve(process.env.BENCH_COFFER_LOG) : path.join(tempDir, 'coffer.log');
  const port = await freePort();
  const env = Object.assign(cleanEnv(), {
    COFFER_HOST: '127.0.0.1',
    COFFER_PORT: String(port),
    COFFER_DATA_DIR: dataDir,
    COFFER_ADMIN_PASSWORD: ADMIN_PASSWORD,
    // The load comes from one address; the per-address limit would measure only itself.
    COFFER_RATE_LIMIT: '1000000',
    COFFER_LOG_LEVEL,
    COFFER_PUBKEY_SELF_REGISTRATION: 'true',
    NODE_ENV: 'production',
  });
  const logFd = openSync(logFile, 'a');
  // As `npm start` runs it: its node flags and MALLOC_* settings.
  const start = npmStartNode();
  const c = spawn(process.execPath, [...start.flags, COFFER_MAIN, 'serve'], { cwd: tempDir, env: { ...start.env, ...env }, stdio: ['ignore', logFd, logFd] });
  closeSync(logFd);
  child = c;
  if (stopping) c.kill('SIGKILL');
  const base = `http://127.0.0.1:${port}`;
  const tail = () => (logFile === '/dev/null' || !existsSync(logFile) ? '' : readFileSync(logFile, 'utf8').split('\n').slice(-20).join('\n'));
  for (const deadline = Date.now() + 30_000; ; await sleep(100)) {
    if (c.exitCode !== null || c.signalCode !== null) throw new Error(`Coffer exited (${c.exitCode ?? c.signalCode}) before it was ready\n${tail()}`);
    if (Date.now() > deadline) throw new Error(`Coffer not ready after 30 s\n${tail()}`);
    if (await fetch(`${base}/readyz`).then((r) => r.ok, () => false)) break;
  }
  const adminToken = await login(base, 'admin', ADMIN_PASSWORD);
  await expectStatus(
    await fetch(`${base}/v1/users`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ username: USERNAME, password: PASSWORD }),
    }),
    'create the bench user',
    201,
  );
  return { base, pid: c.pid!, dbFile: path.join(dataDir, 'coffer.db'), token: await login(base, USERNAME, PASSWORD) };
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux only). */
function procCpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Scenarios: one operation each, which returns a failure description or undefined.

class Failure extends Error {}

/** A Buffer as the Uint8Array fetch's types want (the same memory, no copy). */
const bytesOf = (b: Buffer) => new Uint8Array(b.buffer as ArrayBuffer, b.byteOffset, b.byteLength);

async function answer(res: Response, what: string, expected: number): Promise<string> {
  const text = await res.text();
  if (res.status !== expected) throw new Failure(`${what} → ${res.status} ${text.replace(/\s+/g, ' ').slice(0, 160)}`);
  return text;
}

interface Scenario {
  name: string;
  requestsPerOp: number;
  describe: string;
  /** Signed uploads spend one challenge jti each. */
  signed: boolean;
  op(data: Buffer, n: number): Promise<void>;
}

function scenarios(c: Coffer, ed: KeyHolder, p256: KeyHolder): Record<string, Scenario> {
  const auth = async (user: string, data: Buffer): Promise<{ hash: string; token: string }> => {
    const hash = createHash('sha256').update(data).digest('hex');
    const res = await fetch(`${c.base}/api/v1/auth`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user, operation: { name: 'upload', hash } }),
    });
    const { token } = JSON.parse(await answer(res, 'POST /api/v1/auth', 200)) as { token?: string };
    if (typeof token !== 'string') throw new Failure('POST /api/v1/auth → 200 without a token');
    return { hash, token };
  };
  const checkId = (text: string, hash: string) => {
    const { id } = JSON.parse(text) as { id?: string };
    if (typeof id !== 'string' || id.length !== 72 || !id.endsWith(hash.toUpperCase())) throw new Failure(`POST /api/v1/parcels → 200 with id ${String(id)}`);
  };
  return {
    bearer: {
      name: '(a) bearer PUT /v1/objects',
      requestsPerOp: 1,
      signed: false,
      describe: 'PUT /v1/objects/bench/{n}, Authorization: Bearer, raw body',
      op: async (data, n) => {
        const res = await fetch(`${c.base}/v1/objects/bench/${n}`, {
          method: 'PUT',
          headers: { authorization: `Bearer ${c.token}`, 'content-type': 'application/octet-stream' },
          body: bytesOf(data),
        });
        await answer(res, 'PUT /v1/objects', 201);
      },
    },
    ed25519: {
      name: '(b) ed25519 auth + raw parcel',
      requestsPerOp: 2,
      signed: true,
      describe: `POST /api/v1/auth (user ${USERNAME}) + POST /api/v1/parcels raw body, Ed25519 key registered to ${USERNAME}`,
      op: async (data) => {
        const { hash, token } = await auth(USERNAME, data);
        const res = await fetch(`${c.base}/api/v1/parcels`, {
          method: 'POST',
          headers: { ...challengeHeaders(ed, token), 'content-type': 'application/octet-stream' },
          body: bytesOf(data),
        });
        checkId(await answer(res, 'POST /api/v1/parcels (raw)', 200), hash);
      },
    },
    p256: {
      name: '(c) p256 auth + JSON parcel',
      requestsPerOp: 2,
      signed: true,
      describe: 'POST /api/v1/auth (user = the key\'s address) + POST /api/v1/parcels JSON {"owner","metadata","data": hex}, self-registered P-256 key',
      op: async (data, n) => {
        const { hash, token } = await auth(p256.address!, data);
        const res = await fetch(`${c.base}/api/v1/parcels`, {
          method: 'POST',
          // AMO's form: the point and a raw r‖s signature, in hex.
          headers: { ...challengeHeaders(p256, token), 'content-type': 'application/json' },
          body: JSON.stringify({ owner: p256.address, metadata: { name: `bench-${n}.bin`, size: data.length }, data: data.toString('hex') }),
        });
        checkId(await answer(res, 'POST /api/v1/parcels (JSON)', 200), hash);
      },
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Load: CONCURRENCY loops in this process

interface Result {
  ops: number;
  seconds: number;
  opsPerSec: number;
  p50: number;
  p99: number;
  clientCpu: number;
  cofferCpu: number | undefined;
}

/** Every failure of the run (warmups and checks included): description → count. */
const failures = new Map<string, number>();
/** Successful signed uploads of the whole run: each spent one jti. */
let signedOk = 0;
let seq = 0;

function recordFailure(scenario: Scenario, e: unknown): void {
  const what = e instanceof Failure ? e.message : `network error: ${e instanceof Error ? `${e.message}${e.cause instanceof Error ? ` (${e.cause.message})` : ''}` : String(e)}`;
  const key = `${scenario.name}: ${what}`;
  failures.set(key, (failures.get(key) ?? 0) + 1);
}

async function runLoad(s: Scenario, seconds: number, pid: number): Promise<Result> {
  const latencies: number[] = [];
  const cpu0 = process.cpuUsage();
  const server0 = procCpuSeconds(pid);
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  const loop = async () => {
    while (performance.now() < end) {
      const data = randomBytes(SIZE);
      const n = seq++;
      const start = performance.now();
      try {
        await s.op(data, n);
        latencies.push(performance.now() - start);
        if (s.signed) signedOk++;
      } catch (e) {
        recordFailure(s, e);
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, loop));
  const elapsed = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const server1 = procCpuSeconds(pid);
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
  return {
    ops: latencies.length,
    seconds: elapsed,
    opsPerSec: latencies.length / elapsed,
    p50: at(0.5),
    p99: at(0.99),
    clientCpu: (cpu.user + cpu.system) / 1e6 / elapsed,
    cofferCpu: server0 !== undefined && server1 !== undefined ? (server1 - server0) / elapsed : undefined,
  };
}

// ---------------------------------------------------------------------------------------------
// Output

const fmtRate = (n: number) => (n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(1));
const fmtMs = (n: number) => (Number.isNaN(n) ? '-' : n >= 100 ? String(Math.round(n)) : n.toFixed(2));
const pct = (a: number, b: number) => (b > 0 ? `${((100 * a) / b).toFixed(1)}%` : 'n/a');

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  return [line(rows[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n');
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const known = ['bearer', 'ed25519', 'p256'];
  const unknown = SCENARIO_NAMES.filter((n) => !known.includes(n));
  if (unknown.length) throw new Error(`BENCH_SCENARIOS: unknown ${unknown.join(', ')} (known: ${known.join(', ')})`);

  const loadavg = () => os.loadavg().map((l) => l.toFixed(2)).join(' ');
  console.log('Coffer challenge benchmark');
  console.log(`machine : ${os.availableParallelism()} CPUs (${os.cpus()[0]?.model.trim() ?? '?'}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, load avg ${loadavg()}`);
  console.log(`node    : ${process.version} (${os.platform()} ${os.release()})`);
  console.log(
    `settings: ${CONCURRENCY} client loops, ${DURATION} s per scenario after ${WARMUP} s warmup, ${SIZE}-byte random payloads; ` +
      'the client is this process (fetch, keep-alive); an operation includes its client work (sha256, signing, hex)',
  );
  console.log(
    `coffer  : ${path.relative(ROOT, COFFER_MAIN) || COFFER_MAIN} serve, embedded defaults (SQLite, fs blobs, EdDSA tokens), ` +
      `COFFER_PUBKEY_SELF_REGISTRATION=true, COFFER_LOG_LEVEL=${COFFER_LOG_LEVEL} to ${process.env.BENCH_COFFER_LOG ?? 'a file'}`,
  );

  const started = Date.now();
  const coffer = await startCoffer();
  const ed = makeKey('ed25519');
  const p256 = makeKey('p256');
  await expectStatus(
    await fetch(`${coffer.base}/v1/keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${coffer.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ key: ed.raw.toString('hex'), label: 'bench ed25519' }),
    }),
    'register the Ed25519 key',
    201,
  );
  const all = scenarios(coffer, ed, p256);
  const chosen = SCENARIO_NAMES.map((n) => all[n]!);
  console.log(`pid     : coffer ${coffer.pid}`);
  for (const s of chosen) console.log(`${s.name}: ${s.describe}`);
  console.log('');

  let firstChallengeAt: number | undefined;
  const results = new Map<string, Result>();
  for (const s of chosen) {
    if (s.signed) firstChallengeAt ??= Date.now();
    // One operation first (for p256 it also self-registers the address): a broken setup fails here.
    const failed = failures.size;
    try {
      await s.op(randomBytes(SIZE), seq++);
      if (s.signed) signedOk++;
    } catch (e) {
      recordFailure(s, e);
    }
    if (failures.size > failed) throw new Error(`${s.name} does not work before the load: ${[...failures.keys()].at(-1)}`);

    process.stderr.write(`  ${s.name}: `);
    if (WARMUP > 0) await runLoad(s, WARMUP, coffer.pid);
    const r = await runLoad(s, DURATION, coffer.pid);
    results.set(s.name, r);
    process.stderr.write(`${fmtRate(r.opsPerSec)} ops/s\n`);
  }

  // The jtis Coffer spent, from its own database (read-only, beside the running server).
  let jtis: number | undefined;
  const swept = firstChallengeAt !== undefined && Date.now() - firstChallengeAt >= JTI_KEPT_MS - 5000;
  if (firstChallengeAt !== undefined && !swept) {
    const db = new SQLite(coffer.dbFile, { readonly: true, fileMustExist: true });
    try {
      jtis = (db.prepare('SELECT count(*) AS n FROM used_challenges').get() as { n: number }).n;
    } finally {
      db.close();
    }
  }

  const base = results.get(all.bearer!.name);
  const rows: string[][] = [['scenario', 'req/op', 'ops', 'ops/s', 'req/s', 'p50 ms/op', 'p99 ms/op', 'ops/s vs (a)', 'client CPU', 'coffer CPU']];
  for (const s of chosen) {
    const r = results.get(s.name)!;
    rows.push([
      s.name,
      String(s.requestsPerOp),
      String(r.ops),
      fmtRate(r.opsPerSec),
      fmtRate(r.opsPerSec * s.requestsPerOp),
      fmtMs(r.p50),
      fmtMs(r.p99),
      base ? pct(r.opsPerSec, base.opsPerSec) : '-',
      `${Math.round(100 * r.clientCpu)}%`,
      r.cofferCpu === undefined ? '-' : `${Math.round(100 * r.cofferCpu)}%`,
    ]);
  }
  console.log('');
  console.log(table(rows));
  console.log('');
  console.log('CPU: share of one core over the measurement (100% = one core busy); client = this process.');

  let failedTotal = 0;
  for (const n of failures.values()) failedTotal += n;
  console.log(`failures: ${failedTotal}${failedTotal ? '' : ' (every answer was the expected 201 / 200)'}`);
  for (const [what, n] of failures) console.log(`  ${n} × ${what}`);

  let jtiMismatch = false;
  if (firstChallengeAt !== undefined) {
    if (jtis === undefined) {
      console.log(`challenge jtis: not counted (the run outlasted the ${JTI_KEPT_MS / 1000} s after which Coffer sweeps spent jtis); ${signedOk} successful signed uploads`);
    } else {
      jtiMismatch = jtis !== signedOk;
      console.log(
        `challenge jtis spent (used_challenges): ${jtis}; successful signed uploads (warmups and checks included): ${signedOk} → ` +
          (jtiMismatch ? 'MISMATCH' : 'equal'),
      );
    }
  }
  console.log(`(${Math.round((Date.now() - started) / 1000)} s; load avg now ${loadavg()})`);

  if (process.env.BENCH_JSON) {
    const settings = { concurrency: CONCURRENCY, duration: DURATION, warmup: WARMUP, size: SIZE, cofferMain: COFFER_MAIN, cofferLogLevel: COFFER_LOG_LEVEL };
    const machine = { cpus: os.availableParallelism(), model: os.cpus()[0]?.model.trim(), node: process.version };
    writeFileSync(
      process.env.BENCH_JSON,
      JSON.stringify({ machine, settings, results: Object.fromEntries(results), failures: Object.fromEntries(failures), jtis, signedOk }, null, 2),
    );
  }
  if (failedTotal > 0 || jtiMismatch) process.exitCode = 1;
}

main()
  .catch((e: unknown) => {
    if (!stopping) console.error(`\nbenchmark failed: ${e instanceof Error ? e.message : String(e)}`);
    process.exitCode = 1;
  })
  .finally(() => cleanup());

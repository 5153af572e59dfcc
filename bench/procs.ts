/**
 * What bench/login-storm.ts and bench/nodes.ts share: child processes that are always cleaned up,
 * Coffer started from dist/ (optionally pinned to CPUs), the CPU time processes and threads used
 * (from /proc), and helpers to run a role of the same script in a child process.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cleanEnv, freePort, npmStartNode, sleep } from './lib.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.resolve(HERE, '..');
export const COFFER_MAIN = process.env.BENCH_COFFER_MAIN ? path.resolve(process.env.BENCH_COFFER_MAIN) : path.join(ROOT, 'dist', 'main.js');
export const ADMIN_PASSWORD = 'admin-password-0123456789';

// ---------------------------------------------------------------------------------------------
// Children and temp dirs, cleaned up on every exit path.

const children = new Set<ChildProcess>();
const tempDirs: string[] = [];
const cleanups: Array<() => Promise<void> | void> = [];
let stopping = false;
export const KEEP = process.env.BENCH_KEEP === '1';

export function track(child: ChildProcess): ChildProcess {
  if (stopping) {
    child.kill('SIGKILL');
    throw new Error('stopping');
  }
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

export function tempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

/** Run at cleanup, before the temp dirs go (dropping a database, say). */
export function onCleanup(fn: () => Promise<void> | void): void {
  cleanups.push(fn);
}

/** A server writing a CPU profile (BENCH_CPU_PROF) on its way out is given time to finish it. */
const EXIT_GRACE_MS = process.env.BENCH_CPU_PROF ? 15_000 : 5000;

export async function cleanup(): Promise<void> {
  if (stopping) return;
  stopping = true;
  for (const c of children) c.kill('SIGTERM');
  const deadline = Date.now() + EXIT_GRACE_MS;
  while (children.size && Date.now() < deadline) await sleep(50);
  for (const c of children) c.kill('SIGKILL');
  for (const fn of cleanups.reverse()) {
    try {
      await fn();
    } catch (e) {
      console.error(`cleanup: ${(e as Error).message}`);
    }
  }
  for (const d of tempDirs) {
    if (KEEP) console.error(`kept ${d}`);
    else rmSync(d, { recursive: true, force: true });
  }
}

// `on`, not `once`: Ctrl-C reaches this process twice (from the terminal's process group and relayed
// by tsx), and with no listener left the second one would exit before the children are stopped.
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    if (stopping) return;
    console.error(`\n${sig}: stopping`);
    void cleanup().finally(() => process.exit(130));
  });
}
// An exit that skipped cleanup (an uncaught error) still leaves no server running.
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

// ---------------------------------------------------------------------------------------------
// CPU pinning

/** Runs a benchmark's main: a failure is one line and exit code 1; children and temp dirs go either way. */
export function runMain(main: () => Promise<void>): void {
  main()
    .catch((e: unknown) => {
      console.error(`\nbenchmark failed: ${e instanceof Error ? e.message : String(e)}`);
      process.exitCode = 1;
    })
    .finally(() => cleanup());
}

export const HAVE_TASKSET = spawnSync('taskset', ['-c', '0', 'true']).status === 0;

/**
 * BENCH_NICE (e.g. -10, as root): the benchmark's servers and load generators run at this nice
 * value, so other users' jobs on a shared machine disturb the measurement less. Unset: unchanged.
 */
export const NICE = process.env.BENCH_NICE || undefined;

/** The command line prefixed with `taskset -c cpus` when taskset works and cpus is set, and with `nice -n BENCH_NICE`. */
export function pinned(cpus: string | undefined, cmd: string[]): string[] {
  const c = HAVE_TASKSET && cpus ? ['taskset', '-c', cpus, ...cmd] : cmd;
  return NICE ? ['nice', '-n', NICE, ...c] : c;
}

// ---------------------------------------------------------------------------------------------
// Coffer

export interface Coffer {
  name: string;
  base: string;
  child: ChildProcess;
  pid: number;
  logFile: string;
  dir: string;
}

/** Polls /readyz until it answers 200; fails at once if the process exits, with `tail()` (its log) in the error. */
export async function waitReady(base: string, child: ChildProcess, what: string, tail: () => string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${what} exited (${child.exitCode ?? child.signalCode}) before it was ready\n${tail()}`);
    try {
      if ((await fetch(`${base}/readyz`)).ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${what} not ready after ${timeoutMs / 1000} s\n${tail()}`);
    await sleep(100);
  }
}

/** Coffer from dist/, run as `npm start` runs it (its flags and environment), plus `nodeArgs`. */
export async function startCoffer(opts: { name: string; env: Record<string, string>; cpus?: string | undefined; dir?: string; logLevel?: string; nodeArgs?: string[] }): Promise<Coffer> {
  if (!existsSync(COFFER_MAIN)) throw new Error(`${COFFER_MAIN} is missing: run \`npm run build\` first`);
  const dir = opts.dir ?? tempDir(`coffer-${opts.name}-`);
  const logFile = process.env.BENCH_COFFER_LOG ? path.resolve(process.env.BENCH_COFFER_LOG) : path.join(dir, `${opts.name}.log`);
  const port = await freePort();
  const start = npmStartNode();
  const env: NodeJS.ProcessEnv = {
    ...cleanEnv(),
    COFFER_HOST: '127.0.0.1',
    COFFER_PORT: String(port),
    COFFER_DATA_DIR: path.join(dir, 'data'),
    COFFER_ADMIN_PASSWORD: ADMIN_PASSWORD,
    COFFER_LOG_LEVEL: opts.logLevel ?? process.env.BENCH_COFFER_LOG_LEVEL ?? 'info',
    NODE_ENV: 'production',
    ...start.env,
    ...opts.env,
  };
  const logFd = openSync(logFile, 'a');
  // `exec` keeps taskset's pid as the server's pid (taskset execs node).
  const [cmd, ...args] = pinned(opts.cpus, [process.execPath, ...start.flags, ...(opts.nodeArgs ?? []), COFFER_MAIN, 'serve']);
  const child = track(spawn(cmd!, args, { cwd: dir, env, stdio: ['ignore', logFd, logFd] }));
  closeSync(logFd);
  const base = `http://127.0.0.1:${port}`;
  const tail = () => (logFile === '/dev/null' || !existsSync(logFile) ? '' : readFileSync(logFile, 'utf8').split('\n').slice(-20).join('\n'));
  await waitReady(base, child, opts.name, tail);
  return { name: opts.name, base, child, pid: child.pid!, logFile, dir };
}

export async function expectOk(res: Response, what: string): Promise<string> {
  const text = await res.text();
  if (!res.ok) throw new Error(`${what}: HTTP ${res.status} ${text.slice(0, 300)}`);
  return text;
}

export async function login(base: string, username: string, password: string): Promise<string> {
  const res = await fetch(`${base}/v1/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }) });
  const body = JSON.parse(await expectOk(res, `login ${username} at ${base}`)) as { access_token?: string };
  if (!body.access_token) throw new Error(`login ${username} at ${base}: no access_token`);
  return body.access_token;
}

export async function createUser(base: string, adminToken: string, username: string, password: string): Promise<void> {
  await expectOk(
    await fetch(`${base}/v1/users`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ username, password }),
    }),
    `create user ${username}`,
  );
}

export async function putValue(base: string, token: string, key: string, value: string): Promise<void> {
  await expectOk(
    await fetch(`${base}/v1/data/${key}`, { method: 'PUT', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ value }) }),
    `store ${key}`,
  );
}

// ---------------------------------------------------------------------------------------------
// /proc

export const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/** utime + stime of a process (all its threads) or of one thread, in seconds; 0 once it is gone. */
export function cpuSeconds(pid: number, tid?: number): number {
  try {
    const stat = readFileSync(tid === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${tid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / CLK_TCK;
  } catch {
    return 0;
  }
}

/** Per thread: name, CPU seconds, and from schedstat the seconds it ran and waited runnable for a CPU. */
export interface ThreadSample {
  tid: number;
  comm: string;
  cpu: number;
  runS: number;
  waitS: number;
  slices: number;
}

export function threads(pid: number): Map<number, ThreadSample> {
  const out = new Map<number, ThreadSample>();
  let tids: string[] = [];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const t of tids) {
    const tid = Number(t);
    try {
      const comm = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
      let runS = 0;
      let waitS = 0;
      let slices = 0;
      try {
        const [run, wait, n] = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').trim().split(' ').map(Number);
        runS = run! / 1e9;
        waitS = wait! / 1e9;
        slices = n!;
      } catch {
        // no schedstat in this kernel
      }
      out.set(tid, { tid, comm, cpu: cpuSeconds(pid, tid), runS, waitS, slices });
    } catch {
      // the thread ended
    }
  }
  return out;
}

/** Busy seconds (user+nice+system+irq+softirq+steal) of each CPU, and of all ("all"). */
export function cpuBusy(): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
    const m = /^cpu(\d*) (.*)$/.exec(line);
    if (!m) continue;
    const f = m[2]!.trim().split(/\s+/).map(Number);
    out.set(m[1] === '' ? 'all' : m[1]!, (f[0]! + f[1]! + f[2]! + f[5]! + f[6]! + f[7]!) / CLK_TCK);
  }
  return out;
}

/** PIDs whose full command line matches `re` (like `pgrep -f`), this process excluded. */
export function pgrep(re: RegExp): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d) || Number(d) === process.pid) continue;
    try {
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
      if (re.test(cmd)) out.push(Number(d));
    } catch {
      // gone
    }
  }
  return out;
}

/** Waits (at most `maxMs`) until the processes use less than 2% of a CPU over 300 ms. */
export async function quiesce(pids: () => number[], maxMs = 30_000): Promise<void> {
  const deadline = Date.now() + maxMs;
  while (Date.now() < deadline) {
    const sum = () => pids().reduce((s, p) => s + cpuSeconds(p), 0);
    const a = sum();
    await sleep(300);
    if (sum() - a < 0.006) return;
  }
  console.error('  (still busy after waiting; going on)');
}

// ---------------------------------------------------------------------------------------------
// Roles: the same script run as a child (`tsx` stays loaded through execArgv)

export function spawnRole(script: string, role: string, params: unknown, cpus?: string): ChildProcess {
  const [cmd, ...args] = pinned(cpus, [process.execPath, ...process.execArgv, script, role, JSON.stringify(params)]);
  const env = cleanEnv();
  return track(spawn(cmd!, args, { env, stdio: ['pipe', 'pipe', 'inherit'] }));
}

/** Calls `onLine` for each stdout line of a child; resolves the last `{...}` line parsed, when it exits 0. */
export function roleResult<T>(child: ChildProcess, what: string, onLine?: (line: string) => void): Promise<T> {
  return new Promise((resolve, reject) => {
    let buf = '';
    let last = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      buf += d;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (line.startsWith('{')) last = line;
        else onLine?.(line);
      }
    });
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code !== 0) return reject(new Error(`${what} exited with ${code}`));
      try {
        resolve(JSON.parse(last) as T);
      } catch {
        reject(new Error(`${what}: no result`));
      }
    });
  });
}

/** Lines a role child reads from its stdin (commands from the parent). */
export function stdinLines(onLine: (line: string) => void): void {
  let buf = '';
  process.stdin.setEncoding('utf8').on('data', (d: string) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      onLine(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Output

export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export const fmtRate = (n: number) => (n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(1));
export const fmtMs = (n: number) => (Number.isNaN(n) ? '-' : n >= 100 ? String(Math.round(n)) : n >= 10 ? n.toFixed(1) : n.toFixed(2));

export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 || i === r.length - 1 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  return [line(rows[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n');
}

export function machineLine(): string {
  const cpus = os.cpus();
  return `${os.availableParallelism()} CPUs (${cpus[0]?.model.trim() ?? '?'}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, load avg ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}; node ${process.version}`;
}

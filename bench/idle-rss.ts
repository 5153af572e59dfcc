/**
 * Idle memory: what a server holds once started and used a little, measured as kv-bench does it
 * (log in, one KV write and read, then 2 s of rest), for three servers run with npm start's flags
 * and environment:
 *   bare     bench/bare-server.mjs, plain node:http (Node's own floor)
 *   fastify  a Fastify server with one route and its logger (the framework's floor)
 *   coffer   dist/main.js serve on the embedded defaults (fs + SQLite)
 * For each: RSS, split into anonymous memory (heaps) and file pages (mostly the node binary's
 * code), the median of BENCH_ROUNDS (3) starts.
 *
 *   npx tsx bench/idle-rss.ts
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { cleanEnv, freePort, intEnv, npmStartNode, sleep } from './lib.js';
import { ADMIN_PASSWORD, ROOT, putValue, login, runMain, startCoffer, track, waitReady } from './procs.js';

const ROUNDS = intEnv('BENCH_ROUNDS', 3, 1);

const FASTIFY_HELLO = `
const app = require('fastify')({ logger: true });
app.get('/readyz', async () => ({ status: 'ready' }));
app.post('/v1/login', async () => ({ access_token: 't' }));
app.put('/v1/data/*', async () => ({ ok: true }));
app.get('/v1/data/*', async () => ({ key: 'k', value: 'v' }));
app.listen({ host: '127.0.0.1', port: Number(process.env.PORT) });
`;

interface Sample {
  rss: number;
  anon: number;
  file: number;
}

function memoryOf(pid: number): Sample {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN);
  return { rss: kib('VmRSS') / 1024, anon: kib('RssAnon') / 1024, file: (kib('RssFile') + kib('RssShmem')) / 1024 };
}

/** kv-bench's flow against `base`, then its 2 s of rest. */
async function useLightly(base: string, token: string): Promise<void> {
  await putValue(base, token, 'bench/k0', 'hello');
  const res = await fetch(`${base}/v1/data/bench/k0`, { headers: { authorization: `Bearer ${token}` } });
  await res.text();
  await sleep(2000);
}

async function startPlain(args: string[], env: Record<string, string>): Promise<{ base: string; child: ChildProcess }> {
  const port = await freePort();
  const start = npmStartNode();
  const child = track(spawn(process.execPath, [...start.flags, ...args], { cwd: ROOT, env: { ...cleanEnv(), ...start.env, ...env, PORT: String(port), BARE_PORT: String(port) }, stdio: 'ignore' }));
  const base = `http://127.0.0.1:${port}`;
  await waitReady(base, child, args.join(' '), () => '', 30_000);
  return { base, child };
}

async function measure(name: string): Promise<Sample> {
  if (name === 'coffer') {
    const coffer = await startCoffer({ name: 'coffer', env: {} });
    await useLightly(coffer.base, await login(coffer.base, 'admin', ADMIN_PASSWORD));
    const sample = memoryOf(coffer.pid);
    coffer.child.kill('SIGTERM');
    return sample;
  }
  const args = name === 'bare' ? [path.join(ROOT, 'bench', 'bare-server.mjs')] : ['-e', FASTIFY_HELLO];
  const { base, child } = await startPlain(args, {});
  const token = ((await (await fetch(`${base}/v1/login`, { method: 'POST' })).json()) as { access_token: string }).access_token;
  await useLightly(base, token);
  const sample = memoryOf(child.pid!);
  child.kill('SIGTERM');
  return sample;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const flags = npmStartNode();
  console.log(`node ${process.version}, as npm start runs it: ${Object.entries(flags.env).map(([k, v]) => `${k}=${v}`).join(' ')} node ${flags.flags.join(' ')}`);
  console.log(`median of ${ROUNDS} starts, MiB, after a login, a KV write and read, and 2 s of rest\n`);
  console.log('server     RSS   anonymous  file pages');
  for (const name of ['bare', 'fastify', 'coffer']) {
    const samples: Sample[] = [];
    for (let i = 0; i < ROUNDS; i++) samples.push(await measure(name));
    const m = (k: keyof Sample) => median(samples.map((s) => s[k])).toFixed(1).padStart(k === 'rss' ? 6 : 10);
    console.log(`${name.padEnd(8)} ${m('rss')} ${m('anon')} ${m('file')}`);
  }
}

runMain(main);

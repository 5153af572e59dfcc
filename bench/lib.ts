/**
 * What the benchmark scripts (and the tests that start dist/ as a process) share: settings from
 * the environment, ports, a clean child environment, and how `npm start` runs node.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** A whole-number BENCH_* setting, or `fallback` when unset. */
export function intEnv(name: string, fallback: number, min: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new Error(`${name}=${raw}: expected a whole number >= ${min}`);
  return n;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/**
 * The environment for children: embedded defaults, so no COFFER_* of the caller's leaks in (no
 * database URL, no JWT algorithm...), and no NODE_OPTIONS (tsx's loader stays in this process).
 */
export function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('COFFER_') && k !== 'NODE_OPTIONS') env[k] = v;
  return env;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * How `npm start` runs the server: the environment it sets and node's flags, read from its script
 * in package.json (`npm run build --silent && MALLOC_ARENA_MAX=2 node --flag… dist/main.js serve`),
 * the one place that says. Benchmarks and process tests run dist/main.js the same way.
 */
export function npmStartNode(): { env: Record<string, string>; flags: string[] } {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { scripts: { start: string } };
  const words = pkg.scripts.start.split('&&').at(-1)!.trim().split(/\s+/);
  const node = words.indexOf('node');
  const main = words.indexOf('dist/main.js');
  if (node < 0 || main < node) throw new Error(`package.json's start script is not "... node <flags> dist/main.js serve": ${pkg.scripts.start}`);
  const env = Object.fromEntries(words.slice(0, node).map((w) => [w.slice(0, w.indexOf('=')), w.slice(w.indexOf('=') + 1)]));
  return { env, flags: words.slice(node + 1, main) };
}

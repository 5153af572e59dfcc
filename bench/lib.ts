/** What the benchmark scripts share: settings from the environment, ports, and a clean child environment. */
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

/**
 * The `coffer` command run as a user runs it: a subprocess (src/main.ts under tsx) with a throwaway
 * HOME and XDG_CONFIG_HOME, none of the test process's COFFER_* variables, stdin fed or closed.
 * Spawned asynchronously: the server under test runs in this process's event loop.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

export const MAIN = path.resolve('src/main.ts');
/** tsx by its absolute URL: the commands run in the throwaway home, where a bare "tsx" would not resolve. */
const TSX = pathToFileURL(path.resolve('node_modules/tsx/dist/loader.mjs')).href;

export interface Run {
  code: number | null;
  stdout: string;
  stdoutBytes: Buffer;
  stderr: string;
}

export interface CliHome {
  home: string;
  configHome: string;
  run(args: string[], options?: { input?: string | Buffer; env?: Record<string, string> }): Promise<Run>;
  /** The command line, with its environment, as a shell string (for `script`). */
  shell(args: string[], env?: Record<string, string>): string;
  env(extra?: Record<string, string>): Record<string, string>;
  close(): Promise<void>;
}

const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

export async function cliHome(): Promise<CliHome> {
  const home = await mkdtemp(path.join(tmpdir(), 'coffer-cli-home-'));
  const configHome = path.join(home, '.config');
  const env = (extra: Record<string, string> = {}) => ({ PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, XDG_CONFIG_HOME: configHome, ...extra });
  return {
    home,
    configHome,
    env,
    run(args, options = {}) {
      const child = spawn(process.execPath, ['--import', TSX, MAIN, ...args], { env: env(options.env), cwd: home, stdio: ['pipe', 'pipe', 'pipe'] });
      const out: Buffer[] = [];
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => out.push(d));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.stdin.on('error', () => {});
      child.stdin.end(options.input ?? '');
      return new Promise((resolve, reject) => {
        child.on('error', reject);
        child.on('close', (code) => {
          const stdoutBytes = Buffer.concat(out);
          resolve({ code, stdout: stdoutBytes.toString('utf8'), stdoutBytes, stderr });
        });
      });
    },
    shell(args, extra = {}) {
      const vars = Object.entries(env(extra)).map(([k, v]) => `${k}=${quote(v)}`);
      return `cd ${quote(home)} && env ${vars.join(' ')} ${quote(process.execPath)} --import ${quote(TSX)} ${quote(MAIN)} ${args.map(quote).join(' ')}`;
    },
    close: () => rm(home, { recursive: true, force: true }),
  };
}

/** An error run: one line of message (plus at most a hint line), no stack trace. */
export function isOneLineError(stderr: string): boolean {
  const lines = stderr.trim().split('\n');
  return lines.length >= 1 && lines.length <= 2 && lines[0]!.startsWith('coffer: ') && (lines.length === 1 || lines[1]!.startsWith('hint: ')) && !/\n\s+at /.test(stderr);
}

/**
 * The whole test run (`npm test`), on any Debian machine with nothing set up beforehand:
 * - PostgreSQL: the one at COFFER_TEST_DATABASE_URL (default postgres://root@127.0.0.1:5432/test)
 *   when it answers, else a throwaway cluster on a free port (Debian's package installed first
 *   when missing and this is root);
 * - one Ceph RADOS Gateway for every S3 test (the Debian packages installed first when missing),
 *   on free ports (or the one named by COFFER_TEST_S3_ENDPOINT with AWS_ACCESS_KEY_ID and
 *   AWS_SECRET_ACCESS_KEY);
 * - then the unit, contract, HTTP, CLI, browser (Debian's Chromium, test/helpers/browser.ts) and
 *   cluster suites under node:test, one file at a time.
 * It says what it does, stops what it started, and exits with the suites' status.
 *
 *   npx tsx test/run.ts [files...]     # all suites when no file is named
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { startRgw, type Rgw } from './helpers/ceph.js';
import { ensurePostgres, type TestPostgres } from './helpers/postgres.js';

const SUITES = ['test/unit', 'test/contract', 'test/http', 'test/cli', 'test/browser', 'test/cluster'];
const CEPH = path.resolve('scripts/ceph-rgw.sh');

function say(message: string): void {
  process.stderr.write(`[test] ${message}\n`);
}

function suiteFiles(): string[] {
  return SUITES.flatMap((dir) =>
    readdirSync(dir)
      .filter((f) => f.endsWith('.test.ts'))
      .sort()
      .map((f) => path.join(dir, f)),
  );
}

function runNodeTest(files: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', ...files], { stdio: 'inherit', env });
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  process.once('SIGINT', forward);
  process.once('SIGTERM', forward);
  return new Promise((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0))));
}

/** The console's browser tests drive Debian's Chromium: installed here when missing, as root. */
function ensureChromium(): void {
  if (existsSync('/usr/bin/chromium')) return;
  if (process.getuid?.() !== 0) throw new Error('Chromium is missing: apt-get install chromium (test/browser drives it), or leave test/browser out');
  say("installing Debian's chromium package for the browser tests (about a minute)");
  execFileSync('bash', ['-c', 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium'], { stdio: 'inherit' });
}

async function main(): Promise<number> {
  const files = process.argv.slice(2).length > 0 ? process.argv.slice(2) : suiteFiles();
  const env = { ...process.env };
  const started: Array<{ what: string; stop(): Promise<void> }> = [];
  try {
    const postgres: TestPostgres = await ensurePostgres(say);
    if (postgres.booted) {
      say(`PostgreSQL at ${postgres.url}`);
      started.push({ what: 'PostgreSQL', stop: () => postgres.stop() });
    }
    env.COFFER_TEST_DATABASE_URL = postgres.url;
    // Only the files that reach S3 (through helpers/ceph.ts or helpers/backends.ts) need a gateway.
    const needsS3 = files.some((f) => /helpers\/(ceph|cluster|backends)\.js/.test(readFileSync(f, 'utf8')));
    if (needsS3 && !env.COFFER_TEST_S3_ENDPOINT) {
      execFileSync('bash', [CEPH, 'install'], { stdio: 'inherit' });
      say('booting one Ceph RADOS Gateway for the S3 tests (scripts/ceph-rgw.sh)');
      const t0 = Date.now();
      const rgw: Rgw = await startRgw();
      started.push({ what: 'the Ceph RGW', stop: () => rgw.stop() });
      say(`Ceph RGW at ${rgw.endpoint} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      Object.assign(env, { COFFER_TEST_S3_ENDPOINT: rgw.endpoint, AWS_ACCESS_KEY_ID: rgw.accessKeyId, AWS_SECRET_ACCESS_KEY: rgw.secretAccessKey });
    }
    if (files.some((f) => /(^|\/)test\/browser\//.test(f))) ensureChromium();
    say(`running ${files.length} test files`);
    return await runNodeTest(files, env);
  } finally {
    for (const s of started.reverse()) {
      say(`stopping ${s.what}`);
      await s.stop();
    }
  }
}

main().then(
  (code) => (process.exitCode = code),
  (e: unknown) => {
    say(`could not run the tests: ${(e as Error).message}`);
    process.exitCode = 1;
  },
);

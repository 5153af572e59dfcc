/**
 * The whole test run (`npm test`): one Ceph RADOS Gateway for every S3 test, booted here on free
 * ports and stopped at the end (the suites find it through COFFER_TEST_S3_ENDPOINT), then the
 * unit, contract and HTTP suites under node:test, one file at a time. Exits with their status.
 *
 *   npx tsx test/run.ts [files...]     # all suites when no file is named
 *
 * An endpoint already given in COFFER_TEST_S3_ENDPOINT (with AWS_ACCESS_KEY_ID and
 * AWS_SECRET_ACCESS_KEY) is used as it is.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { startRgw, type Rgw } from './helpers/ceph.js';

const SUITES = ['test/unit', 'test/contract', 'test/http', 'test/cluster'];

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

async function main(): Promise<number> {
  const files = process.argv.slice(2).length > 0 ? process.argv.slice(2) : suiteFiles();
  const env = { ...process.env };
  let rgw: Rgw | undefined;
  // Only the files that reach S3 (through helpers/ceph.ts or helpers/backends.ts) need one.
  const needsS3 = files.some((f) => /helpers\/(ceph|backends)\.js/.test(readFileSync(f, 'utf8')));
  if (needsS3 && !env.COFFER_TEST_S3_ENDPOINT) {
    say('booting one Ceph RADOS Gateway for the S3 tests (scripts/ceph-rgw.sh)');
    const started = Date.now();
    rgw = await startRgw();
    say(`Ceph RGW at ${rgw.endpoint} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    Object.assign(env, { COFFER_TEST_S3_ENDPOINT: rgw.endpoint, AWS_ACCESS_KEY_ID: rgw.accessKeyId, AWS_SECRET_ACCESS_KEY: rgw.secretAccessKey });
  }
  try {
    say(`running ${files.length} test files`);
    return await runNodeTest(files, env);
  } finally {
    if (rgw) {
      say('stopping the Ceph RGW');
      await rgw.stop();
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

/**
 * bench/cli.ts — the coffer CLI moving a large file, against curl doing the same, on the
 * filesystem store and on Ceph RGW (booted with scripts/ceph-rgw.sh, as bench/parcels.ts does).
 *
 *   npm run build && npx tsx bench/cli.ts       (BENCH_SIZE_MIB=1024, BENCH_BACKENDS=fs,s3, BENCH_RUNS=3; ~8 minutes)
 *
 * For each backend, one Coffer (dist/main.js serve) and one random file; in turn:
 *   curl up     curl -T file -H 'Authorization: Bearer …' PUT /v1/objects/curl.bin
 *   coffer up   coffer upload file cli.bin -q            (COFFER_URL and COFFER_TOKEN set)
 *   curl down   curl -o out GET /v1/objects/curl.bin
 *   curl down, checked   curl … | tee out | sha256sum   (what checking costs curl, on two cores at best)
 *   coffer down coffer download cli.bin out -q              (checked against the SHA-256 as it arrives)
 *               coffer download cli.bin out -q --no-verify  (compared with the plain curl run)
 * BENCH_RUNS times (default 3; the order alternates, coffer first in even runs), each after a
 * `sync`, under /usr/bin/time for its peak RSS and CPU time. Printed, from the run of median
 * time: MiB/s, CLI/curl, the CLI's peak RSS (highest of all runs), and both clients' CPU seconds
 * (user+sys); each run's rates go to stderr.
 * The downloads are checked byte for byte (SHA-256) against the file.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { freePort } from './lib.js';
import { ADMIN_PASSWORD, COFFER_MAIN, login, onCleanup, ROOT, runMain, startCoffer, table, tempDir } from './procs.js';

const run = promisify(execFile);
const SIZE_MIB = Number(process.env.BENCH_SIZE_MIB ?? 1024);
const BACKENDS = (process.env.BENCH_BACKENDS ?? 'fs,s3').split(',');
const RUNS = Number(process.env.BENCH_RUNS ?? 3);

async function sha256(file: string): Promise<string> {
  const h = createHash('sha256');
  await pipeline(createReadStream(file), h);
  return h.digest('hex');
}

interface Measured {
  seconds: number;
  rssMiB: number;
  /** CPU seconds, user and system. */
  user: number;
  sys: number;
}

/** Runs a command under /usr/bin/time: wall seconds, peak RSS (MiB), CPU seconds. */
async function measured(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Measured> {
  const t0 = performance.now();
  const { stderr } = await run('/usr/bin/time', ['-f', 'maxrss_kib=%M user=%U sys=%S', cmd, ...args], { env, maxBuffer: 16 * 1024 * 1024 });
  const seconds = (performance.now() - t0) / 1000;
  const m = /maxrss_kib=(\d+) user=([\d.]+) sys=([\d.]+)/.exec(stderr);
  return { seconds, rssMiB: Number(m?.[1] ?? NaN) / 1024, user: Number(m?.[2] ?? NaN), sys: Number(m?.[3] ?? NaN) };
}

/** The run of median time among `runs` (its CPU with it), and the highest peak RSS of all. */
function median(runs: Measured[]): Measured {
  const sorted = [...runs].sort((a, b) => a.seconds - b.seconds);
  return { ...sorted[Math.floor((sorted.length - 1) / 2)]!, rssMiB: Math.max(...runs.map((r) => r.rssMiB)) };
}

async function backend(name: string, env: Record<string, string>, file: string, digest: string, work: string): Promise<string[][]> {
  const coffer = await startCoffer({ name, env, logLevel: 'warn' });
  const token = await login(coffer.base, 'admin', ADMIN_PASSWORD);
  const auth = `Authorization: Bearer ${token}`;
  const cliEnv = { ...process.env, COFFER_URL: coffer.base, COFFER_TOKEN: token, XDG_CONFIG_HOME: path.join(work, 'xdg') };
  const out = path.join(work, 'out.bin');
  const cli = (args: string[]) => measured(process.execPath, [COFFER_MAIN, ...args], cliEnv);
  // Each transfer starts with nothing dirty in the page cache: the previous one's writes are not
  // flushed during it.
  const settled = async <T>(f: () => Promise<T>): Promise<T> => {
    await run('sync');
    return f();
  };
  const downloaded = async (who: string) => {
    if ((await sha256(out)) !== digest) throw new Error(`${name}: ${who}'s download differs from the file`);
    await rm(out);
  };
  const runs: Record<'curlUp' | 'cliUp' | 'curlDown' | 'curlDownChecked' | 'cliDown' | 'cliDownUnverified', Measured[]> = { curlUp: [], cliUp: [], curlDown: [], curlDownChecked: [], cliDown: [], cliDownUnverified: [] };
  // The order alternates between runs: what goes second meets the backend still busy with the
  // first (Ceph settles its writes after `sync`), so neither client always pays for it.
  const stepCurlUp = async () => runs.curlUp.push(await settled(() => measured('curl', ['-sS', '-f', '-o', '/dev/null', '-T', file, '-H', auth, '-H', 'content-type: application/octet-stream', `${coffer.base}/v1/objects/curl.bin`])));
  const stepCliUp = async () => runs.cliUp.push(await settled(() => cli(['upload', file, 'cli.bin', '-q'])));
  const stepCurlDown = async () => {
    runs.curlDown.push(await settled(() => measured('curl', ['-sS', '-f', '-o', out, '-H', auth, `${coffer.base}/v1/objects/curl.bin`])));
    await downloaded('curl');
    const pipe = `curl -sS -f -H '${auth}' '${coffer.base}/v1/objects/curl.bin' | tee '${out}' | sha256sum > '${out}.sum'`;
    runs.curlDownChecked.push(await settled(() => measured('bash', ['-o', 'pipefail', '-c', pipe])));
    if (!(await readFile(`${out}.sum`, 'utf8')).startsWith(digest)) throw new Error(`${name}: curl | sha256sum printed another digest`);
    await downloaded('curl | tee');
  };
  const stepCliDown = async () => {
    runs.cliDown.push(await settled(() => cli(['download', 'cli.bin', out, '-q'])));
    await downloaded('the CLI');
    runs.cliDownUnverified.push(await settled(() => cli(['download', 'cli.bin', out, '-q', '--no-verify'])));
    await downloaded('the CLI (--no-verify)');
  };
  for (let i = 1; i <= RUNS; i++) {
    process.stderr.write(`${name} run ${i}/${RUNS}${i % 2 ? '' : ' (coffer first)'}…\n`);
    for (const step of i % 2 ? [stepCurlUp, stepCliUp, stepCurlDown, stepCliDown] : [stepCliUp, stepCurlUp, stepCliDown, stepCurlDown]) await step();
  }
  coffer.child.kill('SIGTERM');
  const rates = (ms: Measured[]) => ms.map((m) => (SIZE_MIB / m.seconds).toFixed(0)).join('/');
  process.stderr.write(`${name} MiB/s of each run: ${Object.entries(runs).map(([k, ms]) => `${k} ${rates(ms)}`).join(', ')}\n`);
  const [curlUp, cliUp, curlDown, curlDownChecked, cliDown, cliDownUnverified] = [runs.curlUp, runs.cliUp, runs.curlDown, runs.curlDownChecked, runs.cliDown, runs.cliDownUnverified].map(median) as Measured[] as [Measured, Measured, Measured, Measured, Measured, Measured];

  const mibps = (s: number) => SIZE_MIB / s;
  const cpu = (m: Measured) => `${m.user.toFixed(1)}+${m.sys.toFixed(1)}`;
  const row = (dir: string, c: Measured, k: Measured) => [
    name,
    dir,
    mibps(c.seconds).toFixed(0),
    mibps(k.seconds).toFixed(0),
    `${((mibps(k.seconds) / mibps(c.seconds)) * 100).toFixed(0)}%`,
    k.rssMiB.toFixed(0),
    cpu(c),
    cpu(k),
  ];
  return [
    row('upload', curlUp, cliUp),
    row('download, checked (curl | sha256sum)', curlDownChecked, cliDown),
    row('download, checked (plain curl)', curlDown, cliDown),
    row('download --no-verify (plain curl)', curlDown, cliDownUnverified),
  ];
}

async function main(): Promise<void> {
  const work = tempDir('coffer-bench-cli-');
  const file = path.join(work, 'big.bin');
  process.stderr.write(`writing ${SIZE_MIB} MiB of random bytes… `);
  await pipeline(
    (async function* () {
      for (let i = 0; i < SIZE_MIB; i++) yield randomBytes(1024 * 1024);
    })(),
    createWriteStream(file),
  );
  const digest = await sha256(file);
  process.stderr.write('done\n');

  const rows = [['backend', 'direction', 'curl MiB/s', 'coffer MiB/s', 'coffer/curl', 'coffer peak RSS MiB', 'curl CPU s (user+sys)', 'coffer CPU s']];
  if (BACKENDS.includes('fs')) rows.push(...(await backend('fs', {}, file, digest, work)));
  if (!BACKENDS.includes('s3')) return void console.log(`\n${SIZE_MIB} MiB through Coffer: the coffer CLI against curl (median of ${RUNS} runs)\n\n${table(rows)}`);

  const rgwDir = path.join(work, 'ceph');
  const rgwEnv = { ...process.env, RGW_PORT: String(await freePort()), MON_PORT: String(await freePort()) };
  onCleanup(() => run('bash', [path.join(ROOT, 'scripts/ceph-rgw.sh'), 'down', rgwDir]).then(() => {}, () => {}));
  process.stderr.write('booting Ceph RGW…\n');
  await run('bash', [path.join(ROOT, 'scripts/ceph-rgw.sh'), 'up', rgwDir], { env: rgwEnv });
  const vars = Object.fromEntries([...(await readFile(path.join(rgwDir, 'env'), 'utf8')).matchAll(/^export (\w+)=(.*)$/gm)].map((m) => [m[1]!, m[2]!]));
  const keyFile = path.join(work, 'key.json');
  await writeFile(keyFile, JSON.stringify({ access_key: vars.AWS_ACCESS_KEY_ID, secret_key: vars.AWS_SECRET_ACCESS_KEY }));
  const s3 = { COFFER_STORAGE_BACKEND: 's3', COFFER_S3_ENDPOINT: vars.S3_ENDPOINT!, COFFER_S3_FORCE_PATH_STYLE: 'true', COFFER_S3_BUCKET: 'coffer', COFFER_S3_KEY_FILE: keyFile };
  rows.push(...(await backend('s3', s3, file, digest, work)));

  console.log(`\n${SIZE_MIB} MiB through Coffer: the coffer CLI against curl, same server, same file (median of ${RUNS} runs)\n`);
  console.log(table(rows));
}

runMain(main);

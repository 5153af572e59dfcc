/**
 * Parcel throughput: a large file up and down through Coffer, against the direct path on the
 * same machine in the same run.
 *   fs: Coffer on the filesystem vs a plain file copy on the same disk (dd conv=fsync up, cat to /dev/null down)
 *   s3: Coffer on S3 vs the AWS SDK talking to the same Ceph RGW directly (a streamed PutObject,
 *       GetObject), which this script boots with scripts/ceph-rgw.sh
 * Prints MiB/s, the ratio Coffer/direct, and the Coffer server's peak RSS (VmHWM).
 *
 *   npm run build && npx tsx bench/parcels.ts          (BENCH_SIZE_MIB=1024 by default)
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { Readable } from 'node:stream';
import { createS3Client } from '../src/storage/blob/s3-blob-store.js';
import { freePort, npmStartNode } from './lib.js';

const run = promisify(execFile);
const SIZE_MIB = Number(process.env.BENCH_SIZE_MIB ?? 1024);
const SIZE = SIZE_MIB * 1024 * 1024;
const ROOT = path.resolve(import.meta.dirname, '..');

const work = await mkdtemp(path.join(tmpdir(), 'coffer-bench-parcels-'));
const children: ChildProcess[] = [];
let rgwDir: string | undefined;

async function cleanup() {
  for (const c of children) c.kill('SIGTERM');
  if (rgwDir) await run('bash', [path.join(ROOT, 'scripts/ceph-rgw.sh'), 'down', rgwDir]).catch(() => {});
  await rm(work, { recursive: true, force: true });
}
process.on('SIGINT', () => void cleanup().then(() => process.exit(130)));


async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

const mibps = (seconds: number) => SIZE_MIB / seconds;

async function startCoffer(env: Record<string, string>) {
  const dir = await mkdtemp(path.join(work, 'coffer-'));
  const port = await freePort();
  const start = npmStartNode(); // its node flags and MALLOC_* settings
  const child = spawn(process.execPath, [...start.flags, path.join(ROOT, 'dist/main.js'), 'serve'], {
    env: { ...process.env, ...start.env, COFFER_PORT: String(port), COFFER_DATA_DIR: dir, COFFER_ADMIN_PASSWORD: 'bench-admin-pw', COFFER_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.push(child);
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (await fetch(`${base}/readyz`).then((r) => r.ok, () => false)) break;
    if (i > 300) throw new Error('coffer did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
  const login = await fetch(`${base}/v1/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: 'bench-admin-pw' }) });
  const { access_token: token } = (await login.json()) as { access_token: string };
  return { child, base, token };
}

function httpPut(url: string, token: string, file: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'PUT', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream', 'content-length': String(SIZE) } }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 201 || res.statusCode === 200 ? resolve() : reject(new Error(`PUT answered ${res.statusCode}`))));
    });
    req.on('error', reject);
    createReadStream(file).pipe(req);
  });
}

function httpGet(url: string, token: string): Promise<void> {
  return new Promise((resolve, reject) => {
    request(url, { headers: { authorization: `Bearer ${token}` } }, (res) => {
      if (res.statusCode !== 200) reject(new Error(`GET answered ${res.statusCode}`));
      res.resume();
      res.on('end', resolve);
    })
      .on('error', reject)
      .end();
  });
}

async function peakRssMiB(pid: number): Promise<number> {
  return Number(/VmHWM:\s+(\d+) kB/.exec(await readFile(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
}

async function throughCoffer(env: Record<string, string>, file: string) {
  const { child, base, token } = await startCoffer(env);
  const up = await timed(() => httpPut(`${base}/v1/objects/bench.bin`, token, file));
  const down = await timed(() => httpGet(`${base}/v1/objects/bench.bin`, token));
  const rss = await peakRssMiB(child.pid!);
  child.kill('SIGTERM');
  return { up: mibps(up), down: mibps(down), rss };
}

const rows: string[][] = [];
try {
  process.stderr.write(`machine: ${cpus().length} cores, node ${process.version}; size ${SIZE_MIB} MiB\n`);
  const file = path.join(work, 'source.bin');
  const chunk = randomBytes(1024 * 1024);
  await pipeline(
    (async function* () {
      for (let i = 0; i < SIZE_MIB; i++) yield chunk;
    })(),
    createWriteStream(file),
  );
  await stat(file);

  // fs: direct copy on the same disk, then Coffer on fs
  // Coffer writes every byte from user space and fsyncs, so the fair copy does too: dd with 1 MiB
  // blocks and conv=fsync. (GNU cp uses copy_file_range and never moves the data through memory.)
  const copyUp = await timed(() => run('dd', [`if=${file}`, `of=${path.join(work, 'copy.bin')}`, 'bs=1M', 'conv=fsync', 'status=none']));
  const copyDown = await timed(() => run('sh', ['-c', `cat '${path.join(work, 'copy.bin')}' > /dev/null`]));
  await rm(path.join(work, 'copy.bin'));
  process.stderr.write('fs: direct done, Coffer...\n');
  const fs = await throughCoffer({}, file);
  rows.push(['fs', 'upload', mibps(copyUp).toFixed(0), fs.up.toFixed(0), `${((fs.up / mibps(copyUp)) * 100).toFixed(0)}%`, fs.rss.toFixed(0)]);
  rows.push(['fs', 'download', mibps(copyDown).toFixed(0), fs.down.toFixed(0), `${((fs.down / mibps(copyDown)) * 100).toFixed(0)}%`, '']);

  // s3: the SDK straight to RGW, then Coffer on the same RGW
  rgwDir = path.join(work, 'ceph');
  const rgwEnv = { ...process.env, RGW_PORT: String(await freePort()), MON_PORT: String(await freePort()) };
  await run('bash', [path.join(ROOT, 'scripts/ceph-rgw.sh'), 'up', rgwDir], { env: rgwEnv });
  const vars = Object.fromEntries([...(await readFile(path.join(rgwDir, 'env'), 'utf8')).matchAll(/^export (\w+)=(.*)$/gm)].map((m) => [m[1], m[2]]));
  const credentials = { accessKeyId: vars.AWS_ACCESS_KEY_ID!, secretAccessKey: vars.AWS_SECRET_ACCESS_KEY! };
  const client = createS3Client({ endpoint: vars.S3_ENDPOINT, region: 'us-east-1', bucket: 'b', prefix: '', forcePathStyle: true, credentials });
  await client.send(new (await import('@aws-sdk/client-s3')).CreateBucketCommand({ Bucket: 'direct' }));
  // The SDK's best for a file of known size: one streamed PutObject (what Coffer does too).
  const sdkUp = await timed(() =>
    client.send(new PutObjectCommand({ Bucket: 'direct', Key: 'bench.bin', Body: createReadStream(file), ContentLength: SIZE })),
  );
  const sdkMultipart = await timed(() =>
    new Upload({ client, params: { Bucket: 'direct', Key: 'bench-mp.bin', Body: createReadStream(file) }, partSize: 5 * 1024 * 1024, queueSize: 2 }).done(),
  );
  const sdkDown = await timed(async () => {
    const out = await client.send(new GetObjectCommand({ Bucket: 'direct', Key: 'bench.bin' }));
    for await (const _ of out.Body as Readable);
  });
  process.stderr.write('s3: direct done, Coffer...\n');
  const keyFile = path.join(work, 'key.json');
  await writeFile(keyFile, JSON.stringify({ access_key: credentials.accessKeyId, secret_key: credentials.secretAccessKey }));
  const s3 = await throughCoffer(
    { COFFER_STORAGE_BACKEND: 's3', COFFER_S3_ENDPOINT: vars.S3_ENDPOINT!, COFFER_S3_FORCE_PATH_STYLE: 'true', COFFER_S3_BUCKET: 'coffer', COFFER_S3_KEY_FILE: keyFile },
    file,
  );
  rows.push(['s3', 'upload', mibps(sdkUp).toFixed(0), s3.up.toFixed(0), `${((s3.up / mibps(sdkUp)) * 100).toFixed(0)}%`, s3.rss.toFixed(0)]);
  rows.push(['s3', 'download', mibps(sdkDown).toFixed(0), s3.down.toFixed(0), `${((s3.down / mibps(sdkDown)) * 100).toFixed(0)}%`, '']);
  rows.push(['s3', 'up (multipart)', mibps(sdkMultipart).toFixed(0), '', '', '']);
  client.destroy();

  const head = ['backend', 'direction', 'direct MiB/s', 'Coffer MiB/s', 'Coffer/direct', 'Coffer peak RSS MiB'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => c.padStart(widths[i]!)).join('  ');
  console.log(`\n${line(head)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}\n${rows.map(line).join('\n')}`);
  console.log('direct: fs = dd bs=1M conv=fsync (durable, as Coffer is) on the same disk, then cat > /dev/null; s3 = AWS SDK PutObject (streamed) / GetObject to the same RGW; "up (multipart)" = lib-storage Upload, 5 MiB parts, for reference');
} finally {
  await cleanup();
}

/**
 * Bounded memory: 1 GiB goes up and comes back through a real `coffer serve` process (dist/), on the
 * filesystem and on S3 (Ceph RGW), and the server's peak RSS (VmHWM) must stay under 200 MiB.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { startRgw, type Rgw } from '../helpers/ceph.js';

const GIB = 1024 * 1024 * 1024;
const LIMIT_MIB = 200;
const CHUNK = randomBytes(1024 * 1024);

let rgw: Rgw | undefined;
after(() => rgw?.stop());

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function peakRssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)![1]) / 1024;
}

async function startCoffer(env: Record<string, string>): Promise<{ child: ChildProcess; base: string; dir: string }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'coffer-mem-'));
  const port = await freePort();
  // The built server, as `npm start` runs it (npm test builds it first): a 2 MiB young
  // generation keeps the garbage of a stream's chunks from piling up before it is collected.
  const child = spawn(process.execPath, ['--max-semi-space-size=2', path.resolve('dist/main.js'), 'serve'], {
    env: { ...process.env, COFFER_PORT: String(port), COFFER_DATA_DIR: dir, COFFER_ADMIN_PASSWORD: 'memory-admin-pw', COFFER_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${base}/readyz`)).ok) break;
    } catch {
      // not listening yet
    }
    if (i > 200) throw new Error('coffer did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
  return { child, base, dir };
}

/** PUTs `size` bytes generated on the fly; resolves the answer and the SHA-256 that was sent. */
function upload(url: string, token: string, size: number): Promise<{ status: number; body: string; sha256: string }> {
  const hash = createHash('sha256');
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'PUT', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream', 'content-length': String(size) } }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, body, sha256: hash.digest('hex') }));
    });
    req.on('error', reject);
    let sent = 0;
    const pump = () => {
      while (sent < size) {
        const piece = size - sent >= CHUNK.length ? CHUNK : CHUNK.subarray(0, size - sent);
        hash.update(piece);
        sent += piece.length;
        if (!req.write(piece)) return void req.once('drain', pump);
      }
      req.end();
    };
    pump();
  });
}

function download(url: string, token: string): Promise<{ size: number; sha256: string }> {
  return new Promise((resolve, reject) => {
    request(url, { headers: { authorization: `Bearer ${token}` } }, (res) => {
      const hash = createHash('sha256');
      let size = 0;
      res.on('data', (d: Buffer) => {
        size += d.length;
        hash.update(d);
      });
      res.on('end', () => resolve({ size, sha256: hash.digest('hex') }));
      res.on('error', reject);
    })
      .on('error', reject)
      .end();
  });
}

async function roundTrip(env: Record<string, string>) {
  const { child, base, dir } = await startCoffer(env);
  try {
    const login = await fetch(`${base}/v1/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: 'memory-admin-pw' }) });
    const { access_token: token } = (await login.json()) as { access_token: string };
    const t0 = Date.now();
    const up = await upload(`${base}/v1/objects/big.bin`, token, GIB);
    const upSeconds = (Date.now() - t0) / 1000;
    assert.equal(up.status, 201, up.body);
    assert.equal((JSON.parse(up.body) as { sha256: string }).sha256, up.sha256);
    const t1 = Date.now();
    const down = await download(`${base}/v1/objects/big.bin`, token);
    const downSeconds = (Date.now() - t1) / 1000;
    assert.deepEqual(down, { size: GIB, sha256: up.sha256 });
    const peak = await peakRssMiB(child.pid!);
    process.stdout.write(`# ${env.COFFER_STORAGE_BACKEND ?? 'fs'}: 1 GiB up ${(1024 / upSeconds).toFixed(0)} MiB/s, down ${(1024 / downSeconds).toFixed(0)} MiB/s, server peak RSS ${peak.toFixed(0)} MiB\n`);
    assert.ok(peak < LIMIT_MIB, `the server's peak RSS was ${peak.toFixed(0)} MiB (limit ${LIMIT_MIB})`);
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    await rm(dir, { recursive: true, force: true });
  }
}

test('1 GiB up and down on the filesystem in bounded memory', { timeout: 300_000 }, async () => {
  await roundTrip({});
});

test('1 GiB up and down on S3 (Ceph RGW) in bounded memory', { timeout: 300_000 }, async () => {
  rgw ??= await startRgw();
  const keyDir = await mkdtemp(path.join(tmpdir(), 'coffer-mem-key-'));
  const keyFile = path.join(keyDir, 'key.json');
  await writeFile(keyFile, JSON.stringify({ access_key: rgw.accessKeyId, secret_key: rgw.secretAccessKey }));
  try {
    await roundTrip({
      COFFER_STORAGE_BACKEND: 's3',
      COFFER_S3_ENDPOINT: rgw.endpoint,
      COFFER_S3_FORCE_PATH_STYLE: 'true',
      COFFER_S3_BUCKET: `coffer-mem-${randomBytes(4).toString('hex')}`,
      COFFER_S3_KEY_FILE: keyFile,
    });
  } finally {
    await rm(keyDir, { recursive: true, force: true });
  }
});

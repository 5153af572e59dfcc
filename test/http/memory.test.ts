/**
 * Bounded memory: 1 GiB goes up and comes back through a real `coffer serve` process (dist/), on the
 * filesystem and on S3 (Ceph RGW), and the server's peak RSS (VmHWM) must stay under 200 MiB. So
 * does a parcel of AMO's API whose JSON download carries 1 GiB of hex.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { request } from 'node:http';
import { after, test } from 'node:test';
import { startBuiltServer } from '../helpers/built-server.js';
import { freshBucket, startRgw, type Rgw } from '../helpers/ceph.js';
import { challengeHeaders, makeKey } from '../helpers/key-client.js';

const GIB = 1024 * 1024 * 1024;
const LIMIT_MIB = 200;
const CHUNK = randomBytes(1024 * 1024);

let rgw: Rgw | undefined;
after(() => rgw?.stop());

async function peakRssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)![1]) / 1024;
}

function upload(url: string, token: string, size: number): Promise<{ status: number; body: string; sha256: string }> {
  return send('PUT', url, { authorization: `Bearer ${token}` }, size);
}

/**
 * Sends `size` bytes generated on the fly, raw or (`asJson`) as AMO's JSON form: {"data": hex}.
 * Resolves the answer and the SHA-256 of the bytes.
 */
function send(method: string, url: string, headers: Record<string, string>, size: number, asJson = false): Promise<{ status: number; body: string; sha256: string }> {
  const hash = createHash('sha256');
  const [open, close] = asJson ? ['{"data":"', '"}'] : ['', ''];
  const length = asJson ? open.length + 2 * size + close.length : size;
  const encode = (piece: Buffer) => (asJson ? Buffer.from(piece.toString('hex')) : piece);
  return new Promise((resolve, reject) => {
    const type = asJson ? 'application/json' : 'application/octet-stream';
    const req = request(url, { method, headers: { ...headers, 'content-type': type, 'content-length': String(length) } }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, body, sha256: hash.digest('hex') }));
    });
    req.on('error', reject);
    let sent = 0;
    req.write(open);
    const pump = () => {
      while (sent < size) {
        const piece = size - sent >= CHUNK.length ? CHUNK : CHUNK.subarray(0, size - sent);
        hash.update(piece);
        sent += piece.length;
        if (!req.write(encode(piece))) return void req.once('drain', pump);
      }
      req.end(close);
    };
    pump();
  });
}

function download(url: string, token: string): Promise<{ size: number; sha256: string }> {
  return receive(url, { authorization: `Bearer ${token}` }, (d, hash) => {
    hash.update(d);
    return d.length;
  });
}

/** Receives a parcel's JSON download, decoding the "data" hex as it streams past. */
function downloadParcelJson(url: string, headers: Record<string, string>): Promise<{ size: number; sha256: string }> {
  const marker = '"data":"';
  let head = '';
  let inData = false;
  let carry = '';
  return receive(url, headers, (d, hash) => {
    let text = d.toString('latin1');
    if (!inData) {
      head += text;
      const at = head.indexOf(marker);
      if (at < 0) return 0;
      inData = true;
      text = head.slice(at + marker.length);
    }
    const end = text.indexOf('"');
    const hex = carry + (end < 0 ? text : text.slice(0, end));
    const even = hex.length - (hex.length % 2);
    carry = hex.slice(even);
    const bytes = Buffer.from(hex.slice(0, even), 'hex');
    hash.update(bytes);
    return bytes.length;
  });
}

function receive(url: string, headers: Record<string, string>, take: (chunk: Buffer, hash: ReturnType<typeof createHash>) => number): Promise<{ size: number; sha256: string }> {
  return new Promise((resolve, reject) => {
    request(url, { headers }, (res) => {
      const hash = createHash('sha256');
      let size = 0;
      res.on('data', (d: Buffer) => {
        size += take(d, hash);
      });
      res.on('end', () => resolve({ size, sha256: hash.digest('hex') }));
      res.on('error', reject);
    })
      .on('error', reject)
      .end();
  });
}

async function roundTrip(env: Record<string, string>) {
  const server = await startBuiltServer(env);
  const { child, base } = server;
  try {
    const token = await server.login();
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
    await server.stop();
  }
}

test('1 GiB up and down on the filesystem in bounded memory', { timeout: 300_000 }, async () => {
  await roundTrip({});
});

test('1 GiB up and down on S3 (Ceph RGW) in bounded memory', { timeout: 300_000 }, async () => {
  rgw ??= await startRgw();
  await roundTrip(rgw.settings(freshBucket('coffer-mem')));
});

test('a parcel of AMO\'s API: 384 MiB up as 768 MiB of JSON hex, down as JSON hex, in bounded memory', { timeout: 300_000 }, async () => {
  // The JSON form is read as it streams: its limit can be as large as an operator likes.
  const server = await startBuiltServer({ COFFER_PARCEL_JSON_MAX_BYTES: String(GIB) });
  const { child, base } = server;
  try {
    const token = await server.login();
    const key = makeKey('ed25519');
    const registered = await fetch(`${base}/v1/keys`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ key: key.raw.toString('hex') }) });
    assert.equal(registered.status, 201);
    const challenge = async (operation: unknown) => {
      const res = await fetch(`${base}/api/v1/auth`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user: 'admin', operation }) });
      return challengeHeaders(key, ((await res.json()) as { token: string }).token);
    };
    const size = 384 * 1024 * 1024;
    const t0 = Date.now();
    const up = await send('POST', `${base}/api/v1/parcels`, await challenge('upload'), size, true);
    const upSeconds = (Date.now() - t0) / 1000;
    assert.equal(up.status, 200, up.body);
    const { id } = JSON.parse(up.body) as { id: string };
    assert.equal(id, `00000001${up.sha256.toUpperCase()}`);
    const peakAfterUpload = await peakRssMiB(child.pid!);
    const t1 = Date.now();
    const down = await downloadParcelJson(`${base}/api/v1/parcels/${id}`, await challenge({ name: 'download', id }));
    const downSeconds = (Date.now() - t1) / 1000;
    assert.deepEqual(down, { size, sha256: up.sha256 });
    const peak = await peakRssMiB(child.pid!);
    const hexMiB = (2 * size) / (1024 * 1024);
    process.stdout.write(
      `# parcel as JSON hex: up ${(hexMiB / upSeconds).toFixed(0)} MiB/s of JSON (peak RSS ${peakAfterUpload.toFixed(0)} MiB), down ${(hexMiB / downSeconds).toFixed(0)} MiB/s, server peak RSS ${peak.toFixed(0)} MiB\n`,
    );
    assert.ok(peak < LIMIT_MIB, `the server's peak RSS was ${peak.toFixed(0)} MiB (limit ${LIMIT_MIB})`);
  } finally {
    await server.stop();
  }
});

/**
 * KV and objects through the CLI, each result checked against the HTTP API: put/get/ls/rm, a
 * 50 MiB upload and download with equal SHA-256, a progress bar on a pty (util-linux `script`) and
 * none when piped, presigned URLs fetched with no token, and --json outputs that parse.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { bearer, startServer, type TestServer } from '../helpers/server.js';
import { cliHome, isOneLineError, type CliHome } from './helpers.js';

let server: TestServer;
let cli: CliHome;
let token: string;
const PASSWORD = 'data-user-password-1';

before(async () => {
  server = await startServer();
  token = await server.createUser('datauser', PASSWORD);
  cli = await cliHome();
  const login = await cli.run(['login', server.base, '-u', 'datauser', '--password-stdin'], { input: PASSWORD });
  assert.equal(login.code, 0, login.stderr);
});
after(async () => {
  await cli.close();
  await server.close();
});

const api = (p: string, init: RequestInit = {}) => server.fetch(p, { ...init, headers: bearer(token, (init.headers ?? {}) as Record<string, string>) });
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

test('put (argument, JSON, file, stdin), get and create, checked against the HTTP API', async () => {
  assert.equal((await cli.run(['put', 'notes/today', 'buy milk'])).code, 0);
  assert.deepEqual(await (await api('/v1/data/notes/today')).json(), { key: 'notes/today', value: 'buy milk' });

  assert.equal((await cli.run(['put', 'settings', '-t', 'json', '{"theme":"dark","n":[1,2]}'])).code, 0);
  assert.deepEqual(await (await api('/v1/data/settings')).json(), { key: 'settings', value: { theme: 'dark', n: [1, 2] } });

  const bytes = randomBytes(3000);
  await writeFile(path.join(cli.home, 'blob.bin'), bytes);
  assert.equal((await cli.run(['put', 'blobs/one', '-f', 'blob.bin', '--ttl', '3600'])).code, 0);
  const raw = await api('/v1/data/blobs/one', { headers: { accept: '*/*' } });
  assert.equal(raw.headers.get('content-type'), 'application/octet-stream');
  assert.deepEqual(Buffer.from(await raw.arrayBuffer()), bytes);

  assert.equal((await cli.run(['put', 'from-stdin', '-'], { input: 'piped\nlines\n' })).code, 0);
  assert.equal(await (await api('/v1/data/from-stdin', { headers: { accept: '*/*' } })).text(), 'piped\nlines\n');

  // What the API wrote, the CLI reads: strings as text, JSON as JSON, bytes exactly.
  await api('/v1/data/api/written', { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{"value":{"from":"api"}}' });
  const got = await cli.run(['get', 'api/written']);
  assert.equal(got.code, 0, got.stderr);
  assert.deepEqual(JSON.parse(got.stdout), { from: 'api' });
  assert.equal((await cli.run(['get', 'notes/today'])).stdout, 'buy milk');
  assert.deepEqual((await cli.run(['get', 'blobs/one'])).stdoutBytes, bytes);
  const asJson = JSON.parse((await cli.run(['get', 'blobs/one', '--json'])).stdout) as { value: string; encoding: string; etag: string };
  assert.equal(asJson.encoding, 'base64');
  assert.deepEqual(Buffer.from(asJson.value, 'base64'), bytes);
  assert.match(asJson.etag, /^"/);

  // CAS with the ETag that get --json printed.
  const settings = JSON.parse((await cli.run(['get', 'settings', '--json'])).stdout) as { etag: string };
  assert.equal((await cli.run(['put', 'settings', 'v2', '--if-match', settings.etag])).code, 0);
  const stale = await cli.run(['put', 'settings', 'v3', '--if-match', settings.etag]);
  assert.equal(stale.code, 5);
  assert.ok(isOneLineError(stale.stderr), stale.stderr);

  const exists = await cli.run(['create', 'notes/today', 'again']);
  assert.equal(exists.code, 5);
  assert.ok(isOneLineError(exists.stderr), exists.stderr);
  const created = await cli.run(['create', 'locks/nightly', 'host-1', '--json']);
  assert.equal(created.code, 0);
  assert.equal(JSON.parse(created.stdout).created, true);

  const missing = await cli.run(['get', 'no/such/key']);
  assert.equal(missing.code, 4);
  assert.ok(isOneLineError(missing.stderr), missing.stderr);
});

test('ls (one level, -r, --json) matches the HTTP listing; rm and rm -r delete', async () => {
  const http = (await (await api('/v1/data/')).json()) as { keys: string[]; dirs: string[] };
  const ls = await cli.run(['ls', '--json']);
  assert.equal(ls.code, 0, ls.stderr);
  const listed = JSON.parse(ls.stdout) as { dir: string; keys: string[]; dirs: string[] };
  assert.deepEqual({ keys: listed.keys, dirs: listed.dirs }, { keys: http.keys, dirs: http.dirs });
  assert.deepEqual((await cli.run(['ls'])).stdout.trim().split('\n').sort(), [...http.keys, ...http.dirs].sort());
  const all = JSON.parse((await cli.run(['ls', '-r', '--json'])).stdout) as { keys: string[] };
  assert.ok(all.keys.includes('notes/today') && all.keys.includes('api/written'));

  assert.equal((await cli.run(['rm', 'from-stdin'])).code, 0);
  assert.equal((await api('/v1/data/from-stdin')).status, 404);
  const dir = await cli.run(['rm', 'notes/']);
  assert.equal(dir.code, 2, 'a directory needs -r');
  assert.equal((await cli.run(['rm', '-r', 'notes/'])).code, 0);
  assert.deepEqual(((await (await api('/v1/data/notes/')).json()) as { keys: string[] }).keys, []);
  const gone = await cli.run(['rm', 'from-stdin']);
  assert.equal(gone.code, 4);
});

test('a 50 MiB upload and download keep every byte (equal SHA-256), with nothing on stderr when piped', async () => {
  const big = randomBytes(50 * 1024 * 1024);
  const digest = sha256(big);
  await writeFile(path.join(cli.home, 'big.bin'), big);
  const up = await cli.run(['upload', 'big.bin', 'isos/']);
  assert.equal(up.code, 0, up.stderr);
  assert.equal(up.stderr, '', 'no progress bar when stderr is not a terminal');
  assert.equal(up.stdout, `isos/big.bin\t${big.length}\t${digest}\n`);
  const meta = (await (await api('/v1/objects/isos/big.bin?meta')).json()) as { sha256: string; size: number };
  assert.equal(meta.sha256, digest);
  assert.equal(meta.size, big.length);

  const down = await cli.run(['download', 'isos/big.bin', 'copy.bin']);
  assert.equal(down.code, 0, down.stderr);
  assert.equal(down.stderr, '');
  assert.equal(sha256(await readFile(path.join(cli.home, 'copy.bin'))), digest);
  const piped = await cli.run(['download', 'isos/big.bin', '-']);
  assert.equal(piped.code, 0, piped.stderr);
  assert.equal(piped.stdoutBytes.length, big.length);
  assert.equal(sha256(piped.stdoutBytes), digest);
  assert.ok(!(await readdir(cli.home)).some((f) => f.endsWith('.part')), 'no temporary file is left');
});

test('a progress bar with bytes, rate and ETA is drawn on a terminal (a pty from util-linux script)', async (t) => {
  const hasScript = await new Promise<boolean>((resolve) => execFile('script', ['--version'], (e) => resolve(!e)));
  if (!hasScript) return t.skip('util-linux script is not installed');
  const output = await new Promise<string>((resolve, reject) =>
    execFile('script', ['-qfec', cli.shell(['download', 'isos/big.bin', 'tty-copy.bin']), '/dev/null'], { maxBuffer: 16 << 20 }, (e, stdout) =>
      e ? reject(e) : resolve(stdout),
    ),
  );
  assert.match(output, /isos\/big\.bin/);
  assert.match(output, /\[#+\] 100%/, output);
  assert.match(output, /50 MiB\/50 MiB/);
  assert.match(output, /[\d.]+ [KMG]?i?B\/s/);
  assert.match(output, /\r/, 'redrawn in place');
  assert.equal(sha256(await readFile(path.join(cli.home, 'tty-copy.bin'))), sha256(await readFile(path.join(cli.home, 'big.bin'))));
});

test('a directory uploads recursively; objects ls, inspect and rm, with --json that parses', async () => {
  await mkdir(path.join(cli.home, 'site', 'css'), { recursive: true });
  await writeFile(path.join(cli.home, 'site', 'index.html'), '<h1>hi</h1>');
  await writeFile(path.join(cli.home, 'site', 'css', 'a.css'), 'h1{}');
  const up = await cli.run(['upload', 'site', '--json']);
  assert.equal(up.code, 0, up.stderr);
  const answers = JSON.parse(up.stdout) as Array<{ path: string; content_type: string }>;
  assert.deepEqual(answers.map((a) => a.path).sort(), ['site/css/a.css', 'site/index.html']);
  assert.equal(answers.find((a) => a.path === 'site/index.html')!.content_type, 'text/html; charset=utf-8');
  assert.equal(await (await api('/v1/objects/site/css/a.css')).text(), 'h1{}');

  const level = JSON.parse((await cli.run(['objects', 'ls', '--json'])).stdout) as { objects: unknown[]; prefixes: string[] };
  assert.deepEqual(level.prefixes, ['isos/', 'site/']);
  const deep = JSON.parse((await cli.run(['objects', 'ls', 'site/', '-r', '--json'])).stdout) as { objects: Array<{ path: string }> };
  assert.deepEqual(deep.objects.map((o) => o.path), ['site/css/a.css', 'site/index.html']);
  const human = await cli.run(['objects', 'ls', 'site/']);
  assert.match(human.stdout, /DIR\s+site\/css\//);
  assert.match(human.stdout, /11 B\s+\S+ \S+\s+site\/index\.html/);

  const inspect = JSON.parse((await cli.run(['inspect', 'site/index.html', '--json'])).stdout) as { size: number; sha256: string; updated_at: string };
  assert.equal(inspect.size, 11);
  assert.equal(inspect.sha256, sha256(Buffer.from('<h1>hi</h1>')));
  assert.ok(!Number.isNaN(Date.parse(inspect.updated_at)));

  const rm = await cli.run(['objects', 'rm', '-r', 'site/', '--json']);
  assert.equal(rm.code, 0, rm.stderr);
  assert.equal((JSON.parse(rm.stdout) as { deleted: string[] }).deleted.length, 2);
  assert.equal((await api('/v1/objects/site/index.html')).status, 404);
  const missing = await cli.run(['inspect', 'site/index.html']);
  assert.equal(missing.code, 4);
  assert.ok(isOneLineError(missing.stderr), missing.stderr);
});

test('presigned URLs work with plain fetch and no token, for GET and PUT', async () => {
  const get = await cli.run(['presign', 'isos/big.bin']);
  assert.equal(get.code, 0, get.stderr);
  const url = get.stdout.trim();
  assert.match(url, /^http:\/\//);
  const res = await fetch(url);
  assert.equal(res.status, 200);
  assert.equal(sha256(new Uint8Array(await res.arrayBuffer())), sha256(await readFile(path.join(cli.home, 'big.bin'))));

  const put = await cli.run(['presign', '--put', 'shared/report.txt', '-e', '600', '--json']);
  assert.equal(put.code, 0, put.stderr);
  const answer = JSON.parse(put.stdout) as { url: string; method: string; expires_at: string; headers: Record<string, string> };
  assert.equal(answer.method, 'PUT');
  assert.ok(Date.parse(answer.expires_at) - Date.now() <= 600_000 + 5000);
  assert.ok((await fetch(answer.url, { method: 'PUT', headers: answer.headers ?? {}, body: 'report' })).ok);
  assert.equal((await cli.run(['download', 'shared/report.txt', '-'])).stdout, 'report');
});

test('stdin uploads; a SHA-256 mismatch on download would be refused, a checksum upload is verified by the server', async () => {
  const up = await cli.run(['upload', '-', 'streams/in.txt'], { input: 'streamed bytes' });
  assert.equal(up.code, 0, up.stderr);
  assert.equal(await (await api('/v1/objects/streams/in.txt')).text(), 'streamed bytes');
  await writeFile(path.join(cli.home, 'c.txt'), 'checked');
  const checked = await cli.run(['upload', 'c.txt', 'streams/', '--checksum', '--json']);
  assert.equal(checked.code, 0, checked.stderr);
  assert.equal((JSON.parse(checked.stdout) as { sha256: string }).sha256, sha256(Buffer.from('checked')));
  const noDest = await cli.run(['upload', '-'], { input: 'x' });
  assert.equal(noDest.code, 2);
  assert.ok(isOneLineError(noDest.stderr), noDest.stderr);
});

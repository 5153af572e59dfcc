/**
 * The CLI's transfers on both blob backends (the filesystem and Ceph RGW through S3): files of a
 * few MiB up and down with equal SHA-256 (the raw socket paths of src/cli/raw-http.ts, and the
 * client's path for stdout), --no-verify, a directory up and `download -r` back, a token refused
 * mid-session refreshed on both paths, a refusal that comes while the body is still being sent.
 * Then once, a server that is not Coffer: a listing with paths that would escape the target
 * directory, bytes that do not match their SHA-256, chunked answers.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, readdir, readFile, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openFsBackend, openS3Backend, type BackendFixture } from '../helpers/backends.js';
import { startRgw, type Rgw } from '../helpers/ceph.js';
import { bearer } from '../helpers/server.js';
import { cliHome, isOneLineError, type CliHome } from './helpers.js';

let rgw: Rgw | undefined;
after(() => rgw?.stop());

const backends: Array<{ name: string; open(): Promise<BackendFixture> }> = [
  { name: 'fs', open: () => openFsBackend() },
  { name: 's3 (Ceph RGW)', open: async () => openS3Backend((rgw ??= await startRgw()), 'coffer-cli') },
];

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const PASSWORD = 'transfer-user-password-1';

/** Every file below `dir`, relative, sorted. */
async function tree(dir: string): Promise<string[]> {
  return ((await readdir(dir, { recursive: true, withFileTypes: true })) as Array<{ isFile(): boolean; name: string; parentPath?: string; path?: string }>)
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath ?? e.path ?? dir, e.name)))
    .sort();
}

for (const backend of backends) {
  describe(`CLI transfers on ${backend.name}`, () => {
    let fx: BackendFixture;
    let cli: CliHome;
    let token: string;
    const api = (p: string, init: RequestInit = {}) => fx.server.fetch(p, { ...init, headers: bearer(token, (init.headers ?? {}) as Record<string, string>) });

    before(async () => {
      fx = await backend.open();
      token = await fx.server.createUser('mover', PASSWORD);
      cli = await cliHome();
      const login = await cli.run(['login', fx.server.base, '-u', 'mover', '--password-stdin'], { input: PASSWORD });
      assert.equal(login.code, 0, login.stderr);
    });
    after(async () => {
      await cli?.close();
      await fx?.close();
    });

    test('a 24 MiB file up and down keeps every byte, to a file (checked) and to stdout; --no-verify skips the check', async () => {
      const big = randomBytes(24 * 1024 * 1024 + 123);
      const digest = sha256(big);
      await writeFile(path.join(cli.home, 'big.bin'), big);
      const up = await cli.run(['upload', 'big.bin', 'data/', '--json']);
      assert.equal(up.code, 0, up.stderr);
      const answer = JSON.parse(up.stdout) as { path: string; size: number; sha256: string; created: boolean };
      assert.deepEqual(answer, { ...answer, path: 'data/big.bin', size: big.length, sha256: digest, created: true });
      assert.equal(sha256(new Uint8Array(await (await api('/v1/objects/data/big.bin')).arrayBuffer())), digest, 'the server holds the same bytes');
      const again = JSON.parse((await cli.run(['upload', 'big.bin', 'data/', '--json'])).stdout) as { created: boolean };
      assert.equal(again.created, false, 'replaced: 200, not 201');

      const down = await cli.run(['download', 'data/big.bin', 'copy.bin', '--json']);
      assert.equal(down.code, 0, down.stderr);
      assert.equal(sha256(await readFile(path.join(cli.home, 'copy.bin'))), digest);
      const written = JSON.parse(down.stdout) as { file: string; size: number; sha256: string; verified: boolean };
      assert.deepEqual(written, { ...written, file: 'copy.bin', size: big.length, sha256: digest, verified: true });

      const unchecked = await cli.run(['download', 'data/big.bin', 'fast.bin', '--no-verify', '--json']);
      assert.equal(unchecked.code, 0, unchecked.stderr);
      assert.equal(sha256(await readFile(path.join(cli.home, 'fast.bin'))), digest);
      assert.equal((JSON.parse(unchecked.stdout) as { verified: boolean }).verified, false);

      const piped = await cli.run(['download', 'data/big.bin', '-']);
      assert.equal(piped.code, 0, piped.stderr);
      assert.equal(sha256(piped.stdoutBytes), digest);
      assert.ok(!(await readdir(cli.home)).some((f) => f.endsWith('.part')), 'no temporary file is left');

      const missing = await cli.run(['download', 'data/nope.bin']);
      assert.equal(missing.code, 4);
      assert.ok(isOneLineError(missing.stderr), missing.stderr);
      assert.ok(!(await readdir(cli.home)).some((f) => f.startsWith('nope.bin') || f.includes('nope.bin.')), 'nothing written for a missing object');
    });

    test('a directory goes up and comes back with download -r, the tree kept; the prefix is a folder', async () => {
      const src = path.join(cli.home, 'site');
      const files: Record<string, Buffer> = {
        'index.html': Buffer.from('<h1>hi</h1>'),
        'css/a b.css': Buffer.from('h1{}'),
        'img/deep/ünï.bin': randomBytes(300_000),
        'empty.txt': Buffer.alloc(0),
      };
      for (const [rel, bytes] of Object.entries(files)) {
        await mkdir(path.dirname(path.join(src, rel)), { recursive: true });
        await writeFile(path.join(src, rel), bytes);
      }
      assert.equal((await cli.run(['upload', 'site'])).code, 0);
      // A sibling that starts with the same letters is not part of site/.
      assert.equal((await cli.run(['upload', '-', 'site-old/x.txt'], { input: 'old' })).code, 0);

      const down = await cli.run(['download', '-r', 'site', 'mirror', '--json']);
      assert.equal(down.code, 0, down.stderr);
      assert.deepEqual(await tree(path.join(cli.home, 'mirror')), Object.keys(files).sort());
      for (const [rel, bytes] of Object.entries(files)) assert.deepEqual(await readFile(path.join(cli.home, 'mirror', rel)), bytes, rel);
      const listed = JSON.parse(down.stdout) as Array<{ path: string; file: string; verified: boolean }>;
      assert.deepEqual(listed.map((w) => w.path).sort(), Object.keys(files).map((r) => `site/${r}`).sort());
      assert.ok(listed.every((w) => w.verified && path.isAbsolute(w.file)));

      // Without a directory: the prefix's last name, here, as `upload ./site` made site/.
      const shell = await cli.run(['download', '-r', 'site/img/']);
      assert.equal(shell.code, 0, shell.stderr);
      assert.match(shell.stderr, /Downloaded 1 file to img/);
      assert.deepEqual(await readFile(path.join(cli.home, 'img', 'deep', 'ünï.bin')), files['img/deep/ünï.bin']);

      // A symbolic link already in the directory that leads outside it is not followed.
      const outside = path.join(cli.home, 'outside');
      await mkdir(outside);
      await mkdir(path.join(cli.home, 'linked'));
      await symlink(outside, path.join(cli.home, 'linked', 'img'));
      const linked = await cli.run(['download', '-r', 'site', 'linked']);
      assert.equal(linked.code, 1, linked.stderr);
      assert.match(linked.stderr, /not written: "site\/img\/deep\/ünï\.bin": a symbolic link in linked leads outside it/);
      assert.deepEqual(await readdir(outside), [], 'nothing written or made through the link (not even img/deep/)');
      assert.deepEqual(await readFile(path.join(cli.home, 'linked', 'index.html')), files['index.html']);

      const none = await cli.run(['download', '-r', 'no-such-prefix/', 'x']);
      assert.equal(none.code, 4);
      assert.ok(isOneLineError(none.stderr), none.stderr);
      assert.equal((await cli.run(['download', '-r', 'site', '-'])).code, 2, '-r does not write to stdout');
    });

    test('a token the server refuses is refreshed and the transfer retried, upload and download', async () => {
      const file = path.join(cli.configHome, 'coffer', 'session.json');
      const session = JSON.parse(await readFile(file, 'utf8')) as { access_token: string; refresh_token: string; expires_at?: number };
      // A token the server does not know, with an expiry that looks fine: only a 401 tells.
      await writeFile(file, JSON.stringify({ ...session, access_token: 'not.a.token', expires_at: Date.now() + 3_600_000 }), { mode: 0o600 });
      const bytes = randomBytes(3 * 1024 * 1024);
      await writeFile(path.join(cli.home, 'r.bin'), bytes);
      const up = await cli.run(['upload', 'r.bin', 'refresh/r.bin']);
      assert.equal(up.code, 0, up.stderr);
      const renewed = JSON.parse(await readFile(file, 'utf8')) as { access_token: string; refresh_token: string };
      assert.notEqual(renewed.access_token, 'not.a.token');
      assert.notEqual(renewed.refresh_token, session.refresh_token, 'refresh tokens rotate');

      await writeFile(file, JSON.stringify({ ...renewed, access_token: 'not.a.token' }), { mode: 0o600 });
      const down = await cli.run(['download', 'refresh/r.bin', 'r-copy.bin']);
      assert.equal(down.code, 0, down.stderr);
      assert.deepEqual(await readFile(path.join(cli.home, 'r-copy.bin')), bytes);
      assert.notEqual((JSON.parse(await readFile(file, 'utf8')) as { access_token: string }).access_token, 'not.a.token');
    });

    test('a refusal that comes while the body is still being sent is reported (exit 3), nothing stored', async () => {
      await fx.server.createUser('reader', 'reader-password-1', { grants: ['objects:read'] });
      const reader = await cliHome();
      try {
        assert.equal((await reader.run(['login', fx.server.base, '-u', 'reader', '--password-stdin'], { input: 'reader-password-1' })).code, 0);
        await writeFile(path.join(reader.home, 'big.bin'), randomBytes(16 * 1024 * 1024));
        const up = await reader.run(['upload', 'big.bin', 'nope/big.bin']);
        assert.equal(up.code, 3, `${up.stdout} ${up.stderr}`);
        assert.ok(isOneLineError(up.stderr), up.stderr);
        assert.match(up.stderr, /objects:write|scope|permission|forbidden/i);
      } finally {
        await reader.close();
      }
      assert.equal((await api('/v1/objects/nope/big.bin?meta')).status, 404);
    });
  });
}

describe('a server that is not Coffer: hostile listings, corrupt bytes, chunked answers', () => {
  let server: Server;
  let cli: CliHome;
  let env: Record<string, string>;
  // Its listing of docs/ names paths that would land outside the target directory.
  const listing = ['docs/ok.txt', 'docs/../../escaped.txt', 'docs/sub/../../../escaped2.txt', 'docs//etc/passwd-copy', 'elsewhere/outside.txt', 'docs/./dot.txt', 'docs/sub/fine.txt'];
  const odd = randomBytes(3 * 1024 * 1024 + 7);

  before(async () => {
    server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.pathname === '/v1/objects/odd/corrupt.bin') {
        // Framed, but the bytes are not those of the SHA-256 announced.
        res.writeHead(200, { 'content-length': String(odd.length), 'x-coffer-sha256': sha256(Buffer.from('something else')) }).end(odd);
        return;
      }
      if (url.pathname === '/v1/objects/odd/chunked.bin' && req.method === 'GET') {
        // No Content-Length: the CLI's socket path declines it and the client's path reads it.
        res.writeHead(200, { 'x-coffer-sha256': sha256(odd), 'content-type': 'application/x-odd' });
        res.write(odd.subarray(0, 1000));
        setTimeout(() => res.end(odd.subarray(1000)), 20);
        return;
      }
      if (url.pathname === '/v1/objects/odd/up.bin' && req.method === 'PUT') {
        const hash = createHash('sha256');
        let size = 0;
        req.on('data', (c: Buffer) => {
          hash.update(c);
          size += c.length;
        });
        req.on('end', () => {
          // A chunked answer (the socket path decodes it).
          res.writeHead(201, { 'content-type': 'application/json' });
          res.write('{"path":"odd/up.bin",');
          res.end(JSON.stringify({ size, sha256: hash.digest('hex'), content_type: req.headers['content-type'], etag: '"e"', updated_at: new Date().toISOString() }).slice(1));
        });
        return;
      }
      if (url.pathname === '/v1/objects/odd/continue.bin' && req.method === 'GET') {
        // An interim 100 first (a proxy may send one), then the answer, its body in pieces.
        res.writeContinue();
        res.writeHead(200, { 'content-length': String(odd.length), 'x-coffer-sha256': sha256(odd) });
        res.write(odd.subarray(0, 1000));
        setTimeout(() => res.end(odd.subarray(1000)), 20);
        return;
      }
      if (url.pathname === '/v1/objects/odd/continue-up.bin' && req.method === 'PUT') {
        res.writeContinue();
        let size = 0;
        req.on('data', (c: Buffer) => (size += c.length));
        req.on('end', () => res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ path: 'odd/continue-up.bin', size, sha256: 'x', content_type: 'application/octet-stream', etag: '"e"', updated_at: new Date().toISOString() })));
        return;
      }
      if (url.pathname === '/v1/objects/odd/partial.bin') {
        // A part nobody asked for: not the object.
        res.writeHead(206, { 'content-range': 'bytes 0-4/26', 'content-length': '5' }).end('bytes');
        return;
      }
      if (url.pathname === '/v1/objects' && url.searchParams.get('prefix') === 'clash/') {
        // An object and another below it (S3 allows both): the second has nowhere to go.
        const objects = ['clash/a', 'clash/a/b', 'clash/c'].map((p) => ({ path: p, size: 5, sha256: sha256(Buffer.from('bytes')), content_type: 'text/plain', etag: '"x"', updated_at: new Date().toISOString() }));
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ objects, prefixes: [], cursor: null }));
        return;
      }
      if (url.pathname === '/v1/objects') {
        const objects = listing.map((p) => ({ path: p, size: 5, sha256: sha256(Buffer.from('bytes')), content_type: 'text/plain', etag: '"x"', updated_at: new Date().toISOString() }));
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ objects, prefixes: [], cursor: null }));
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '5', 'x-coffer-sha256': sha256(Buffer.from('bytes')) }).end('bytes');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cli = await cliHome();
    env = { COFFER_URL: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, COFFER_TOKEN: 'whatever' };
  });

  test('bytes that do not match the announced SHA-256 are refused and leave no file; --no-verify takes them', async () => {
    const bad = await cli.run(['download', 'odd/corrupt.bin', 'c.bin'], { env });
    assert.equal(bad.code, 1);
    assert.ok(isOneLineError(bad.stderr), bad.stderr);
    assert.match(bad.stderr, /do not match its SHA-256/);
    assert.deepEqual(await readdir(cli.home), [], 'no file, no .part');
    const piped = await cli.run(['download', 'odd/corrupt.bin', '-'], { env });
    assert.equal(piped.code, 1, 'checked on the stream path too');
    const unchecked = await cli.run(['download', 'odd/corrupt.bin', 'c.bin', '--no-verify'], { env });
    assert.equal(unchecked.code, 0, unchecked.stderr);
    assert.deepEqual(await readFile(path.join(cli.home, 'c.bin')), odd);
  });

  test('a chunked download answer goes by the client\'s path, a chunked upload answer is decoded', async () => {
    const down = await cli.run(['download', 'odd/chunked.bin', 'k.bin', '--json'], { env });
    assert.equal(down.code, 0, down.stderr);
    assert.deepEqual(await readFile(path.join(cli.home, 'k.bin')), odd);
    assert.deepEqual(JSON.parse(down.stdout), { path: 'odd/chunked.bin', file: 'k.bin', size: odd.length, sha256: sha256(odd), verified: true, content_type: 'application/x-odd' });
    const up = await cli.run(['upload', 'k.bin', 'odd/up.bin', '--content-type', 'application/x-odd'], { env });
    assert.equal(up.code, 0, up.stderr);
    assert.equal(up.stdout, `odd/up.bin\t${odd.length}\t${sha256(odd)}\n`);
  });
  test('an interim 100 before the answer is skipped on both fast paths: every byte lands, none is added', async () => {
    const down = await cli.run(['download', 'odd/continue.bin', 'cont.bin'], { env });
    assert.equal(down.code, 0, down.stderr);
    assert.deepEqual(await readFile(path.join(cli.home, 'cont.bin')), odd);
    const up = await cli.run(['upload', 'cont.bin', 'odd/continue-up.bin'], { env });
    assert.equal(up.code, 0, up.stderr);
    assert.match(up.stdout, new RegExp(`^odd/continue-up.bin\t${odd.length}\t`));
    await unlink(path.join(cli.home, 'cont.bin'));
  });

  test('a part the CLI did not ask for (206) is not written as the object', async () => {
    const run = await cli.run(['download', 'odd/partial.bin', 'p.bin'], { env });
    assert.equal(run.code, 1, run.stderr);
    assert.ok(isOneLineError(run.stderr), run.stderr);
    assert.match(run.stderr, /answered 206 with 5 of 26 bytes/);
    assert.ok(!(await readdir(cli.home)).some((f) => f.includes('p.bin')), 'no file, no .part');
  });

  test('download -r: an object with another below it (a and a/b) refuses the second by name and writes the rest', async () => {
    const run = await cli.run(['download', '-r', 'clash', 'clash-out'], { env });
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, /not written: "clash\/a\/b": .* is in the way \((ENOTDIR|EEXIST)\)/);
    assert.match(run.stderr, /1 object not written/);
    assert.deepEqual(await tree(path.join(cli.home, 'clash-out')), ['a', 'c']);
    await rm(path.join(cli.home, 'clash-out'), { recursive: true });
  });

  after(async () => {
    await cli.close();
    await new Promise((resolve) => server.close(resolve));
  });

  test('download -r: paths with "..", "." or empty segments, or outside the prefix, are not written; the rest is, and the exit code is 1', async () => {
    const work = path.join(cli.home, 'a', 'b');
    await mkdir(work, { recursive: true });
    const run = await cli.run(['download', '-r', 'docs', 'a/b/out'], { env });
    assert.equal(run.code, 1, run.stderr);
    for (const bad of ['docs/../../escaped.txt', 'docs/sub/../../../escaped2.txt', 'docs//etc/passwd-copy', 'elsewhere/outside.txt', 'docs/./dot.txt']) {
      assert.ok(run.stderr.includes(JSON.stringify(bad)), `${bad} is named: ${run.stderr}`);
    }
    assert.match(run.stderr, /5 objects not written/);
    // (c.bin and k.bin are the tests' above; an escape from a/b/out would land in a/ or the home.)
    assert.deepEqual(await tree(cli.home), ['a/b/out/ok.txt', 'a/b/out/sub/fine.txt', 'c.bin', 'k.bin'], 'nothing lands anywhere else');
    assert.equal(await readFile(path.join(work, 'out', 'ok.txt'), 'utf8'), 'bytes');
  });
});

/**
 * Presigned URLs on both backends, used by a plain HTTP client with no token: Coffer-signed on the
 * filesystem, the store's own on S3 (a real Ceph RGW).
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { freshBucket, startRgw, type Rgw } from '../helpers/ceph.js';
import { TestClock } from '../helpers/clock.js';
import { bearer, startServer, type TestServer } from '../helpers/server.js';

let rgw: Rgw | undefined;
after(() => rgw?.stop());

const backends: Array<{ name: string; env(): Promise<Record<string, string>> }> = [
  { name: 'fs', env: async () => ({}) },
  { name: 's3 (Ceph RGW)', env: async () => (rgw ??= await startRgw()).settings(freshBucket('coffer-presign')) },
];

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
const json = (body: unknown, token: string) => ({ method: 'POST', headers: bearer(token, { 'content-type': 'application/json' }), body: JSON.stringify(body) });

interface Presigned {
  url: string;
  method: string;
  headers: Record<string, string>;
  expires_at: string;
  presigned_url: string;
}

for (const backend of backends) {
  describe(`presigned URLs on ${backend.name}`, () => {
    let server: TestServer;
    let token: string;
    let env: Record<string, string>;
    /** Coffer's time; an S3 store checks its own URLs against its own clock. */
    const clock = new TestClock();
    before(async () => {
      env = await backend.env();
      server = await startServer(env, { clock });
      token = await server.createUser('signer');
    });
    after(() => server.close());

    const presign = async (body: unknown, t = token) => {
      const res = await server.fetch('/v1/presign', json(body, t));
      return { res, body: (await res.json()) as Presigned & { code?: string } };
    };

    test('a presigned PUT and GET work with plain fetch and no token', async () => {
      const { res, body } = await presign({ path: 'shared/report.txt', method: 'PUT', expires_in: 600 });
      assert.equal(res.status, 200);
      assert.equal(body.method, 'PUT');
      assert.equal(body.presigned_url, body.url);
      assert.match(body.url, /^https?:\/\//);
      const expires = Date.parse(body.expires_at) - Date.now();
      assert.ok(expires > 590_000 && expires <= 601_000, `expires_at is ~600 s ahead (${expires} ms)`);

      const bytes = randomBytes(200_000);
      const put = await fetch(body.url, { method: 'PUT', body: bytes });
      assert.equal(put.status, 200, await put.clone().text());

      const meta = await server.fetch('/v1/objects/shared/report.txt?meta', { headers: bearer(token) });
      assert.equal(meta.status, 200);
      const view = (await meta.json()) as { size: number; sha256: string };
      assert.deepEqual([view.size, view.sha256], [bytes.length, sha(bytes)], 'indexed with the right size and hash');

      const signedGet = await presign({ path: 'shared/report.txt', method: 'GET' });
      assert.equal(signedGet.res.status, 200);
      const got = await fetch(signedGet.body.url);
      assert.equal(got.status, 200);
      assert.equal(sha(Buffer.from(await got.arrayBuffer())), sha(bytes));
    });

    test('expires_in defaults to 3600 s, expires_at is ISO 8601 UTC; on fs Coffer serves the URL, on S3 the store does', async () => {
      const { res, body } = await presign({ path: 'defaults/a.txt', method: 'PUT' });
      assert.equal(res.status, 200);
      assert.match(body.expires_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
      const ahead = Date.parse(body.expires_at) - Date.now();
      assert.ok(ahead > 3_590_000 && ahead <= 3_601_000, `expires_at is ~3600 s ahead (${ahead} ms)`);
      const expected = env.COFFER_S3_ENDPOINT ? new URL(env.COFFER_S3_ENDPOINT).origin : new URL(server.base).origin;
      assert.equal(new URL(body.url).origin, expected);
    });

    test("the presign prototype's {file, user} form presigns a PUT; no Content-Type and an empty body are fine", async () => {
      const { res, body } = await presign({ file: 'from-client-py.bin', user: 'signer' });
      assert.equal(res.status, 200);
      assert.equal(body.method, 'PUT');
      const put = await fetch(body.url, { method: 'PUT', body: new Uint8Array(0) });
      assert.equal(put.status, 200);
      const list = await server.fetch('/v1/objects/?prefix=from-client', { headers: bearer(token) });
      const objects = ((await list.json()) as { objects: Array<{ path: string; size: number; sha256: string }> }).objects;
      assert.deepEqual(objects.map((o) => [o.path, o.size, o.sha256]), [['from-client-py.bin', 0, sha('')]], 'a listing shows it');
    });

    test('a tampered URL is refused and stores nothing', async () => {
      const { body } = await presign({ path: 'tamper/a.txt', method: 'PUT' });
      const url = new URL(body.url);
      const variants: URL[] = [];
      const otherPath = new URL(url);
      otherPath.pathname = otherPath.pathname.slice(0, -1) + (otherPath.pathname.endsWith('0') ? '1' : '0');
      variants.push(otherPath);
      for (const [k, v] of url.searchParams) {
        if (/signature|expires/i.test(k)) {
          const u = new URL(url);
          u.searchParams.set(k, /expires/i.test(k) ? String(Number(v) + 1000) : v.slice(0, -2) + (v.endsWith('AA') ? 'BB' : 'AA'));
          variants.push(u);
        }
      }
      assert.ok(variants.length >= 3, 'the path, the signature and the expiry were each altered');
      for (const u of variants) {
        const res = await fetch(u, { method: 'PUT', body: 'evil' });
        assert.equal(res.status, 403, `altered ${u.pathname}${u.search.slice(0, 40)}`);
      }
      assert.equal((await server.fetch('/v1/objects/tamper/a.tx0', { headers: bearer(token) })).status, 404);
      assert.equal((await server.fetch('/v1/objects/tamper/a.txt', { headers: bearer(token) })).status, 404);
    });

    test('an expired URL is refused', async () => {
      const { body } = await presign({ path: 'soon/gone.txt', method: 'PUT', expires_in: 1 });
      if (env.COFFER_S3_ENDPOINT) await new Promise((r) => setTimeout(r, 2100)); // the store's clock: only waiting moves it
      else clock.advance(2100);
      const res = await fetch(body.url, { method: 'PUT', body: 'late' });
      assert.equal(res.status, 403);
      assert.equal((await server.fetch('/v1/objects/soon/gone.txt', { headers: bearer(token) })).status, 404);
    });

    test('a URL signed for GET does not upload', async () => {
      await server.fetch('/v1/objects/ro.txt', { method: 'PUT', headers: bearer(token), body: 'read only' });
      const { body } = await presign({ path: 'ro.txt', method: 'GET' });
      const res = await fetch(body.url, { method: 'PUT', body: 'overwrite' });
      assert.equal(res.status, 403);
      const back = await server.fetch('/v1/objects/ro.txt', { headers: bearer(token) });
      assert.equal(await back.text(), 'read only');
    });

    test('bad requests: expiry over 7 days, bad method, another user, a missing object to GET, no presign scope', async () => {
      assert.equal((await presign({ path: 'x', method: 'PUT', expires_in: 7 * 86400 + 1 })).res.status, 400);
      assert.equal((await presign({ path: 'x', method: 'PUT', expires_in: 7 * 86400 })).res.status, 200);
      assert.equal((await presign({ path: 'x', method: 'DELETE' })).res.status, 400);
      assert.equal((await presign({ path: '../x', method: 'PUT' })).res.status, 400);
      assert.equal((await presign({ file: 'x', user: 'someone-else' })).res.status, 403);
      assert.equal((await presign({ path: 'never/there', method: 'GET' })).res.status, 404);
      const kvOnly = await server.createUser(`kvonly${randomBytes(3).toString('hex')}`, 'kvonly-password', { grants: ['kv:read'] });
      const denied = await presign({ path: 'x', method: 'PUT' }, kvOnly);
      assert.deepEqual([denied.res.status, denied.body.code], [403, 'insufficient_scope']);
    });

    test('a presign needs the object scope of its method too: a URL never does more than its maker could (SPEC §2)', async () => {
      await server.fetch('/v1/objects/scoped/a.txt', { method: 'PUT', headers: bearer(token), body: 'scoped' });
      const name = `presignonly${randomBytes(3).toString('hex')}`;
      const presignOnly = await server.createUser(name, `${name}-password`, { grants: ['presign'] });
      for (const method of ['PUT', 'GET']) {
        const denied = await presign({ path: 'scoped/a.txt', method }, presignOnly);
        assert.deepEqual([denied.res.status, denied.body.code], [403, 'insufficient_scope'], `${method} with grants [presign]`);
        assert.equal((await server.fetch(`/v1/objects/scoped/${method}`, { method: 'PUT', headers: bearer(presignOnly), body: 'x' })).status, 403);
      }
      // A token narrowed to "presign" at login is refused the same way, though its user holds more.
      const login = await server.fetch('/v1/login', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'signer', password: 'signer-password-1', scope: 'presign' }),
      });
      const narrowed = ((await login.json()) as { access_token: string }).access_token;
      for (const method of ['PUT', 'GET']) {
        const denied = await presign({ path: 'scoped/a.txt', method }, narrowed);
        assert.deepEqual([denied.res.status, denied.body.code], [403, 'insufficient_scope'], `${method} with a token narrowed to presign`);
      }
      // presign + objects:read: GET yes, PUT no.
      const readerName = `presignreader${randomBytes(3).toString('hex')}`;
      const reader = await server.createUser(readerName, `${readerName}-password`, { grants: ['presign', 'objects:read'] });
      await server.fetch('/v1/objects/mine.txt', { method: 'PUT', headers: bearer(token), body: 'x' });
      assert.equal((await presign({ path: 'scoped/a.txt', method: 'PUT' }, reader)).body.code, 'insufficient_scope');
      assert.equal((await presign({ path: 'nothing/here', method: 'GET' }, reader)).res.status, 404, 'GET is allowed (and the object is missing)');
    });
  });
}

describe('Coffer-signed URLs (fs) are checked again when used: their maker must still exist, be enabled and hold the scope', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer();
  });
  after(() => server.close());

  let n = 0;
  /** A user with an object and a presigned GET and PUT for it. */
  async function maker() {
    const name = `maker${++n}`;
    const token = await server.createUser(name, `${name}-password`);
    await server.fetch('/v1/objects/doc.txt', { method: 'PUT', headers: bearer(token), body: 'the doc' });
    const urls: Record<string, string> = {};
    for (const method of ['GET', 'PUT']) {
      const res = await server.fetch('/v1/presign', json({ path: 'doc.txt', method }, token));
      assert.equal(res.status, 200);
      urls[method] = ((await res.json()) as Presigned).url;
    }
    return { name, token, urls };
  }
  const admin = async (method: string, name: string, body?: unknown) => {
    const res = await server.fetch(`/v1/users/${name}`, {
      method,
      headers: bearer(await server.adminToken(), body ? { 'content-type': 'application/json' } : {}),
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    assert.equal(res.status, 200, await res.text());
  };
  const status = async (url: string, method = 'GET') => (await fetch(url, method === 'PUT' ? { method, body: 'new' } : {})).status;

  test('control: both URLs work while nothing changed', async () => {
    const m = await maker();
    assert.equal(await status(m.urls.GET!), 200);
    assert.equal(await status(m.urls.PUT!, 'PUT'), 200);
  });

  test('disabled maker: refused, and still refused after being enabled again (the disable ended every URL)', async () => {
    const m = await maker();
    await admin('PATCH', m.name, { disabled: true });
    assert.equal(await status(m.urls.GET!), 403);
    assert.equal(await status(m.urls.PUT!, 'PUT'), 403);
    await admin('PATCH', m.name, { disabled: false });
    assert.equal(await status(m.urls.GET!), 403);
  });

  test('a password change ends the URLs signed before it', async () => {
    const m = await maker();
    await admin('PATCH', m.name, { password: 'a-brand-new-password' });
    assert.equal(await status(m.urls.GET!), 403);
    assert.equal(await status(m.urls.PUT!, 'PUT'), 403);
  });

  test('a maker who lost objects:read cannot be read through; one who lost objects:write cannot be written through', async () => {
    const reader = await maker();
    await admin('PATCH', reader.name, { grants: ['presign', 'objects:write'] });
    assert.equal(await status(reader.urls.GET!), 403);
    assert.equal(await status(reader.urls.PUT!, 'PUT'), 200);
    const writer = await maker();
    await admin('PATCH', writer.name, { grants: ['presign', 'objects:read'] });
    assert.equal(await status(writer.urls.PUT!, 'PUT'), 403);
    assert.equal(await status(writer.urls.GET!), 200);
  });

  test('a deleted maker: refused', async () => {
    const m = await maker();
    await admin('DELETE', m.name);
    assert.equal(await status(m.urls.GET!), 403);
    assert.equal(await status(m.urls.PUT!, 'PUT'), 403);
  });
});

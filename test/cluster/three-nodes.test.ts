/**
 * Three Coffer nodes as one service (SPEC §1, §5; issue 16): real processes over one PostgreSQL
 * schema and one Ceph RGW bucket, started at the same moment on an empty database, each with a
 * data directory of its own. A token, a revocation, a throttle, a rotation or a write on one node
 * holds on the others (revocations within a second).
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { challengeFor, parcelIdOf, registerKey, sha256, signedBy, uploadJson } from '../helpers/amo-client.js';
import { startRgw, type Rgw } from '../helpers/ceph.js';
import { CLUSTER_ADMIN_PASSWORD, startCluster, type Cluster, type Node } from '../helpers/cluster.js';
import { makeKey } from '../helpers/key-client.js';
import type { TestServer } from '../helpers/server.js';

let rgw: Rgw;
let cluster: Cluster;
let a: Node;
let b: Node;
let c: Node;

/** Every request names a client address of its own (the nodes trust 127.0.0.1 as a proxy), so the per-address limit counts only what a test means it to. */
const client = () => `198.51.100.${1 + Math.floor(Math.random() * 250)}`;
const json = (body: unknown, headers: Record<string, string> = {}) => ({ headers: { 'content-type': 'application/json', 'x-forwarded-for': client(), ...headers }, body: JSON.stringify(body) });
const bearer = (token: string, headers: Record<string, string> = {}) => ({ authorization: `Bearer ${token}`, 'x-forwarded-for': client(), ...headers });

before(async () => {
  rgw = await startRgw();
  cluster = await startCluster(3, rgw, { COFFER_TRUST_PROXY: '127.0.0.1', COFFER_RATE_LIMIT: '12' });
  [a, b, c] = cluster.nodes as [Node, Node, Node];
});
after(async () => {
  await cluster?.stop();
  await rgw?.stop();
});

async function login(node: Node, username: string, password: string, headers: Record<string, string> = {}) {
  const res = await node.fetch('/v1/login', { method: 'POST', ...json({ username, password }, headers) });
  assert.equal(res.status, 200, `login ${username} on ${node.name}: ${res.status} ${await res.clone().text()}`);
  return (await res.json()) as { access_token: string; refresh_token: string };
}

let users = 0;
/** A user made through node A, and its tokens. */
async function newUser(password = 'cluster-user-password') {
  const name = `u${++users}-${randomBytes(2).toString('hex')}`;
  const admin = (await login(a, 'admin', CLUSTER_ADMIN_PASSWORD)).access_token;
  const res = await a.fetch('/v1/users', { method: 'POST', ...json({ username: name, password }, bearer(admin)) });
  assert.equal(res.status, 201, await res.text());
  return { name, password, admin, ...(await login(a, name, password)) };
}

const verifyStatus = async (node: Node, token: string) => (await node.fetch('/v1/verify', { headers: bearer(token) })).status;

/** Polls until `node` refuses `token`; resolves how long that took after `since`. */
async function refusedWithin(node: Node, token: string, since: number, ms = 1000): Promise<number> {
  for (;;) {
    if ((await verifyStatus(node, token)) === 401) return performance.now() - since;
    assert.ok(performance.now() - since < ms + 500, `${node.name} still accepts the token ${Math.round(performance.now() - since)} ms later`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('three nodes started at the same moment on an empty database all came up, ran the migrations once and share one admin', async () => {
  for (const node of cluster.nodes) assert.equal((await node.fetch('/readyz')).status, 200, node.name);
  const migrations = await cluster.db.query(`select count(*)::int as n from ${cluster.schema}.kysely_migration`);
  const admins = await cluster.db.query(`select count(*)::int as n from ${cluster.schema}.users where admin = 1`);
  const keys = await cluster.db.query(`select count(*)::int as n from ${cluster.schema}.signing_keys where retire_at is null`);
  assert.equal(admins.rows[0].n, 1);
  assert.equal(keys.rows[0].n, 1, 'one signing key, made by the first node');
  assert.ok(migrations.rows[0].n >= 7);
  for (const node of cluster.nodes) assert.doesNotMatch(node.log(), /"level":50/, `${node.name} logged no error`);
});

test('a token issued by A works on B and C; the JWKS is the same everywhere', async () => {
  const u = await newUser();
  for (const node of [a, b, c]) assert.equal(await verifyStatus(node, u.access_token), 202, node.name);
  const jwks = await Promise.all([a, b, c].map(async (n) => JSON.stringify(await (await n.fetch('/.well-known/jwks.json')).json())));
  assert.equal(new Set(jwks).size, 1);
  // The keys are in the database, sealed: no node wrote a key file.
  const row = await cluster.db.query(`select private_key from ${cluster.schema}.signing_keys limit 1`);
  assert.match(row.rows[0].private_key, /^v1\./);
  assert.doesNotMatch(row.rows[0].private_key, /"d":/);
});

test('logout on A is refused on C within 1 s', async (t) => {
  const u = await newUser();
  assert.equal(await verifyStatus(c, u.access_token), 202, 'C has seen (and cached) the token');
  const t0 = performance.now();
  assert.equal((await a.fetch('/v1/logout', { method: 'POST', headers: bearer(u.access_token) })).status, 204);
  const took = await refusedWithin(c, u.access_token, t0);
  t.diagnostic(`C refused the token ${Math.round(took)} ms after A answered the logout`);
  assert.ok(took < 1000, `refused after ${Math.round(took)} ms`);
});

test('a password change on B, and a disable on B, kill tokens on A within 1 s', async (t) => {
  const u = await newUser();
  assert.equal(await verifyStatus(a, u.access_token), 202);
  let t0 = performance.now();
  const changed = await b.fetch('/v1/users/me', { method: 'PATCH', ...json({ password: 'a-new-cluster-password', current_password: u.password }, bearer(u.access_token)) });
  assert.equal(changed.status, 200, await changed.text());
  const afterPassword = await refusedWithin(a, u.access_token, t0);
  t.diagnostic(`A refused the token ${Math.round(afterPassword)} ms after the password change on B`);
  assert.ok(afterPassword < 1000);

  const v = await newUser();
  assert.equal(await verifyStatus(a, v.access_token), 202);
  t0 = performance.now();
  assert.equal((await b.fetch(`/v1/users/${v.name}`, { method: 'PATCH', ...json({ disabled: true }, bearer(v.admin)) })).status, 200);
  const afterDisable = await refusedWithin(a, v.access_token, t0);
  t.diagnostic(`A refused the token ${Math.round(afterDisable)} ms after the disable on B`);
  assert.ok(afterDisable < 1000);
});

test('a user deleted on B is refused on A and C within 1 s', async (t) => {
  const u = await newUser();
  assert.equal(await verifyStatus(a, u.access_token), 202);
  assert.equal(await verifyStatus(c, u.access_token), 202);
  const t0 = performance.now();
  const deleted = await b.fetch(`/v1/users/${u.name}`, { method: 'DELETE', headers: bearer(u.admin) });
  assert.ok(deleted.status === 200 || deleted.status === 204, `DELETE → ${deleted.status}`);
  const [onA, onC] = await Promise.all([refusedWithin(a, u.access_token, t0), refusedWithin(c, u.access_token, t0)]);
  t.diagnostic(`refused ${Math.round(onA)} ms (A) and ${Math.round(onC)} ms (C) after the delete on B`);
  assert.ok(onA < 1000 && onC < 1000);
});

test('a refresh token reused on another node revokes its whole session everywhere', async () => {
  const u = await newUser();
  const first = await a.fetch('/v1/token/refresh', { method: 'POST', ...json({ refresh_token: u.refresh_token }) });
  assert.equal(first.status, 200);
  const next = (await first.json()) as { access_token: string; refresh_token: string };
  assert.equal(await verifyStatus(c, next.access_token), 202);
  const t0 = performance.now();
  const reuse = await b.fetch('/v1/token/refresh', { method: 'POST', ...json({ refresh_token: u.refresh_token }) });
  assert.equal(reuse.status, 401);
  const again = await c.fetch('/v1/token/refresh', { method: 'POST', ...json({ refresh_token: next.refresh_token }) });
  assert.equal(again.status, 401, 'the successor is revoked too');
  assert.ok((await refusedWithin(c, next.access_token, t0)) < 1000, "the session's access token dies on C");
});

test('one challenge token replayed concurrently across the nodes succeeds exactly once', async () => {
  const u = await newUser();
  const holder = makeKey('p256');
  const asServer = { fetch: (p: string, init?: RequestInit) => a.fetch(p, init) } as TestServer;
  await registerKey(asServer, u.access_token, holder.raw.toString('hex'));
  const data = randomBytes(512);
  const token = await challengeFor(asServer, u.name, { name: 'upload', hash: sha256(data) });
  const headers = signedBy({ holder, options: { p256Form: 'raw' } }, token);
  const nodes = [a, b, c];
  const statuses = await Promise.all(
    Array.from({ length: 30 }, (_, i) => uploadJson({ fetch: (p: string, init?: RequestInit) => nodes[i % 3]!.fetch(p, init) } as TestServer, headers, { data: data.toString('hex') }).then((r) => r.status)),
  );
  assert.deepEqual([statuses.filter((s) => s === 200).length, statuses.filter((s) => s === 401).length], [1, 29]);
  const owner = await (await c.fetch(`/api/v1/parcels/${parcelIdOf(data)}?key=owner`)).json();
  assert.deepEqual(owner, { owner: u.name });
});

test('login throttling counts failures on every node; the per-address rate limit too', async () => {
  const u = await newUser();
  const wrong = (node: Node) => node.fetch('/v1/login', { method: 'POST', ...json({ username: u.name, password: 'not-the-password' }) });
  const statuses = [];
  for (const node of [a, b, c, a, b]) statuses.push((await wrong(node)).status);
  assert.deepEqual(statuses, [401, 401, 401, 401, 401]);
  const locked = await c.fetch('/v1/login', { method: 'POST', ...json({ username: u.name, password: u.password }) });
  assert.equal(locked.status, 429, 'the sixth attempt, on a third node, is throttled, the right password included');

  const address = '203.0.113.77';
  const limited = [];
  for (let i = 0; i < 13; i++) {
    const node = [a, b, c][i % 3]!;
    limited.push((await node.fetch('/api/v1/auth', { method: 'POST', ...json({ user: 'anyone', operation: 'upload' }, { 'x-forwarded-for': address }) })).status);
  }
  assert.deepEqual(limited.slice(0, 12), Array(12).fill(200), 'COFFER_RATE_LIMIT=12 per address across the nodes');
  assert.equal(limited[12], 429);
});

test('60 concurrent If-Match writes to one key spread over the nodes: exactly one winner per version', async () => {
  const u = await newUser();
  const put = (node: Node, value: string, etag?: string) =>
    node.fetch('/v1/data/race/k', { method: 'PUT', ...json({ value }, bearer(u.access_token, etag ? { 'if-match': etag } : {})) });
  let etag = (await put(a, 'v0')).headers.get('etag')!;
  for (let version = 1; version <= 3; version++) {
    const results = await Promise.all(Array.from({ length: 60 }, (_, i) => put([a, b, c][i % 3]!, `v${version}-${i}`, etag)));
    const winners = results.filter((r) => r.status === 200);
    assert.equal(winners.length, 1, `version ${version}: ${results.map((r) => r.status).join(',')}`);
    assert.equal(results.filter((r) => r.status === 412).length, 59);
    etag = winners[0]!.headers.get('etag')!;
    const body = (await (await c.fetch('/v1/data/race/k', { headers: bearer(u.access_token) })).json()) as { value: string };
    assert.match(body.value, new RegExp(`^v${version}-`));
  }
});

test('a key rotated on A signs tokens that B and C accept at once; tokens of the old key keep working', async () => {
  const admin = (await login(a, 'admin', CLUSTER_ADMIN_PASSWORD)).access_token;
  const rotated = await a.fetch('/v1/admin/signing-keys/rotate', { method: 'POST', headers: bearer(admin) });
  assert.equal(rotated.status, 200);
  const { kid } = (await rotated.json()) as { kid: string };
  const fresh = (await login(a, 'admin', CLUSTER_ADMIN_PASSWORD)).access_token;
  assert.equal(JSON.parse(Buffer.from(fresh.split('.')[0]!, 'base64url').toString()).kid, kid);
  for (const node of [b, c]) assert.equal(await verifyStatus(node, fresh), 202, node.name);
  assert.equal(await verifyStatus(c, admin), 202, 'the old key still verifies');
  await new Promise((r) => setTimeout(r, 300));
  const fromB = (await login(b, 'admin', CLUSTER_ADMIN_PASSWORD)).access_token;
  assert.equal(JSON.parse(Buffer.from(fromB.split('.')[0]!, 'base64url').toString()).kid, kid, 'B signs with the new key too');
});

test('objects written through one node are read through the others', async () => {
  const u = await newUser();
  const bytes = randomBytes(300_000);
  const put = await a.fetch('/v1/objects/shared/file.bin', { method: 'PUT', headers: bearer(u.access_token), body: bytes });
  assert.equal(put.status, 201);
  for (const node of [b, c]) {
    const got = await node.fetch('/v1/objects/shared/file.bin', { headers: bearer(u.access_token) });
    assert.equal(createHash('sha256').update(Buffer.from(await got.arrayBuffer())).digest('hex'), sha256(bytes), node.name);
  }
});

test('kill -9 of one node mid-load loses no acknowledged write', async () => {
  const u = await newUser();
  const acknowledged = new Map<string, string>();
  let stop = false;
  const writer = async (w: number) => {
    for (let i = 0; !stop; i++) {
      const key = `crash/w${w}-${i}`;
      const value = randomBytes(8).toString('hex');
      try {
        const res = await c.fetch(`/v1/data/${key}`, { method: 'PUT', ...json({ value }, bearer(u.access_token)) });
        if (res.status === 201) acknowledged.set(key, value);
      } catch {
        return; // the node is gone
      }
    }
  };
  const writers = Array.from({ length: 8 }, (_, w) => writer(w));
  await new Promise((r) => setTimeout(r, 800));
  await c.kill();
  stop = true;
  await Promise.all(writers);
  assert.ok(acknowledged.size > 20, `some writes were acknowledged before the crash (${acknowledged.size})`);
  for (const [key, value] of acknowledged) {
    const res = await (acknowledged.size % 2 ? a : b).fetch(`/v1/data/${key}`, { headers: bearer(u.access_token) });
    assert.equal(res.status, 200, key);
    assert.deepEqual(await res.json(), { key, value });
  }
  // The node comes back on the same database and store.
  c = await cluster.start('C2');
  assert.equal(await verifyStatus(c, u.access_token), 202);
});

/**
 * A node that loses its database (SPEC §6, issue 16): /readyz answers 503, requests that need the
 * database get 503 with Retry-After (never a stale revocation from its cache), and when the
 * database is back the node recovers by itself: readiness, requests, and revocations made
 * elsewhere meanwhile. The database is reached through a TCP relay the test can cut.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { startRgw, type Rgw } from '../helpers/ceph.js';
import { CLUSTER_ADMIN_PASSWORD, PG_URL, startCluster, type Cluster, type Node } from '../helpers/cluster.js';
import { Relay } from '../helpers/tcp-relay.js';


let rgw: Rgw;
let cluster: Cluster;
let relay: Relay;
let direct: Node;
let relayed: Node;

before(async () => {
  rgw = await startRgw();
  const pgUrl = new URL(PG_URL);
  relay = new Relay({ host: pgUrl.hostname, port: Number(pgUrl.port || 5432) });
  await relay.open();
  cluster = await startCluster(1, rgw);
  direct = cluster.nodes[0]!;
  // A second node whose database connection goes through the relay.
  const url = new URL(PG_URL);
  url.port = String(relay.port);
  url.searchParams.set('options', `-c search_path=${cluster.schema}`);
  relayed = await cluster.start('relayed', { COFFER_DATABASE_URL: url.toString() });
});
after(async () => {
  await cluster?.stop();
  await relay?.cut();
  await rgw?.stop();
});

const json = (body: unknown, token?: string) => ({
  method: 'POST',
  headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
  body: JSON.stringify(body),
});

async function eventually(check: () => Promise<boolean>, ms: number, what: string): Promise<number> {
  const t0 = performance.now();
  for (;;) {
    if (await check()) return performance.now() - t0;
    assert.ok(performance.now() - t0 < ms, `${what} within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('a node that loses its database answers 503 (never from a stale cache), and recovers by itself when it is back', async (t) => {
  const admin = ((await (await direct.fetch('/v1/login', json({ username: 'admin', password: CLUSTER_ADMIN_PASSWORD }))).json()) as { access_token: string }).access_token;
  const name = `loss-${randomBytes(3).toString('hex')}`;
  assert.equal((await direct.fetch('/v1/users', json({ username: name, password: 'loss-password-1' }, admin))).status, 201);
  const token = ((await (await direct.fetch('/v1/login', json({ username: name, password: 'loss-password-1' }))).json()) as { access_token: string }).access_token;
  const verify = (node: Node) => node.fetch('/v1/verify', { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(10_000) });
  assert.equal((await verify(relayed)).status, 202, 'the relayed node has seen (and cached) the token');

  const cutAt = performance.now();
  await relay.cut();
  const noticed = await eventually(async () => (await relayed.fetch('/readyz')).status === 503, 10_000, '/readyz 503');
  t.diagnostic(`/readyz answered 503 ${Math.round(noticed)} ms after the database went away`);
  // The cache is trusted only while the access-event log was read in the last second.
  let during: Response | undefined;
  await eventually(async () => (during = await verify(relayed)).status !== 202, 1_500, 'the cached token no longer trusted');
  const refusedAfter = performance.now() - cutAt;
  t.diagnostic(`the cached token was refused ${Math.round(refusedAfter)} ms after the database went away`);
  // The bound counts from the cut, not from when /readyz noticed it: 1 s, and a little for the test's own requests.
  assert.ok(refusedAfter < 1_500, `the cache stopped being trusted ${Math.round(refusedAfter)} ms after the cut`);
  assert.equal(during!.status, 503, 'refused with 503, not answered from a stale cache');
  assert.ok(Number(during!.headers.get('retry-after')) >= 1);
  assert.equal(((await during!.json()) as { code: string }).code, 'unavailable');

  // Meanwhile, on a node that still has the database, the token is revoked.
  assert.equal((await direct.fetch(`/v1/users/${name}`, { method: 'PATCH', headers: { 'content-type': 'application/json', authorization: `Bearer ${admin}` }, body: JSON.stringify({ disabled: true }) })).status, 200);

  await relay.open();
  const back = await eventually(async () => (await relayed.fetch('/readyz')).status === 200, 15_000, '/readyz 200 again');
  t.diagnostic(`/readyz answered 200 again ${Math.round(back)} ms after the database came back`);
  assert.equal((await verify(relayed)).status, 401, 'the revocation made during the outage holds on the node that missed it');
  assert.equal((await relayed.fetch('/v1/verify', { headers: { authorization: `Bearer ${admin}` } })).status, 202, 'and it serves again');
});

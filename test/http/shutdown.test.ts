/** Graceful shutdown: a request in flight when the server is asked to stop still completes. */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { test } from 'node:test';
import { bearer, startServer } from '../helpers/server.js';

test('close() lets an upload in flight finish, then refuses new connections', async () => {
  const server = await startServer();
  const token = await server.createUser('stayer');
  const { hostname, port } = new URL(server.base);
  const body = JSON.stringify({ value: 'x'.repeat(1000) });

  const answer = new Promise<{ status: number; text: string }>((resolve, reject) => {
    const req = request(
      { host: hostname, port, method: 'PUT', path: '/v1/data/inflight', headers: bearer(token, { 'content-type': 'application/json', 'content-length': String(body.length) }) },
      (res) => {
        let text = '';
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode!, text }));
      },
    );
    req.on('error', reject);
    req.write(body.slice(0, 100)); // half-sent when the server is told to stop
    setTimeout(() => req.end(body.slice(100)), 300);
  });
  await new Promise((r) => setTimeout(r, 100));
  const closing = server.close();
  const result = await answer;
  await closing;
  assert.equal(result.status, 201, result.text);
  assert.deepEqual(JSON.parse(result.text), { key: 'inflight', value: 'x'.repeat(1000) });
  await assert.rejects(fetch(`${server.base}/v1/ping`), 'no new connections after close');
});

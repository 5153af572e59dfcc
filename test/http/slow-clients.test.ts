/** Slow clients are cut: headers must arrive in time, and a body must not stall. */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, test } from 'node:test';
import { startServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
before(async () => (server = await startServer({ COFFER_HEADERS_TIMEOUT_MS: '1500', COFFER_BODY_TIMEOUT_MS: '2500' })));
after(() => server.close());

/** Sends `raw` and resolves with what came back and when the socket closed. */
function rawExchange(raw: string): Promise<{ response: string; closedAfterMs: number }> {
  const { hostname, port } = new URL(server.base);
  return new Promise((resolve, reject) => {
    const started = Date.now();
    let response = '';
    const socket = connect(Number(port), hostname, () => socket.write(raw));
    socket.on('data', (d) => (response += d));
    socket.on('error', reject);
    socket.on('close', () => resolve({ response, closedAfterMs: Date.now() - started }));
  });
}

test('headers that do not arrive in time get 408 and the connection is closed', async () => {
  const { response, closedAfterMs } = await rawExchange('GET /v1/ping HTTP/1.1\r\nHost: x\r\n');
  assert.match(response, /^HTTP\/1\.1 408/);
  assert.ok(closedAfterMs >= 1400 && closedAfterMs < 4000, `closed after ${closedAfterMs} ms`);
});

test('a body that stalls is cut after the body timeout', async () => {
  const { closedAfterMs } = await rawExchange(
    'POST /v1/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"user',
  );
  assert.ok(closedAfterMs >= 2400 && closedAfterMs < 6000, `closed after ${closedAfterMs} ms`);
});

test('a request refused before its body is read does not wait for that body', async () => {
  const { hostname, port } = new URL(server.base);
  const answer = await new Promise<string>((resolve, reject) => {
    let response = '';
    const socket = connect(Number(port), hostname, () =>
      // Announces 50 MB, sends 5 bytes, and waits: the 401 must come anyway.
      socket.write('PUT /v1/data/big HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: 50000000\r\n\r\nhello'),
    );
    socket.on('data', (d) => {
      response += d;
      if (response.includes('\r\n\r\n')) {
        socket.destroy();
        resolve(response);
      }
    });
    socket.on('error', reject);
  });
  assert.match(answer, /^HTTP\/1\.1 401/);
});

/**
 * The access line, built by hand for speed (src/http/access-log.ts): the same line pino would
 * write, one line per request whatever its path holds, written once per event-loop turn, at the
 * logger's level only, and not lost when the process exits in the turn that answered.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pino from 'pino';
import { AccessLog, type AccessEntry } from '../../src/http/access-log.js';
import { runSnippet } from '../helpers/snippet.js';


/** A pino logger writing into an array: each element is one write to the destination. */
function capture(level = 'info') {
  const writes: string[] = [];
  const logger = pino({ level }, { write: (chunk: string) => void writes.push(chunk) });
  return { logger, writes, lines: () => writes.join('').split('\n').filter(Boolean) };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));
const withoutTime = (line: string) => line.replace(/"time":\d+,/, '');

const entry = (over: Partial<AccessEntry> = {}): AccessEntry => ({ reqId: 'req-7', method: 'GET', path: '/v1/data/k', status: 200, ms: 0.4, user: 'alice', ...over });

test('writes the line pino writes for the same fields, with and without a user', async () => {
  for (const user of ['alice', undefined]) {
    const ours = capture();
    const access = new AccessLog(ours.logger);
    access.write(entry({ user }));
    await turn();
    access.close();

    const theirs = capture();
    theirs.logger.child({ reqId: 'req-7' }).info({ method: 'GET', path: '/v1/data/k', status: 200, ms: 0.4, user }, 'request');
    assert.deepEqual(ours.lines().map(withoutTime), theirs.lines().map(withoutTime));
    assert.match(ours.lines()[0]!, /^\{"level":30,"time":\d+,"pid":\d+,"hostname":/);
  }
});

test('a hostile path or user name stays inside its field: one parseable line per request', async () => {
  const { logger, lines } = capture();
  const access = new AccessLog(logger);
  const hostile = ['/a"b', '/a\nb', '/a\\"}\n{"level":60', '/\u0000\u001f\u2028', '/é€𝄞', '/\ud800'];
  for (const p of hostile) access.write(entry({ path: p, user: p }));
  await turn();
  access.close();
  const parsed = lines().map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(parsed.length, hostile.length);
  parsed.forEach((line, i) => {
    assert.equal(line.path, hostile[i]);
    assert.equal(line.user, hostile[i]);
    assert.equal(line.level, 30);
    assert.equal(line.msg, 'request');
  });
  assert.equal(parsed[2]!.path, '/a\\"}\n{"level":60');
});

test("one turn's lines reach the destination in one write, in order", async () => {
  const { logger, writes, lines } = capture();
  const access = new AccessLog(logger);
  for (let i = 0; i < 3; i++) access.write(entry({ reqId: `req-${i}` }));
  assert.equal(writes.length, 0, 'nothing is written before the turn ends');
  await turn();
  assert.equal(writes.length, 1);
  assert.deepEqual(lines().map((l) => (JSON.parse(l) as { reqId: string }).reqId), ['req-0', 'req-1', 'req-2']);
  access.write(entry({ reqId: 'req-3' }));
  access.close();
  assert.equal(writes.length, 2, 'close writes what waits at once');
});

test("follows the logger's level", async () => {
  const { logger, writes } = capture('warn');
  const access = new AccessLog(logger);
  access.write(entry());
  await turn();
  logger.level = 'info';
  access.write(entry());
  await turn();
  access.close();
  assert.equal(writes.length, 1);
});

test('one exit listener for the process, however many servers open and close', () => {
  new AccessLog(capture().logger).close();
  const before = process.listenerCount('exit');
  for (let i = 0; i < 20; i++) new AccessLog(capture().logger).close();
  for (let i = 0; i < 20; i++) new AccessLog(capture().logger);
  assert.equal(process.listenerCount('exit'), before);
});

test('refuses a logger whose pino it cannot read, at start rather than on the first request', () => {
  assert.throws(() => new AccessLog({ levelVal: 30 } as unknown as pino.Logger), /pino logger/);
});

test('a process that exits in the turn that answered still writes every line, in order, through a pipe', () => {
  const COUNT = 5000; // ~1 MiB: many times a pipe's buffer, so the reader must keep up while the writer waits
  const script = `
    import pino from 'pino';
    import { AccessLog } from './src/http/access-log.ts';
    const access = new AccessLog(pino());
    for (let i = 0; i < ${COUNT}; i++) access.write({ reqId: 'req-' + i, method: 'PUT', path: '/v1/data/' + 'k'.repeat(100), status: 201, ms: 1.5, user: 'bob' });
    process.exit(3);
  `;
  const run = runSnippet(script);
  assert.equal(run.status, 3, run.stderr);
  const lines = run.stdout.trim().split('\n').map((l) => JSON.parse(l) as { reqId: string; status: number });
  assert.equal(lines.length, COUNT);
  assert.deepEqual(lines.map((l) => l.reqId), Array.from({ length: COUNT }, (_, i) => `req-${i}`));
});

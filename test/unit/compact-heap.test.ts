/**
 * compactHeap (src/util/compact-heap.ts): pages that a few live objects kept after their neighbours
 * died are given back, and no `gc` is left in the global scope.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

// In a child of its own: the test runner's heap would blur the numbers. It fills ~35 MiB of old
// space with small objects, keeps every 20th, and measures the heap V8 holds before and after.
const CHILD = `
import { compactHeap } from './src/util/compact-heap.ts';
const all = [];
for (let i = 0; i < 400_000; i++) all.push({ i, s: 'value ' + i });
const kept = all.filter((_, i) => i % 20 === 0);
all.length = 0;
await new Promise((r) => setTimeout(r, 50));
const before = process.memoryUsage().heapTotal;
const ran = compactHeap();
const after = process.memoryUsage().heapTotal;
console.log(JSON.stringify({ ran, before, after, kept: kept.length, gcInGlobal: typeof globalThis.gc }));
`;

test('gives back the pages that scattered survivors held, and leaves no global gc', () => {
  const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', CHILD], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  const { ran, before, after, kept, gcInGlobal } = JSON.parse(run.stdout) as { ran: boolean; before: number; after: number; kept: number; gcInGlobal: string };
  assert.equal(kept, 20_000);
  assert.equal(ran, true, 'this Node gives compactHeap a gc');
  const MiB = 1024 * 1024;
  assert.ok(before - after > 20 * MiB, `the heap went from ${(before / MiB).toFixed(1)} to ${(after / MiB).toFixed(1)} MiB: expected > 20 MiB back (a collection that does not compact gives back ~10)`);
  assert.equal(gcInGlobal, 'undefined', 'the server must not get a global gc()');
});

/**
 * compactHeap (src/util/compact-heap.ts): old-space pages that survivors kept half full are given
 * back, which ordinary collections do not do; no `gc` is left in the global scope, and a process
 * started with --expose-gc keeps its own.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const MiB = 1024 * 1024;

interface Outcome {
  ran: boolean;
  /** Old space held beyond what its objects use, after the collection (bytes). */
  slack: number;
  kept: number;
  gcInGlobal: string;
}

// In a child of its own, so that the test runner's heap stays out of the numbers: ~25 MiB of small
// objects reach old space, every second one is dropped (pages stay half full, which ordinary
// collections leave where they are), then `collect` runs.
function run(collect: string, nodeArgs: string[] = []): Outcome {
  const child = `
import v8 from 'node:v8';
import { compactHeap } from './src/util/compact-heap.ts';
const all = [];
for (let i = 0; i < 400_000; i++) all.push({ i, s: 'value ' + i });
const kept = all.filter((_, i) => i % 2 === 0);
all.length = 0;
await new Promise((r) => setTimeout(r, 50));
let ran = false;
${collect}
const old = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'old_space');
console.log(JSON.stringify({ ran, slack: old.space_size - old.space_used_size, kept: kept.length, gcInGlobal: typeof globalThis.gc }));
`;
  const out = spawnSync(process.execPath, [...nodeArgs, '--import', 'tsx', '--input-type=module', '-e', child], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(out.status, 0, out.stderr);
  return JSON.parse(out.stdout) as Outcome;
}

test('gives back the half-full pages, and leaves no global gc', () => {
  const { ran, slack, kept, gcInGlobal } = run('ran = compactHeap();');
  assert.equal(kept, 200_000);
  assert.equal(ran, true);
  assert.ok(slack < 2 * MiB, `old space holds ${(slack / MiB).toFixed(1)} MiB beyond its objects after compactHeap: expected < 2`);
  assert.equal(gcInGlobal, 'undefined', 'the server must not get a global gc()');
});

test('ordinary full collections, three in a row, leave those pages (what compactHeap is for)', () => {
  const { slack } = run('globalThis.gc(); globalThis.gc(); globalThis.gc();', ['--expose-gc']);
  assert.ok(slack > 4 * MiB, `old space holds ${(slack / MiB).toFixed(1)} MiB beyond its objects after plain collections: expected > 4`);
});

test('a process started with --expose-gc keeps its gc, and is compacted all the same', () => {
  const { ran, slack, gcInGlobal } = run('ran = compactHeap();', ['--expose-gc']);
  assert.equal(ran, true);
  assert.ok(slack < 2 * MiB, `${(slack / MiB).toFixed(1)} MiB left`);
  assert.equal(gcInGlobal, 'function');
});

test('does nothing, and says so, when V8 froze its flags (setting one would abort the process)', () => {
  const { ran } = run('ran = compactHeap();', ['--freeze-flags-after-init']);
  assert.equal(ran, false);
});

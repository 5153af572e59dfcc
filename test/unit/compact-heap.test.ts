/**
 * compactHeap (src/util/compact-heap.ts): old-space pages that survivors kept half full are given
 * back, and the bytecode of functions that ran is dropped, neither of which ordinary collections
 * do; the functions still work after; no `gc` is left in the global scope, and a process started
 * with --expose-gc keeps its own.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runSnippet } from '../helpers/snippet.js';

const MiB = 1024 * 1024;

/** The JSON line a snippet prints, once it has exited cleanly. */
function answerOf<T>(script: string, nodeArgs: string[] = []): T {
  const out = runSnippet(script, nodeArgs);
  assert.equal(out.status, 0, out.stderr);
  return JSON.parse(out.stdout) as T;
}

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
function pagesAfter(collect: string, nodeArgs: string[] = []): Outcome {
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
  return answerOf<Outcome>(child, nodeArgs);
}

test('gives back the half-full pages, and leaves no global gc', () => {
  const { ran, slack, kept, gcInGlobal } = pagesAfter('ran = compactHeap();');
  assert.equal(kept, 200_000);
  assert.equal(ran, true);
  assert.ok(slack < 2 * MiB, `old space holds ${(slack / MiB).toFixed(1)} MiB beyond its objects after compactHeap: expected < 2`);
  assert.equal(gcInGlobal, 'undefined', 'the server must not get a global gc()');
});

test('ordinary full collections, three in a row, leave those pages (what compactHeap is for)', () => {
  const { slack } = pagesAfter('globalThis.gc(); globalThis.gc(); globalThis.gc();', ['--expose-gc']);
  assert.ok(slack > 4 * MiB, `old space holds ${(slack / MiB).toFixed(1)} MiB beyond its objects after plain collections: expected > 4`);
});

// 3000 distinct functions, each run once, as a module's start-up code is.
const BYTECODE = (collect: string) => `
import v8 from 'node:v8';
import { compactHeap } from './src/util/compact-heap.ts';
const fns = [];
for (let i = 0; i < 3000; i++) fns.push(new Function('a', 'let s = ' + i + '; for (const x of a) s += x * ' + i + '; return s;'));
const first = fns.map((f) => f([1, 2, 3]));
const bytecode = () => v8.getHeapCodeStatistics().bytecode_and_metadata_size;
const before = bytecode();
${collect}
const after = bytecode();
const again = fns.map((f) => f([1, 2, 3]));
console.log(JSON.stringify({ before, after, same: JSON.stringify(first) === JSON.stringify(again) }));
`;

function bytecodeAfter(collect: string, nodeArgs: string[] = []) {
  return answerOf<{ before: number; after: number; same: boolean }>(BYTECODE(collect), nodeArgs);
}

test('drops the bytecode of functions that ran, which then run again from their source', () => {
  const { before, after, same } = bytecodeAfter('compactHeap();');
  assert.ok(after < before / 4, `bytecode went from ${(before / MiB).toFixed(2)} to ${(after / MiB).toFixed(2)} MiB: expected under a quarter`);
  assert.equal(same, true, 'the functions answer the same after');
  const plain = bytecodeAfter('globalThis.gc(); globalThis.gc();', ['--expose-gc']);
  assert.ok(plain.after > plain.before / 2, `ordinary collections kept ${(plain.after / MiB).toFixed(2)} of ${(plain.before / MiB).toFixed(2)} MiB`);
});

test('a process started with --expose-gc keeps its gc, and is compacted all the same', () => {
  const { ran, slack, gcInGlobal } = pagesAfter('ran = compactHeap();', ['--expose-gc']);
  assert.equal(ran, true);
  assert.ok(slack < 2 * MiB, `${(slack / MiB).toFixed(1)} MiB left`);
  assert.equal(gcInGlobal, 'function');
});

test('does nothing, and says so, when V8 froze its flags (setting one would abort the process)', () => {
  const { ran } = pagesAfter('ran = compactHeap();', ['--freeze-flags-after-init']);
  assert.equal(ran, false);
});

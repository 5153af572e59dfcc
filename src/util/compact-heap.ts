/**
 * Start-up's leftovers given back, for `coffer serve` to run once when start-up is done and before
 * it listens, so no request waits for it (~60-120 ms): two full garbage collections, which drop
 * the bytecode of every function not running and move live objects off half-empty pages.
 *
 * Why: start-up (the modules, the routes' validators and serializers, the store) leaves ~5 MiB of
 * garbage spread thinly over V8's old-space pages. An ordinary collection frees the objects but
 * keeps most pages, each held by a few live ones; V8's memory reducer moves those and gives the
 * pages back only once the process has looked idle for 8-16 s. And the bytecode of code that ran
 * once (each module's top level, the routes' registration) stays until V8 has seen it unused
 * through five full collections, which an idle server may never have: ~1 MiB. A function needed
 * again is compiled again from its source when first called, as it was the first time.
 * (bench/README.md, "Idle memory").
 *
 * Node 20 has no API for it: `gc` is taken from a fresh vm context made while --expose-gc is on,
 * so the server's own global scope never has a `gc` (a process started with --expose-gc has one
 * already, and its flag is left alone); compaction and flushing are forced for these collections
 * only (--stress-flush-code is V8's flag for "flush whatever its age"). The flags are read when
 * used (a context's creation, a collection), so setting them here works.
 * Setting a flag once V8 has frozen them (--freeze-flags-after-init, off in Node 20) would be a
 * fatal error, so then nothing is done. A Node whose V8 no longer knows these flags fails
 * test/unit/compact-heap.test.ts.
 */
import v8 from 'node:v8';
import vm from 'node:vm';

function flagsFrozen(): boolean {
  return [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)].includes('--freeze-flags-after-init');
}

/** True when it ran; false when V8's flags are frozen and it did nothing. */
export function compactHeap(): boolean {
  if (flagsFrozen()) return false;
  let gc: (() => unknown) | undefined = globalThis.gc;
  if (!gc) {
    v8.setFlagsFromString('--expose-gc');
    gc = vm.runInNewContext('gc') as () => unknown;
    v8.setFlagsFromString('--no-expose-gc');
  }
  v8.setFlagsFromString('--compact-on-every-full-gc');
  v8.setFlagsFromString('--stress-flush-code');
  try {
    gc(); // drops the bytecode; what it held dies
    gc(); // and is compacted away
  } finally {
    v8.setFlagsFromString('--no-stress-flush-code');
    v8.setFlagsFromString('--no-compact-on-every-full-gc');
  }
  return true;
}

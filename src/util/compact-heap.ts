/**
 * One full, compacting garbage collection, for `coffer serve` to run once when start-up is done and
 * before it listens, so no request waits for it (~40-60 ms).
 *
 * Why: start-up (the modules, the routes' validators and serializers, the store) leaves ~5 MiB of
 * garbage spread thinly over V8's old-space pages. An ordinary collection frees the objects but
 * keeps the pages, each held by a few live ones; V8's memory reducer moves those and gives the
 * pages back only once the process has looked idle for 8-16 s. Compacting here gives them back at
 * start (bench/README.md, "Idle memory").
 *
 * Node 20 has no API for it: `gc` is taken from a fresh vm context made while --expose-gc is on,
 * so the server's own global scope never has a `gc`, and compaction is forced for that one
 * collection only. Both V8 flags are read when used (a context's creation, a collection), which is
 * what makes setting them here take effect. Should a later Node refuse flags set at run time, no
 * `gc` comes out of the context and nothing happens: the server starts all the same.
 */
import v8 from 'node:v8';
import vm from 'node:vm';

/** True when it ran; false when this Node gave no `gc` to call. */
export function compactHeap(): boolean {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('typeof gc === "function" ? gc : undefined') as (() => void) | undefined;
  v8.setFlagsFromString('--no-expose-gc');
  if (!gc) return false;
  v8.setFlagsFromString('--compact-on-every-full-gc');
  try {
    gc();
  } finally {
    v8.setFlagsFromString('--no-compact-on-every-full-gc');
  }
  return true;
}

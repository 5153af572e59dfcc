/**
 * Bundles the server and CLI (src/main.ts) into dist/main.js, run by `npm run build` after tsc.
 *
 * Why: run from tsc's per-file output, `coffer serve` loaded ~1100 modules (Kysely alone 262,
 * TypeBox 200) and kept every one's whole source text and module record in the heap. One bundle,
 * with what is never imported left out and its whitespace taken out, holds ~8 MiB less when idle
 * (bench/idle-rss.ts; bench/README.md, "Idle memory").
 *
 * What stays out of the bundle, loaded from node_modules at run time:
 *   - native addons (better-sqlite3, @node-rs/argon2), which find their .node files beside them;
 *   - packages that read files beside themselves (@fastify/swagger-ui's static files);
 *   - packages only some setups or commands load, each behind an `await import()`: the S3 SDK,
 *     pg, the docs UI, the CLI's certificate maker. Kept out, they cost nothing until used.
 * Code behind the server's own `await import()`s (the CLI's commands, the S3 blob store) goes to
 * dist/chunks/, loaded when first used.
 *
 * Two differences from running tsc's output, to keep in mind:
 *   - `await import()` of a bundled CommonJS package gives its `default` (module.exports) only,
 *     never named exports (Node guesses those; esbuild does not). Import such a package
 *     statically, or read what you need off `default`.
 *   - Bundled packages cannot find files beside themselves: pino's transports (worker files found
 *     through __dirname) would fail. Coffer writes its log itself and uses none; a package that
 *     needs its files goes in EXTERNAL.
 *
 * Minified whitespace and syntax only: names stay (esbuild suffixes one that two modules share,
 * `serve2`), so a stack trace in a log still says which functions. Its positions are in the
 * bundle; the .map files beside it map them back to src/ (`node --enable-source-maps` does it
 * for every trace, for ~5 MiB more memory, so it is not on by default).
 *
 * The rest of dist/ is tsc's per-file output, kept for the client library (`coffer/client`) and
 * the type declarations; the server is never run from it.
 *
 *   node scripts/bundle.mjs
 */
import { rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const EXTERNAL = [
  // native: the hash worker and the WAL checkpointer resolve these by path today; kept out should
  // anything ever import them
  'better-sqlite3',
  '@node-rs/argon2',
  // loaded by some setups or commands only
  'pg',
  '@aws-sdk/*',
  '@fastify/swagger',
  '@fastify/swagger-ui', // also serves its own static files from beside itself
  '@peculiar/x509',
  'reflect-metadata',
];

rmSync(path.join(root, 'dist/chunks'), { recursive: true, force: true }); // no chunk of an older build stays
await build({
  entryPoints: { main: path.join(root, 'src/main.ts') },
  outdir: path.join(root, 'dist'),
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: EXTERNAL,
  sourcemap: true,
  legalComments: 'none',
  // Whitespace and syntax only: every name stays, so a stack trace still says which function.
  minifyWhitespace: true,
  minifySyntax: true,
  // The CommonJS packages inside call require() for Node's modules; an ES module has none.
  banner: { js: "import { createRequire as __bundleRequire } from 'node:module'; const require = __bundleRequire(import.meta.url);" },
  logLevel: 'warning',
});

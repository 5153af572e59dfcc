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
 * One difference from Node's own loader: `await import()` of a bundled CommonJS package gives its
 * `default` (module.exports) only, never named exports (Node guesses those; esbuild does not).
 * Import such a package statically, or read what you need off `default`.
 *
 * The rest of dist/ stays tsc's per-file output: the client library (`coffer/client`) and its
 * types. Minified without renaming anything: a stack trace in a log still names its functions, and
 * the .map files beside the bundle map its lines back to src/.
 *
 *   node scripts/bundle.mjs
 */
import { rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const EXTERNAL = [
  'better-sqlite3',
  '@node-rs/argon2',
  'pg',
  'pg-native',
  '@aws-sdk/*',
  '@smithy/*',
  '@fastify/swagger',
  '@fastify/swagger-ui',
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

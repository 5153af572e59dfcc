/**
 * Builds the web console (issue 18) into dist/console: index.html, console.js and console.css,
 * bundled and minified by esbuild from src/console/main.ts and the browser-safe client
 * (src/client). Run by `npm run build` after tsc; `node src/console/build.mjs [outdir]`.
 * It prints the bundle's size, raw and gzipped.
 */
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const here = path.dirname(fileURLToPath(import.meta.url));
const out = path.resolve(process.argv[2] ?? path.join(here, '../../dist/console'));
mkdirSync(out, { recursive: true });
await build({
  entryPoints: { console: path.join(here, 'main.ts'), 'console-style': path.join(here, 'style.css') },
  outdir: out,
  bundle: true,
  minify: true,
  format: 'esm',
  platform: 'browser',
  target: ['es2022', 'chrome110', 'firefox110', 'safari16'],
  legalComments: 'none',
  logLevel: 'warning',
});
copyFileSync(path.join(here, 'index.html'), path.join(out, 'index.html'));
const sizes = ['console.js', 'console-style.css', 'index.html'].map((f) => {
  const bytes = readFileSync(path.join(out, f));
  return [bytes.length, gzipSync(bytes, { level: 9 }).length];
});
const [raw, gz] = sizes.reduce(([a, b], [c, d]) => [a + c, b + d], [0, 0]);
if (!process.env.npm_config_loglevel?.startsWith('silent')) {
  process.stderr.write(`console: ${path.relative(process.cwd(), out) || '.'} ${(raw / 1024).toFixed(1)} KiB, ${(gz / 1024).toFixed(1)} KiB gzipped\n`);
}

// Summarises a V8 .cpuprofile (from `node --cpu-prof`, e.g. BENCH_CPU_PROF=dir npx tsx bench/http.ts):
// the functions with the most self time, the same grouped by file/package, and the inclusive
// ("total") time of the functions whose names match an optional filter. Positions in the bundle
// (dist/main.js, dist/chunks/) are mapped back through its .map files to src/ and node_modules/.
//
//   node bench/cpuprofile-top.mjs <file.cpuprofile> [topN=30] [inclusive-filter-regex]
import { existsSync, readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const [file, topArg, filter] = process.argv.slice(2);
if (!file) {
  console.error('usage: node bench/cpuprofile-top.mjs <file.cpuprofile> [topN] [inclusive-filter-regex]');
  process.exit(2);
}
const top = Number(topArg ?? 30);
const profile = JSON.parse(readFileSync(file, 'utf8'));
const nodes = new Map(profile.nodes.map((n) => [n.id, n]));

// A bundled file's call frames, moved to where their code came from (url and line).
const maps = new Map();
function sourceMapOf(url) {
  if (!maps.has(url)) {
    const file = url.startsWith('file://') ? fileURLToPath(url) : '';
    maps.set(url, file && existsSync(`${file}.map`) ? { dir: path.dirname(file), map: new SourceMap(JSON.parse(readFileSync(`${file}.map`, 'utf8'))) } : undefined);
  }
  return maps.get(url);
}
for (const n of profile.nodes) {
  const cf = n.callFrame;
  const found = cf.url ? sourceMapOf(cf.url) : undefined;
  const entry = found?.map.findEntry(cf.lineNumber, cf.columnNumber);
  if (entry?.originalSource) {
    cf.url = pathToFileURL(path.resolve(found.dir, entry.originalSource.replace(/^file:\/\//, ''))).href;
    cf.lineNumber = entry.originalLine;
  }
}

// Self time per node from the samples and their time deltas (µs).
const self = new Map();
let total = 0;
profile.samples.forEach((id, i) => {
  const dt = profile.timeDeltas[i] ?? 0;
  self.set(id, (self.get(id) ?? 0) + dt);
  total += dt;
});

const shortUrl = (url) => {
  const u = url.replace(/^file:\/\//, '');
  if (u.includes('/node_modules/')) return u.replace(/^.*\/node_modules\//, 'npm:');
  return u.replace(/^.*\/(dist|src)\//, '$1/');
};
const label = (cf) => `${cf.functionName || '(anonymous)'} ${cf.url ? `${shortUrl(cf.url)}:${cf.lineNumber + 1}` : ''}`.trim();
const group = (cf) => {
  if (!cf.url) return cf.functionName.startsWith('(') ? cf.functionName : '(native/builtin)';
  const u = shortUrl(cf.url);
  if (u.startsWith('npm:')) return u.split('/').slice(0, u.startsWith('npm:@') ? 2 : 1).join('/');
  if (u.startsWith('node:')) return u;
  return u;
};

function add(map, key, v) {
  map.set(key, (map.get(key) ?? 0) + v);
}
const byFn = new Map();
const byGroup = new Map();
for (const [id, t] of self) {
  const cf = nodes.get(id).callFrame;
  add(byFn, label(cf), t);
  add(byGroup, group(cf), t);
}

const ms = (us) => (us / 1000).toFixed(0).padStart(7);
const pct = (us) => `${((100 * us) / total).toFixed(1).padStart(5)}%`;
const print = (title, map, n) => {
  console.log(`\n${title}`);
  [...map.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .forEach(([k, t]) => console.log(`${ms(t)} ms ${pct(t)}  ${k}`));
};

console.log(`${file}: ${(total / 1e6).toFixed(1)} s sampled, ${profile.samples.length} samples`);
print(`Top ${top} functions by self time`, byFn, top);
print(`Self time by package / file`, byGroup, top);

if (filter) {
  // Inclusive time: a sample counts once for every distinct matching function on its stack.
  const re = new RegExp(filter);
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const incl = new Map();
  for (const [id, t] of self) {
    const seen = new Set();
    for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
      const l = label(nodes.get(cur).callFrame);
      if (re.test(l) && !seen.has(l)) {
        seen.add(l);
        add(incl, l, t);
      }
    }
  }
  print(`Inclusive time of functions matching /${filter}/`, incl, top);
}

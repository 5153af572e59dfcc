// Summarises a V8 .cpuprofile (from `node --cpu-prof`, e.g. BENCH_CPU_PROF=dir npx tsx bench/http.ts):
// the functions with the most self time, the same grouped by file/package, and the inclusive
// ("total") time of the functions whose names match an optional filter.
//
//   node bench/cpuprofile-top.mjs <file.cpuprofile> [topN=30] [inclusive-filter-regex]
import { readFileSync } from 'node:fs';

const [file, topArg, filter] = process.argv.slice(2);
if (!file) {
  console.error('usage: node bench/cpuprofile-top.mjs <file.cpuprofile> [topN] [inclusive-filter-regex]');
  process.exit(2);
}
const top = Number(topArg ?? 30);
const profile = JSON.parse(readFileSync(file, 'utf8'));
const nodes = new Map(profile.nodes.map((n) => [n.id, n]));

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
  return u.replace(/^.*\/dist\//, 'dist/');
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

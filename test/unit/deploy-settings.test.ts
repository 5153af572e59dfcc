/**
 * The node flags and the malloc settings are written in three places: package.json's start script
 * (which the benchmarks and process tests read too), the Dockerfile and the systemd unit. They
 * must say the same, or a deployment runs with other memory settings than the ones measured.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { npmStartNode } from '../../bench/lib.js';

const mallocSettings = (text: string) => Object.fromEntries([...text.matchAll(/\b(MALLOC_\w+)=([^\s\\]+)/g)].map((m) => [m[1]!, m[2]!]));

test('npm start, the Dockerfile and the systemd unit run node with the same flags and malloc settings', () => {
  const start = npmStartNode();
  assert.ok(start.flags.length > 0 && Object.keys(start.env).length > 0, 'the start script names flags and settings');

  const docker = readFileSync('deploy/Dockerfile', 'utf8');
  const entrypoint = JSON.parse(/^ENTRYPOINT (\[.*\])$/m.exec(docker)?.[1] ?? '[]') as string[];
  assert.equal(entrypoint[0], 'node');
  assert.deepEqual(entrypoint.slice(1, entrypoint.indexOf('dist/main.js')), start.flags, 'Dockerfile ENTRYPOINT flags');
  assert.deepEqual(mallocSettings(docker), start.env, 'Dockerfile ENV');

  const unit = readFileSync('deploy/coffer@.service', 'utf8');
  const execStart = /^ExecStart=\S*node (.*) \S*dist\/main\.js serve$/m.exec(unit)?.[1];
  assert.deepEqual(execStart?.split(/\s+/), start.flags, 'systemd ExecStart flags');
  assert.deepEqual(mallocSettings(unit.split('\n').filter((l) => l.startsWith('Environment=')).join('\n')), start.env, 'systemd Environment');
});

/**
 * Screenshots of the web console for the README: `npx tsx scripts/console-screenshots.ts [outdir]`
 * (default docs/screenshots). It builds the console, starts a Coffer on a temporary data dir and a
 * free loopback port, seeds users, keys/values, files and public keys through the client, drives
 * Debian's Chromium (COFFER_TEST_CHROMIUM to use another) at 1200x750, writes one PNG a page, and
 * removes the temporary data dir.
 */
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { buildApp } from '../src/app.js';
import { Coffer } from '../src/client/index.js';
import { loadConfig } from '../src/config.js';

const out = path.resolve(process.argv[2] ?? 'docs/screenshots');
const ADMIN_PASSWORD = 'screenshots-admin-password';
const VIEWPORT = { width: 1200, height: 750 };

execFileSync(process.execPath, [path.resolve('src/console/build.mjs')], { stdio: 'inherit' });
mkdirSync(out, { recursive: true });
const dataDir = mkdtempSync(path.join(tmpdir(), 'coffer-screenshots-'));
const coffer = await buildApp(loadConfig({ COFFER_DATA_DIR: dataDir, COFFER_PORT: '0', COFFER_ADMIN_PASSWORD: ADMIN_PASSWORD, COFFER_LOG_LEVEL: 'silent' }));
const browser = await chromium.launch({
  executablePath: process.env.COFFER_TEST_CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const base = (await coffer.app.listen({ host: '127.0.0.1', port: 0 })).replace('localhost', '127.0.0.1');
  await seed(base);

  const page = await (await browser.newContext({ viewport: VIEWPORT, locale: 'en-GB', timezoneId: 'UTC' })).newPage();
  const shot = async (name: string) => {
    const file = path.join(out, `${name}.png`);
    await page.screenshot({ path: file });
    process.stderr.write(`${path.relative(process.cwd(), file)} ${(statSync(file).size / 1024).toFixed(0)} KiB\n`);
  };
  const open = async (route: string, heading: string) => {
    await page.goto(`${base}/console${route}`);
    await page.getByRole('heading', { name: heading, exact: true }).waitFor();
  };

  await page.goto(`${base}/console`);
  await page.getByLabel('Username').fill('admin');
  await shot('login');
  await page.getByLabel('Password').fill(ADMIN_PASSWORD);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.waitForURL(/\/console\/kv\/$/);
  await open('/kv/notes/', 'notes/');
  await shot('kv');
  await open('/kv/notes/2024/today', 'notes/2024/today');
  await shot('kv-key');
  await open('/files/', 'Files');
  await shot('files');
  await open('/keys', 'Keys');
  await shot('keys');
  await open('/users', 'Users');
  await shot('users');
  await open('/users/carol', 'carol');
  await shot('user');
} finally {
  await browser.close();
  await coffer.close();
  rmSync(dataDir, { recursive: true, force: true });
}

/** Users, keys/values, files and public keys worth showing, made through the client. */
async function seed(base: string): Promise<void> {
  const admin = new Coffer({ url: base });
  await admin.login('admin', ADMIN_PASSWORD);
  await admin.users.create({ username: 'alain', password: 'alain-password-1' });
  await admin.users.create({ username: 'carol', password: 'carol-password-1', grants: ['kv:read', 'objects:read', 'presign'] });
  await admin.users.create({ username: 'ops', password: 'ops-password-1', admin: true });
  await admin.users.create({ username: 'old-laptop', password: 'old-laptop-password-1' });
  await admin.users.update('old-laptop', { disabled: true });

  await admin.kv.put('notes/2024/today', { todo: ['milk', 'eggs'], done: ['call the plumber'], due: '2024-06-01' });
  await admin.kv.put('notes/2024/yesterday', 'Finished the report.');
  await admin.kv.put('notes/ideas', 'A garden shed with a green roof.');
  await admin.kv.put('notes/recipes/bread', { flour: '500 g', water: '350 g', salt: '10 g', yeast: '5 g' });
  await admin.kv.put('settings', { theme: 'dark', language: 'en' });

  const bytes = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);
  await admin.objects.upload('report-2024.pdf', bytes(182_344, 1), { contentType: 'application/pdf' });
  await admin.objects.upload('backup.tar.gz', bytes(2_411_520, 2), { contentType: 'application/gzip' });
  await admin.objects.upload('readme.txt', new TextEncoder().encode('Files kept in Coffer.\n'), { contentType: 'text/plain' });
  await admin.objects.upload('photos/holiday/beach.jpg', bytes(734_003, 3), { contentType: 'image/jpeg' });
  await admin.objects.upload('photos/holiday/harbour.jpg', bytes(912_117, 4), { contentType: 'image/jpeg' });

  const ed = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
  await admin.keys.add(ed, { label: 'laptop' });
  await admin.keys.add(p256, { label: 'amo-client' });
}


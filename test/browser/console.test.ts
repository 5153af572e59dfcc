/**
 * The web console (issue 18) in headless Chromium against a real server: built by esbuild, served
 * at /console with its strict CSP; log in (a wrong password first), the key/value browser (a
 * nested key created, found through the tree, edited, the change seen through the API; a change
 * made elsewhere caught by its ETag; overwrite), a reload keeps the session; the Files page (a
 * 20 MiB upload whose bar reaches 100%, drag and drop, cancel, metadata, a download compared byte
 * for byte, a presigned link opened in a fresh context, delete); the Keys page (an Ed25519 public
 * key pasted as PEM, listed, seen through the API, removed after confirmation); log out. No console
 * errors and no request to another origin. A failed step saves a screenshot (its path printed).
 */
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { after, before, describe } from 'node:test';
import type { Browser } from 'playwright-core';
import { buildConsole, launch, stepWithScreenshot, watchedPage, type WatchedPage } from '../helpers/browser.js';
import { ADMIN_PASSWORD, startServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
let browser: Browser;
let w: WatchedPage;

/** The upload of the Files steps: 20 MiB of random bytes. */
const BIG = randomBytes(20 * 1024 * 1024);
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

before(async () => {
  buildConsole();
  server = await startServer();
  browser = await launch();
  w = await watchedPage(browser, new URL(server.base).origin);
});

after(async () => {
  await browser?.close();
  await server?.close();
});

/** A test step; when it fails, the page's screenshot is saved and its path printed. */
const step = (name: string, fn: () => Promise<void>) => stepWithScreenshot(name, fn, () => w);

async function api(path: string, init: RequestInit = {}): Promise<Response> {
  const token = await server.adminToken();
  return server.fetch(path, { ...init, headers: { authorization: `Bearer ${token}`, ...(init.headers as Record<string, string>) } });
}

describe('the console', () => {
  step('is served at /console with a strict CSP, and its routes fall back to the app', async () => {
    for (const p of ['/console', '/console/', '/console/kv/a/b', '/console/console.js']) {
      const res = await server.fetch(p);
      assert.equal(res.status, 200, p);
      const csp = res.headers.get('content-security-policy') ?? '';
      assert.match(csp, /default-src 'self'/, p);
      assert.match(csp, /connect-src 'self'/, p);
      assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/, p);
      await res.arrayBuffer();
    }
    assert.match(await (await server.fetch('/console/kv/x')).text(), /<script type="module" src="\/console\/console\.js">/);
    assert.match((await server.fetch('/console/console.js')).headers.get('content-type') ?? '', /javascript/);
    // The API keeps its own CSP.
    assert.doesNotMatch((await server.fetch('/healthz')).headers.get('content-security-policy') ?? '', /connect-src 'self'/);
  });

  step('a wrong password shows the server\'s error', async () => {
    const { page } = w;
    await page.goto(`${server.base}/console`);
    await page.waitForURL(/\/console\/login$/);
    await page.getByLabel('Username').fill('admin');
    await page.getByLabel('Password').fill('not-the-password');
    await page.getByRole('button', { name: 'Log in' }).click();
    const alert = page.getByRole('alert');
    await alert.waitFor();
    assert.match(await alert.innerText(), /\w{4,}/);
    assert.equal(await page.getByLabel('Password').inputValue(), '');
  });

  step('logs in, keeping the access token in memory and never using localStorage', async () => {
    const { page } = w;
    await page.getByLabel('Username').fill('admin');
    await page.getByLabel('Password').fill(ADMIN_PASSWORD);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.waitForURL(/\/console\/kv\/$/);
    await page.getByRole('heading', { name: 'Key/value' }).waitFor();
    assert.equal(await page.evaluate(() => localStorage.length), 0);
    assert.equal(await page.evaluate(() => Object.keys(sessionStorage).join(',')), 'coffer.refresh');
  });

  step('creates a nested key, finds it in the tree, edits it, and the API sees the change', async () => {
    const { page } = w;
    await page.getByLabel(/^Key/).fill('notes/2024/today');
    await page.getByLabel('Value', { exact: true }).fill('{"todo":["milk"]}');
    await page.getByLabel('Value is JSON').check();
    await page.getByRole('button', { name: 'Create' }).click();
    await page.getByRole('heading', { name: 'notes/2024/today' }).waitFor();
    // Back up through the breadcrumbs, then down through the tree.
    await page.getByRole('navigation', { name: 'Breadcrumbs' }).getByRole('link', { name: 'root' }).click();
    await page.locator('#listing').getByRole('link', { name: 'notes/' }).click();
    await page.locator('#listing').getByRole('link', { name: '2024/' }).click();
    await page.waitForURL(/\/console\/kv\/notes\/2024\/$/);
    await page.locator('#listing').getByRole('link', { name: 'today' }).click();
    // The directory page has a "Value" field of its own: wait for the key's page.
    await page.getByRole('heading', { name: 'notes/2024/today' }).waitFor();
    const editor = page.getByLabel('Value', { exact: true });
    await editor.waitFor();
    assert.equal(await editor.inputValue(), JSON.stringify({ todo: ['milk'] }, null, 2));
    await editor.fill('{"todo":["milk","eggs"]}');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('status').filter({ hasText: 'Saved.' }).waitFor();
    const res = await api('/v1/data/notes/2024/today');
    assert.equal(res.status, 200);
    assert.deepEqual(((await res.json()) as { value: unknown }).value, { todo: ['milk', 'eggs'] });
  });

  step('a change made elsewhere is caught by the ETag: reload or overwrite', async () => {
    const { page } = w;
    const put = await api('/v1/data/notes/2024/today', { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ value: { todo: ['from the API'] } }) });
    assert.equal(put.status, 200);
    await page.getByLabel('Value', { exact: true }).fill('{"todo":["from the console"]}');
    await page.getByRole('button', { name: 'Save' }).click();
    const alert = page.getByRole('alert');
    await alert.filter({ hasText: 'changed elsewhere' }).waitFor();
    await alert.getByRole('button', { name: 'Overwrite' }).click();
    await page.getByRole('status').filter({ hasText: 'Saved.' }).waitFor();
    const res = await api('/v1/data/notes/2024/today');
    assert.deepEqual(((await res.json()) as { value: unknown }).value, { todo: ['from the console'] });
  });

  step('a reload keeps the session; deleting a key removes it', async () => {
    const { page } = w;
    await page.reload();
    const editor = page.getByLabel('Value', { exact: true });
    await editor.waitFor();
    assert.equal(await editor.inputValue(), JSON.stringify({ todo: ['from the console'] }, null, 2));
    page.once('dialog', (d) => void d.accept());
    await page.getByRole('button', { name: 'Delete' }).click();
    await page.waitForURL(/\/console\/kv\/notes\/2024\/$/);
    await page.getByText('Nothing here yet.').waitFor();
    assert.equal((await api('/v1/data/notes/2024/today')).status, 404);
  });

  step('the Files page: upload a 20 MiB file into a folder, the bar reaches 100%, the object is listed', async () => {
    const { page } = w;
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Files' }).click();
    await page.waitForURL(/\/console\/files\/$/);
    await page.getByRole('heading', { name: 'Files' }).waitFor();
    await page.goto(`${server.base}/console/files/docs/`);
    await page.getByRole('heading', { name: 'docs/' }).waitFor();
    await page.getByLabel('Upload files to docs/').setInputFiles({ name: 'big.bin', mimeType: 'application/octet-stream', buffer: BIG });
    const bar = page.getByLabel('Uploading big.bin');
    await page.waitForFunction(() => {
      const p = document.querySelector('#uploads progress') as HTMLProgressElement | null;
      return p !== null && p.value === p.max && p.max > 1;
    }, undefined, { timeout: 30_000 });
    assert.equal(Number(await bar.getAttribute('max')) || (await bar.evaluate((p: HTMLProgressElement) => p.max)), BIG.length);
    assert.equal(await bar.evaluate((p: HTMLProgressElement) => p.value), BIG.length);
    await page.locator('#uploads').getByText(/Done/).waitFor();
    await page.locator('#listing').getByRole('link', { name: 'big.bin' }).waitFor();
    const res = await api('/v1/objects/docs/big.bin?meta');
    assert.equal(((await res.json()) as { sha256: string }).sha256, sha256(BIG));
    // The folder shows at the root.
    await page.getByRole('navigation', { name: 'Breadcrumbs' }).getByRole('link', { name: 'root' }).click();
    await page.locator('#listing').getByRole('link', { name: 'docs/' }).click();
    await page.waitForURL(/\/console\/files\/docs\/$/);
  });

  step('drag and drop uploads a file', async () => {
    const { page } = w;
    const dt = await page.evaluateHandle(() => {
      const d = new DataTransfer();
      d.items.add(new File(['dropped here'], 'dropped.txt', { type: 'text/plain' }));
      return d;
    });
    await page.dispatchEvent('#drop-zone', 'drop', { dataTransfer: dt });
    await page.locator('#listing').getByRole('link', { name: 'dropped.txt' }).waitFor();
    const res = await api('/v1/objects/docs/dropped.txt');
    assert.equal(await res.text(), 'dropped here');
  });

  step('Cancel stops an upload and nothing is stored', async () => {
    const { page, context } = w;
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 512 * 1024 });
    try {
      await page.getByLabel('Upload files to docs/').setInputFiles({ name: 'slow.bin', mimeType: 'application/octet-stream', buffer: BIG });
      await page.getByRole('button', { name: 'Cancel slow.bin' }).click();
      await page.locator('#uploads').getByText('Cancelled.').waitFor();
    } finally {
      await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
      await cdp.detach();
    }
    await new Promise((r) => setTimeout(r, 300));
    assert.equal((await api('/v1/objects/docs/slow.bin?meta')).status, 404);
  });

  step('inspects the metadata and downloads the same bytes', async () => {
    const { page } = w;
    await page.locator('#listing').getByRole('link', { name: 'big.bin' }).click();
    await page.getByRole('heading', { name: 'docs/big.bin' }).waitFor();
    const meta = await page.locator('#metadata').innerText();
    assert.match(meta, new RegExp(`${BIG.length} bytes`));
    assert.match(meta, new RegExp(sha256(BIG)));
    assert.match(meta, /application\/octet-stream/);
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download' }).click()]);
    assert.equal(download.suggestedFilename(), 'big.bin');
    const file = await download.path();
    assert.equal(sha256(await readFile(file)), sha256(BIG));
  });

  step('shares a presigned link that opens in a fresh context with no token', async () => {
    const { page } = w;
    await page.getByLabel('Expires after').selectOption({ label: '1 day' });
    await page.getByRole('button', { name: 'Create link' }).click();
    const input = page.getByLabel('Link', { exact: true });
    await page.waitForFunction(() => (document.getElementById('share-url') as HTMLInputElement).value !== '');
    const url = await input.inputValue();
    assert.equal(new URL(url).origin, new URL(server.base).origin);
    assert.equal(await input.getAttribute('readonly'), '');
    await page.getByRole('button', { name: 'Copy' }).click();
    await page.getByRole('status').filter({ hasText: /Copied|Selected/ }).waitFor();
    const fresh = await browser.newContext();
    try {
      const res = await fresh.request.get(url);
      assert.equal(res.status(), 200);
      assert.equal(sha256(await res.body()), sha256(BIG));
    } finally {
      await fresh.close();
    }
  });

  step('deletes a file after confirmation', async () => {
    const { page } = w;
    let asked = '';
    page.once('dialog', (d) => { asked = d.message(); void d.accept(); });
    await page.getByRole('button', { name: 'Delete' }).click();
    await page.waitForURL(/\/console\/files\/docs\/$/);
    assert.match(asked, /Delete docs\/big\.bin/);
    await page.locator('#listing').getByRole('link', { name: 'dropped.txt' }).waitFor();
    assert.equal(await page.locator('#listing').getByRole('link', { name: 'big.bin' }).count(), 0);
    assert.equal((await api('/v1/objects/docs/big.bin?meta')).status, 404);
  });

  step('add a key: paste an Ed25519 public key, see it listed and through the API, remove it', async () => {
    const { page } = w;
    const { publicKey } = generateKeyPairSync('ed25519');
    const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const id = sha256(publicKey.export({ type: 'spki', format: 'der' }));
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Keys', exact: true }).click();
    await page.waitForURL(/\/console\/keys$/);
    await page.getByRole('heading', { name: 'Keys', exact: true }).waitFor();
    await page.getByLabel('Public key (PEM or hex)').fill(pem);
    await page.getByLabel('Label (optional)').fill('laptop');
    await page.getByRole('button', { name: 'Add key' }).click();
    const item = page.locator(`#keys li[data-id="${id}"]`);
    await item.waitFor();
    const text = await item.innerText();
    assert.match(text, /ed25519/);
    assert.match(text, /laptop/);
    assert.match(text, new RegExp(id));
    const listed = (await (await api('/v1/keys')).json()) as { keys: { id: string; type: string; label: string | null }[] };
    assert.deepEqual(listed.keys.filter((k) => k.id === id).map((k) => [k.type, k.label]), [['ed25519', 'laptop']]);
    // A key that is not a key: the server's detail shows.
    await page.getByLabel('Public key (PEM or hex)').fill('not a key');
    await page.getByRole('button', { name: 'Add key' }).click();
    await page.getByRole('alert').waitFor();
    assert.match(await page.getByRole('alert').innerText(), /\w{4,}/);
    let asked = '';
    page.once('dialog', (d) => { asked = d.message(); void d.accept(); });
    await item.getByRole('button', { name: /^Remove key/ }).click();
    await page.getByRole('status').filter({ hasText: 'Key removed.' }).waitFor();
    assert.match(asked, new RegExp(id));
    await item.waitFor({ state: 'detached' });
    const remaining = (await (await api('/v1/keys')).json()) as { keys: { id: string }[] };
    assert.equal(remaining.keys.some((k) => k.id === id), false);
  });

  step('logs out: back to the login page, the session gone', async () => {
    const { page } = w;
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.waitForURL(/\/console\/login$/);
    await page.getByText('You are logged out.').waitFor();
    assert.equal(await page.evaluate(() => sessionStorage.length), 0);
    await page.goto(`${server.base}/console/kv/`);
    await page.waitForURL(/\/console\/login$/);
  });

  step('no console errors and no request to another origin', async () => {
    assert.deepEqual(w.errors, []);
    assert.deepEqual(w.foreign, []);
  });
});

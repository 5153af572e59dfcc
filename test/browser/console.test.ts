/**
 * The web console (issue 18) in headless Chromium against a real server: built by esbuild, served
 * at /console with its strict CSP; log in (a wrong password first), the key/value browser (a
 * nested key created, found through the tree, edited, the change seen through the API; a change
 * made elsewhere caught by its ETag; overwrite), a reload keeps the session, log out. No console
 * errors and no request to another origin. A failed step saves a screenshot (its path printed).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { buildConsole, launch, watchedPage, type WatchedPage } from '../helpers/browser.js';
import { ADMIN_PASSWORD, startServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
let browser: Browser;
let w: WatchedPage;

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
function step(name: string, fn: () => Promise<void>): void {
  test(name, async () => {
    try {
      await fn();
    } catch (e) {
      const file = await w.screenshot(name).catch((err: Error) => `(no screenshot: ${err.message})`);
      process.stderr.write(`# screenshot of the failed step "${name}": ${file}\n`);
      throw e;
    }
  });
}

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

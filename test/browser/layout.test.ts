/**
 * The console at phone width (390x844) in headless Chromium: the login page and every page of the
 * navigation (key/value, files, keys, users) and the deeper ones (a nested key, a folder, a file
 * with a long name, a user) do not scroll sideways (document.scrollingElement.scrollWidth <=
 * innerWidth), and each link of the main navigation is on screen and works. No console errors and
 * no request to another origin. The keyboard-only login: users.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { buildConsole, consoleLogin, launch, stepWithScreenshot, watchedPage, type WatchedPage } from '../helpers/browser.js';
import { ADMIN_PASSWORD, startServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
let browser: Browser;
let w: WatchedPage;

const FILE = 'photos/holiday-2024/a-long-file-name-from-a-camera-IMG_20240812_101530.jpg';

before(async () => {
  buildConsole();
  server = await startServer();
  browser = await launch();
  w = await watchedPage(browser, new URL(server.base).origin);
  await w.page.setViewportSize({ width: 390, height: 844 });
});

after(async () => {
  await browser?.close();
  await server?.close();
});

const step = (name: string, fn: () => Promise<void>) => stepWithScreenshot(name, fn, () => w);
const mainNav = (page: Page) => page.getByRole('navigation', { name: 'Main' });

async function api(path: string, init: RequestInit = {}): Promise<Response> {
  const token = await server.adminToken();
  return server.fetch(path, { ...init, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...(init.headers as Record<string, string>) } });
}

describe('at phone width (390x844)', () => {
  /** The page does not scroll sideways. */
  async function fits(page: Page, what: string): Promise<void> {
    const { scroll, inner } = await page.evaluate(() => ({ scroll: document.scrollingElement!.scrollWidth, inner: innerWidth }));
    assert.ok(scroll <= inner, `${what}: scrollWidth ${scroll} > innerWidth ${inner}`);
  }

  step('no page overflows sideways and the navigation is reachable on each', async () => {
    for (const [path, body] of [['/v1/data/notes/2024/today', { value: { todo: ['milk'] } }], ['/v1/data/a-rather-long-key-name-for-a-small-screen', { value: 'x' }]] as const) {
      assert.equal((await api(path, { method: 'PUT', body: JSON.stringify(body) })).status, 201);
    }
    const put = await api(`/v1/objects/${FILE}`, { method: 'PUT', headers: { 'content-type': 'image/jpeg' }, body: 'not really a jpeg' });
    assert.equal(put.status, 201);
    const { page } = w;
    await page.goto(`${server.base}/console`);
    await page.getByRole('button', { name: 'Log in' }).waitFor();
    await fits(page, 'login');
    await consoleLogin(page, server.base, 'admin', ADMIN_PASSWORD);
    const pages: Array<[string, RegExp, string]> = [
      ['Key/value', /\/console\/kv\/$/, 'Key/value'],
      ['Files', /\/console\/files\/$/, 'Files'],
      ['Keys', /\/console\/keys$/, 'Keys'],
      ['Users', /\/console\/users$/, 'Users'],
    ];
    for (const [name, url, heading] of pages) {
      const link = mainNav(page).getByRole('link', { name, exact: true });
      const box = await link.boundingBox();
      assert.ok(box && box.x >= 0 && box.x + box.width <= 390 && box.y >= 0 && box.y + box.height <= 844, `${name} link on screen: ${JSON.stringify(box)}`);
      await link.click();
      await page.waitForURL(url);
      await page.getByRole('heading', { name: heading, exact: true }).waitFor();
      await fits(page, name);
    }
    // The deeper pages too: a nested key, a folder of files and one file, one user.
    const deeper: Array<[string, string]> = [['/kv/notes/2024/today', 'notes/2024/today'], ['/files/photos/holiday-2024/', 'photos/holiday-2024/'], [`/files/${FILE}`, FILE], ['/users/admin', 'admin']];
    for (const [path, heading] of deeper) {
      await page.goto(`${server.base}/console${path}`);
      await page.getByRole('heading', { name: heading, exact: true }).waitFor();
      await fits(page, path);
      assert.ok(await mainNav(page).getByRole('link', { name: 'Key/value' }).isVisible());
    }
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.waitForURL(/\/console\/login$/);
    await fits(page, 'login after logout');
  });
});

describe('after these pages', () => {
  test('no console errors and no request to another origin', () => {
    assert.deepEqual(w.errors, []);
    assert.deepEqual(w.foreign, []);
  });
});

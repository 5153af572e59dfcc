/**
 * The console's Users page (issue 18) in headless Chromium: an admin logs in with the keyboard
 * only and reaches the page by keyboard; creates a user, who then logs in through the console in a
 * fresh context and is shown no Users page; disables the user (their login is refused through the
 * API, their open console session ends), enables them again, changes their grants, resets their
 * password (they log in with the new one), sees the server's detail when refused, deletes them.
 * No console errors and no request to another origin on any of these pages. Phone width:
 * layout.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { buildConsole, consoleLogin, launch, stepWithScreenshot, watchedPage, type WatchedPage } from '../helpers/browser.js';
import { ADMIN_PASSWORD, startServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
let browser: Browser;
let admin: WatchedPage;
const watched: WatchedPage[] = [];
let current: WatchedPage | undefined;

before(async () => {
  buildConsole();
  server = await startServer();
  browser = await launch();
  admin = await watch();
});

after(async () => {
  await browser?.close();
  await server?.close();
});

async function watch(): Promise<WatchedPage> {
  const w = await watchedPage(browser, new URL(server.base).origin);
  watched.push(w);
  return w;
}

/** A test step; when it fails, the screenshot of the page it last used is saved and its path printed. */
function step(name: string, fn: () => Promise<void>): void {
  stepWithScreenshot(name, async () => {
    current = admin;
    await fn();
  }, () => current);
}

async function api(path: string, init: RequestInit = {}): Promise<Response> {
  const token = await server.adminToken();
  return server.fetch(path, { ...init, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...(init.headers as Record<string, string>) } });
}

async function user(name: string): Promise<{ status: number; admin?: boolean; disabled?: boolean; grants?: string[] }> {
  const res = await api(`/v1/users/${name}`);
  return { status: res.status, ...((await res.json()) as object) };
}

function apiLogin(name: string, password: string): Promise<Response> {
  return server.fetch('/v1/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: name, password }) });
}

const mainNav = (page: Page) => page.getByRole('navigation', { name: 'Main' });

/** Opens a user's page from the Users list. */
async function openUser(page: Page, name: string): Promise<void> {
  await mainNav(page).getByRole('link', { name: 'Users' }).click();
  await page.locator('#users').getByRole('link', { name, exact: true }).click();
  await page.getByRole('heading', { name, exact: true }).waitFor();
}

const BOB_PASSWORD = 'bob-first-password';
const BOB_NEW_PASSWORD = 'bob-second-password';

describe('the Users page', () => {
  step('an admin logs in with the keyboard only and reaches Users by keyboard', async () => {
    const { page } = admin;
    await page.goto(`${server.base}/console`);
    await page.waitForURL(/\/console\/login$/);
    await page.waitForFunction(() => document.activeElement?.id === 'username');
    await page.keyboard.type('admin');
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'password');
    await page.keyboard.type(ADMIN_PASSWORD);
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/console\/kv\/$/);
    let reached = false;
    for (let i = 0; i < 20 && !reached; i++) {
      await page.keyboard.press('Tab');
      reached = await page.evaluate(() => document.activeElement?.textContent === 'Users');
    }
    assert.ok(reached, 'Tab reaches the Users link');
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/console\/users$/);
    await page.getByRole('heading', { name: 'Users', exact: true }).waitFor();
    await page.locator('#users li[data-username="admin"]').waitFor();
  });

  step('creates a user with chosen grants; a weak password shows the server\'s detail', async () => {
    const { page } = admin;
    await page.getByLabel('Username').fill('bob');
    await page.getByLabel('Password', { exact: true }).fill('abc');
    await page.getByRole('button', { name: 'Create user' }).click();
    const alert = page.getByRole('alert');
    await alert.waitFor();
    assert.match(await alert.innerText(), /The password must be at least 8 characters long/);
    assert.equal((await user('bob')).status, 404);

    await page.getByLabel('Password', { exact: true }).fill(BOB_PASSWORD);
    await page.getByLabel('presign').uncheck();
    await page.getByRole('button', { name: 'Create user' }).click();
    await page.getByRole('status').filter({ hasText: 'User bob created.' }).waitFor();
    await page.locator('#users li[data-username="bob"]').waitFor();
    assert.equal(await page.getByLabel('Username').inputValue(), '');
    const bob = await user('bob');
    assert.equal(bob.status, 200);
    assert.equal(bob.admin, false);
    assert.deepEqual(bob.grants, ['kv:read', 'kv:write', 'objects:read', 'objects:write']);
    // The filter narrows the list.
    await page.getByLabel('Filter').fill('bo');
    assert.deepEqual(await page.locator('#users li').evaluateAll((lis) => lis.map((li) => li.getAttribute('data-username'))), ['bob']);
    await page.getByLabel('Filter').fill('');
  });

  let bob: WatchedPage;
  step('the new user logs in through the console in a fresh context and sees no Users page', async () => {
    bob = await watch();
    current = bob;
    await consoleLogin(bob.page, server.base, 'bob', BOB_PASSWORD);
    await mainNav(bob.page).getByRole('link', { name: 'Files' }).waitFor();
    assert.equal(await mainNav(bob.page).getByRole('link', { name: 'Users' }).count(), 0);
    await bob.page.goto(`${server.base}/console/users`);
    await bob.page.waitForURL(/\/console\/kv\/$/);
    assert.equal(await bob.page.getByRole('heading', { name: 'Users' }).count(), 0);
  });

  step('disabling a user refuses their login and ends their console session; enabling restores it', async () => {
    const { page } = admin;
    await openUser(page, 'bob');
    let asked = '';
    page.once('dialog', (d) => { asked = d.message(); void d.accept(); });
    await page.getByRole('button', { name: 'Disable account' }).click();
    await page.getByRole('status').filter({ hasText: 'Account disabled.' }).waitFor();
    assert.match(asked, /Disable bob\?/);
    assert.match(await page.locator('#user-meta').innerText(), /Disabled/);
    assert.equal((await user('bob')).disabled, true);
    assert.equal((await apiLogin('bob', BOB_PASSWORD)).status, 401);

    current = bob;
    await mainNav(bob.page).getByRole('link', { name: 'Keys' }).click();
    await bob.page.waitForURL(/\/console\/login$/);
    await bob.page.getByText('Your session has ended. Log in again.').waitFor();

    current = admin;
    await page.getByRole('button', { name: 'Enable account' }).click();
    await page.getByRole('status').filter({ hasText: 'Account enabled.' }).waitFor();
    assert.equal((await user('bob')).disabled, false);
    assert.equal((await apiLogin('bob', BOB_PASSWORD)).status, 200);
  });

  step('changes a user\'s grants and admin flag', async () => {
    const { page } = admin;
    await page.getByLabel('kv:write').uncheck();
    await page.getByLabel('presign').check();
    await page.getByRole('button', { name: 'Save grants' }).click();
    await page.getByRole('status').filter({ hasText: 'Grants saved.' }).waitFor();
    assert.deepEqual((await user('bob')).grants, ['kv:read', 'objects:read', 'objects:write', 'presign']);
    assert.match(await page.locator('#user-meta').innerText(), /kv:read objects:read objects:write presign/);
    await page.getByLabel('admin', { exact: true }).check();
    await page.getByRole('button', { name: 'Save grants' }).click();
    await page.getByRole('status').filter({ hasText: 'Grants saved.' }).waitFor();
    const promoted = await user('bob');
    assert.equal(promoted.admin, true);
    assert.ok(promoted.grants?.includes('admin'));
    await page.getByLabel('admin', { exact: true }).uncheck();
    await page.getByRole('button', { name: 'Save grants' }).click();
    await page.getByRole('status').filter({ hasText: 'Grants saved.' }).waitFor();
    assert.equal((await user('bob')).admin, false);
  });

  step('resets a password: the user logs in with the new one, not the old', async () => {
    const { page } = admin;
    await page.getByLabel('New password').fill(BOB_NEW_PASSWORD);
    await page.getByRole('button', { name: 'Set password' }).click();
    await page.getByRole('status').filter({ hasText: 'Password changed' }).waitFor();
    assert.equal((await apiLogin('bob', BOB_PASSWORD)).status, 401);
    current = bob;
    await consoleLogin(bob.page, server.base, 'bob', BOB_NEW_PASSWORD);
    await mainNav(bob.page).getByRole('link', { name: 'Keys' }).waitFor();
  });

  step('a refusal shows the server\'s detail: the last active admin cannot be disabled', async () => {
    const { page } = admin;
    await openUser(page, 'admin');
    await page.getByText('This is you').waitFor();
    page.once('dialog', (d) => void d.accept());
    await page.getByRole('button', { name: 'Disable account' }).click();
    const alert = page.getByRole('alert');
    await alert.waitFor();
    assert.match(await alert.innerText(), /last active admin/);
    assert.equal((await user('admin')).disabled, false);
  });

  step('deletes a user after confirmation', async () => {
    const { page } = admin;
    await openUser(page, 'bob');
    let asked = '';
    page.once('dialog', (d) => { asked = d.message(); void d.accept(); });
    await page.getByRole('button', { name: 'Delete user' }).click();
    await page.waitForURL(/\/console\/users$/);
    await page.getByRole('status').filter({ hasText: 'User bob deleted.' }).waitFor();
    assert.match(asked, /Delete the user bob/);
    assert.equal(await page.locator('#users li[data-username="bob"]').count(), 0);
    assert.equal((await user('bob')).status, 404);
    assert.equal((await apiLogin('bob', BOB_NEW_PASSWORD)).status, 401);
  });
});

describe('every page of these tests', () => {
  test('had no console errors and made no request to another origin', () => {
    assert.equal(watched.length, 2);
    for (const w of watched) {
      assert.deepEqual(w.errors, []);
      assert.deepEqual(w.foreign, []);
    }
  });
});

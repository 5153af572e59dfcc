/**
 * Headless Chromium for the console tests (test/browser): Debian's /usr/bin/chromium driven by
 * playwright-core (installed by .ci/run when missing; `npx playwright install` downloads nothing
 * here). The console is built first from src/console, so the tests always see the current source.
 * Each page records console errors, page errors and every request that leaves the server's origin.
 * A headless Chromium waits forever on an HTTP-auth prompt: a fetch that gets 401 with
 * `WWW-Authenticate: Basic` must be made with credentials: 'omit' (the console's are).
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = process.env.COFFER_TEST_CHROMIUM ?? '/usr/bin/chromium';

/** Builds dist/console from src/console (esbuild, well under a second). */
export function buildConsole(): void {
  execFileSync(process.execPath, [path.resolve('src/console/build.mjs')], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, npm_config_loglevel: 'silent' } });
}

export async function launch(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (or set COFFER_TEST_CHROMIUM)`);
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // Without the background-networking flags Chromium calls Google's services at start.
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

export interface WatchedPage {
  page: Page;
  context: BrowserContext;
  /** Console errors and uncaught page errors, as text. */
  errors: string[];
  /** Requests to anything but `origin` (data: and blob: URLs are local and not counted). */
  foreign: string[];
  /** Saves a screenshot to a temp dir and answers its path. */
  screenshot(name: string): Promise<string>;
}

export async function watchedPage(browser: Browser, origin: string): Promise<WatchedPage> {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors: string[] = [];
  const foreign: string[] = [];
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    // Chromium logs every 4xx answer; the API's refusals (a wrong password, a stale ETag) are the
    // console's to show, and the tests check that it does.
    if (/^Failed to load resource: the server responded with a status of 4\d\d/.test(m.text()) && new URL(m.location().url).pathname.startsWith('/v1/')) return;
    errors.push(`console: ${m.text()} (${m.location().url})`);
  });
  page.on('pageerror', (e) => errors.push(`page: ${e.message}`));
  context.on('request', (r) => {
    const url = r.url();
    if (url.startsWith('data:') || url.startsWith('blob:')) return;
    if (new URL(url).origin !== origin) foreign.push(url);
  });
  let shots: string | undefined;
  return {
    page,
    context,
    errors,
    foreign,
    async screenshot(name) {
      shots ??= await mkdtemp(path.join(tmpdir(), 'coffer-console-shots-'));
      const file = path.join(shots, `${name.replace(/[^\w.-]+/g, '_')}.png`);
      await page.screenshot({ path: file, fullPage: true });
      return file;
    },
  };
}

/** A test; when it fails, a screenshot of the page `shown()` names is saved and its path printed. */
export function stepWithScreenshot(name: string, fn: () => Promise<void>, shown: () => WatchedPage | undefined): void {
  test(name, async () => {
    try {
      await fn();
    } catch (e) {
      const w = shown();
      const file = w ? await w.screenshot(name).catch((err: Error) => `(no screenshot: ${err.message})`) : '(no page yet)';
      process.stderr.write(`# screenshot of the failed step "${name}": ${file}\n`);
      throw e;
    }
  });
}

/** Logs in through the console's login page and waits for the key/value page. */
export async function consoleLogin(page: Page, base: string, username: string, password: string): Promise<void> {
  await page.goto(`${base}/console/login`);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.waitForURL(/\/console\/kv\/$/);
}

/** The console's shared pieces: DOM building, the session, navigation, the page frame. */
import { Coffer, CofferError, type SessionTokens } from '../client/index.js';

export const REFRESH_KEY = 'coffer.refresh';
export const BASE = '/console';

export type Child = Node | string | null | undefined | false;
export type Attrs = Record<string, string | boolean | ((e: Event) => void) | undefined>;

/** An element with attributes, `on*` listeners and children. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    if (typeof value === 'function') el.addEventListener(name.slice(2).toLowerCase(), value);
    else if (value === true) el.setAttribute(name, '');
    else el.setAttribute(name, value);
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) el.append(c);
  return el;
}

let coffer: Coffer | undefined;
let username = '';
let admin = false;
let flash = '';
let renderer: () => Promise<void> = async () => {};

/** The signed-in client (the pages are shown only while there is one). */
export function client(): Coffer {
  if (!coffer) throw new Error('not signed in');
  return coffer;
}

export function signedIn(): boolean {
  return coffer !== undefined;
}

/**
 * `scope` is the token's, from the login or refresh answer: the Users page is shown when it holds
 * `admin`, as the API's admin routes require (the server still decides every request).
 */
export function beginSession(c: Coffer, name: string, scope: string): void {
  [coffer, username, admin] = [c, name, scope.split(/\s+/).includes('admin')];
}

export function isAdmin(): boolean {
  return coffer !== undefined && admin;
}

export function whoami(): string {
  return username;
}

/** The message the login page shows once (why the session ended). */
export function takeFlash(): string {
  const text = flash;
  flash = '';
  return text;
}

export function setFlash(text: string): void {
  flash = text;
}

/** Draws the current route again (main.ts says how). */
export function rerender(): Promise<void> {
  return renderer();
}

export function setRenderer(render: () => Promise<void>): void {
  renderer = render;
}

export function saveTokens(tokens: SessionTokens | undefined): void {
  if (tokens?.refreshToken) sessionStorage.setItem(REFRESH_KEY, tokens.refreshToken);
  else sessionStorage.removeItem(REFRESH_KEY);
}

/**
 * The console's fetch sends no cookies or HTTP credentials (its tokens are bearer tokens), so a
 * 401 that carries `WWW-Authenticate: Basic` (a wrong password at /v1/login) never opens the
 * browser's own password prompt.
 */
const fetchNoCredentials: typeof fetch = (input, init) => fetch(input, { ...init, credentials: 'omit' });

export function newClient(refreshToken?: string): Coffer {
  return new Coffer({ url: location.origin, fetch: fetchNoCredentials, onTokens: saveTokens, ...(refreshToken ? { refreshToken } : {}) });
}

/** A readable message: the server's problem+json detail when there is one. */
export function message(e: unknown): string {
  if (e instanceof CofferError) {
    if (e.code === 'network_error') return 'The server cannot be reached. Check your connection and try again.';
    return e.detail || `${e.status} ${e.code}`;
  }
  return e instanceof Error ? e.message : String(e);
}

export function errorBox(text: string): HTMLElement {
  return h('p', { class: 'error', role: 'alert' }, text);
}

export function noteBox(text: string): HTMLElement {
  return h('p', { class: 'note', role: 'status' }, text);
}

/** Runs `action` with `button` disabled, so that a double click (or Enter twice) sends one request. */
async function whileDisabled(button: HTMLButtonElement, action: () => Promise<void>): Promise<void> {
  if (button.disabled) return;
  button.disabled = true;
  try {
    await action();
  } finally {
    button.disabled = false;
  }
}

/** A form's submit listener: no page load, `status` cleared, `button` disabled while `action` runs. */
export function onSubmit(button: HTMLButtonElement, status: HTMLElement, action: () => Promise<void>): (e: Event) => Promise<void> {
  return async (e: Event) => {
    e.preventDefault();
    status.replaceChildren();
    await whileDisabled(button, action);
  };
}

/** A button's click handler that keeps the button disabled while `action` runs. */
export function busy(action: () => Promise<void>): (e: Event) => Promise<void> {
  return (e: Event) => whileDisabled(e.currentTarget as HTMLButtonElement, action);
}

/**
 * A listing read from the server a page at a time: `fetchPage` reads one from a cursor, `rows`
 * draws its entries, `empty` says so when there are none; a More button reads the next page.
 */
export function pagedListing<P extends { cursor?: string | null }>(
  fetchPage: (cursor: string | undefined) => Promise<P>,
  rows: (page: P) => HTMLElement[],
  empty: string,
  show: (text: string) => void,
): { list: HTMLUListElement; more: HTMLButtonElement; next(): Promise<void>; reload(): Promise<void> } {
  const list = h('ul', { class: 'listing', id: 'listing' });
  const more = h('button', { type: 'button', hidden: true }, 'More');
  let cursor: string | undefined;
  async function next(): Promise<void> {
    const page = await guard(() => fetchPage(cursor), show);
    if (!page) return;
    const items = rows(page);
    if (!items.length && !cursor) items.push(h('li', { class: 'empty' }, empty));
    list.append(...items);
    cursor = page.cursor ?? undefined;
    more.hidden = !cursor;
  }
  more.addEventListener('click', () => void next());
  return { list, more, next, reload: () => { list.replaceChildren(); cursor = undefined; return next(); } };
}

/** Runs an action; a session that has ended sends the user to the login page with a message. */
export async function guard<T>(action: () => Promise<T>, show: (text: string) => void): Promise<T | undefined> {
  try {
    return await action();
  } catch (e) {
    if (e instanceof CofferError && e.status === 401 && coffer && !coffer.tokens()) {
      endSession('Your session has ended. Log in again.');
      return undefined;
    }
    show(message(e));
    return undefined;
  }
}

export function endSession(text: string): void {
  coffer = undefined;
  username = '';
  admin = false;
  sessionStorage.removeItem(REFRESH_KEY);
  flash = text;
  navigate('/login');
}

export function navigate(to: string, replace = false): void {
  const url = BASE + to;
  if (replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  void rerender();
}

export function link(to: string, text: string, attrs: Attrs = {}): HTMLAnchorElement {
  return h('a', {
    href: BASE + to,
    ...attrs,
    onclick: (e: Event) => {
      const m = e as MouseEvent;
      if (m.ctrlKey || m.metaKey || m.shiftKey || m.button !== 0) return;
      e.preventDefault();
      navigate(to);
    },
  }, text);
}

/** The route: the path below /console, decoded segment by segment. */
export function route(): string {
  const p = location.pathname.startsWith(BASE) ? location.pathname.slice(BASE.length) : '/';
  return p.split('/').map((s) => { try { return decodeURIComponent(s); } catch { return s; } }).join('/') || '/';
}

export function encodeRoute(p: string): string {
  return p.split('/').map(encodeURIComponent).join('/');
}

/** A link of the main navigation, marked current on its own pages. */
export function section(to: string, text: string): HTMLAnchorElement {
  return link(to, text, route().startsWith(to) ? { 'aria-current': 'page' } : {});
}

export function shell(...content: Child[]): HTMLElement {
  return h('div', { class: 'shell' },
    h('header', {},
      h('strong', { class: 'brand' }, 'Coffer'),
      h('nav', { 'aria-label': 'Main' }, section('/kv/', 'Key/value'), section('/files/', 'Files'), section('/keys', 'Keys'), admin && section('/users', 'Users')),
      h('span', { class: 'who' }, username),
      h('button', { type: 'button', id: 'logout', onclick: () => void logout() }, 'Log out'),
    ),
    h('main', {}, ...content),
  );
}

export async function logout(): Promise<void> {
  const c = coffer;
  coffer = undefined;
  username = '';
  admin = false;
  sessionStorage.removeItem(REFRESH_KEY);
  try {
    await c?.logout();
  } catch {
    // The session is forgotten here whatever the server says.
  }
  flash = 'You are logged out.';
  navigate('/login');
}

/** Breadcrumbs for a path of the key/value tree (base /kv/) or of the objects (base /files/). */
export function breadcrumbs(path: string, base = '/kv/'): HTMLElement {
  const parts = path.split('/').filter(Boolean);
  const items: Child[] = [h('li', {}, link(base, 'root'))];
  let acc = '';
  parts.forEach((p, i) => {
    const isKey = i === parts.length - 1 && !path.endsWith('/');
    acc += isKey ? p : `${p}/`;
    items.push(h('li', {}, i === parts.length - 1 ? h('span', { 'aria-current': 'page' }, p) : link(`${base}${encodeRoute(acc)}`, p)));
  });
  return h('nav', { 'aria-label': 'Breadcrumbs', class: 'crumbs' }, h('ol', {}, ...items));
}

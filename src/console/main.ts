/**
 * The web console (SPEC §7, issue 18): a single-page app on the TypeScript client, plain DOM.
 *
 * Where the session lives: the access token in memory only; the refresh token in sessionStorage,
 * so that a reload keeps the session while a closed tab ends it, and no other tab or later visit
 * sees it. Never localStorage (it outlives the tab and is shared by every tab of the origin). An
 * HttpOnly cookie would hide it from scripts, but the refresh route takes it in the body, and the
 * console's strict CSP (scripts from the console's own files only) is the defence against
 * script injection that would read sessionStorage.
 */
import { Coffer, CofferError, type SessionTokens } from '../client/index.js';

const REFRESH_KEY = 'coffer.refresh';
const BASE = '/console';

type Child = Node | string | null | undefined | false;
type Attrs = Record<string, string | boolean | ((e: Event) => void) | undefined>;

/** An element with attributes, `on*` listeners and children. */
function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
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

const app = document.getElementById('app')!;
let coffer: Coffer | undefined;
let username = '';
let flash = '';

function saveTokens(tokens: SessionTokens | undefined): void {
  if (tokens?.refreshToken) sessionStorage.setItem(REFRESH_KEY, tokens.refreshToken);
  else sessionStorage.removeItem(REFRESH_KEY);
}

/**
 * The console's fetch sends no cookies or HTTP credentials (its tokens are bearer tokens), so a
 * 401 that carries `WWW-Authenticate: Basic` (a wrong password at /v1/login) never opens the
 * browser's own password prompt.
 */
const fetchNoCredentials: typeof fetch = (input, init) => fetch(input, { ...init, credentials: 'omit' });

function newClient(refreshToken?: string): Coffer {
  return new Coffer({ url: location.origin, fetch: fetchNoCredentials, onTokens: saveTokens, ...(refreshToken ? { refreshToken } : {}) });
}

/** A readable message: the server's problem+json detail when there is one. */
function message(e: unknown): string {
  if (e instanceof CofferError) {
    if (e.code === 'network_error') return 'The server cannot be reached. Check your connection and try again.';
    return e.detail || `${e.status} ${e.code}`;
  }
  return e instanceof Error ? e.message : String(e);
}

function errorBox(text: string): HTMLElement {
  return h('p', { class: 'error', role: 'alert' }, text);
}

/** Runs an action; a session that has ended sends the user to the login page with a message. */
async function guard<T>(action: () => Promise<T>, show: (text: string) => void): Promise<T | undefined> {
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

function endSession(text: string): void {
  coffer = undefined;
  username = '';
  sessionStorage.removeItem(REFRESH_KEY);
  flash = text;
  navigate('/login');
}

function navigate(to: string, replace = false): void {
  const url = BASE + to;
  if (replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  void render();
}

function link(to: string, text: string, attrs: Attrs = {}): HTMLAnchorElement {
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
function route(): string {
  const p = location.pathname.startsWith(BASE) ? location.pathname.slice(BASE.length) : '/';
  return p.split('/').map((s) => { try { return decodeURIComponent(s); } catch { return s; } }).join('/') || '/';
}

function encodeRoute(p: string): string {
  return p.split('/').map(encodeURIComponent).join('/');
}

/** A link of the main navigation, marked current on its own pages. */
function section(to: string, text: string): HTMLAnchorElement {
  return link(to, text, route().startsWith(to) ? { 'aria-current': 'page' } : {});
}

function shell(...content: Child[]): HTMLElement {
  return h('div', { class: 'shell' },
    h('header', {},
      h('strong', { class: 'brand' }, 'Coffer'),
      h('nav', { 'aria-label': 'Main' }, section('/kv/', 'Key/value'), section('/files/', 'Files'), section('/keys', 'Keys')),
      h('span', { class: 'who' }, username),
      h('button', { type: 'button', id: 'logout', onclick: () => void logout() }, 'Log out'),
    ),
    h('main', {}, ...content),
  );
}

async function logout(): Promise<void> {
  const c = coffer;
  coffer = undefined;
  username = '';
  sessionStorage.removeItem(REFRESH_KEY);
  try {
    await c?.logout();
  } catch {
    // The session is forgotten here whatever the server says.
  }
  flash = 'You are logged out.';
  navigate('/login');
}

function loginPage(): HTMLElement {
  const error = h('div', {});
  const note = flash ? h('p', { class: 'note', role: 'status' }, flash) : null;
  flash = '';
  const user = h('input', { id: 'username', name: 'username', autocomplete: 'username', required: true });
  const pass = h('input', { id: 'password', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const submit = h('button', { type: 'submit' }, 'Log in');
  const form = h('form', {
    class: 'login',
    onsubmit: async (e: Event) => {
      e.preventDefault();
      error.replaceChildren();
      submit.disabled = true;
      const c = newClient();
      try {
        await c.login(user.value, pass.value);
        coffer = c;
        username = user.value;
        navigate('/kv/', true);
      } catch (err) {
        pass.value = '';
        error.replaceChildren(errorBox(message(err)));
        pass.focus();
      } finally {
        submit.disabled = false;
      }
    },
  },
    h('h1', {}, 'Log in to Coffer'),
    note,
    h('label', { for: 'username' }, 'Username'), user,
    h('label', { for: 'password' }, 'Password'), pass,
    error,
    submit,
  );
  queueMicrotask(() => user.focus());
  return h('main', { class: 'center' }, form);
}

// ---- key/value browser -------------------------------------------------------------------------

/** Breadcrumbs for a path of the key/value tree (base /kv/) or of the objects (base /files/). */
function breadcrumbs(path: string, base = '/kv/'): HTMLElement {
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

async function kvDirPage(dir: string): Promise<HTMLElement> {
  const status = h('div', {});
  const list = h('ul', { class: 'listing', id: 'listing' });
  const more = h('button', { type: 'button', hidden: true }, 'More');
  let cursor: string | undefined;
  const show = (t: string) => status.replaceChildren(errorBox(t));
  async function page(): Promise<void> {
    const listing = await guard(() => coffer!.kv.list(dir, { limit: 100, ...(cursor ? { cursor } : {}) }), show);
    if (!listing) return;
    for (const d of listing.dirs) list.append(h('li', { class: 'dir' }, link(`/kv/${encodeRoute(d)}`, d.slice(dir.length))));
    for (const k of listing.keys) list.append(h('li', { class: 'key' }, link(`/kv/${encodeRoute(k)}`, k.slice(dir.length))));
    if (!listing.dirs.length && !listing.keys.length && !cursor) list.append(h('li', { class: 'empty' }, 'Nothing here yet.'));
    cursor = listing.cursor ?? undefined;
    more.hidden = !cursor;
  }
  more.addEventListener('click', () => void page());
  const newKey = h('input', { id: 'new-key', name: 'key', required: true, placeholder: 'name or a/nested/name', autocomplete: 'off' });
  const newValue = h('textarea', { id: 'new-value', name: 'value', rows: '4' });
  const asJson = h('input', { id: 'new-json', type: 'checkbox' });
  const createForm = h('form', {
    class: 'create',
    onsubmit: async (e: Event) => {
      e.preventDefault();
      status.replaceChildren();
      const key = dir + newKey.value.replace(/^\/+/, '');
      let value: unknown = newValue.value;
      if (asJson.checked) {
        try { value = JSON.parse(newValue.value); } catch (err) { return show(`The value is not valid JSON: ${(err as Error).message}`); }
      }
      const ok = await guard(() => coffer!.kv.create(key, value), show);
      if (ok) navigate(`/kv/${encodeRoute(key)}`);
    },
  },
    h('h2', {}, 'New key'),
    h('label', { for: 'new-key' }, `Key (in ${dir || 'the root'})`), newKey,
    h('label', { for: 'new-value' }, 'Value'), newValue,
    h('label', { class: 'inline' }, asJson, ' Value is JSON'),
    h('button', { type: 'submit' }, 'Create'),
  );
  await page();
  return shell(breadcrumbs(dir), h('h1', {}, dir ? dir : 'Key/value'), status, list, more, createForm);
}

async function kvKeyPage(key: string): Promise<HTMLElement> {
  const status = h('div', {});
  const show = (t: string) => status.replaceChildren(errorBox(t));
  const got = await guard(() => coffer!.kv.get(key), show);
  const header = [breadcrumbs(key), h('h1', {}, key)];
  if (!got) return shell(...header, status);
  let etag = got.etag ?? undefined;
  if (got.value instanceof Uint8Array) {
    const url = URL.createObjectURL(new Blob([got.value as Uint8Array<ArrayBuffer>], { type: got.contentType ?? 'application/octet-stream' }));
    return shell(...header, status, h('p', {}, `Binary value, ${got.value.length} bytes (${got.contentType ?? 'application/octet-stream'}).`),
      h('a', { href: url, download: key.split('/').pop() ?? 'value' }, 'Download'), deleteButton(key, () => etag, show));
  }
  const isText = typeof got.value === 'string';
  const editor = h('textarea', { id: 'value', name: 'value', rows: '16', spellcheck: 'false' });
  editor.value = isText ? (got.value as string) : JSON.stringify(got.value, null, 2);
  const kind = h('select', { id: 'kind', name: 'kind' }, h('option', { value: 'json' }, 'JSON'), h('option', { value: 'text' }, 'Text'));
  kind.value = isText ? 'text' : 'json';
  async function save(force: boolean): Promise<void> {
    status.replaceChildren();
    let value: unknown = editor.value;
    if (kind.value === 'json') {
      try { value = JSON.parse(editor.value); } catch (err) { return show(`The value is not valid JSON: ${(err as Error).message}`); }
    }
    try {
      const answer = await coffer!.kv.put(key, value, force || !etag ? {} : { ifMatch: etag });
      etag = answer.etag ?? undefined;
      status.replaceChildren(h('p', { class: 'note', role: 'status' }, 'Saved.'));
    } catch (e) {
      if (e instanceof CofferError && e.status === 412) {
        status.replaceChildren(h('div', { class: 'error conflict', role: 'alert' },
          h('p', {}, 'This key was changed elsewhere since you opened it.'),
          h('button', { type: 'button', onclick: () => void render() }, 'Reload'),
          h('button', { type: 'button', onclick: () => void save(true) }, 'Overwrite'),
        ));
      } else await guard(() => Promise.reject(e), show);
    }
  }
  const form = h('form', { class: 'editor', onsubmit: (e: Event) => { e.preventDefault(); void save(false); } },
    h('label', { for: 'kind' }, 'Type'), kind,
    h('label', { for: 'value' }, 'Value'), editor,
    h('div', { class: 'actions' }, h('button', { type: 'submit', id: 'save' }, 'Save'), deleteButton(key, () => etag, show)),
  );
  return shell(...header, status, form);
}

function deleteButton(key: string, etag: () => string | undefined, show: (t: string) => void): HTMLButtonElement {
  return h('button', {
    type: 'button',
    class: 'danger',
    onclick: async () => {
      if (!confirm(`Delete ${key}?`)) return;
      const e = etag();
      const done = await guard(async () => { await coffer!.kv.delete(key, e ? { ifMatch: e } : {}); return true; }, show);
      if (done) navigate(`/kv/${encodeRoute(key.slice(0, key.lastIndexOf('/') + 1))}`);
    },
  }, 'Delete');
}

// ---- files (objects) ---------------------------------------------------------------------------

/** A size for people: 20.0 MiB. */
function humanSize(n: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return i === 0 ? `${n} bytes` : `${v.toFixed(1)} ${units[i]}`;
}

/** An access token that is good for a while: refreshed first when it expires within 30 s. */
async function freshToken(): Promise<string> {
  const t = coffer!.tokens();
  if (!t || (t.expiresAt !== undefined && t.expiresAt - Date.now() < 30_000)) return (await coffer!.refresh()).access_token;
  return t.accessToken;
}

/**
 * Uploads one file with XMLHttpRequest. The client's onProgress counts a stream it sends, but a
 * browser does not stream a request body over HTTP/1.1, and fetch reports no upload progress for a
 * Blob: XHR's upload.onprogress does. Same origin, with the session's bearer token. Aborting the
 * signal aborts the request: the server discards an upload that does not arrive whole.
 */
function xhrUpload(path: string, file: File, token: string, onProgress: (sent: number, total: number) => void, signal: AbortSignal): Promise<number> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('PUT', `/v1/objects/${Coffer.encodePath(path)}`);
    xhr.setRequestHeader('authorization', `Bearer ${token}`);
    xhr.setRequestHeader('content-type', file.type || 'application/octet-stream');
    xhr.upload.onprogress = (e) => onProgress(e.loaded, e.lengthComputable ? e.total : file.size);
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) return resolve(xhr.status);
      let detail = `${xhr.status} ${xhr.statusText}`;
      try {
        const problem = JSON.parse(xhr.responseText) as { detail?: string; code?: string };
        detail = problem.detail || problem.code || detail;
      } catch { /* not problem+json */ }
      reject(new Error(detail));
    };
    xhr.onerror = () => reject(new Error('The upload failed: the server cannot be reached.'));
    xhr.onabort = () => reject(new DOMException('The upload was cancelled.', 'AbortError'));
    signal.addEventListener('abort', () => xhr.abort(), { once: true });
    xhr.send(file);
  });
}

/** One row of the uploads list: a labelled progress bar, a status and a Cancel button. */
function uploadRow(dir: string, file: File, uploads: HTMLElement, done: () => void): void {
  const path = dir + file.name;
  const id = `up-${uploads.childElementCount}-${Date.now()}`;
  const bar = h('progress', { id, max: String(Math.max(file.size, 1)), value: '0' });
  const state = h('span', { class: 'state' }, 'Starting…');
  const controller = new AbortController();
  const cancel = h('button', { type: 'button', class: 'danger', 'aria-label': `Cancel ${file.name}`, onclick: () => controller.abort() }, 'Cancel');
  const row = h('li', { class: 'upload' }, h('label', { for: id }, `Uploading ${file.name}`), bar, state, cancel);
  uploads.append(row);
  void (async () => {
    try {
      const token = await freshToken();
      await xhrUpload(path, file, token, (sent, total) => {
        bar.max = Math.max(total, 1);
        bar.value = sent;
        state.textContent = `${Math.floor((sent / Math.max(total, 1)) * 100)}%`;
      }, controller.signal);
      bar.max = Math.max(file.size, 1);
      bar.value = bar.max;
      state.textContent = `Done, ${humanSize(file.size)}.`;
      done();
    } catch (e) {
      state.textContent = e instanceof DOMException && e.name === 'AbortError' ? 'Cancelled.' : `Failed: ${message(e)}`;
      state.setAttribute('role', 'alert');
    } finally {
      cancel.remove();
    }
  })();
}

async function filesDirPage(dir: string): Promise<HTMLElement> {
  const status = h('div', {});
  const list = h('ul', { class: 'listing', id: 'listing' });
  const more = h('button', { type: 'button', hidden: true }, 'More');
  let cursor: string | undefined;
  const show = (t: string) => status.replaceChildren(errorBox(t));
  async function page(): Promise<void> {
    const listing = await guard(() => coffer!.objects.list({ ...(dir ? { prefix: dir } : {}), delimiter: '/', limit: 100, ...(cursor ? { cursor } : {}) }), show);
    if (!listing) return;
    for (const d of listing.prefixes ?? []) list.append(h('li', { class: 'dir' }, link(`/files/${encodeRoute(d)}`, d.slice(dir.length))));
    for (const o of listing.objects) {
      list.append(h('li', { class: 'key' }, link(`/files/${encodeRoute(o.path)}`, o.path.slice(dir.length)), h('span', { class: 'meta' }, ` ${humanSize(o.size)}`)));
    }
    if (!listing.objects.length && !listing.prefixes?.length && !cursor) list.append(h('li', { class: 'empty' }, 'No files here yet.'));
    cursor = listing.cursor ?? undefined;
    more.hidden = !cursor;
  }
  more.addEventListener('click', () => void page());
  const uploads = h('ul', { class: 'uploads', id: 'uploads', 'aria-label': 'Uploads' });
  const refresh = () => { list.replaceChildren(); cursor = undefined; void page(); };
  const start = (files: FileList | null) => { for (const f of Array.from(files ?? [])) uploadRow(dir, f, uploads, refresh); };
  const picker = h('input', { id: 'file-picker', type: 'file', multiple: true });
  picker.addEventListener('change', () => { start(picker.files); picker.value = ''; });
  const drop = h('div', { class: 'drop', id: 'drop-zone' },
    h('label', { for: 'file-picker' }, `Upload files to ${dir || 'the root'}`), picker,
    h('p', { class: 'hint' }, 'or drop files here'),
  );
  drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => { e.preventDefault(); drop.classList.remove('over'); start(e.dataTransfer?.files ?? null); });
  await page();
  return shell(breadcrumbs(dir, '/files/'), h('h1', {}, dir ? dir : 'Files'), status, drop, uploads, list, more);
}

async function filePage(path: string): Promise<HTMLElement> {
  const status = h('div', {});
  const show = (t: string) => status.replaceChildren(errorBox(t));
  const header = [breadcrumbs(path, '/files/'), h('h1', {}, path)];
  const info = await guard(() => coffer!.objects.inspect(path), show);
  if (!info) return shell(...header, status);
  const name = path.split('/').pop() || 'download';
  const meta = h('dl', { class: 'meta-list', id: 'metadata' },
    h('dt', {}, 'Size'), h('dd', {}, `${humanSize(info.size)} (${info.size} bytes)`),
    h('dt', {}, 'SHA-256'), h('dd', { class: 'mono' }, info.sha256),
    h('dt', {}, 'Content type'), h('dd', {}, info.content_type),
    h('dt', {}, 'Updated'), h('dd', {}, new Date(info.updated_at).toLocaleString()),
  );
  // The download: a short-lived presigned GET, followed by the browser (a navigation, not a
  // fetch, so the bytes stream to disk and never sit in memory).
  const download = h('button', {
    type: 'button',
    id: 'download',
    onclick: async () => {
      status.replaceChildren();
      const signed = await guard(() => coffer!.presign({ path, method: 'GET', expiresIn: 60 }), show);
      if (!signed) return;
      const a = h('a', { href: signed.url, download: name, hidden: true });
      document.body.append(a);
      a.click();
      a.remove();
    },
  }, 'Download');
  const remove = h('button', {
    type: 'button',
    class: 'danger',
    onclick: async () => {
      if (!confirm(`Delete ${path}? This cannot be undone.`)) return;
      const done = await guard(async () => { await coffer!.objects.delete(path); return true; }, show);
      if (done) navigate(`/files/${encodeRoute(path.slice(0, path.lastIndexOf('/') + 1))}`);
    },
  }, 'Delete');
  const expiry = h('select', { id: 'expiry', name: 'expiry' },
    h('option', { value: '3600' }, '1 hour'), h('option', { value: '86400' }, '1 day'), h('option', { value: '604800' }, '7 days'));
  const linkOut = h('input', { id: 'share-url', readonly: true, placeholder: 'Create a link first' });
  const copied = h('span', { role: 'status' });
  const copy = h('button', {
    type: 'button',
    disabled: true,
    onclick: async () => {
      try {
        if (!navigator.clipboard) throw new Error('no clipboard');
        await navigator.clipboard.writeText(linkOut.value);
        copied.textContent = 'Copied.';
      } catch {
        linkOut.select();
        copied.textContent = 'Selected: press Ctrl+C (⌘C) to copy.';
      }
    },
  }, 'Copy');
  const share = h('form', {
    class: 'share',
    onsubmit: async (e: Event) => {
      e.preventDefault();
      copied.textContent = '';
      const signed = await guard(() => coffer!.presign({ path, method: 'GET', expiresIn: Number(expiry.value) }), show);
      if (!signed) return;
      linkOut.value = signed.url;
      copy.disabled = false;
      copied.textContent = `Link valid until ${new Date(signed.expires_at).toLocaleString()}.`;
    },
  },
    h('h2', {}, 'Share a link'),
    h('label', { for: 'expiry' }, 'Expires after'), expiry,
    h('button', { type: 'submit' }, 'Create link'),
    h('label', { for: 'share-url' }, 'Link'), linkOut,
    h('div', { class: 'actions' }, copy, copied),
  );
  return shell(...header, status, meta, h('div', { class: 'actions' }, download, remove), share);
}

// ---- own public keys ---------------------------------------------------------------------------

async function keysPage(): Promise<HTMLElement> {
  const status = h('div', {});
  const show = (t: string) => status.replaceChildren(errorBox(t));
  const list = h('ul', { class: 'listing keys', id: 'keys', 'aria-label': 'Your keys' });
  async function load(): Promise<void> {
    const keys = await guard(() => coffer!.keys.list(), show);
    if (!keys) return;
    list.replaceChildren();
    for (const k of keys) {
      const remove = h('button', {
        type: 'button',
        class: 'danger',
        'aria-label': `Remove key ${k.label || k.id.slice(0, 16)}`,
        onclick: async () => {
          if (!confirm(`Remove the key ${k.label ? `"${k.label}" ` : ''}(${k.id})? Clients signing with it will be refused.`)) return;
          status.replaceChildren();
          const done = await guard(async () => { await coffer!.keys.remove(k.id); return true; }, show);
          if (done) {
            status.replaceChildren(h('p', { class: 'note', role: 'status' }, 'Key removed.'));
            await load();
          }
        },
      }, 'Remove');
      list.append(h('li', { class: 'key-item', 'data-id': k.id },
        h('dl', { class: 'meta-list' },
          h('dt', {}, 'Label'), h('dd', {}, k.label || '(none)'),
          h('dt', {}, 'Type'), h('dd', {}, k.type),
          h('dt', {}, 'Fingerprint'), h('dd', { class: 'mono' }, k.id),
          k.address ? h('dt', {}, 'AMO address') : null, k.address ? h('dd', { class: 'mono' }, k.address) : null,
          h('dt', {}, 'Added'), h('dd', {}, new Date(k.created_at).toLocaleString()),
        ),
        remove,
      ));
    }
    if (!keys.length) list.append(h('li', { class: 'empty' }, 'No keys yet.'));
  }
  const pem = h('textarea', { id: 'new-public-key', name: 'key', rows: '6', required: true, spellcheck: 'false', placeholder: '-----BEGIN PUBLIC KEY-----' });
  const label = h('input', { id: 'new-key-label', name: 'label', maxlength: '200', autocomplete: 'off' });
  const add = h('button', { type: 'submit' }, 'Add key');
  const form = h('form', {
    class: 'create',
    onsubmit: async (e: Event) => {
      e.preventDefault();
      status.replaceChildren();
      add.disabled = true;
      try {
        const key = await guard(() => coffer!.keys.add(pem.value.trim(), label.value.trim() ? { label: label.value.trim() } : {}), show);
        if (!key) return;
        pem.value = '';
        label.value = '';
        status.replaceChildren(h('p', { class: 'note', role: 'status' }, `Key added: ${key.id}.`));
        await load();
      } finally {
        add.disabled = false;
      }
    },
  },
    h('h2', {}, 'Add a key'),
    h('label', { for: 'new-public-key' }, 'Public key (PEM or hex)'), pem,
    h('label', { for: 'new-key-label' }, 'Label (optional)'), label,
    add,
  );
  await load();
  return shell(h('h1', {}, 'Keys'), h('p', { class: 'hint' }, 'Public keys you sign requests with instead of a password. A P-256 key also has an AMO address.'), status, list, form);
}

// ---- routing -----------------------------------------------------------------------------------

let rendering = 0;
async function render(): Promise<void> {
  const ticket = ++rendering;
  const r = route();
  let view: HTMLElement;
  if (!coffer || r === '/login') {
    if (coffer && r === '/login') return navigate('/kv/', true);
    if (r !== '/login') history.replaceState(null, '', `${BASE}/login`);
    view = loginPage();
  } else if (r.startsWith('/kv/')) {
    const p = r.slice(4);
    view = p === '' || p.endsWith('/') ? await kvDirPage(p) : await kvKeyPage(p);
  } else if (r.startsWith('/files/')) {
    const p = r.slice(7);
    view = p === '' || p.endsWith('/') ? await filesDirPage(p) : await filePage(p);
  } else if (r === '/keys' || r === '/keys/') {
    view = await keysPage();
  } else {
    return navigate('/kv/', true);
  }
  if (ticket !== rendering) return;
  app.replaceChildren(view);
  document.title = `${r === '/login' ? 'Log in' : r.slice(1)} · Coffer console`;
}

async function start(): Promise<void> {
  const saved = sessionStorage.getItem(REFRESH_KEY);
  if (saved) {
    const c = newClient(saved);
    try {
      await c.refresh();
      username = (await c.me()).username;
      coffer = c;
    } catch (e) {
      sessionStorage.removeItem(REFRESH_KEY);
      flash = e instanceof CofferError && e.status === 401 ? 'Your session has ended. Log in again.' : message(e);
    }
  }
  addEventListener('popstate', () => void render());
  await render();
}

void start();

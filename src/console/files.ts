/** Files (objects): folders, uploads with progress and cancel, metadata, download, links. */
import { Coffer } from '../client/index.js';
import { breadcrumbs, busy, client, encodeRoute, errorBox, guard, h, link, message, navigate, pagedListing, shell } from './app.js';


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
  const t = client().tokens();
  if (!t || (t.expiresAt !== undefined && t.expiresAt - Date.now() < 30_000)) return (await client().refresh()).access_token;
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

export async function filesDirPage(dir: string): Promise<HTMLElement> {
  const status = h('div', {});
  const show = (t: string) => status.replaceChildren(errorBox(t));
  const { list, more, next, reload } = pagedListing(
    (cursor) => client().objects.list({ ...(dir ? { prefix: dir } : {}), delimiter: '/', limit: 100, ...(cursor ? { cursor } : {}) }),
    (listing) => [
      ...(listing.prefixes ?? []).map((d) => h('li', { class: 'dir' }, link(`/files/${encodeRoute(d)}`, d.slice(dir.length)))),
      ...listing.objects.map((o) => h('li', { class: 'key' }, link(`/files/${encodeRoute(o.path)}`, o.path.slice(dir.length)), h('span', { class: 'meta' }, ` ${humanSize(o.size)}`))),
    ],
    'No files here yet.',
    show,
  );
  const uploads = h('ul', { class: 'uploads', id: 'uploads', 'aria-label': 'Uploads' });
  const refresh = () => void reload();
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
  await next();
  return shell(breadcrumbs(dir, '/files/'), h('h1', {}, dir ? dir : 'Files'), status, drop, uploads, list, more);
}

export async function filePage(path: string): Promise<HTMLElement> {
  const status = h('div', {});
  const show = (t: string) => status.replaceChildren(errorBox(t));
  const header = [breadcrumbs(path, '/files/'), h('h1', {}, path)];
  const info = await guard(() => client().objects.inspect(path), show);
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
    onclick: busy(async () => {
      status.replaceChildren();
      const signed = await guard(() => client().presign({ path, method: 'GET', expiresIn: 60 }), show);
      if (!signed) return;
      const a = h('a', { href: signed.url, download: name, hidden: true });
      document.body.append(a);
      a.click();
      a.remove();
    }),
  }, 'Download');
  const remove = h('button', {
    type: 'button',
    class: 'danger',
    onclick: busy(async () => {
      if (!confirm(`Delete ${path}? This cannot be undone.`)) return;
      const done = await guard(async () => { await client().objects.delete(path); return true; }, show);
      if (done) navigate(`/files/${encodeRoute(path.slice(0, path.lastIndexOf('/') + 1))}`);
    }),
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
      const signed = await guard(() => client().presign({ path, method: 'GET', expiresIn: Number(expiry.value) }), show);
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

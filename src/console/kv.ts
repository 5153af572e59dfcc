/** The key/value browser: directories with breadcrumbs and paging, a key's value to view and edit. */
import { CofferError } from '../client/index.js';
import { breadcrumbs, busy, client, encodeRoute, errorBox, guard, h, link, navigate, noteBox, onSubmit, pagedListing, rerender, shell } from './app.js';

export async function kvDirPage(dir: string): Promise<HTMLElement> {
  const status = h('div', {});
  const show = (t: string) => status.replaceChildren(errorBox(t));
  const { list, more, next } = pagedListing(
    (cursor) => client().kv.list(dir, { limit: 100, ...(cursor ? { cursor } : {}) }),
    (listing) => [
      ...listing.dirs.map((d) => h('li', { class: 'dir' }, link(`/kv/${encodeRoute(d)}`, d.slice(dir.length)))),
      ...listing.keys.map((k) => h('li', { class: 'key' }, link(`/kv/${encodeRoute(k)}`, k.slice(dir.length)))),
    ],
    'Nothing here yet.',
    show,
  );
  const newKey = h('input', { id: 'new-key', name: 'key', required: true, placeholder: 'name or a/nested/name', autocomplete: 'off' });
  const newValue = h('textarea', { id: 'new-value', name: 'value', rows: '4' });
  const asJson = h('input', { id: 'new-json', type: 'checkbox' });
  const create = h('button', { type: 'submit' }, 'Create');
  const createForm = h('form', {
    class: 'create',
    onsubmit: onSubmit(create, status, async () => {
      const key = dir + newKey.value.replace(/^\/+/, '');
      let value: unknown = newValue.value;
      if (asJson.checked) {
        try { value = JSON.parse(newValue.value); } catch (err) { return show(`The value is not valid JSON: ${(err as Error).message}`); }
      }
      const ok = await guard(() => client().kv.create(key, value), show);
      if (ok) navigate(`/kv/${encodeRoute(key)}`);
    }),
  },
    h('h2', {}, 'New key'),
    h('label', { for: 'new-key' }, `Key (in ${dir || 'the root'})`), newKey,
    h('label', { for: 'new-value' }, 'Value'), newValue,
    h('label', { class: 'inline' }, asJson, ' Value is JSON'),
    create,
  );
  await next();
  return shell(breadcrumbs(dir), h('h1', {}, dir ? dir : 'Key/value'), status, list, more, createForm);
}

export async function kvKeyPage(key: string): Promise<HTMLElement> {
  const status = h('div', {});
  const show = (t: string) => status.replaceChildren(errorBox(t));
  const got = await guard(() => client().kv.get(key), show);
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
      const answer = await client().kv.put(key, value, force || !etag ? {} : { ifMatch: etag });
      etag = answer.etag ?? undefined;
      status.replaceChildren(noteBox('Saved.'));
    } catch (e) {
      if (e instanceof CofferError && e.status === 412) {
        status.replaceChildren(h('div', { class: 'error conflict', role: 'alert' },
          h('p', {}, 'This key was changed elsewhere since you opened it.'),
          h('button', { type: 'button', onclick: () => void rerender() }, 'Reload'),
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
    onclick: busy(async () => {
      if (!confirm(`Delete ${key}?`)) return;
      const e = etag();
      const done = await guard(async () => { await client().kv.delete(key, e ? { ifMatch: e } : {}); return true; }, show);
      if (done) navigate(`/kv/${encodeRoute(key.slice(0, key.lastIndexOf('/') + 1))}`);
    }),
  }, 'Delete');
}

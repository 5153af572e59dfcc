/** Your own public keys: list, add, remove. */
import { busy, client, errorBox, guard, h, noteBox, onSubmit, shell } from './app.js';


export async function keysPage(): Promise<HTMLElement> {
  const status = h('div', {});
  const show = (t: string) => status.replaceChildren(errorBox(t));
  const list = h('ul', { class: 'listing keys', id: 'keys', 'aria-label': 'Your keys' });
  async function load(): Promise<void> {
    const keys = await guard(() => client().keys.list(), show);
    if (!keys) return;
    list.replaceChildren();
    for (const k of keys) {
      const remove = h('button', {
        type: 'button',
        class: 'danger',
        'aria-label': `Remove key ${k.label || k.id.slice(0, 16)}`,
        onclick: busy(async () => {
          if (!confirm(`Remove the key ${k.label ? `"${k.label}" ` : ''}(${k.id})? Clients signing with it will be refused.`)) return;
          status.replaceChildren();
          const done = await guard(async () => { await client().keys.remove(k.id); return true; }, show);
          if (done) {
            await load(); // the list first, then the word that it changed
            status.replaceChildren(noteBox('Key removed.'));
          }
        }),
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
    onsubmit: onSubmit(add, status, async () => {
      const key = await guard(() => client().keys.add(pem.value.trim(), label.value.trim() ? { label: label.value.trim() } : {}), show);
      if (!key) return;
      pem.value = '';
      label.value = '';
      status.replaceChildren(noteBox(`Key added: ${key.id}.`));
      await load();
    }),
  },
    h('h2', {}, 'Add a key'),
    h('label', { for: 'new-public-key' }, 'Public key (PEM or hex)'), pem,
    h('label', { for: 'new-key-label' }, 'Label (optional)'), label,
    add,
  );
  await load();
  return shell(h('h1', {}, 'Keys'), h('p', { class: 'hint' }, 'Public keys you sign requests with instead of a password. A P-256 key also has an AMO address.'), status, list, form);
}

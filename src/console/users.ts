/**
 * Admins only (the navigation shows it to them, the server decides): the users page lists every
 * user (GET /v1/users answers the whole list; the page filters it and shows it 50 at a time) and
 * creates one; a user's page enables or disables the account, changes its grants and admin flag,
 * sets a new password, and deletes it with everything it owns, after a confirmation.
 */
import type { UserPatchBody, UserView } from '../client/index.js';
import { DEFAULT_GRANTS, SCOPES } from '../users/scopes.js';
import { busy, client, errorBox, guard, h, link, navigate, noteBox, onSubmit, rerender, shell, whoami } from './app.js';

const GRANTS = SCOPES.filter((s) => s !== 'admin');
const PAGE = 50;

/** A message for the next page drawn (an action that redraws or leaves the page says how it went). */
let pending = '';
function statusBox(): HTMLElement {
  const box = h('div', {}, pending ? noteBox(pending) : null);
  pending = '';
  return box;
}

/** The grants as checkboxes, the admin flag last; `held` are the scopes checked at first. */
function grantBoxes(prefix: string, held: readonly string[], legend = 'Grants'): { fieldset: HTMLFieldSetElement; admin: HTMLInputElement; grants(): string[] } {
  const boxes = GRANTS.map((g) => h('input', { type: 'checkbox', id: `${prefix}-${g}`, name: 'grants', value: g, checked: held.includes(g) }));
  const admin = h('input', { type: 'checkbox', id: `${prefix}-admin`, name: 'admin', checked: held.includes('admin') });
  const fieldset = h('fieldset', { class: 'grants' },
    h('legend', {}, legend),
    ...boxes.map((b) => h('label', { class: 'inline', for: b.id }, b, ` ${b.value}`)),
    h('label', { class: 'inline', for: admin.id }, admin, ' admin'),
  );
  return { fieldset, admin, grants: () => boxes.filter((b) => b.checked).map((b) => b.value) };
}

function summary(u: UserView): string {
  return [u.disabled ? 'disabled' : 'active', u.admin ? 'admin' : '', u.grants.filter((g) => g !== 'admin').join(' ') || 'no grants'].filter(Boolean).join(' · ');
}

export async function usersPage(): Promise<HTMLElement> {
  const status = statusBox();
  const show = (t: string) => status.replaceChildren(errorBox(t));
  const list = h('ul', { class: 'listing users', id: 'users', 'aria-label': 'Users' });
  const filter = h('input', { id: 'user-filter', type: 'search', autocomplete: 'off', placeholder: 'part of a name' });
  let users: UserView[] = [];
  let shown = PAGE;
  const more = h('button', { type: 'button', hidden: true, onclick: () => { shown += PAGE; draw(); } }, 'More');
  function draw(): void {
    const q = filter.value.trim().toLowerCase();
    const matching = users.filter((u) => u.username.toLowerCase().includes(q));
    list.replaceChildren(...matching.slice(0, shown).map((u) => h('li', { class: 'user-item', 'data-username': u.username },
      link(`/users/${encodeURIComponent(u.username)}`, u.username),
      h('span', { class: 'meta' }, summary(u)),
    )));
    if (!matching.length) list.append(h('li', { class: 'empty' }, q ? 'No user matches.' : 'No users.'));
    more.hidden = matching.length <= shown;
  }
  filter.addEventListener('input', () => { shown = PAGE; draw(); });
  async function load(): Promise<void> {
    const got = await guard(() => client().users.list(), show);
    if (!got) return;
    users = got;
    draw();
  }

  const username = h('input', { id: 'new-username', name: 'username', required: true, maxlength: '64', pattern: '[A-Za-z0-9._\\-]+', autocomplete: 'off', title: 'letters, digits, . _ -' });
  const password = h('input', { id: 'new-user-password', name: 'password', type: 'password', required: true, autocomplete: 'new-password' });
  let boxes = grantBoxes('new-grant', DEFAULT_GRANTS);
  const create = h('button', { type: 'submit' }, 'Create user');
  const form = h('form', {
    class: 'create',
    onsubmit: onSubmit(create, status, async () => {
      const made = await guard(() => client().users.create({ username: username.value.trim(), password: password.value, admin: boxes.admin.checked, grants: boxes.grants() }), show);
      if (!made) return;
      status.replaceChildren(noteBox(`User ${made.username} created.`));
      username.value = '';
      password.value = '';
      const fresh = grantBoxes('new-grant', DEFAULT_GRANTS);
      boxes.fieldset.replaceWith(fresh.fieldset);
      boxes = fresh;
      await load();
    }),
  },
    h('h2', {}, 'New user'),
    h('label', { for: 'new-username' }, 'Username'), username,
    h('label', { for: 'new-user-password' }, 'Password'), password,
    boxes.fieldset,
    create,
  );
  await load();
  return shell(h('h1', {}, 'Users'), status,
    h('div', { class: 'filter' }, h('label', { for: 'user-filter' }, 'Filter'), filter),
    list, more, form);
}

export async function userPage(name: string): Promise<HTMLElement> {
  const status = statusBox();
  const show = (t: string) => status.replaceChildren(errorBox(t));
  const header = [
    h('nav', { 'aria-label': 'Breadcrumbs', class: 'crumbs' }, h('ol', {}, h('li', {}, link('/users', 'Users')), h('li', {}, h('span', { 'aria-current': 'page' }, name)))),
    h('h1', {}, name),
  ];
  const u = await guard(() => client().users.get(name), show);
  if (!u) return shell(...header, status);
  /** Sends a change; on success redraws the page with `done` as its message. */
  async function change(patch: UserPatchBody, done: string): Promise<void> {
    const ok = await guard(() => client().users.update(name, patch), show);
    if (!ok) return;
    pending = done;
    await rerender();
  }
  const self = u.username === whoami();
  const meta = h('dl', { class: 'meta-list', id: 'user-meta' },
    h('dt', {}, 'Status'), h('dd', {}, u.disabled ? 'Disabled' : 'Active'),
    h('dt', {}, 'Admin'), h('dd', {}, u.admin ? 'Yes' : 'No'),
    h('dt', {}, 'Grants'), h('dd', {}, u.grants.join(' ') || '(none)'),
    h('dt', {}, 'Public ID'), h('dd', { class: 'mono' }, u.public_id),
    h('dt', {}, 'Created'), h('dd', {}, new Date(u.created_at).toLocaleString()),
    h('dt', {}, 'Updated'), h('dd', {}, new Date(u.updated_at).toLocaleString()),
  );
  const toggle = h('button', {
    type: 'button',
    class: u.disabled ? undefined : 'danger',
    onclick: busy(async () => {
      if (!u.disabled && !confirm(`Disable ${name}? Their sessions end at once, and they cannot log in until enabled again.`)) return;
      await change({ disabled: !u.disabled }, u.disabled ? 'Account enabled.' : 'Account disabled.');
    }),
  }, u.disabled ? 'Enable account' : 'Disable account');
  const remove = h('button', {
    type: 'button',
    class: 'danger',
    onclick: busy(async () => {
      if (!confirm(`Delete the user ${name} and everything they own (keys/values, files, public keys)? This cannot be undone.`)) return;
      const ok = await guard(async () => { await client().users.delete(name); return true; }, show);
      if (!ok) return;
      pending = `User ${name} deleted.`;
      navigate('/users');
    }),
  }, 'Delete user');

  const boxes = grantBoxes('grant', u.grants, 'What this user may do');
  const saveGrants = h('button', { type: 'submit' }, 'Save grants');
  const grantsForm = h('form', {
    class: 'grants-form',
    onsubmit: onSubmit(saveGrants, status, () => change({ grants: boxes.grants(), admin: boxes.admin.checked }, 'Grants saved.')),
  }, h('h2', {}, 'Grants'), boxes.fieldset, saveGrants);

  const password = h('input', { id: 'reset-password', name: 'password', type: 'password', required: true, autocomplete: 'new-password' });
  const setPassword = h('button', { type: 'submit' }, 'Set password');
  const passwordForm = h('form', {
    class: 'password-form',
    onsubmit: onSubmit(setPassword, status, () => change({ password: password.value }, 'Password changed; their sessions have ended.')),
  },
    h('h2', {}, 'Reset the password'),
    h('label', { for: 'reset-password' }, 'New password'), password,
    h('p', { class: 'hint' }, 'Ends every session of this user.'),
    setPassword,
  );
  return shell(...header, status,
    self ? h('p', { class: 'hint' }, 'This is you: disabling the account, removing admin or setting its password ends this session.') : null,
    meta, h('div', { class: 'actions' }, toggle, remove), grantsForm, passwordForm);
}

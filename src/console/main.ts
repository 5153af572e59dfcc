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
import { CofferError } from '../client/index.js';
import { BASE, beginSession, errorBox, h, isAdmin, message, navigate, newClient, noteBox, onSubmit, REFRESH_KEY, route, setFlash, setRenderer, signedIn, takeFlash } from './app.js';
import { filePage, filesDirPage } from './files.js';
import { keysPage } from './keys.js';
import { kvDirPage, kvKeyPage } from './kv.js';
import { userPage, usersPage } from './users.js';

const app = document.getElementById('app')!;

function loginPage(): HTMLElement {
  const error = h('div', {});
  const flash = takeFlash();
  const note = flash ? noteBox(flash) : null;
  const user = h('input', { id: 'username', name: 'username', autocomplete: 'username', required: true });
  const pass = h('input', { id: 'password', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const submit = h('button', { type: 'submit' }, 'Log in');
  const form = h('form', {
    class: 'login',
    onsubmit: onSubmit(submit, error, async () => {
      const c = newClient();
      try {
        const answer = await c.login(user.value, pass.value);
        beginSession(c, user.value, answer.scope);
        navigate('/kv/', true);
      } catch (err) {
        pass.value = '';
        error.replaceChildren(errorBox(message(err)));
        pass.focus();
      }
    }),
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


// ---- routing -----------------------------------------------------------------------------------

let rendering = 0;
async function render(): Promise<void> {
  const ticket = ++rendering;
  const r = route();
  let view: HTMLElement;
  if (!signedIn() || r === '/login') {
    if (signedIn() && r === '/login') return navigate('/kv/', true);
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
  } else if ((r === '/users' || r.startsWith('/users/')) && isAdmin()) {
    const name = r.slice('/users/'.length);
    view = name ? await userPage(name) : await usersPage();
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
      const { scope } = await c.refresh();
      beginSession(c, (await c.me()).username, scope);
    } catch (e) {
      sessionStorage.removeItem(REFRESH_KEY);
      setFlash(e instanceof CofferError && e.status === 401 ? 'Your session has ended. Log in again.' : message(e));
    }
  }
  setRenderer(render);
  addEventListener('popstate', () => void render());
  await render();
}

void start();
import { api, onKeyRefused, session } from './api.js';
import { clearErrors, h, showError } from './ui.js';
import * as fleet from './pages/fleet.js';
import * as device from './pages/device.js';
import * as deployments from './pages/deployments.js';
import * as deployment from './pages/deployment.js';
import * as actions from './pages/actions.js';
import * as action from './pages/action.js';
import * as orchestrations from './pages/orchestrations.js';
import * as artifacts from './pages/artifacts.js';

// Page addresses: #/section or #/section/id.
const routes = [
  [/^\/fleet$/, fleet], [/^\/devices\/(.+)$/, device],
  [/^\/deployments$/, deployments], [/^\/deployments\/(.+)$/, deployment],
  [/^\/actions$/, actions], [/^\/actions\/(.+)$/, action],
  [/^\/orchestrations$/, orchestrations], [/^\/artifacts$/, artifacts],
];

const main = document.getElementById('main');
let timers = [];
let shown = 0;

/** Re-runs `refresh` every `ms` while this page is shown: live progress without reloading. */
function every(ms, refresh) { timers.push(setInterval(refresh, ms)); }

async function show() {
  timers.forEach(clearInterval);
  timers = [];
  clearErrors();
  if (!session.key) return askForKey();
  const path = location.hash.replace(/^#/, '') || '/fleet';
  let page = null, id;
  for (const [pattern, module] of routes) {
    const match = pattern.exec(path);
    if (match) { [page, id] = [module, match[1]]; break; }
  }
  for (const link of document.querySelectorAll('header nav a')) {
    const section = link.getAttribute('href').slice(1);
    const current = path === section || path.startsWith(`${section}/`) || (section === '/fleet' && path.startsWith('/devices/'));
    current ? link.setAttribute('aria-current', 'page') : link.removeAttribute('aria-current');
  }
  const turn = ++shown;
  if (!page) return main.replaceChildren(h('h1', {}, 'Not found'), h('p', {}, h('a', { href: '#/fleet' }, 'Back to the fleet')));
  main.replaceChildren(h('p', { class: 'muted' }, 'Loading…'));
  try {
    const view = await page.render(id === undefined ? undefined : decodeURIComponent(id), { every, show });
    if (turn === shown) main.replaceChildren(view);
  } catch (error) {
    if (turn !== shown) return;
    main.replaceChildren(h('h1', {}, 'Could not load this page'));
    showError(error);
  }
}

async function whoAmI() {
  const tenant = await api('/api/v1/tenants/current');
  document.getElementById('who').textContent = `tenant ${tenant.tenantId}`;
  document.getElementById('signout').hidden = false;
}

function askForKey(reason) {
  const dialog = document.getElementById('login');
  document.getElementById('login-reason').textContent = reason
    ?? 'The key stays in this browser tab only, and is sent to this app\'s API alone.';
  if (!dialog.open) dialog.showModal();
  document.getElementById('login-key').focus();
}

document.getElementById('login-form').addEventListener('submit', async event => {
  event.preventDefault();
  session.key = document.getElementById('login-key').value.trim();
  try {
    await whoAmI();
    document.getElementById('login').close();
    document.getElementById('login-key').value = '';
    show();
  } catch (error) {
    session.key = null;
    askForKey(`${error.message}${error.requestId ? ` (request id ${error.requestId})` : ''}`);
  }
});
// The dialog is how the page gets its key: Escape does not dismiss it without one.
document.getElementById('login').addEventListener('cancel', event => { if (!session.key) event.preventDefault(); });
document.getElementById('signout').addEventListener('click', () => {
  session.key = null;
  document.getElementById('who').textContent = '';
  document.getElementById('signout').hidden = true;
  main.replaceChildren();
  askForKey();
});
onKeyRefused(error => {
  if (error.status === 401) session.key = null;
  askForKey(error.status === 401 ? `The key was refused: ${error.message} Sign in again.` : `This key may not do that: ${error.message} Sign in with a key that may.`);
});

window.addEventListener('hashchange', show);
if (session.key) whoAmI().catch(() => {});
show();

/**
 * The console's shell: sign-in, navigation and hash routing (`#/agents`, `#/audit?txn=…`,
 * `#/chains/<txn>`). Each view is a function that resolves to the element to show.
 */
import { api, forgetToken, storedToken, storeToken, whenUnauthorized } from './api.js';
import { auditView } from './audit.js';
import { chainView } from './chain.js';
import { clearNotice, field, h, notify, replace, showError } from './dom.js';
import { keysView } from './keys.js';
import { collectionForm, collectionList, COLLECTIONS } from './registry.js';

const view = document.getElementById('view');
const nav = document.getElementById('nav');
const signOutButton = document.getElementById('sign-out');

/** Route table: the first segment of the hash picks the view; the rest are its arguments. */
function resolve(segments, query) {
  const [section, action, ...rest] = segments;
  const collection = COLLECTIONS[section];
  if (collection) {
    if (action === 'new') return () => collectionForm(collection, null);
    if (action === 'edit' && rest.length > 0) return () => collectionForm(collection, rest.join('/'));
    return () => collectionList(collection);
  }
  if (section === 'audit') return () => auditView(query);
  if (section === 'keys') return () => keysView();
  if (section === 'chains' && action) return () => chainView([action, ...rest].join('/'));
  return null;
}

function parseHash() {
  const hash = location.hash.replace(/^#\/?/, '');
  const [pathPart, queryPart = ''] = hash.split('?');
  const segments = pathPart.split('/').filter(Boolean).map(decodeURIComponent);
  return { segments, query: new URLSearchParams(queryPart) };
}

let renderCount = 0;

async function render() {
  if (!storedToken()) return showSignIn();
  const { segments, query } = parseHash();
  const route = resolve(segments, query);
  if (!route) {
    location.replace('#/agents');
    return;
  }
  nav.hidden = false;
  signOutButton.hidden = false;
  for (const link of nav.querySelectorAll('a')) {
    link.classList.toggle('current', link.dataset.section === segments[0]);
  }
  const current = ++renderCount;
  view.setAttribute('aria-busy', 'true');
  try {
    const content = await route();
    // A slower, older render must not replace a newer one.
    if (current === renderCount) replace(view, content);
  } catch (error) {
    if (current === renderCount) {
      showError(error);
      replace(view, h('p', { class: 'muted' }, 'This view could not be loaded.'));
    }
  } finally {
    if (current === renderCount) view.removeAttribute('aria-busy');
  }
}

function showSignIn(message) {
  nav.hidden = true;
  signOutButton.hidden = true;
  const input = h('input', {
    type: 'password',
    name: 'token',
    id: 'token',
    autocomplete: 'off',
    required: true,
    spellcheck: 'false',
  });
  const form = h(
    'form',
    { class: 'card sign-in', id: 'sign-in', novalidate: true },
    h('h1', {}, 'Sign in'),
    h(
      'p',
      { class: 'muted' },
      'Paste the ADMIN_TOKEN, or an access token of this service addressed to the issuer with the sts:admin scope. It is kept in this tab only (sessionStorage) and sent to the admin API as a Bearer token.',
    ),
    field('Admin token', input),
    h('button', { type: 'submit', class: 'primary' }, 'Sign in'),
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const token = input.value.trim();
    if (!token) return;
    try {
      // Any cheap admin read tells a good token (200) from a bad one (401) or a weak one (403).
      await api('GET', '/admin/agents?limit=1', undefined, token);
      storeToken(token);
      clearNotice();
      if (!location.hash || location.hash === '#' || location.hash === '#/') location.hash = '#/agents';
      else await render();
    } catch (error) {
      showError(error);
    }
  });
  replace(view, form);
  if (message) notify('error', message);
  input.focus();
}

signOutButton.addEventListener('click', () => {
  forgetToken();
  clearNotice();
  showSignIn();
});

whenUnauthorized(() => {
  forgetToken();
  showSignIn('Signed out: the token is no longer accepted.');
});

window.addEventListener('hashchange', () => {
  clearNotice();
  void render();
});
void render();

/**
 * Signing keys (GET /admin/keys) and rotation (POST /admin/keys/rotate): the new key is published
 * at once and signs after the configured delay; the old one stays published until its tokens end.
 */
import { api } from './api.js';
import { badge, confirmButton, h, reloadView, showError, table, time } from './dom.js';

function rowOf(key) {
  return h(
    'tr',
    { dataset: { kid: key.kid, state: key.state } },
    h('td', {}, h('code', {}, key.kid)),
    h('td', {}, key.alg),
    h('td', {}, badge(key.state)),
    h('td', {}, key.published ? 'yes' : 'no'),
    h('td', {}, time(key.createdAt)),
    h('td', {}, time(key.activatesAt ?? key.activatedAt)),
    h('td', {}, time(key.retiredAt)),
    h('td', {}, time(key.revokedAt)),
  );
}

export async function keysView() {
  const { items } = await api('GET', '/admin/keys');
  return h(
    'section',
    { class: 'keys-view' },
    h(
      'div',
      { class: 'heading' },
      h('h1', {}, 'Signing keys'),
      confirmButton(
        'Rotate',
        'Confirm rotation',
        async () => {
          try {
            const key = await api('POST', '/admin/keys/rotate');
            reloadView(['Rotated', `new key ${key.kid} (${key.state})`]);
          } catch (error) {
            showError(error);
          }
        },
        { id: 'rotate-key' },
      ),
    ),
    h(
      'p',
      { class: 'muted' },
      'A rotated-in key is published in the JWKS at once and signs after KEY_ROTATION_DELAY_SECONDS; the key it replaces stays published until every token it signed has expired.',
    ),
    table(
      ['Key id', 'Alg', 'State', 'Published', 'Created', 'Signs from', 'Retired', 'Revoked'],
      items.map(rowOf),
      {
        class: 'list keys',
      },
    ),
  );
}

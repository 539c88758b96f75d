/**
 * The audit log (GET /admin/audit): every token decision, newest first, filtered by agent,
 * subject, chain, decision and time. The filters live in the hash (`#/audit?agent=…`), so a
 * filtered view can be linked; every row of a chain links to that chain's tree.
 */
import { api, segment, withQuery } from './api.js';
import { badge, field, h, moreButton, table, time } from './dom.js';

const FILTERS = ['agent', 'subject', 'txn', 'decision', 'from', 'to'];
const PAGE_SIZE = 50;

export const chainHref = (txn) => `#/chains/${segment(txn)}`;

function rowOf(event) {
  const scope = event.grantedScope ?? event.requestedScope;
  const row = h(
    'tr',
    {
      class: `audit-row decision-${event.decision}${event.txn ? ' has-chain' : ''}`,
      dataset: {
        id: event.id,
        ...(event.txn ? { txn: event.txn } : {}),
        ...(event.jti ? { jti: event.jti } : {}),
      },
      title: event.description ?? '',
    },
    h('td', {}, time(event.at)),
    h('td', {}, badge(event.decision)),
    h('td', {}, h('code', {}, event.rule)),
    h('td', { class: 'client' }, event.clientId ?? '—'),
    h('td', {}, event.subject ?? '—'),
    h('td', { class: 'audience' }, event.audience ?? '—'),
    h('td', {}, scope ?? '—', event.impersonation && badge('impersonation', 'warn')),
    h('td', {}, event.txn ? h('a', { class: 'chain-link', href: chainHref(event.txn) }, 'chain ›') : '—'),
  );
  // The whole row leads to the chain, not only its link.
  if (event.txn) {
    row.addEventListener('click', (click) => {
      if (!(click.target instanceof HTMLAnchorElement)) location.hash = chainHref(event.txn);
    });
  }
  return row;
}

function filterForm(query) {
  const input = (name, placeholder) =>
    h('input', { type: 'text', name, id: `filter-${name}`, value: query.get(name) ?? '', placeholder });
  const decision = h(
    'select',
    { name: 'decision', id: 'filter-decision' },
    ['', 'granted', 'denied'].map((value) =>
      h('option', { value, selected: (query.get('decision') ?? '') === value }, value || 'any'),
    ),
  );
  const form = h(
    'form',
    { class: 'filters', id: 'audit-filters', novalidate: true },
    field('Agent', input('agent', 'client_id')),
    field('Subject', input('subject', 'sub')),
    field('Chain', input('txn', 'txn')),
    field('Decision', decision),
    field('From', input('from', '2026-01-31T00:00:00Z')),
    field('To', input('to', 'RFC 3339')),
    h(
      'div',
      { class: 'buttons' },
      h('button', { type: 'submit', class: 'primary' }, 'Filter'),
      h('a', { class: 'button quiet', href: '#/audit' }, 'Clear'),
    ),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const values = Object.fromEntries(
      FILTERS.map((name) => [name, form.elements.namedItem(name).value.trim()]),
    );
    location.hash = withQuery('#/audit', values);
  });
  return form;
}

export async function auditView(query) {
  const filters = Object.fromEntries(FILTERS.map((name) => [name, query.get(name) ?? '']));
  const first = await api('GET', withQuery('/admin/audit', { ...filters, limit: PAGE_SIZE }));
  const list = table(
    ['Time', 'Decision', 'Rule', 'Agent', 'Subject', 'Audience', 'Scope', 'Chain'],
    first.items.map(rowOf),
    { class: 'list audit' },
  );
  const more = moreButton(list, rowOf, first.nextCursor, (cursor) =>
    api('GET', withQuery('/admin/audit', { ...filters, limit: PAGE_SIZE, cursor })),
  );
  return h(
    'section',
    { class: 'audit-view' },
    h('h1', {}, 'Audit log'),
    filterForm(query),
    first.items.length === 0 ? h('p', { class: 'muted empty' }, 'No events match.') : list,
    more,
  );
}

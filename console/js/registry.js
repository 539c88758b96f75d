/**
 * Agents, resources and trusted issuers (CONTRACT §4): each a collection with a paged list and a
 * create/edit form, described here as data — its columns, its fields and its row actions — and
 * drawn by the two generic views below.
 */
import { api, segment, withQuery } from './api.js';
import {
  badge,
  chips,
  confirmButton,
  field,
  h,
  moreButton,
  notify,
  reloadView,
  replace,
  showError,
  table,
  time,
  words,
} from './dom.js';

const PAGE_SIZE = 50;
const GRANT_TYPES = ['client_credentials', 'urn:ietf:params:oauth:grant-type:token-exchange'];
const AUTH_METHODS = ['client_secret_basic', 'client_secret_post', 'private_key_jwt'];

/** Runs an API action, then hands its answer to `done`, or reloads the view; failures are shown. */
async function act(action, done) {
  try {
    const result = await action();
    if (done) done(result);
    else reloadView();
  } catch (error) {
    showError(error);
  }
}

function secretPanel(agentId, secret) {
  return h(
    'section',
    { class: 'card secret-panel' },
    h('h2', {}, 'Client secret'),
    h(
      'p',
      {},
      'The client secret of ',
      h('code', {}, agentId),
      ' is shown this once; it is stored only as a digest.',
    ),
    h('code', { class: 'secret', id: 'client-secret' }, secret),
  );
}

function agentActions(agent) {
  const path = `/admin/agents/${segment(agent.id)}`;
  const toggle = agent.status === 'disabled' ? 'enable' : 'disable';
  return [
    h('a', { class: 'button', href: `#/agents/edit/${segment(agent.id)}` }, 'Edit'),
    h(
      'button',
      {
        type: 'button',
        class: toggle === 'disable' ? 'danger' : '',
        onclick: () => act(() => api('POST', `${path}/${toggle}`)),
      },
      toggle === 'disable' ? 'Disable' : 'Enable',
    ),
    agent.tokenEndpointAuthMethod !== 'private_key_jwt' &&
      confirmButton('Rotate secret', 'Confirm rotation', () =>
        act(
          () => api('POST', `${path}/secret`),
          (answer) => replace(document.getElementById('result'), secretPanel(answer.id, answer.clientSecret)),
        ),
      ),
    confirmButton('Delete', 'Confirm delete', () => act(() => api('DELETE', path))),
    h('a', { class: 'button quiet', href: `#/audit?agent=${segment(agent.id)}` }, 'Audit'),
  ];
}

function deleteAction(collection, item) {
  return confirmButton('Delete', 'Confirm delete', () =>
    act(() => api('DELETE', `${collection.path}/${segment(item.id)}`)),
  );
}

function editLink(collection, item) {
  return h('a', { class: 'button', href: `#/${collection.key}/edit/${segment(item.id)}` }, 'Edit');
}

export const COLLECTIONS = {
  agents: {
    key: 'agents',
    path: '/admin/agents',
    title: 'Agents',
    singular: 'agent',
    columns: [
      ['Client id', (agent) => h('code', {}, agent.id)],
      ['Name', (agent) => h('span', { class: 'name' }, agent.name)],
      ['Status', (agent) => badge(agent.status)],
      ['Authentication', (agent) => agent.tokenEndpointAuthMethod],
      ['Scopes', (agent) => chips(agent.allowedScopes)],
      ['Audiences', (agent) => chips(agent.allowedAudiences)],
      ['Created', (agent) => time(agent.createdAt)],
    ],
    actions: (_collection, agent) => agentActions(agent),
    fields: [
      {
        name: 'id',
        label: 'Client id',
        kind: 'text',
        createOnly: true,
        optional: true,
        hint: 'generated when empty',
      },
      { name: 'name', label: 'Name', kind: 'text', required: true },
      { name: 'description', label: 'Description', kind: 'text' },
      { name: 'owner', label: 'Owner', kind: 'text' },
      {
        name: 'tokenEndpointAuthMethod',
        label: 'Client authentication',
        kind: 'select',
        options: AUTH_METHODS,
      },
      {
        name: 'jwks',
        label: 'JWKS (private_key_jwt)',
        kind: 'json',
        optional: true,
        hint: 'a JWK Set of public keys',
      },
      { name: 'jwksUri', label: 'JWKS URI (private_key_jwt)', kind: 'text', optional: true },
      { name: 'allowedScopes', label: 'Allowed scopes', kind: 'list', hint: 'separated by spaces' },
      {
        name: 'allowedAudiences',
        label: 'Allowed audiences',
        kind: 'list',
        hint: 'agent ids or resource ids',
      },
      {
        name: 'grantTypes',
        label: 'Grant types',
        kind: 'checkboxes',
        options: GRANT_TYPES,
        initial: GRANT_TYPES,
      },
      {
        name: 'maxDelegationDepth',
        label: 'Max delegation depth',
        kind: 'number',
        optional: true,
        initial: 4,
      },
      { name: 'tokenTtlSeconds', label: 'Token lifetime (s)', kind: 'number', optional: true, initial: 300 },
      { name: 'mayImpersonate', label: 'May impersonate', kind: 'checkbox' },
      { name: 'dpopBoundAccessTokens', label: 'DPoP-bound tokens only', kind: 'checkbox' },
    ],
  },
  resources: {
    key: 'resources',
    path: '/admin/resources',
    title: 'Resources',
    singular: 'resource',
    columns: [
      ['Audience (id)', (resource) => h('code', {}, resource.id)],
      ['Name', (resource) => resource.name],
      ['Scopes', (resource) => chips(resource.scopes)],
      ['Updated', (resource) => time(resource.updatedAt)],
    ],
    actions: (collection, resource) => [editLink(collection, resource), deleteAction(collection, resource)],
    fields: [
      {
        name: 'id',
        label: 'Audience (id)',
        kind: 'text',
        createOnly: true,
        required: true,
        hint: 'the aud value, usually a URI',
      },
      { name: 'name', label: 'Name', kind: 'text' },
      { name: 'scopes', label: 'Scopes it accepts', kind: 'list', hint: 'separated by spaces' },
    ],
  },
  'trusted-issuers': {
    key: 'trusted-issuers',
    path: '/admin/trusted-issuers',
    title: 'Trusted issuers',
    singular: 'trusted issuer',
    columns: [
      ['Id', (issuer) => h('code', {}, issuer.id)],
      ['Issuer', (issuer) => h('code', {}, issuer.issuer)],
      ['Keys', (issuer) => (issuer.jwksUri ? h('code', {}, issuer.jwksUri) : 'inline JWKS')],
      ['Audiences', (issuer) => chips(issuer.audiences)],
      ['Scope claim', (issuer) => issuer.scopeClaim],
      ['Max depth', (issuer) => issuer.maxDelegationDepth ?? '—'],
    ],
    actions: (collection, issuer) => [editLink(collection, issuer), deleteAction(collection, issuer)],
    fields: [
      {
        name: 'id',
        label: 'Id',
        kind: 'text',
        createOnly: true,
        optional: true,
        hint: 'generated when empty',
      },
      {
        name: 'issuer',
        label: 'Issuer',
        kind: 'text',
        required: true,
        hint: 'the iss of its tokens (https)',
      },
      { name: 'jwks', label: 'JWKS', kind: 'json', optional: true },
      { name: 'jwksUri', label: 'JWKS URI', kind: 'text', optional: true },
      { name: 'audiences', label: 'Audiences', kind: 'list', hint: 'how this issuer addresses agent-sts' },
      { name: 'scopeClaim', label: 'Scope claim', kind: 'select', options: ['scope', 'scp'] },
      {
        name: 'maxDelegationDepth',
        label: 'Max delegation depth',
        kind: 'number',
        optional: true,
        nullable: true,
      },
    ],
  },
};

// ---- the list ----------------------------------------------------------------------------------

function rowOf(collection, item) {
  return h(
    'tr',
    { dataset: { id: item.id }, class: item.status === 'disabled' ? 'is-disabled' : null },
    collection.columns.map(([, cell]) => h('td', {}, cell(item))),
    h('td', { class: 'actions' }, collection.actions(collection, item)),
  );
}

/** The first page of a collection, and a button that appends the next one while there is one. */
export async function collectionList(collection) {
  const first = await api('GET', withQuery(collection.path, { limit: PAGE_SIZE }));
  const headings = [...collection.columns.map(([heading]) => heading), ''];
  const list = table(
    headings,
    first.items.map((item) => rowOf(collection, item)),
    { class: 'list' },
  );
  const more = moreButton(
    list,
    (item) => rowOf(collection, item),
    first.nextCursor,
    (cursor) => api('GET', withQuery(collection.path, { limit: PAGE_SIZE, cursor })),
  );
  return h(
    'section',
    { class: `collection collection-${collection.key}` },
    h(
      'div',
      { class: 'heading' },
      h('h1', {}, collection.title),
      h('a', { class: 'button primary', href: `#/${collection.key}/new` }, `New ${collection.singular}`),
    ),
    h('div', { id: 'result' }),
    first.items.length === 0 ? h('p', { class: 'muted empty' }, `No ${collection.singular} yet.`) : list,
    more,
  );
}

// ---- the form ----------------------------------------------------------------------------------

function control(spec, value) {
  const id = `field-${spec.name}`;
  switch (spec.kind) {
    case 'select':
      return h(
        'select',
        { id, name: spec.name },
        spec.options.map((option) => h('option', { value: option, selected: option === value }, option)),
      );
    case 'checkbox':
      return h('input', { id, name: spec.name, type: 'checkbox', checked: value === true });
    case 'checkboxes':
      return h(
        'span',
        { class: 'choices', id },
        spec.options.map((option) =>
          h(
            'label',
            { class: 'choice' },
            h('input', {
              type: 'checkbox',
              name: spec.name,
              value: option,
              checked: (value ?? []).includes(option),
            }),
            ` ${option}`,
          ),
        ),
      );
    case 'json':
      return h(
        'textarea',
        { id, name: spec.name, rows: 4, spellcheck: 'false' },
        value ? JSON.stringify(value, null, 2) : '',
      );
    case 'list':
      return h('input', { id, name: spec.name, type: 'text', value: (value ?? []).join(' ') });
    case 'number':
      return h('input', { id, name: spec.name, type: 'number', min: 1, step: 1, value: value ?? '' });
    default:
      return h('input', { id, name: spec.name, type: 'text', value: value ?? '', required: spec.required });
  }
}

/** The JSON body the form describes, or throws an Error naming the field that is wrong. */
function bodyOf(form, fields, editing) {
  const body = {};
  for (const spec of fields) {
    if (editing && spec.createOnly) continue;
    const element = form.elements.namedItem(spec.name);
    if (spec.kind === 'checkboxes') {
      body[spec.name] = [...form.querySelectorAll(`input[name="${spec.name}"]:checked`)].map(
        (input) => input.value,
      );
      continue;
    }
    if (spec.kind === 'checkbox') {
      body[spec.name] = element.checked;
      continue;
    }
    const raw = element.value.trim();
    if (raw === '' && (spec.optional || spec.kind === 'number')) {
      if (editing && spec.nullable) body[spec.name] = null;
      continue;
    }
    if (spec.kind === 'list') body[spec.name] = words(raw);
    else if (spec.kind === 'number') body[spec.name] = Number(raw);
    else if (spec.kind === 'json') {
      try {
        body[spec.name] = JSON.parse(raw);
      } catch {
        throw new Error(`${spec.label}: not valid JSON`);
      }
    } else body[spec.name] = raw;
  }
  return body;
}

/** The create form (`id` null) or the edit form of one item, prefilled from the API. */
export async function collectionForm(collection, id) {
  const editing = id !== null;
  const item = editing ? await api('GET', `${collection.path}/${segment(id)}`) : null;
  const fields = collection.fields.filter((spec) => !(editing && spec.createOnly));
  const form = h(
    'form',
    { class: 'card edit', id: `${collection.key}-form`, novalidate: true },
    fields.map((spec) => field(spec.label, control(spec, item ? item[spec.name] : spec.initial), spec.hint)),
    h(
      'div',
      { class: 'buttons' },
      h('button', { type: 'submit', class: 'primary' }, editing ? 'Save' : `Create ${collection.singular}`),
      h('a', { class: 'button quiet', href: `#/${collection.key}` }, 'Cancel'),
    ),
  );
  const result = h('div', { id: 'result' });
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    let body;
    try {
      body = bodyOf(form, collection.fields, editing);
    } catch (error) {
      notify('error', 'Invalid input', error.message);
      return;
    }
    try {
      const saved = editing
        ? await api('PATCH', `${collection.path}/${segment(id)}`, body)
        : await api('POST', collection.path, body);
      notify('info', editing ? 'Saved' : 'Created', `${collection.singular} ${saved.id}`);
      if (saved.clientSecret) {
        form.hidden = true;
        replace(
          result,
          secretPanel(saved.id, saved.clientSecret),
          h(
            'a',
            { class: 'button', href: `#/${collection.key}` },
            `Back to ${collection.title.toLowerCase()}`,
          ),
        );
      } else {
        location.hash = `#/${collection.key}`;
      }
    } catch (error) {
      showError(error);
    }
  });
  return h(
    'section',
    { class: 'form' },
    h(
      'h1',
      {},
      editing ? `Edit ${collection.singular} ` : `New ${collection.singular}`,
      editing && h('code', {}, id),
    ),
    result,
    form,
  );
}

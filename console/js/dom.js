/**
 * DOM helpers. Every string from the API reaches the page as a text node or an attribute value set
 * through the DOM, never as markup: the console is XSS-safe by construction, and its CSP would
 * block an injected script anyway.
 */

/**
 * h('a', { href: '#/x', class: 'y', onclick: fn }, 'text', child) builds an element. Attribute
 * values go through setAttribute, `on…` functions through addEventListener, children that are
 * strings or numbers become text nodes; null, undefined and false children are skipped.
 */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') {
      element.addEventListener(name.slice(2), value);
    } else if (name === 'dataset') {
      Object.assign(element.dataset, value);
    } else if (value === true) {
      element.setAttribute(name, '');
    } else {
      element.setAttribute(name, String(value));
    }
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces everything inside `element` with `children`. */
export function replace(element, ...children) {
  element.replaceChildren();
  append(element, children);
  return element;
}

/** A local, readable time with the full ISO instant as a tooltip. */
export function time(iso) {
  if (!iso) return h('span', { class: 'muted' }, '—');
  const date = new Date(iso);
  return h('time', { datetime: iso, title: iso }, date.toLocaleString(undefined, { hour12: false }));
}

/** A list of short values as chips (scopes, audiences). */
export function chips(values, className = 'chip') {
  if (!values || values.length === 0) return h('span', { class: 'muted' }, 'none');
  return h(
    'span',
    { class: 'chips' },
    values.map((value) => h('span', { class: className }, value)),
  );
}

/** A status badge: the class carries the colour, the text says it in words. */
export function badge(text, kind = text) {
  return h('span', { class: `badge badge-${kind}` }, text);
}

/** A table from column headings and rows of cells. */
export function table(headings, rows, attributes = {}) {
  return h(
    'table',
    attributes,
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        headings.map((heading) => h('th', { scope: 'col' }, heading)),
      ),
    ),
    h('tbody', {}, rows),
  );
}

/** Splits "a b, c" into ['a', 'b', 'c']. */
export function words(text) {
  return text
    .split(/[\s,]+/)
    .map((word) => word.trim())
    .filter(Boolean);
}

/** A labelled form field; `input` is the control element. */
export function field(label, input, hint) {
  return h(
    'label',
    { class: 'field' },
    h('span', { class: 'label' }, label),
    input,
    hint && h('small', {}, hint),
  );
}

/**
 * A button that asks once more before doing something that cannot be undone: the first click arms
 * it, the second within a few seconds runs `action`.
 */
export function confirmButton(label, confirmLabel, action, attributes = {}) {
  let armed = null;
  const button = h('button', { type: 'button', class: 'danger', ...attributes }, label);
  button.addEventListener('click', async () => {
    if (armed === null) {
      button.textContent = confirmLabel;
      button.classList.add('armed');
      armed = setTimeout(() => {
        armed = null;
        button.textContent = label;
        button.classList.remove('armed');
      }, 5000);
      return;
    }
    clearTimeout(armed);
    armed = null;
    button.disabled = true;
    try {
      await action();
    } finally {
      button.disabled = false;
      button.textContent = label;
      button.classList.remove('armed');
    }
  });
  return button;
}

/** Shows a message above the view: `kind` is 'error' or 'info'. */
export function notify(kind, title, detail = '', errors = []) {
  const notice = document.getElementById('notice');
  notice.className = `notice notice-${kind}`;
  replace(
    notice,
    h('strong', {}, title),
    detail && h('span', {}, ` ${detail}`),
    errors.length > 0 &&
      h(
        'ul',
        {},
        errors.map((error) => h('li', {}, h('code', {}, error.path || '/'), ` ${error.message}`)),
      ),
    h('button', { type: 'button', class: 'quiet close', 'aria-label': 'dismiss', onclick: clearNotice }, '×'),
  );
  notice.hidden = false;
}

export function clearNotice() {
  const notice = document.getElementById('notice');
  notice.hidden = true;
  notice.replaceChildren();
}

/** An API error (a problem document) or any other failure, shown to the operator. */
export function showError(error) {
  if (error && typeof error.title === 'string') {
    notify('error', error.title, error.detail, error.errors);
  } else {
    notify('error', 'Error', error instanceof Error ? error.message : String(error));
  }
}

/**
 * A "Load more" button under a paged table: `loadPage(cursor)` resolves to the API's
 * `{items, nextCursor}`, whose rows are appended; hidden once there is no next page.
 */
export function moreButton(list, rowOf, firstCursor, loadPage) {
  const more = h('button', { type: 'button', class: 'more' }, 'Load more');
  let cursor = firstCursor;
  more.hidden = cursor === null;
  more.addEventListener('click', async () => {
    try {
      const page = await loadPage(cursor);
      list.tBodies[0].append(...page.items.map(rowOf));
      cursor = page.nextCursor;
      more.hidden = cursor === null;
    } catch (error) {
      showError(error);
    }
  });
  return more;
}

/** Draws the current view again (after an action changed what it shows), then shows `message`. */
export function reloadView(message) {
  // Dispatching runs the listener at once, which clears the notice: the message comes after.
  window.dispatchEvent(new HashChangeEvent('hashchange'));
  if (message) notify('info', ...message);
}

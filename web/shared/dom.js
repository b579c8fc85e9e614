/**
 * Small DOM helpers shared by the app and the console: elements built from data (never HTML
 * strings, so nothing the API returns is ever parsed as markup), the error box, busy buttons and a
 * hash router.
 */
import { errorMessage } from './messages.js';

/**
 * h('p', { class: 'x', onclick }, 'text', child) → HTMLElement. Attributes starting with "on" are
 * listeners; `false`, null and undefined attributes and children are left out.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (value === false || value === null || value === undefined) continue;
    if (name.startsWith('on') && typeof value === 'function') el.addEventListener(name.slice(2), value);
    else if (name === 'dataset') Object.assign(el.dataset, value);
    // through the CSSOM: the Content-Security-Policy refuses style attributes in markup
    else if (name === 'style') el.style.cssText = String(value);
    else el.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === false || child === null || child === undefined) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** A status word as a coloured badge (its class is the word: `badge active`). */
export const badge = (text) => h('span', { class: `badge ${text}` }, text);

/** A polite announcement (screen readers read it when it appears). */
export const notice = (...children) => h('div', { class: 'notice', role: 'status' }, ...children);

/** Replaces an element's children; like h(), arrays are flattened and null/false/undefined left out. */
export function fill(el, ...children) {
  el.replaceChildren(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
  return el;
}

/**
 * The one way a failure is shown, announced to screen readers. A page whose body says
 * data-errors="plain" (the borrower app) shows only the plain sentence for the code
 * (./messages.js), never the code or the API's technical message; elsewhere (the console) the code
 * and the message are shown. The code is always kept as data-code, for support and tests.
 */
export function errorBox(err, { plain = globalThis.document?.body?.dataset.errors === 'plain' } = {}) {
  const code = err?.code ?? 'ERROR';
  if (plain) {
    return h(
      'div',
      { class: 'error', role: 'alert', dataset: { code } },
      h('span', { class: 'error-message' }, errorMessage(code)),
    );
  }
  const message = err?.message ?? String(err);
  return h(
    'div',
    { class: 'error', role: 'alert', dataset: { code } },
    h('strong', { class: 'error-code' }, code),
    ' ',
    h('span', { class: 'error-message' }, message),
  );
}

/** A live region that shows either nothing, a notice or an error; returns { el, show, error, clear }. */
export function statusArea() {
  const el = h('div', { class: 'status-area', 'aria-live': 'polite' });
  return {
    el,
    clear: () => el.replaceChildren(),
    error: (err) => el.replaceChildren(errorBox(err)),
    show: (...nodes) => fill(el, ...nodes),
  };
}

/** Runs `work` with the button disabled and marked busy, so a double click sends nothing twice. */
export async function busy(button, work) {
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  try {
    return await work();
  } finally {
    button.disabled = false;
    button.removeAttribute('aria-busy');
  }
}

/** A labelled form field; `input` attributes go to the control. */
export function field(label, input, hint) {
  const id = input.id || `f-${Math.random().toString(36).slice(2, 9)}`;
  input.id = id;
  const hintEl = hint ? h('small', { id: `${id}-hint`, class: 'hint' }, hint) : null;
  if (hintEl) input.setAttribute('aria-describedby', hintEl.id);
  return h('div', { class: 'field' }, h('label', { for: id }, label), input, hintEl);
}

/** A definition list from [term, value] pairs. */
export function facts(pairs, attrs = {}) {
  return h(
    'dl',
    { class: 'facts', ...attrs },
    pairs
      .filter(Boolean)
      .map(([term, value, testId]) => [
        h('dt', {}, term),
        h('dd', testId ? { dataset: { testid: testId } } : {}, value),
      ]),
  );
}

/** Columns whose every cell is an amount ("¥1,234.00") are right-aligned; dates never wrap. */
const AMOUNT_CELL = /^-?¥/;
const DATE_CELL = /^\d{4}-\d{2}-\d{2}$/;

/** A table from column headings and rows of cells; `caption` names it for screen readers. */
export function table(caption, headings, rows, attrs = {}) {
  const numeric = headings.map(
    (_t, i) => rows.length > 0 && rows.every((r) => typeof r[i] === 'string' && AMOUNT_CELL.test(r[i])),
  );
  const cellClass = (c, i) =>
    numeric[i] ? 'num' : typeof c === 'string' && DATE_CELL.test(c) ? 'nowrap' : false;
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      attrs,
      h('caption', {}, caption),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          headings.map((t, i) => h('th', { scope: 'col', class: numeric[i] && 'num' }, t)),
        ),
      ),
      h(
        'tbody',
        {},
        rows.map((cells) =>
          h(
            'tr',
            {},
            cells.map((c, i) => h('td', { class: cellClass(c, i) }, c)),
          ),
        ),
      ),
    ),
  );
}

/**
 * The page around the views (its #logout button, .skip-link and #view outlet): log-out clears the
 * session and goes to log in, the skip link focuses the view, `sync` keeps the navigation in step
 * with the session at start and on every navigation, then the router starts.
 */
export function startShell({ sync, logOut, routes, fallback }) {
  const outlet = document.getElementById('view');
  document.getElementById('logout').addEventListener('click', () => {
    logOut();
    sync();
    go('#/login');
  });
  document.querySelector('.skip-link').addEventListener('click', (event) => {
    event.preventDefault();
    outlet.focus();
  });
  window.addEventListener('hashchange', sync);
  sync();
  return startRouter(outlet, routes, fallback);
}

/**
 * A hash router: routes are [pattern, render] with `:name` segments; render(params, query) returns
 * a Node or a Promise of one. The view is replaced on every hash change and focus goes to its
 * heading, so keyboard and screen-reader users land on the new page.
 */
export function startRouter(outlet, routes, fallback) {
  const compiled = routes.map(([pattern, render]) => {
    const names = [];
    const rx = new RegExp(
      `^${pattern.replace(/:([a-z]+)/g, (_m, name) => {
        names.push(name);
        return '([^/]+)';
      })}$`,
    );
    return { rx, names, render };
  });
  let generation = 0;
  async function show() {
    const mine = ++generation;
    const [path, search = ''] = (location.hash.slice(1) || '/').split('?');
    const query = new URLSearchParams(search);
    const match = compiled.map((r) => ({ r, m: r.rx.exec(path) })).find((x) => x.m);
    const render = match ? match.r.render : fallback;
    const params = match
      ? Object.fromEntries(match.r.names.map((n, i) => [n, decodeURIComponent(match.m[i + 1])]))
      : {};
    outlet.setAttribute('aria-busy', 'true');
    let view;
    try {
      view = await render(params, query);
    } catch (err) {
      view = h('section', {}, h('h1', {}, 'Something went wrong'), errorBox(err));
    }
    if (mine !== generation || !view) return; // a newer navigation won
    outlet.replaceChildren(view);
    outlet.removeAttribute('aria-busy');
    const heading = outlet.querySelector('h1');
    if (heading) {
      heading.setAttribute('tabindex', '-1');
      heading.focus({ preventScroll: false });
      document.title = `${heading.textContent} · ${document.body.dataset.site ?? 'fenqi'}`;
    }
  }
  window.addEventListener('hashchange', show);
  show();
  return { refresh: show };
}

const pad2 = (n) => String(n).padStart(2, '0');

/** An ISO time as the reader's local "YYYY-MM-DD HH:MM", the same on every browser. */
export function localTime(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '—';
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ${pad2(d.getHours())}:${pad2(d.getMinutes())}`;
}

/** Marks the navigation link of the current page (aria-current), by the first segment of the hash. */
export function markCurrent(nav) {
  const section = (location.hash.slice(1) || '/').split('?')[0].split('/')[1] ?? '';
  for (const link of nav.querySelectorAll('a[href^="#/"]')) {
    const target = link.getAttribute('href').slice(2).split('/')[0];
    if (target === section) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
}

export const go = (hash) => {
  if (location.hash === hash) window.dispatchEvent(new HashChangeEvent('hashchange'));
  else location.hash = hash;
};

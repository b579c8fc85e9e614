/**
 * The console's own helpers over the shared DOM module: words for the API's codes (outcomes,
 * reasons, statuses, buckets), dates and waiting times for the chosen language, the error box,
 * and auto-refresh for the ops pages. Everything a person reads goes through t() (./messages.js).
 */
import {
  h,
  errorBox as sharedErrorBox,
  statusArea as sharedStatusArea,
  table as sharedTable,
} from '../shared/dom.js';
import { formatDate, has, t } from '../shared/i18n.js';
import './messages.js';
import { errorMessage } from '../shared/messages.js';

/** How often the ops pages (overview, a bucket's loans, held orders) read again by themselves. */
export const REFRESH_INTERVAL_MS = 60_000;

export const heading = (text) => h('h1', {}, text);

/** "{prefix}.{code}" in words, else `fallback` (or the code with spaces, never UPPER_SNAKE). */
export function word(prefix, code, fallback) {
  if (code === null || code === undefined) return t('common.dash');
  const key = `${prefix}.${code}`;
  if (has(key)) return t(key);
  return fallback ?? String(code).replaceAll('_', ' ').toLowerCase();
}

/** A status as a coloured badge: the class keeps the API's word (the colours key on it), the text is ours. */
export const badge = (status, prefix = 'status') =>
  h('span', { class: `badge ${status}`, dataset: { status } }, word(prefix, status));

export const outcome = (code) => badge(code, 'outcome');

/** A reason code in plain words for staff; an unknown rule says it is a policy rule. */
export function reasonText(code, apiMessage) {
  if (has(`reason.${code}`)) return t(`reason.${code}`);
  return apiMessage ?? t('reason.other', { code: String(code).replaceAll('_', ' ').toLowerCase() });
}

/** An ISO timestamp as a date and time for the chosen language. */
export const when = (iso) => (iso ? formatDate(iso, { withTime: true }) : t('common.dash'));
/** A calendar date ("2027-01-04") for the chosen language. */
export const day = (date) => (date ? formatDate(date) : t('common.dash'));

/** How long something has waited: "just now", "12 min", "3 h", "2 days". */
export function waited(seconds) {
  if (seconds < 60) return t('wait.now');
  if (seconds < 3600) return t('wait.min', { n: Math.floor(seconds / 60) });
  if (seconds < 86_400) return t('wait.hours', { n: Math.floor(seconds / 3600) });
  const days = Math.floor(seconds / 86_400);
  return days === 1 ? t('wait.day') : t('wait.days', { n: days });
}

/**
 * THE one place an API error becomes a sentence for staff: the shared catalogue's sentence in the
 * staff member's language when it knows the code, else the API's own message.
 */
export function errorText(err) {
  if (err?.code && has(`error.${err.code}`)) return errorMessage(err.code);
  return err?.message ?? String(err);
}

/** The shared error box, with the sentence from errorText() (the code stays in data-code). */
export const errorBox = (err) => sharedErrorBox({ code: err?.code ?? 'ERROR', message: errorText(err) });

/** The shared status area, showing errors through errorBox() above. */
export function statusArea() {
  const area = sharedStatusArea();
  return { ...area, error: (err) => area.el.replaceChildren(errorBox(err)) };
}

/**
 * Re-renders `render` every REFRESH_INTERVAL_MS while `outlet` is on the page; stops by itself
 * once the view is replaced (navigation), so no timer outlives its page.
 */
export function autoRefresh(outlet, render) {
  const timer = setInterval(() => {
    if (!outlet.isConnected) {
      clearInterval(timer);
      return;
    }
    render().catch(() => {});
  }, REFRESH_INTERVAL_MS);
}

/** A link to a customer's page, by masked name. */
export const customerLink = (id, name) =>
  h(
    'a',
    { href: `#/customers/${id}`, 'aria-label': t('customer.open', { name: name ?? id }) },
    name ?? t('common.dash'),
  );

/**
 * The shared table, with each cell labelled by its column heading (data-label), so on a phone
 * (./console.css) a row becomes a card of "heading: value" lines instead of scrolling off-screen.
 * Headings may hold null (a column left out).
 */
export function table(caption, headings, rows, attrs = {}) {
  const wrap = sharedTable(caption, headings, rows, attrs);
  for (const tr of wrap.querySelectorAll('tbody tr')) {
    [...tr.children].forEach((td, i) => {
      td.dataset.label = headings[i] ?? '';
    });
  }
  return wrap;
}

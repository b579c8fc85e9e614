/**
 * What the app's pages share: the API client, the business date, loan names and state words. A
 * state is always shown as a sentence from the catalogue (never the API's status word).
 */
import { ApiError, createClient } from '../shared/api.js';
import { go, h } from '../shared/dom.js';
import { t } from '../shared/i18n.js';
import { AMOUNT_PATTERN, toMinor } from '../shared/money.js';

export const api = createClient({
  tokenKey: 'fenqi.app.token',
  onUnauthorized: () => go(`#/login?next=${encodeURIComponent(location.hash || '#/')}`),
});

export const amountInput = (attrs) =>
  h('input', { inputmode: 'decimal', pattern: AMOUNT_PATTERN, autocomplete: 'off', maxlength: 16, ...attrs });

export const minorOf = (...texts) => texts.reduce((acc, x) => acc + (toMinor(x) ?? 0n), 0n);

export async function creditLineOrNull() {
  try {
    return await api.get('/v1/customers/me/credit-line');
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return null;
    throw err;
  }
}

/** Today as the platform counts it (its business date), so "due today" agrees with the bill. */
export async function businessToday() {
  return (await api.get('/v1/business-date')).business_date;
}

/** A word in a coloured badge: `tone` picks the colour class, the text comes from the catalogue. */
export const stateBadge = (tone, text) =>
  h('span', { class: `badge ${tone}`, dataset: { state: tone } }, text);

/** A loan's state for a borrower: late is its own state, not "active" next to a red badge. */
export function loanState(loan) {
  if (loan.status === 'active') return loan.days_past_due > 0 ? 'late' : 'active';
  return ['paid_off', 'cancelled', 'written_off', 'returned'].includes(loan.status) ? loan.status : 'other';
}

const LOAN_TONE = { active: 'active', late: 'overdue', paid_off: 'paid' };
export const loanBadge = (loan) => {
  const s = loanState(loan);
  return stateBadge(LOAN_TONE[s] ?? 'closed', t(`loan.status.${s}`));
};

/** A loan's name for people, as the API gives it (goods and merchant, or the cash product). */
export const loanName = (loan) => loan.display_name ?? t(loan.kind === 'cash' ? 'loans.cash' : 'loans.goods');

/** Paid / due today / upcoming / overdue, from what is left to pay and the business date. */
export function installmentState(row, today) {
  if (row.status === 'written_off') return 'closed';
  if (row.left <= 0n) return 'paid';
  if (row.status === 'overdue' || row.dueDate < today) return 'overdue';
  if (row.dueDate === today) return 'due_today';
  return 'upcoming';
}

const INSTALLMENT_TONE = {
  paid: 'paid',
  overdue: 'overdue',
  due_today: 'due',
  upcoming: 'upcoming',
  closed: 'closed',
};
export const installmentBadge = (state) => stateBadge(INSTALLMENT_TONE[state], t(`inst.${state}`));

/** Moves the reader to what just appeared: scrolled into view and focused (for screen readers too). */
export function bringIntoView(el) {
  if (!el.hasAttribute('tabindex')) el.setAttribute('tabindex', '-1');
  el.scrollIntoView({ block: 'center' });
  el.focus({ preventScroll: true });
}

/**
 * An inline "are you sure" step: shows `question` with Confirm and Cancel where the person is
 * looking; Confirm runs `onConfirm(button)` (the caller guards it with busy()).
 */
export function confirmStep(area, question, onConfirm) {
  const yes = h('button', { type: 'button', dataset: { testid: 'confirm' } }, t('common.confirm'));
  const no = h('button', { type: 'button', class: 'secondary' }, t('common.cancel'));
  const panel = h(
    'div',
    { class: 'confirm', role: 'group', 'aria-label': question },
    h('p', {}, question),
    h('div', { class: 'actions' }, yes, no),
  );
  yes.addEventListener('click', () => onConfirm(yes));
  no.addEventListener('click', () => area.replaceChildren());
  area.replaceChildren(panel);
  panel.scrollIntoView({ block: 'center' });
  yes.focus({ preventScroll: true });
}

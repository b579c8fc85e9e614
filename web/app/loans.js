/**
 * My loans and one loan: each named by what was bought (or its product), its state in words (late
 * is its own state), installments as paid / due today / upcoming / overdue with late fees in their
 * own column, the original schedule kept (folded) after a change, and repay / pay-off that ask first
 * and answer where the person is looking.
 */
import { moneyAction } from '../shared/api.js';
import { busy, facts, field, fill, h, notice, statusArea, table } from '../shared/dom.js';
import { formatDate, t } from '../shared/i18n.js';
import { display, fromMinor, toMinor } from '../shared/money.js';
import {
  amountInput,
  api,
  bringIntoView,
  businessToday,
  confirmStep,
  installmentBadge,
  installmentState,
  loanBadge,
  loanName,
  minorOf,
} from './client.js';

function loanCard(loan, name) {
  return h(
    'a',
    {
      class: 'card loan-card',
      href: `#/loans/${loan.id}`,
      dataset: { testid: 'loan-card', state: loan.status },
    },
    h('span', { class: 'loan-name' }, name),
    h(
      'span',
      { class: 'loan-meta' },
      t('loans.started', { date: formatDate(loan.start_date), n: loan.tenor }),
    ),
    h('span', { class: 'loan-owed' }, `${t('loans.owed')} ${display(loan.outstanding.total, loan.currency)}`),
    loanBadge(loan),
  );
}

export async function loansView() {
  const { loans } = await api.get('/v1/loans');
  return h(
    'section',
    {},
    h('h1', {}, t('loans.title')),
    loans.length
      ? h(
          'div',
          { class: 'loan-list', dataset: { testid: 'loans' } },
          loans.map((l) => loanCard(l, loanName(l))),
        )
      : h('p', {}, t('loans.empty'), ' ', h('a', { class: 'button', href: '#/shop' }, t('home.shop'))),
  );
}

function installmentRows(installments, today) {
  return installments.map((i) => {
    const due = minorOf(i.principal, i.interest, i.fee);
    const lateFee = toMinor(i.penalty) ?? 0n;
    const paid = minorOf(i.paid_principal, i.paid_interest, i.paid_fee, i.paid_penalty);
    const row = {
      number: i.number,
      dueDate: i.due_date,
      due,
      lateFee,
      paid,
      left: due + lateFee - paid,
      status: i.status,
    };
    return { ...row, state: installmentState(row, today) };
  });
}

function scheduleTable(rows) {
  return table(
    t('loan.schedule'),
    [
      t('loan.col.number'),
      t('loan.col.due'),
      t('loan.col.amount'),
      t('loan.col.late_fee'),
      t('loan.col.state'),
    ],
    rows.map((r) => [
      String(r.number),
      formatDate(r.dueDate),
      display(r.due),
      r.lateFee > 0n ? display(r.lateFee) : '—',
      installmentBadge(r.state),
    ]),
    { dataset: { testid: 'loan-schedule' } },
  );
}

/**
 * The schedule the loan started with, kept after a re-age or a reschedule (the platform's
 * schedule versions), folded away under the current one, with what changed and when.
 */
function originalSchedule(history) {
  const [original] = history.versions;
  if (!original) return null;
  const changes = history.versions.map((v) =>
    t('loan.change', { date: formatDate(v.business_date), what: t(`loan.change.${v.kind}`) }),
  );
  return h(
    'details',
    { class: 'card original', dataset: { testid: 'original-schedule' } },
    h('summary', {}, t('loan.original')),
    h('p', {}, t('loan.original_note')),
    h(
      'ul',
      { class: 'plain' },
      changes.map((c) => h('li', {}, c)),
    ),
    table(
      t('loan.original_caption'),
      [t('loan.col.number'), t('loan.col.due'), t('loan.col.amount'), t('loan.col.paid')],
      original.installments.map((i) => [
        String(i.number),
        formatDate(i.due_date),
        display(minorOf(i.principal, i.interest, i.fee)),
        display(i.paid),
      ]),
      { dataset: { testid: 'original-schedule-table' } },
    ),
  );
}

function lateBlock(loan) {
  if (!(loan.status === 'active' && loan.days_past_due > 0)) return null;
  return h(
    'div',
    { class: 'banner late', role: 'alert', dataset: { testid: 'loan-late' } },
    h('strong', {}, t('loan.late_title', { days: loan.days_past_due })),
    h('p', {}, t('home.late_credit')),
  );
}

function loanFacts(loan) {
  return facts([
    [t('loan.status'), loanBadge(loan), 'loan-status'],
    [t('loan.started'), formatDate(loan.start_date)],
    [t('loan.installments'), String(loan.tenor)],
    [t('loan.apr'), `${loan.apr_percent}%`],
    [t('loan.owed'), display(loan.outstanding.total, loan.currency), 'loan-outstanding'],
    loan.outstanding.penalty !== '0.00'
      ? [t('loan.late_fees'), display(loan.outstanding.penalty), 'loan-late-fees']
      : null,
    loan.days_past_due > 0 ? [t('loan.days_late'), String(loan.days_past_due)] : null,
  ]);
}

/** The repay card: amount, repay and pay-off, each confirmed inline; the result is shown and focused here. */
function repayCard(loanId, next, payoffQuote, onPaid) {
  const status = statusArea();
  const ask = h('div', {});
  const result = h('div', { dataset: { testid: 'repay-result' } });
  const amount = amountInput({ name: 'amount', required: true, value: next ? fromMinor(next.left) : '' });
  const repay = h('button', { type: 'submit' }, t('loan.repay'));
  const payoffButton = payoffQuote
    ? h(
        'button',
        { type: 'button', class: 'secondary' },
        t('loan.payoff', { amount: display(payoffQuote.total) }),
      )
    : null;
  const pay = (action, value) => async (button) => {
    status.clear();
    await busy(button, async () => {
      try {
        const { body } = await action.send('POST', `/v1/loans/${loanId}/repayments`, { amount: value });
        fill(ask);
        await onPaid(
          notice(
            t('loan.paid', { amount: display(body.amount) }),
            body.loan_status === 'paid_off' ? ` ${t('loan.paid_off')}` : '',
            body.interest_waived !== '0.00'
              ? ` ${t('loan.waived', { amount: display(body.interest_waived) })}`
              : '',
          ),
        );
      } catch (err) {
        fill(ask);
        status.error(err);
        bringIntoView(status.el);
      }
    });
  };
  const repayment = moneyAction(api);
  const payoff = moneyAction(api);
  payoffButton?.addEventListener('click', () =>
    confirmStep(
      ask,
      t('loan.confirm_payoff', { amount: display(payoffQuote.total) }),
      pay(payoff, payoffQuote.total),
    ),
  );
  const onsubmit = (event) => {
    event.preventDefault();
    const value = amount.value.trim();
    if (toMinor(value) === undefined || toMinor(value) === 0n)
      return status.error({ code: 'INVALID_AMOUNT' });
    confirmStep(ask, t('loan.confirm_repay', { amount: display(value) }), pay(repayment, value));
  };
  return {
    result,
    el: h(
      'section',
      { class: 'card', 'aria-labelledby': 'repay-h' },
      h('h2', { id: 'repay-h' }, t('loan.repay_title')),
      result,
      h(
        'form',
        { onsubmit },
        field(
          t('loan.repay_amount'),
          amount,
          next
            ? t('loan.repay_hint', { amount: display(fromMinor(next.left)), date: formatDate(next.dueDate) })
            : undefined,
        ),
        payoffQuote
          ? h('p', { class: 'hint' }, t('loan.payoff_note', { amount: display(payoffQuote.total) }))
          : null,
        h('div', { class: 'actions' }, repay, payoffButton),
        ask,
        status.el,
      ),
    ),
  };
}

export async function loanView({ id }, query) {
  const outlet = h('div', {});
  const loanId = encodeURIComponent(id);
  let message = query.get('placed') ? notice(t('loan.placed')) : null;
  let justPaid = false;
  const render = async () => {
    const [loan, schedule, today, history] = await Promise.all([
      api.get(`/v1/loans/${loanId}`),
      api.get(`/v1/loans/${loanId}/schedule`),
      businessToday(),
      api.get(`/v1/loans/${loanId}/schedule-history`),
    ]);
    const payoffQuote = loan.status === 'active' ? await api.get(`/v1/loans/${loanId}/payoff`) : null;
    const rows = installmentRows(schedule.installments, today);
    const next = rows.find((r) => r.left > 0n && r.state !== 'closed');
    const card =
      loan.status === 'active'
        ? repayCard(loanId, next, payoffQuote, async (shown) => {
            message = shown;
            justPaid = true;
            await render();
          })
        : null;
    // the answer to a payment appears in the repay card (or at the top once the loan is closed), focused
    const where = card ? card.result : outlet;
    fill(
      outlet,
      h('h1', {}, loanName(loan)),
      card ? null : message,
      lateBlock(loan),
      loanFacts(loan),
      card?.el,
      scheduleTable(rows),
      originalSchedule(history),
      h('p', {}, h('a', { class: 'button secondary', href: '#/loans' }, t('loan.all'))),
    );
    if (card && message) fill(card.result, message);
    if (justPaid) bringIntoView(where.firstElementChild ?? where);
  };
  await render();
  return h('section', {}, outlet);
}

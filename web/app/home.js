/**
 * Home: anything late first (a banner that says what it means), then the next payment (when, how
 * much, for which loan), this month's bill and the credit line.
 */
import { facts, h } from '../shared/dom.js';
import { formatDate, t } from '../shared/i18n.js';
import { display, percentOf } from '../shared/money.js';
import { api, creditLineOrNull, loanName, stateBadge } from './client.js';

function lateBanner(loans) {
  const late = loans.filter((l) => l.status === 'active' && l.days_past_due > 0);
  if (!late.length) return null;
  const worst = late.reduce((a, b) => (b.days_past_due > a.days_past_due ? b : a));
  return h(
    'div',
    { class: 'banner late', role: 'alert', dataset: { testid: 'late-banner' } },
    h('strong', {}, t('home.late_banner', { days: worst.days_past_due })),
    h('p', {}, t('home.late_credit')),
    h('a', { class: 'button', href: `#/loans/${worst.id}` }, t('home.late_pay')),
  );
}

function lineCard(line) {
  if (!line) {
    return h(
      'section',
      { class: 'card', 'aria-labelledby': 'line-h' },
      h('h2', { id: 'line-h' }, t('line.title')),
      h('p', {}, t('line.none')),
      h('a', { class: 'button', href: '#/apply' }, t('line.apply')),
    );
  }
  const used = display(line.used, line.currency);
  const available = display(line.available, line.currency);
  const usedShare = percentOf(line.used, line.limit);
  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'line-h', dataset: { testid: 'credit-line' } },
    h(
      'h2',
      { id: 'line-h' },
      t('line.title'),
      ' ',
      line.status !== 'active'
        ? stateBadge('frozen', t(`line.status.${line.status === 'frozen' ? 'frozen' : 'closed'}`))
        : null,
    ),
    facts([
      [t('line.available'), available, 'line-available'],
      [t('line.used'), used, 'line-used'],
      [t('line.limit'), display(line.limit, line.currency), 'line-limit'],
    ]),
    h(
      'div',
      { class: 'meter' },
      h(
        'div',
        {
          class: 'meter-track',
          role: 'meter',
          'aria-label': t('line.meter'),
          'aria-valuemin': 0,
          'aria-valuemax': 100,
          'aria-valuenow': usedShare,
          'aria-valuetext': t('line.meter_text', { used, available }),
        },
        h('div', { class: 'meter-fill', style: `width: ${usedShare}%` }),
      ),
      h('div', { class: 'meter-legend' }, t('line.meter_text', { used, available })),
    ),
  );
}

function nextPaymentCard({ next_payment: next }, names) {
  const body = next
    ? [
        facts([
          [t('home.next_due'), formatDate(next.date), 'next-payment-date'],
          [t('home.next_amount'), display(next.amount), 'next-payment-amount'],
        ]),
        next.overdue
          ? h(
              'p',
              { class: 'late-text' },
              stateBadge('overdue', t('inst.overdue')),
              ' ',
              t('home.next_overdue'),
            )
          : null,
        h(
          'ul',
          { class: 'plain' },
          next.items.map((i) =>
            h(
              'li',
              {},
              h(
                'a',
                { href: `#/loans/${i.loan_id}` },
                t('home.next_item', {
                  loan: names.get(i.loan_id) ?? '',
                  n: i.installment,
                  amount: display(i.amount),
                }),
              ),
            ),
          ),
        ),
      ]
    : [h('p', {}, t('home.next_none'))];
  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'next-h', dataset: { testid: 'next-payment' } },
    h('h2', { id: 'next-h' }, t('home.next_title')),
    ...body,
  );
}

function billCard(bill) {
  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'bill-h', dataset: { testid: 'bill' } },
    h('h2', { id: 'bill-h' }, t('home.bill_title')),
    bill
      ? [
          facts([
            [t('home.bill_cycle'), `${formatDate(bill.cycle_start)} – ${formatDate(bill.cycle_end)}`],
            [t('home.bill_total'), display(bill.total_due), 'bill-total'],
            [t('home.bill_due'), formatDate(bill.due_date), 'bill-due-date'],
            bill.past_due !== '0.00' ? [t('home.bill_past_due'), display(bill.past_due)] : null,
          ]),
          h('a', { class: 'button secondary', href: `#/statements/${bill.id}` }, t('home.bill_view')),
        ]
      : h('p', {}, t('home.bill_none')),
  );
}

export async function homeView() {
  const [me, line, next, bills, { loans }] = await Promise.all([
    api.get('/v1/customers/me'),
    creditLineOrNull(),
    api.get('/v1/me/next-payment'),
    api.get('/v1/me/statements?limit=1'),
    api.get('/v1/loans'),
  ]);
  const names = new Map(loans.map((l) => [l.id, loanName(l)]));
  return h(
    'section',
    {},
    h('h1', {}, t('home.hello', { name: me.legal_name })),
    lateBanner(loans),
    nextPaymentCard(next, names),
    billCard(bills.items[0]),
    lineCard(line),
    h(
      'div',
      { class: 'actions' },
      h('a', { class: 'button', href: '#/shop' }, t('home.shop')),
      h('a', { class: 'button secondary', href: '#/cash' }, t('home.cash')),
      h('a', { class: 'button secondary', href: '#/loans' }, t('home.loans')),
    ),
  );
}

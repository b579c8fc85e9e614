/**
 * Back-office pages (issue 17 item 4): a customer's page (identity masked, credit line, loans with
 * what they owe and days past due, decisions, collections notes, loan agreements accepted), the loans of one delinquency
 * bucket (reached from the overview, refreshed by itself) and a loan with its schedule.
 */
import { facts, fill, go, h } from '../shared/dom.js';
import { t } from '../shared/i18n.js';
import { display, sum } from '../shared/money.js';
import {
  autoRefresh,
  badge,
  customerLink,
  day,
  heading,
  outcome,
  REFRESH_INTERVAL_MS,
  reasonText,
  table,
  when,
  word,
} from './ui.js';

const BUCKET_PAGE = 100;

const loanLink = (id) => h('a', { href: `#/loans/${id}`, 'aria-label': t('loan.open', { id }) }, id);

const decisionRows = (items) =>
  items.map((d) => [
    h('a', { href: `#/decisions/${d.id}`, 'aria-label': t('reviews.open', { id: d.id }) }, d.id),
    outcome(d.decision),
    d.grade ?? t('common.dash'),
    d.line === null ? t('common.dash') : display(d.line),
    d.reasons.map((r) => reasonText(r)).join('；') || t('common.dash'),
    word('product', d.product),
    when(d.created_at),
  ]);

export const decisionHeadings = () => [
  t('reviews.application'),
  t('decisions.outcome'),
  t('decisions.grade'),
  t('decision.line'),
  t('reviews.reasons'),
  t('decisions.product'),
  t('decisions.when'),
];

export { decisionRows };

function loansTable(caption, loans, { withCustomer }) {
  return table(
    caption,
    [
      t('loan.loan'),
      withCustomer ? t('loan.customer') : null,
      t('loan.kind'),
      t('loan.principal'),
      t('loan.owed'),
      t('loan.dpd'),
      t('loan.status'),
      t('loan.started'),
    ].filter(Boolean),
    loans.map((l) =>
      [
        loanLink(l.id),
        withCustomer ? customerLink(l.customer_id, l.customer_name) : null,
        word('kind', l.kind),
        display(l.principal),
        display(l.owed),
        String(l.days_past_due),
        badge(l.status),
        day(l.start_date),
      ].filter((c) => c !== null),
    ),
    { dataset: { testid: 'loans' } },
  );
}

function notesTable(notes) {
  return table(
    t('customer.notesCaption'),
    [t('note.date'), t('loan.loan'), t('note.how'), t('note.outcome'), t('note.by'), t('note.promise')],
    notes.map((n) => [
      day(n.business_date),
      loanLink(n.loan_id),
      word('channel', n.channel),
      word('contact', n.outcome),
      n.collector ?? t('common.dash'),
      n.promise_date
        ? t('note.promiseText', { amount: display(n.promise_amount), date: day(n.promise_date) })
        : t('common.dash'),
    ]),
    { dataset: { testid: 'notes' } },
  );
}

/** Hex characters of the text's SHA-256 shown: enough to match it against a version's text. */
const HASH_SHOWN_CHARS = 12;

/** The loan agreements the customer accepted: when, which version and text, what each covers. */
function agreementsTable(items) {
  const covers = (a) => {
    if (a.order_id) return t('agreements.order', { id: a.order_id });
    if (a.loan_id) return loanLink(a.loan_id);
    return t('agreements.unused');
  };
  return table(
    t('agreements.caption'),
    [
      t('agreements.when'),
      t('agreements.version'),
      t('agreements.terms'),
      t('agreements.covers'),
      t('agreements.hash'),
    ],
    items.map((a) => [
      when(a.accepted_at),
      a.version,
      a.amount
        ? t('agreements.cash', { product: a.product_name, amount: display(a.amount), n: a.tenor })
        : t('agreements.goods', { product: a.product_name, goods: a.goods_name ?? a.goods_id, n: a.tenor }),
      covers(a),
      h('code', { title: a.text_sha256 }, a.text_sha256.slice(0, HASH_SHOWN_CHARS)),
    ]),
    { dataset: { testid: 'agreements' } },
  );
}

/** The API client the views use: one per console page, set by the factory below. */
let api;

async function customerView({ id }) {
  const o = await api.get(`/v1/customers/${encodeURIComponent(id)}/overview`);
  const c = o.customer;
  const worst = o.max_days_past_due;
  return h(
    'section',
    {},
    heading(t('customer.title', { name: c.name })),
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'identity-h' },
      h('h2', { id: 'identity-h' }, t('customer.identity')),
      facts([
        [t('customer.name'), c.name, 'customer-name'],
        [t('customer.phone'), c.phone],
        [t('customer.nationalId'), c.national_id],
        [t('customer.status'), badge(c.status)],
        [t('customer.since'), day(c.since)],
        [
          t('customer.line'),
          o.credit_line
            ? t('customer.lineText', {
                limit: display(o.credit_line.limit),
                used: display(o.credit_line.used),
                status: word('status', o.credit_line.status),
              })
            : t('customer.noLine'),
          'customer-line',
        ],
        [
          t('customer.dpd'),
          worst === 0 ? t('customer.dpdNone') : t('common.days', { n: worst }),
          'customer-dpd',
        ],
      ]),
    ),
    h('h2', {}, t('customer.loans')),
    o.loans.length
      ? loansTable(t('customer.loansCaption'), o.loans, { withCustomer: false })
      : h('p', {}, t('customer.noLoans')),
    h('h2', {}, t('customer.decisions')),
    o.decisions.length
      ? table(t('decisions.caption'), decisionHeadings(), decisionRows(o.decisions), {
          dataset: { testid: 'customer-decisions' },
        })
      : h('p', {}, t('customer.noDecisions')),
    h('h2', {}, t('customer.notes')),
    o.collection_notes.length ? notesTable(o.collection_notes) : h('p', {}, t('customer.noNotes')),
    h('h2', {}, t('agreements.title')),
    o.agreements.length ? agreementsTable(o.agreements) : h('p', {}, t('agreements.none')),
  );
}

async function bucketView({ bucket }) {
  const outlet = h('section', {});
  const render = async () => {
    const page = await api.get(`/v1/ops/buckets/${encodeURIComponent(bucket)}/loans?limit=${BUCKET_PAGE}`);
    const owed = sum(...page.items.map((l) => l.owed));
    fill(
      outlet,
      heading(t('bucketLoans.title', { bucket: word('bucket', bucket) })),
      facts([
        [t('overview.loans'), String(page.items.length)],
        [t('overview.owed'), display(owed), 'bucket-owed'],
      ]),
      page.items.length
        ? loansTable(t('bucketLoans.caption'), page.items, { withCustomer: true })
        : h('p', {}, t('bucketLoans.empty')),
      h('p', { class: 'hint' }, t('common.autoRefresh', { seconds: REFRESH_INTERVAL_MS / 1000 })),
      h('p', {}, h('a', { href: '#/overview' }, t('bucketLoans.back'))),
    );
  };
  await render();
  autoRefresh(outlet, render);
  return outlet;
}

async function loanView({ id }) {
  const [loan, schedule] = await Promise.all([
    api.get(`/v1/loans/${encodeURIComponent(id)}`),
    api.get(`/v1/loans/${encodeURIComponent(id)}/schedule`),
  ]);
  const owes = (i) => sum(i.principal, i.interest, i.fee, i.penalty);
  const paid = (i) => sum(i.paid_principal, i.paid_interest, i.paid_fee, i.paid_penalty);
  return h(
    'section',
    {},
    heading(t('loan.title', { id: loan.id })),
    facts([
      [t('loan.customer'), h('a', { href: `#/customers/${loan.customer_id}` }, t('loan.customerPage'))],
      [t('loan.kind'), word('kind', loan.kind)],
      [t('loan.status'), badge(loan.status), 'loan-status'],
      [t('loan.principal'), display(loan.principal)],
      [t('loan.owed'), display(loan.outstanding.total), 'loan-owed'],
      [t('loan.dpd'), String(loan.days_past_due), 'loan-dpd'],
      [t('loan.bucket'), word('bucket', loan.bucket)],
      [t('loan.started'), day(loan.start_date)],
    ]),
    table(
      t('loan.schedule'),
      [t('loan.number'), t('loan.due'), t('loan.amount'), t('loan.paid'), t('loan.status')],
      schedule.installments.map((i) => [
        String(i.number),
        day(i.due_date),
        display(owes(i)),
        display(paid(i)),
        badge(i.status, 'inst'),
      ]),
      { dataset: { testid: 'schedule' } },
    ),
  );
}

/** Find a customer by id (from a phone call or a ticket). */
function customerLookupView() {
  const input = h('input', {
    name: 'customer',
    inputmode: 'numeric',
    pattern: '^\\d{1,19}$',
    required: true,
    maxlength: 19,
  });
  const form = h(
    'form',
    {
      onsubmit: (e) => {
        e.preventDefault();
        go(`#/customers/${input.value.trim()}`);
      },
    },
    h('div', { class: 'field' }, h('label', { for: 'customer-id' }, t('customer.id')), input),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, t('decision.open'))),
  );
  input.id = 'customer-id';
  return h('section', {}, heading(t('customer.find')), form);
}

export function backOfficeViews(client) {
  api = client;
  return { customerView, bucketView, loanView, customerLookupView };
}

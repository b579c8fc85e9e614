/**
 * The borrower app: log in by phone, see the credit line, apply for credit, buy goods on
 * installments (quote first, then the order) and repay loans. Every number shown comes from the
 * API as it sent it; sums are made on BigInt minor units (../shared/money.js).
 */
import { ApiError, createClient, moneyAction } from '../shared/api.js';
import {
  badge,
  busy,
  errorBox,
  facts,
  field,
  fill,
  go,
  h,
  markCurrent,
  notice,
  startShell,
  statusArea,
  table,
} from '../shared/dom.js';
import { loginPage } from '../shared/login.js';
import { AMOUNT_PATTERN, display, fromMinor, percentOf, toMinor } from '../shared/money.js';

/** What the credit application offers; the API's list (src/risk/features.ts PURPOSES). */
const PURPOSES = [
  ['goods', 'Shopping'],
  ['cash', 'Cash needs'],
  ['car', 'Car'],
  ['education', 'Education'],
  ['home', 'Home'],
  ['business', 'Business'],
  ['travel', 'Travel'],
  ['other', 'Something else'],
];
const GOODS_PAGE = 24;
/** A queued order (sale day) is polled this often, this many times, before the page gives up waiting. */
const ORDER_POLL_MS = 1000;
const ORDER_POLLS_MAX = 30;

const api = createClient({
  tokenKey: 'fenqi.app.token',
  onUnauthorized: () => go(`#/login?next=${encodeURIComponent(location.hash || '#/')}`),
});

/** The app install id the risk engine counts applications by: random, not personal. */
function deviceId() {
  let id = localStorage.getItem('fenqi.device');
  if (!id) {
    id = `web-${crypto.randomUUID()}`;
    localStorage.setItem('fenqi.device', id);
  }
  return id;
}

const amountInput = (attrs) =>
  h('input', { inputmode: 'decimal', pattern: AMOUNT_PATTERN, autocomplete: 'off', maxlength: 16, ...attrs });

async function creditLineOrNull() {
  try {
    return await api.get('/v1/customers/me/credit-line');
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return null;
    throw err;
  }
}

// ---- log in ----------------------------------------------------------------------------------

const loginView = loginPage({
  api,
  title: 'Log in',
  identity: {
    label: 'Mobile number',
    name: 'phone',
    attrs: { type: 'tel', inputmode: 'numeric', autocomplete: 'username', maxlength: 20 },
  },
  accepts: (role) => role === 'customer',
  refusal: () => new ApiError(403, 'NOT_A_CUSTOMER', 'staff log in at the operations console (/console/)'),
});

// ---- home ------------------------------------------------------------------------------------

function lineCard(line) {
  if (!line) {
    return h(
      'section',
      { class: 'card', 'aria-labelledby': 'line-h' },
      h('h2', { id: 'line-h' }, 'Your credit line'),
      h('p', {}, 'You have no credit line yet.'),
      h('a', { class: 'button', href: '#/apply' }, 'Apply for credit'),
    );
  }
  const used = percentOf(line.used, line.limit);
  const free = percentOf(line.available, line.limit);
  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'line-h', dataset: { testid: 'credit-line' } },
    h('h2', { id: 'line-h' }, 'Your credit line ', line.status !== 'active' ? badge(line.status) : null),
    facts([
      ['Limit', display(line.limit, line.currency), 'line-limit'],
      ['Used', display(line.used, line.currency), 'line-used'],
      ['Available', display(line.available, line.currency), 'line-available'],
    ]),
    h(
      'div',
      { class: 'meter' },
      h(
        'div',
        {
          class: 'meter-track',
          role: 'meter',
          'aria-label': 'Share of the credit line used',
          'aria-valuemin': 0,
          'aria-valuemax': 100,
          'aria-valuenow': used,
          'aria-valuetext': `${used}% used, ${display(line.available, line.currency)} available`,
        },
        h('div', { class: 'meter-fill', style: `width: ${used}%` }),
      ),
      h('div', { class: 'meter-legend' }, h('span', {}, `${used}% used`), h('span', {}, `${free}% free`)),
    ),
  );
}

/** The next payment: the earliest due date with anything unpaid (GET /v1/me/next-payment). */
function nextPaymentCard({ next_payment: next }) {
  const body = next
    ? [
        facts([
          ['Due', next.date, 'next-payment-date'],
          ['Amount', display(next.amount), 'next-payment-amount'],
        ]),
        next.overdue ? h('p', {}, badge('overdue'), ' Please pay as soon as you can.') : null,
        h(
          'p',
          {},
          next.items.map((i, n) => [
            n > 0 ? ' · ' : null,
            h('a', { href: `#/loans/${i.loan_id}` }, `Installment ${i.installment}: ${display(i.amount)}`),
          ]),
        ),
      ]
    : [h('p', {}, 'Nothing to pay.')];
  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'next-h', dataset: { testid: 'next-payment' } },
    h('h2', { id: 'next-h' }, 'Next payment'),
    ...body,
  );
}

/** This month's bill: the newest statement (GET /v1/me/statements?limit=1). */
function billCard(bill) {
  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'bill-h', dataset: { testid: 'bill' } },
    h('h2', { id: 'bill-h' }, "This month's bill"),
    bill
      ? [
          facts([
            ['Cycle', `${bill.cycle_start} – ${bill.cycle_end}`],
            ['Total due', display(bill.total_due), 'bill-total'],
            ['Pay by', bill.due_date, 'bill-due-date'],
            bill.past_due !== '0.00' ? ['Of which past due', display(bill.past_due)] : null,
          ]),
          h('a', { class: 'button secondary', href: `#/statements/${bill.id}` }, 'View the bill'),
        ]
      : h('p', {}, 'No bill yet: your first one comes at the start of your next cycle.'),
  );
}

async function homeView() {
  const [me, line, next, bills] = await Promise.all([
    api.get('/v1/customers/me'),
    creditLineOrNull(),
    api.get('/v1/me/next-payment'),
    api.get('/v1/me/statements?limit=1'),
  ]);
  return h(
    'section',
    {},
    h('h1', {}, `Hello, ${me.legal_name}`),
    nextPaymentCard(next),
    billCard(bills.items[0]),
    lineCard(line),
    h(
      'div',
      { class: 'actions' },
      h('a', { class: 'button', href: '#/shop' }, 'Shop on installments'),
      h('a', { class: 'button secondary', href: '#/loans' }, 'My loans'),
      h('a', { class: 'button secondary', href: '#/apply' }, 'Apply for credit'),
    ),
  );
}

// ---- apply for credit ------------------------------------------------------------------------

function decisionPanel(d) {
  const title = {
    approve: 'Approved',
    decline: 'Declined',
    refer: 'Under review',
  }[d.decision];
  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'decision-h', dataset: { testid: 'decision', outcome: d.decision } },
    h('h2', { id: 'decision-h' }, title, ' ', badge(d.decision)),
    facts([
      ['Grade', d.grade ?? '—', 'decision-grade'],
      d.line !== null ? ['Credit line', display(d.line, d.currency), 'decision-line'] : null,
      ['Application', d.id],
    ]),
    d.decision === 'refer' ? h('p', {}, 'A person will look at your application; come back later.') : null,
    d.reasons.length
      ? [
          h('h3', {}, 'Why'),
          h(
            'ul',
            { dataset: { testid: 'decision-reasons' } },
            d.reasons.map((r) => h('li', { dataset: { code: r.code } }, r.message)),
          ),
        ]
      : null,
    d.decision === 'approve' ? h('a', { class: 'button', href: '#/shop' }, 'Start shopping') : null,
  );
}

function applyView() {
  const income = amountInput({ name: 'stated_income', required: true, placeholder: '15000.00' });
  const purpose = h(
    'select',
    { name: 'purpose', required: true },
    PURPOSES.map(([value, label]) => h('option', { value }, label)),
  );
  const requested = amountInput({ name: 'requested_amount', placeholder: 'optional' });
  const submit = h('button', { type: 'submit' }, 'Apply');
  const status = statusArea();
  const result = h('div', {});
  const form = h(
    'form',
    {
      onsubmit: async (event) => {
        event.preventDefault();
        status.clear();
        await busy(submit, async () => {
          try {
            const body = {
              stated_income: income.value.trim(),
              purpose: purpose.value,
              device_id: deviceId(),
            };
            if (requested.value.trim()) body.requested_amount = requested.value.trim();
            fill(result, decisionPanel(await api.post('/v1/credit-applications', body)));
            result.querySelector('h2')?.setAttribute('tabindex', '-1');
            result.querySelector('h2')?.focus();
          } catch (err) {
            status.error(err);
          }
        });
      },
    },
    field('Monthly income (CNY)', income, 'What you earn in a month before tax, e.g. 15000.00'),
    field('What is the credit for?', purpose),
    field('Largest amount you expect to borrow (CNY)', requested),
    h('div', { class: 'actions' }, submit),
    status.el,
  );
  return h('section', {}, h('h1', {}, 'Apply for credit'), form, result);
}

// ---- shop ------------------------------------------------------------------------------------

function goodsCard(g) {
  return h(
    'article',
    { class: 'card', dataset: { testid: 'goods', sku: g.sku } },
    h('h2', {}, g.name),
    h('div', { class: 'price' }, display(g.price, g.currency)),
    h(
      'a',
      { class: 'button', href: `#/shop/${g.id}`, 'aria-label': `Buy ${g.name} on installments` },
      'Buy on installments',
    ),
  );
}

async function shopView() {
  const list = h('div', { class: 'cards' });
  const status = statusArea();
  const more = h('button', { type: 'button', class: 'secondary', hidden: true }, 'Show more');
  let cursor = null;
  const load = async () => {
    const qs = new URLSearchParams({ limit: String(GOODS_PAGE) });
    if (cursor) qs.set('cursor', cursor);
    const page = await api.get(`/v1/goods?${qs}`);
    list.append(...page.items.map(goodsCard));
    cursor = page.next_cursor;
    more.hidden = !cursor;
  };
  more.addEventListener('click', () =>
    busy(more, async () => {
      try {
        await load();
      } catch (err) {
        status.error(err);
      }
    }),
  );
  await load();
  if (!list.children.length) list.append(h('p', {}, 'Nothing for sale right now.'));
  return h('section', {}, h('h1', {}, 'Shop'), list, h('div', { class: 'actions' }, more), status.el);
}

function scheduleFromQuote(q) {
  return [
    facts([
      ['Amount financed', display(q.amount_financed)],
      ['Total interest', display(q.total_interest)],
      ['Total fees', display(q.total_fees)],
      ['Total to pay', display(q.total_payable), 'quote-total'],
      ['APR', `${q.apr}%`, 'quote-apr'],
    ]),
    table(
      `Repayment schedule, ${q.installments.length} installments`,
      ['#', 'Due', 'Principal', 'Interest', 'Fee', 'Pay', 'Left after'],
      q.installments.map((i) => [
        String(i.number),
        i.due_date,
        display(i.principal),
        display(i.interest),
        display(i.fee),
        display(i.total),
        display(i.balance),
      ]),
      { dataset: { testid: 'quote-schedule' } },
    ),
  ];
}

async function goodsView({ id }) {
  const [goods, products, line] = await Promise.all([
    api.get(`/v1/goods/${encodeURIComponent(id)}`),
    api.get('/v1/products?kind=goods'),
    creditLineOrNull(),
  ]);
  const offered = products.items;
  if (!offered.length) {
    return h('section', {}, h('h1', {}, goods.name), h('p', {}, 'No installment plan is offered right now.'));
  }
  const product = h(
    'select',
    { name: 'product' },
    offered.map((p) => h('option', { value: p.id }, `${p.name} (${p.rate}% a year)`)),
  );
  const tenors = h('fieldset', {}, h('legend', {}, 'Number of monthly installments'));
  const quoteArea = h('div', { 'aria-live': 'polite' });
  const status = statusArea();
  const place = h('button', { type: 'submit', disabled: true }, 'Place order');
  const order = moneyAction(api);

  const chosen = () => ({
    product: offered.find((p) => p.id === product.value) ?? offered[0],
    tenor: Number(tenors.querySelector('input:checked')?.value),
  });
  let quoteSerial = 0;
  const refreshQuote = async () => {
    const { product: p, tenor } = chosen();
    status.clear();
    place.disabled = true;
    if (!tenor) return;
    const mine = ++quoteSerial;
    fill(quoteArea, h('p', {}, 'Working out the schedule…'));
    try {
      const q = await api.post('/v1/quotes', { product_id: p.id, principal: goods.price, tenor });
      if (mine !== quoteSerial) return;
      const per = q.installments[0]?.total;
      fill(quoteArea, ...scheduleFromQuote(q));
      place.textContent = `Place order: ${tenor} × ${display(per)}`;
      place.disabled = false;
    } catch (err) {
      if (mine !== quoteSerial) return;
      fill(quoteArea);
      status.error(err);
    }
  };
  const drawTenors = () => {
    const { product: p } = chosen();
    fill(
      tenors,
      h('legend', {}, 'Number of monthly installments'),
      ...p.tenors.map((t, i) =>
        h(
          'label',
          {},
          h('input', { type: 'radio', name: 'tenor', value: t, checked: i === 0, onchange: refreshQuote }),
          ` ${t}`,
        ),
      ),
    );
  };
  product.addEventListener('change', () => {
    drawTenors();
    refreshQuote();
  });
  drawTenors();

  const waitForQueued = async (accepted) => {
    for (let i = 0; i < ORDER_POLLS_MAX; i++) {
      await new Promise((r) => setTimeout(r, ORDER_POLL_MS));
      const o = await api.get(`/v1/orders/${accepted.order_id ?? accepted.id}`);
      if (o.status !== 'accepted') return o;
    }
    return undefined;
  };

  const form = h(
    'form',
    {
      onsubmit: async (event) => {
        event.preventDefault();
        status.clear();
        const { product: p, tenor } = chosen();
        await busy(place, async () => {
          try {
            const answer = await order.send('POST', '/v1/orders', {
              goods_id: goods.id,
              product_id: p.id,
              tenor,
            });
            let placed = answer.body;
            if (answer.status === 202) {
              status.show(notice('Order accepted; waiting for it to settle…'));
              placed = await waitForQueued(answer.body);
              if (!placed) {
                status.show(notice('Your order is accepted and will settle shortly; see My loans.'));
                return;
              }
            }
            if (placed.status === 'settled' && placed.loan_id) {
              go(`#/loans/${placed.loan_id}?placed=${placed.id}`);
            } else if (placed.status === 'rejected') {
              status.error(new ApiError(422, placed.reject_reason ?? 'REJECTED', 'the order was refused'));
            } else {
              status.show(
                notice(`Order ${placed.id} is ${placed.status}: it is being looked at; do not order again.`),
              );
            }
          } catch (err) {
            status.error(err);
          }
        });
      },
    },
    field('Installment plan', product),
    tenors,
    quoteArea,
    h('div', { class: 'actions' }, place),
    status.el,
  );
  refreshQuote();
  return h(
    'section',
    {},
    h('h1', {}, goods.name),
    facts([
      ['Price', display(goods.price, goods.currency), 'goods-price'],
      line ? ['Your available credit', display(line.available, line.currency)] : null,
    ]),
    line && (toMinor(line.available) ?? 0n) < (toMinor(goods.price) ?? 0n)
      ? h('p', { class: 'hint' }, 'The price is above your available credit.')
      : null,
    form,
  );
}

// ---- loans -----------------------------------------------------------------------------------

async function loansView() {
  const { loans } = await api.get('/v1/loans');
  return h(
    'section',
    {},
    h('h1', {}, 'My loans'),
    loans.length
      ? table(
          'Loans, newest first',
          ['Loan', 'Principal', 'Installments', 'Still owed', 'Status', ''],
          loans.map((l) => [
            `${l.kind === 'goods' ? 'Goods' : 'Cash'} · ${l.start_date}`,
            display(l.principal, l.currency),
            String(l.tenor),
            display(l.outstanding.total, l.currency),
            badge(l.status),
            h(
              'a',
              {
                href: `#/loans/${l.id}`,
                'aria-label': `Loan of ${display(l.principal)} from ${l.start_date}`,
              },
              'Open',
            ),
          ]),
          { dataset: { testid: 'loans' } },
        )
      : h('p', {}, 'No loans yet. ', h('a', { href: '#/shop' }, 'Shop on installments')),
  );
}

const minorOf = (...texts) => texts.reduce((acc, t) => acc + (toMinor(t) ?? 0n), 0n);

function installmentRows(installments) {
  return installments.map((i) => {
    const due = minorOf(i.principal, i.interest, i.fee, i.penalty);
    const paid = minorOf(i.paid_principal, i.paid_interest, i.paid_fee, i.paid_penalty);
    return { number: i.number, dueDate: i.due_date, due, paid, left: due - paid, status: i.status };
  });
}

async function loanView({ id }, query) {
  const outlet = h('div', {});
  const repayment = moneyAction(api);
  const payoff = moneyAction(api);
  let message = query.get('placed') ? notice('Order placed. Here is your new loan.') : null;

  const render = async () => {
    const loanId = encodeURIComponent(id);
    const [loan, schedule] = await Promise.all([
      api.get(`/v1/loans/${loanId}`),
      api.get(`/v1/loans/${loanId}/schedule`),
    ]);
    const payoffQuote = loan.status === 'active' ? await api.get(`/v1/loans/${loanId}/payoff`) : null;
    const rows = installmentRows(schedule.installments);
    const next = rows.find((r) => r.left > 0n && r.status !== 'written_off');
    const status = statusArea();
    const amount = amountInput({ name: 'amount', required: true, value: next ? fromMinor(next.left) : '' });
    const repay = h('button', { type: 'submit' }, 'Repay');
    const payoffButton = payoffQuote
      ? h('button', { type: 'button', class: 'secondary' }, `Pay off ${display(payoffQuote.total)}`)
      : null;

    const pay = async (action, button, value) => {
      status.clear();
      await busy(button, async () => {
        try {
          const { body } = await action.send('POST', `/v1/loans/${loanId}/repayments`, { amount: value });
          message = notice(
            `Paid ${display(body.amount)}.`,
            body.loan_status === 'paid_off' ? ' The loan is paid off.' : '',
            body.interest_waived !== '0.00' ? ` Interest waived: ${display(body.interest_waived)}.` : '',
          );
          await render();
        } catch (err) {
          status.error(err);
        }
      });
    };
    payoffButton?.addEventListener('click', () => pay(payoff, payoffButton, payoffQuote.total));

    fill(
      outlet,
      h('h1', {}, `Loan of ${display(loan.principal, loan.currency)}`),
      message,
      facts([
        ['Status', badge(loan.status), 'loan-status'],
        ['Started', loan.start_date],
        ['Installments', String(loan.tenor)],
        ['APR', `${loan.apr_percent}%`],
        ['Still owed', display(loan.outstanding.total, loan.currency), 'loan-outstanding'],
        loan.days_past_due > 0 ? ['Days past due', String(loan.days_past_due)] : null,
      ]),
      table(
        'Schedule',
        ['#', 'Due', 'Amount', 'Paid', 'Status'],
        rows.map((r) => [String(r.number), r.dueDate, display(r.due), display(r.paid), badge(r.status)]),
        { dataset: { testid: 'loan-schedule' } },
      ),
      loan.status === 'active'
        ? h(
            'section',
            { class: 'card', 'aria-labelledby': 'repay-h' },
            h('h2', { id: 'repay-h' }, 'Repay'),
            h(
              'form',
              {
                onsubmit: (event) => {
                  event.preventDefault();
                  pay(repayment, repay, amount.value.trim());
                },
              },
              field(
                'Amount (CNY)',
                amount,
                next ? `Next installment: ${display(fromMinor(next.left))} due ${next.dueDate}` : undefined,
              ),
              h('div', { class: 'actions' }, repay, payoffButton),
              status.el,
            ),
          )
        : null,
      h('p', {}, h('a', { href: '#/loans' }, 'All my loans')),
    );
  };
  await render();
  return h('section', {}, outlet);
}

// ---- shell -----------------------------------------------------------------------------------

const loggedIn = (render) => (params, query) => {
  if (!api.session.token) {
    go(`#/login?next=${encodeURIComponent(location.hash || '#/')}`);
    return null;
  }
  return render(params, query);
};

// ---- statements ------------------------------------------------------------------------------

const LINE_KINDS = {
  installment: 'Due this cycle',
  past_due: 'Past due',
  payment: 'Payment received',
  charge: 'Charge',
};

/** The printable page needs the session's token, so it is fetched and opened as a blob. */
async function openPrintable(id) {
  const res = await fetch(`/v1/me/statements/${id}.html`, {
    headers: { authorization: `Bearer ${api.session.token}` },
  });
  if (!res.ok) throw new ApiError(res.status, `HTTP_${res.status}`, 'the statement could not be opened');
  const url = URL.createObjectURL(await res.blob());
  window.open(url, '_blank', 'noopener');
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

async function statementView({ id }) {
  const { statement: st, lines } = await api.get(`/v1/me/statements/${encodeURIComponent(id)}`);
  const status = statusArea();
  const print = h('button', { type: 'button', class: 'secondary' }, 'Printable bill (中文 / English)');
  print.addEventListener('click', () => openPrintable(st.id).catch((err) => status.error(err)));
  return h(
    'section',
    {},
    h('h1', {}, `Bill ${st.cycle_start} – ${st.cycle_end}`),
    facts([
      ['Total due', display(st.total_due), 'statement-total'],
      ['Pay by', st.due_date],
      ['Past due', display(st.past_due)],
      ['Payments received last cycle', display(st.payments_received)],
    ]),
    table(
      'What the bill is made of',
      ['Date', 'Item', 'Amount'],
      lines.map((l) => [
        l.date,
        `${LINE_KINDS[l.kind] ?? l.kind}${l.installment ? ` · installment ${l.installment}` : ''}`,
        display(l.amount),
      ]),
      { dataset: { testid: 'statement-lines' } },
    ),
    h('div', { class: 'actions' }, print, h('a', { class: 'button secondary', href: '#/' }, 'Home')),
    status.el,
  );
}

function notFoundView() {
  return h(
    'section',
    {},
    h('h1', {}, 'Not found'),
    errorBox({ code: 'ROUTE_NOT_FOUND', message: 'no such page' }),
    h('a', { href: '#/' }, 'Home'),
  );
}

const nav = document.getElementById('nav');
const logout = document.getElementById('logout');
const syncShell = () => {
  const inside = Boolean(api.session.token);
  nav.hidden = !inside;
  logout.hidden = !inside;
  markCurrent(nav);
};
startShell({
  sync: syncShell,
  logOut: () => api.session.clear(),
  routes: [
    ['/login', loginView],
    ['/', loggedIn(homeView)],
    ['/apply', loggedIn(applyView)],
    ['/shop', loggedIn(shopView)],
    ['/shop/:id', loggedIn(goodsView)],
    ['/loans', loggedIn(loansView)],
    ['/loans/:id', loggedIn(loanView)],
    ['/statements/:id', loggedIn(statementView)],
  ],
  fallback: notFoundView,
});

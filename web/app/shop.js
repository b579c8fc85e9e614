/**
 * Buying: the goods list, one item's plans with their schedule, the cash loan, and the agreement
 * (with its late-fee and credit-bureau disclosure, taken from the product's own terms) that must be
 * read and accepted before an order or a draw is sent.
 */
import { ApiError, moneyAction } from '../shared/api.js';
import { busy, facts, field, fill, go, h, notice, statusArea, table } from '../shared/dom.js';
import { formatDate, t } from '../shared/i18n.js';
import { display, toMinor } from '../shared/money.js';
import { amountInput, api, creditLineOrNull } from './client.js';

const GOODS_PAGE = 24;
/** A queued order (sale day) is polled this often, this many times, before the page gives up waiting. */
const ORDER_POLL_MS = 1000;
const ORDER_POLLS_MAX = 30;
/**
 * The version of the agreement text this app shows (messages.js 'agreement.*'); the platform says
 * which version it requires (src/domain/agreement.ts) and refuses an acceptance of another one.
 */
export const AGREEMENT_VERSION = '2026-12';

function goodsCard(g) {
  return h(
    'article',
    { class: 'card', dataset: { testid: 'goods', sku: g.sku } },
    h('h2', {}, g.name),
    h('div', { class: 'price' }, display(g.price, g.currency)),
    h(
      'a',
      { class: 'button', href: `#/shop/${g.id}`, 'aria-label': t('shop.buy_label', { name: g.name }) },
      t('shop.buy'),
    ),
  );
}

export async function shopView() {
  const list = h('div', { class: 'cards' });
  const status = statusArea();
  const more = h('button', { type: 'button', class: 'secondary', hidden: true }, t('shop.more'));
  let cursor = null;
  const load = async () => {
    const qs = new URLSearchParams({ limit: String(GOODS_PAGE) });
    if (cursor) qs.set('cursor', cursor);
    const page = await api.get(`/v1/goods?${qs}`);
    list.append(...page.items.map(goodsCard));
    cursor = page.next_cursor;
    more.hidden = !cursor;
  };
  more.addEventListener('click', () => busy(more, () => load().catch((err) => status.error(err))));
  await load();
  if (!list.children.length) list.append(h('p', {}, t('shop.empty')));
  return h(
    'section',
    {},
    h('h1', {}, t('shop.title')),
    list,
    h('div', { class: 'actions' }, more),
    status.el,
  );
}

/** The quote on a phone: totals as facts, the schedule as three columns that fit 390 px. */
function scheduleFromQuote(q) {
  return [
    facts([
      [t('quote.financed'), display(q.amount_financed)],
      [t('quote.interest'), display(q.total_interest)],
      [t('quote.fees'), display(q.total_fees)],
      [t('quote.total'), display(q.total_payable), 'quote-total'],
      [t('quote.apr'), `${q.apr}%`, 'quote-apr'],
    ]),
    table(
      t('quote.schedule', { n: q.installments.length }),
      [t('loan.col.number'), t('loan.col.due'), t('quote.per')],
      q.installments.map((i) => [String(i.number), formatDate(i.due_date), display(i.total)]),
      { dataset: { testid: 'quote-schedule' } },
    ),
  ];
}

function lateTerms(p) {
  const f = p.late_fee;
  const parts = [];
  if (toMinor(f.amount) > 0n) parts.push(t('late.once_amount', { amount: display(f.amount) }));
  if (Number(f.percent_once) > 0) parts.push(t('late.once_percent', { percent: f.percent_once }));
  if (Number(f.percent_per_day) > 0) parts.push(t('late.per_day', { percent: f.percent_per_day }));
  if (parts.length && f.cap) parts.push(t('late.cap', { amount: display(f.cap) }));
  return parts.length ? parts.join(', ') : t('late.none');
}

/** The agreement to read, with the product's late fees and the credit-bureau notice, and its box. */
export function agreementBlock(productOf) {
  const box = h('input', {
    type: 'checkbox',
    name: 'agreement',
    // not `required`: the browser's own bubble would speak English on a Chinese page; the app says why
    'aria-required': 'true',
    dataset: { version: AGREEMENT_VERSION },
  });
  const text = h('div', { class: 'agreement-text', tabindex: 0, role: 'region' });
  const draw = () => {
    const p = productOf();
    text.setAttribute('aria-label', t('agreement.title', { version: AGREEMENT_VERSION }));
    fill(
      text,
      h('h2', {}, t('agreement.title', { version: AGREEMENT_VERSION })),
      h('p', {}, t('agreement.body')),
      h(
        'p',
        { dataset: { testid: 'late-fee-disclosure' } },
        t('agreement.late', { grace: p.grace_days, terms: lateTerms(p) }),
      ),
      h('p', { dataset: { testid: 'bureau-disclosure' } }, t('agreement.bureau')),
    );
  };
  draw();
  const el = h(
    'div',
    { class: 'agreement' },
    text,
    h('label', { class: 'check' }, box, ' ', t('agreement.accept')),
  );
  // one acceptance per set of terms: a retried order carries the same one (and the same key)
  const accepted = new Map();
  /** Records the acceptance of the text as shown (its SHA-256) for these terms; answers its id. */
  const accept = async (terms) => {
    const wanted = JSON.stringify(terms);
    if (!accepted.has(wanted)) {
      const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text.textContent));
      const text_sha256 = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
      const answer = await api.post('/v1/me/agreement-acceptances', {
        version: AGREEMENT_VERSION,
        text_sha256,
        ...terms,
      });
      accepted.set(wanted, answer.id);
    }
    return accepted.get(wanted);
  };
  return { el, box, draw, accept };
}

/** Late customers are told before they try: the order would be refused (CUSTOMER_PAST_DUE). */
async function pastDue() {
  const { loans } = await api.get('/v1/loans');
  return loans.some((l) => l.status === 'active' && l.days_past_due > 0);
}

function tenorChoices(tenors, p, onchange) {
  fill(
    tenors,
    h('legend', {}, t('goods.tenors')),
    ...p.tenors.map((n, i) =>
      h(
        'label',
        { class: 'choice' },
        h('input', { type: 'radio', name: 'tenor', value: n, checked: i === 0, onchange }),
        ` ${t('goods.tenor', { n })}`,
      ),
    ),
  );
}

async function waitForQueued(accepted) {
  for (let i = 0; i < ORDER_POLLS_MAX; i++) {
    await new Promise((r) => setTimeout(r, ORDER_POLL_MS));
    const o = await api.get(`/v1/orders/${accepted.order_id ?? accepted.id}`);
    if (o.status !== 'accepted') return o;
  }
  return undefined;
}

/** Sends the order and shows where it went: the new loan, a refusal in words, or "still settling". */
async function placeOrder(order, body, status) {
  const answer = await order.send('POST', '/v1/orders', body);
  let placed = answer.body;
  if (answer.status === 202) {
    status.show(notice(t('goods.accepted')));
    placed = await waitForQueued(answer.body);
    if (!placed) return status.show(notice(t('goods.accepted_later')));
  }
  if (placed.status === 'settled' && placed.loan_id)
    return go(`#/loans/${placed.loan_id}?placed=${placed.id}`);
  if (placed.status === 'rejected')
    return status.error(new ApiError(422, placed.reject_reason ?? 'REJECTED', 'rejected'));
  status.show(notice(t('goods.held')));
}

function planPicker(offered) {
  const product = h(
    'select',
    { name: 'product' },
    offered.map((p) => h('option', { value: p.id }, t('goods.plan_option', { name: p.name, rate: p.rate }))),
  );
  const tenors = h('fieldset', {});
  const chosen = () => ({
    product: offered.find((p) => p.id === product.value) ?? offered[0],
    tenor: Number(tenors.querySelector('input:checked')?.value),
  });
  return { product, tenors, chosen };
}

export async function goodsView({ id }) {
  const [goods, products, line, late] = await Promise.all([
    api.get(`/v1/goods/${encodeURIComponent(id)}`),
    api.get('/v1/products?kind=goods'),
    creditLineOrNull(),
    pastDue(),
  ]);
  const offered = products.items;
  if (!offered.length) return h('section', {}, h('h1', {}, goods.name), h('p', {}, t('goods.no_plan')));
  const { product, tenors, chosen } = planPicker(offered);
  const quoteArea = h('div', { 'aria-live': 'polite' });
  const status = statusArea();
  const place = h('button', { type: 'submit', disabled: true }, t('goods.place_plain'));
  const order = moneyAction(api);
  const agreement = agreementBlock(() => chosen().product);
  let quoteSerial = 0;
  const refreshQuote = async () => {
    const { product: p, tenor } = chosen();
    status.clear();
    place.disabled = true;
    if (!tenor) return;
    const mine = ++quoteSerial;
    fill(quoteArea, h('p', {}, t('goods.working')));
    try {
      const q = await api.post('/v1/quotes', { product_id: p.id, principal: goods.price, tenor });
      if (mine !== quoteSerial) return;
      fill(quoteArea, ...scheduleFromQuote(q));
      place.textContent = t('goods.place', { n: tenor, amount: display(q.installments[0]?.total) });
      place.disabled = late;
    } catch (err) {
      if (mine !== quoteSerial) return;
      fill(quoteArea);
      status.error(err);
    }
  };
  const redraw = () => {
    tenorChoices(tenors, chosen().product, refreshQuote);
    agreement.draw();
    refreshQuote();
  };
  product.addEventListener('change', redraw);
  const form = h(
    'form',
    {
      onsubmit: async (event) => {
        event.preventDefault();
        status.clear();
        if (!agreement.box.checked) return status.error({ code: 'AGREEMENT_REQUIRED' });
        const { product: p, tenor } = chosen();
        const terms = { goods_id: goods.id, product_id: p.id, tenor };
        await busy(place, async () => {
          try {
            const agreement_acceptance_id = await agreement.accept(terms);
            await placeOrder(order, { ...terms, agreement_acceptance_id }, status);
          } catch (err) {
            status.error(err);
          }
        });
      },
    },
    field(t('goods.plan'), product),
    tenors,
    quoteArea,
    agreement.el,
    h('div', { class: 'actions' }, place),
    status.el,
  );
  tenorChoices(tenors, chosen().product, refreshQuote);
  refreshQuote();
  return h(
    'section',
    {},
    h('h1', {}, goods.name),
    late
      ? h(
          'div',
          { class: 'banner late', role: 'alert', dataset: { testid: 'past-due-block' } },
          t('goods.past_due'),
        )
      : null,
    facts([
      [t('goods.price'), display(goods.price, goods.currency), 'goods-price'],
      line ? [t('goods.available'), display(line.available, line.currency)] : null,
    ]),
    line && (toMinor(line.available) ?? 0n) < (toMinor(goods.price) ?? 0n)
      ? h('p', { class: 'hint' }, t('goods.over_credit'))
      : null,
    form,
  );
}

/** Cash: an amount, a plan and its schedule, the agreement, then the draw to the card on file. */
export async function cashView() {
  const [products, late] = await Promise.all([api.get('/v1/products?kind=cash'), pastDue()]);
  const offered = products.items;
  if (!offered.length) return h('section', {}, h('h1', {}, t('cash.title')), h('p', {}, t('cash.none')));
  const { product, tenors, chosen } = planPicker(offered);
  const amount = amountInput({ name: 'amount', required: true, placeholder: '3000.00' });
  const quoteArea = h('div', { 'aria-live': 'polite' });
  const status = statusArea();
  const see = h('button', { type: 'button', class: 'secondary' }, t('cash.quote'));
  const borrow = h('button', { type: 'submit', disabled: late }, t('cash.borrow'));
  const draw = moneyAction(api);
  const agreement = agreementBlock(() => chosen().product);
  const body = () => ({
    product_id: chosen().product.id,
    amount: amount.value.trim(),
    tenor: chosen().tenor,
  });
  const quote = () =>
    busy(see, async () => {
      status.clear();
      if (toMinor(body().amount) === undefined) return status.error({ code: 'INVALID_AMOUNT' });
      try {
        const { product_id, amount: principal, tenor } = body();
        fill(quoteArea, ...scheduleFromQuote(await api.post('/v1/quotes', { product_id, principal, tenor })));
      } catch (err) {
        fill(quoteArea);
        status.error(err);
      }
    });
  see.addEventListener('click', quote);
  product.addEventListener('change', () => {
    tenorChoices(tenors, chosen().product, () => fill(quoteArea));
    agreement.draw();
  });
  tenorChoices(tenors, chosen().product, () => fill(quoteArea));
  const onsubmit = async (event) => {
    event.preventDefault();
    status.clear();
    if (toMinor(body().amount) === undefined) return status.error({ code: 'INVALID_AMOUNT' });
    if (!agreement.box.checked) return status.error({ code: 'AGREEMENT_REQUIRED' });
    await busy(borrow, async () => {
      try {
        const { product_id, amount: drawn, tenor } = body();
        const agreement_acceptance_id = await agreement.accept({ product_id, amount: drawn, tenor });
        const { body: loan } = await draw.send('POST', '/v1/loans', { ...body(), agreement_acceptance_id });
        go(`#/loans/${loan.id}`);
      } catch (err) {
        status.error(err);
      }
    });
  };
  return h(
    'section',
    {},
    h('h1', {}, t('cash.title')),
    late
      ? h(
          'div',
          { class: 'banner late', role: 'alert', dataset: { testid: 'past-due-block' } },
          t('goods.past_due'),
        )
      : null,
    h(
      'form',
      { onsubmit },
      field(t('cash.amount'), amount, t('cash.to_card')),
      field(t('goods.plan'), product),
      tenors,
      h('div', { class: 'actions' }, see),
      quoteArea,
      agreement.el,
      h('div', { class: 'actions' }, borrow),
      status.el,
    ),
  );
}

/**
 * Servicing pages of the console (issue 15), kept in their own module: the collections queue and
 * a case (assign, contact log, promise to pay, outcome) for collectors and ops; goods returns and
 * charges and waivers for ops. Staff see customers by their masked name (the API masks them by the
 * one rule table, src/privacy/masking.ts) and every code in plain words.
 */
import { moneyAction } from '../shared/api.js';
import { busy, facts, field, fill, go, h, notice } from '../shared/dom.js';
import { t } from '../shared/i18n.js';
import { AMOUNT_PATTERN, display } from '../shared/money.js';
import { day, heading, statusArea, table, word } from './ui.js';

const CHANNELS = ['call', 'sms', 'visit', 'letter'];
const OUTCOMES = ['no_answer', 'promise_to_pay', 'refused', 'wrong_number', 'paid', 'hardship', 'dispute'];
const QUEUE_PAGE = 100;

/** A select of codes shown in words ("{prefix}.{code}"). */
const select = (name, codes, prefix, attrs = {}) =>
  h(
    'select',
    { name, ...attrs },
    codes.map((value) => h('option', { value }, word(prefix, value))),
  );
const promiseText = (date, amount) =>
  date ? t('note.promiseText', { amount: display(amount), date: day(date) }) : t('svc.noPromise');

/** The API client the views use: one per console page, set by the factory below. */
let api;

async function collectionsView() {
  const page = await api.get(`/v1/collections/queue?names=true&limit=${QUEUE_PAGE}`);
  return h(
    'section',
    {},
    heading(t('svc.collections')),
    h('p', {}, t('svc.collectionsIntro')),
    page.items.length
      ? table(
          t('svc.queueCaption'),
          ['customer', 'daysOverdue', 'overdue', 'assignedTo', 'promise', 'followUp'].map((k) =>
            t(`svc.${k}`),
          ),
          page.items.map((c) => {
            const who = c.customer_name ?? t('svc.aCustomer');
            return [
              h(
                'a',
                { href: `#/collections/${c.loan_id}`, 'aria-label': t('svc.openCase', { name: who }) },
                who,
              ),
              String(c.days_past_due),
              display(c.overdue),
              c.assignee ?? t('reviews.nobody'),
              promiseText(c.promise_date, c.promise_amount),
              day(c.next_follow_up),
            ];
          }),
          { dataset: { testid: 'collections' } },
        )
      : h('p', { dataset: { testid: 'collections-empty' } }, t('svc.nobodyLate')),
  );
}

function assignForm(loanId, list, status, rerender) {
  const choice = h(
    'select',
    { name: 'collector' },
    list.items.map((c) => h('option', { value: c.id }, c.username)),
  );
  const button = h('button', { type: 'submit' }, t('svc.assign'));
  return h(
    'form',
    {
      'aria-label': t('svc.assignCase'),
      onsubmit: (e) => {
        e.preventDefault();
        busy(button, async () => {
          try {
            await api.send('PUT', `/v1/collections/loans/${loanId}/assignee`, {
              collector_id: choice.value,
            });
            await rerender(notice(t('svc.assigned', { name: choice.selectedOptions[0]?.textContent ?? '' })));
          } catch (err) {
            status.error(err);
          }
        });
      },
    },
    field(t('svc.collector'), choice),
    button,
  );
}

function contactForm(loanId, status, rerender) {
  const channel = select('channel', CHANNELS, 'channel');
  const outcome = select('outcome', OUTCOMES, 'contact');
  const date = h('input', { name: 'promise_date', type: 'date' });
  const amount = h('input', { name: 'promise_amount', inputmode: 'decimal', pattern: AMOUNT_PATTERN });
  const button = h('button', { type: 'submit' }, t('svc.logContact'));
  return h(
    'form',
    {
      'aria-label': t('svc.logAContact'),
      onsubmit: (e) => {
        e.preventDefault();
        const promised = outcome.value === 'promise_to_pay';
        const body = { channel: channel.value, outcome: outcome.value };
        if (promised) Object.assign(body, { promise_date: date.value, promise_amount: amount.value });
        busy(button, async () => {
          try {
            await api.post(`/v1/collections/loans/${loanId}/contacts`, body);
            await rerender(notice(t('svc.logged', { outcome: word('contact', outcome.value) })));
          } catch (err) {
            status.error(err);
          }
        });
      },
    },
    h('h2', {}, t('svc.logAContact')),
    field(t('note.how'), channel),
    field(t('note.outcome'), outcome),
    field(t('svc.promisedDate'), date, t('svc.onlyPromise')),
    field(t('svc.promisedAmount'), amount, t('svc.onlyPromise')),
    button,
  );
}

async function caseView({ id }) {
  const outlet = h('section', {});
  const render = async (message) => {
    const c = await api.get(`/v1/collections/loans/${encodeURIComponent(id)}`);
    const status = statusArea();
    const ops = api.session.role === 'ops';
    const list = ops ? await api.get('/v1/collections/collectors') : null;
    fill(
      outlet,
      heading(t('svc.caseOf', { name: c.customer_name ?? t('svc.aCustomer') })),
      message ?? null,
      facts(
        [
          [t('svc.customer'), c.customer_name ?? t('common.dash'), 'case-customer'],
          [t('customer.phone'), c.customer_phone ?? t('common.dash'), 'case-phone'],
          [t('svc.daysOverdue'), `${c.days_past_due} (${word('bucket', c.bucket)})`, 'case-dpd'],
          [t('svc.assignedTo'), c.assignee ?? t('reviews.nobody'), 'case-assignee'],
          [t('svc.promise'), promiseText(c.promise_date, c.promise_amount), 'case-promise'],
          [t('svc.followUp'), day(c.next_follow_up)],
          [t('svc.pausedUntil'), c.paused_until ? day(c.paused_until) : t('svc.notPaused')],
        ],
        { dataset: { testid: 'case' } },
      ),
      c.contacts.length
        ? table(
            t('customer.notesCaption'),
            [t('note.date'), t('note.how'), t('note.outcome'), t('note.promise'), t('note.by')],
            c.contacts.map((k) => [
              day(k.business_date),
              word('channel', k.channel),
              word('contact', k.outcome),
              promiseText(k.promise_date, k.promise_amount),
              k.by,
            ]),
            { dataset: { testid: 'contacts' } },
          )
        : h('p', {}, t('svc.noContacts')),
      ops && list.items.length ? assignForm(c.loan_id, list, status, render) : null,
      contactForm(c.loan_id, status, render),
      status.el,
    );
  };
  await render();
  return outlet;
}

function returnForm() {
  const status = statusArea();
  const action = moneyAction(api);
  const order = h('input', { name: 'order', required: true, pattern: '^[0-9]{1,19}$' });
  const amount = h('input', { name: 'amount', inputmode: 'decimal', pattern: AMOUNT_PATTERN });
  const refundTo = select('refund_to', ['card', 'credit_balance'], 'svc.refund');
  const button = h('button', { type: 'submit' }, t('svc.recordReturn'));
  return h(
    'form',
    {
      'aria-label': t('svc.goodsReturn'),
      onsubmit: (e) => {
        e.preventDefault();
        const body = { refund_to: refundTo.value };
        if (amount.value) body.amount = amount.value;
        busy(button, async () => {
          try {
            const r = (await action.send('POST', `/v1/orders/${order.value}/returns`, body)).body;
            status.show(
              notice(
                h(
                  'span',
                  { dataset: { testid: 'return-result' } },
                  t('svc.returned', { amount: display(r.returned) }),
                ),
                t('svc.returnedRest', {
                  refund: display(r.refund),
                  to: word('svc.refundTo', r.refund_to),
                  released: display(r.credit_released),
                }),
              ),
            );
          } catch (err) {
            status.error(err);
          }
        });
      },
    },
    h('h2', {}, t('svc.goodsReturned')),
    field(t('svc.orderNumber'), order),
    field(t('svc.valueReturned'), amount, t('svc.valueHint')),
    field(t('svc.refundField'), refundTo),
    button,
    status.el,
  );
}

const ADJUSTMENTS = ['charge:fee', 'waiver:fee', 'waiver:interest', 'waiver:penalty'];

function adjustmentForm() {
  const status = statusArea();
  const action = moneyAction(api);
  const loan = h('input', { name: 'loan', required: true, pattern: '^[0-9]{1,19}$' });
  const what = select('what', ADJUSTMENTS, 'svc.adjust');
  const amount = h('input', {
    name: 'amount',
    required: true,
    inputmode: 'decimal',
    pattern: AMOUNT_PATTERN,
  });
  const reason = h('input', { name: 'reason', required: true, maxlength: 200 });
  const button = h('button', { type: 'submit' }, t('svc.send'));
  return h(
    'form',
    {
      'aria-label': t('svc.chargeOrWaiver'),
      onsubmit: (e) => {
        e.preventDefault();
        const [kind, component] = what.value.split(':');
        const path = `/v1/loans/${loan.value}/${kind === 'charge' ? 'charges' : 'waivers'}`;
        const body = { amount: amount.value, reason: reason.value };
        if (kind === 'waiver') body.component = component;
        busy(button, async () => {
          try {
            const answer = await action.send('POST', path, body);
            const done = answer.status === 202;
            const args = { amount: display(amount.value), component: word('adjust.component', component) };
            const words = t(kind === 'charge' ? 'svc.charged' : 'svc.waived', args);
            status.show(
              notice(
                h(
                  'span',
                  { dataset: { testid: 'adjustment-result' } },
                  done ? t('svc.sentForApproval', { what: words }) : words,
                ),
                done ? t('svc.anotherMust') : t('svc.period'),
              ),
            );
          } catch (err) {
            status.error(err);
          }
        });
      },
    },
    h('h2', {}, t('svc.chargesAndWaivers')),
    field(t('svc.loanNumber'), loan),
    field(t('svc.what'), what),
    field(t('svc.amount'), amount),
    field(t('svc.why'), reason, t('svc.whyHint')),
    button,
    status.el,
  );
}

function servicingView() {
  return h(
    'section',
    {},
    heading(t('svc.title')),
    h('p', {}, t('svc.intro')),
    h(
      'div',
      { class: 'cards' },
      h('div', { class: 'card' }, returnForm()),
      h('div', { class: 'card' }, adjustmentForm()),
    ),
  );
}

/** The console's servicing views over the console's API client. */
export function servicingViews(client) {
  api = client;
  return { collectionsView, caseView, servicingView, home: () => go('#/collections') };
}

/**
 * Servicing pages of the console (issue 15), kept in their own module: the collections queue and
 * a case (assign, contact log, promise to pay, outcome) for collectors and ops; goods returns and
 * charges and waivers for ops. Staff see customers by their masked name (the API masks them by the
 * one rule table, src/privacy/masking.ts) and every code in plain words.
 */
import { moneyAction } from '../shared/api.js';
import { busy, facts, field, fill, go, h, notice, statusArea, table } from '../shared/dom.js';
import { AMOUNT_PATTERN, display } from '../shared/money.js';

const CHANNELS = { call: 'Phone call', sms: 'Text message', visit: 'Visit', letter: 'Letter' };
const OUTCOMES = {
  no_answer: 'No answer',
  promise_to_pay: 'Promised to pay',
  refused: 'Refused to pay',
  wrong_number: 'Wrong number',
  paid: 'Says it is paid',
  hardship: 'In hardship',
  dispute: 'Disputes the debt',
};
const COMPONENTS = { fee: 'fee', interest: 'interest', penalty: 'late fee' };
const REFUND_TO = { card: "to the customer's card", credit_balance: "kept as the customer's credit balance" };
const QUEUE_PAGE = 100;

const heading = (text) => h('h1', {}, text);
const plain = (map, code) => map[code] ?? code.replaceAll('_', ' ');
const select = (name, options, attrs = {}) =>
  h(
    'select',
    { name, ...attrs },
    Object.entries(options).map(([value, label]) => h('option', { value }, label)),
  );
const promiseText = (date, amount) => (date ? `${display(amount)} by ${date}` : 'none');

/** The console's servicing views over the console's API client. */
export function servicingViews(api) {
  async function collectionsView() {
    const page = await api.get(`/v1/collections/queue?names=true&limit=${QUEUE_PAGE}`);
    return h(
      'section',
      {},
      heading('Collections'),
      h('p', {}, 'Customers behind on their payments, the longest overdue first.'),
      page.items.length
        ? table(
            'Overdue loans, most days past due first',
            ['Customer', 'Days overdue', 'Overdue', 'Assigned to', 'Promise to pay', 'Follow up on'],
            page.items.map((c) => {
              const who = c.customer_name ?? 'a customer';
              return [
                h('a', { href: `#/collections/${c.loan_id}`, 'aria-label': `Open the case of ${who}` }, who),
                String(c.days_past_due),
                display(c.overdue),
                c.assignee ?? 'nobody yet',
                promiseText(c.promise_date, c.promise_amount),
                c.next_follow_up ?? '—',
              ];
            }),
            { dataset: { testid: 'collections' } },
          )
        : h('p', { dataset: { testid: 'collections-empty' } }, 'Nobody is behind on their payments.'),
    );
  }

  function assignForm(loanId, list, status, rerender) {
    const choice = h(
      'select',
      { name: 'collector' },
      list.items.map((c) => h('option', { value: c.id }, c.username)),
    );
    const button = h('button', { type: 'submit' }, 'Assign');
    return h(
      'form',
      {
        'aria-label': 'Assign the case',
        onsubmit: (e) => {
          e.preventDefault();
          busy(button, async () => {
            try {
              await api.send('PUT', `/v1/collections/loans/${loanId}/assignee`, {
                collector_id: choice.value,
              });
              await rerender(notice('Assigned to ', choice.selectedOptions[0]?.textContent ?? '', '.'));
            } catch (err) {
              status.error(err);
            }
          });
        },
      },
      field('Collector', choice),
      button,
    );
  }

  function contactForm(loanId, status, rerender) {
    const channel = select('channel', CHANNELS);
    const outcome = select('outcome', OUTCOMES);
    const date = h('input', { name: 'promise_date', type: 'date' });
    const amount = h('input', { name: 'promise_amount', inputmode: 'decimal', pattern: AMOUNT_PATTERN });
    const button = h('button', { type: 'submit' }, 'Log the contact');
    return h(
      'form',
      {
        'aria-label': 'Log a contact',
        onsubmit: (e) => {
          e.preventDefault();
          const promised = outcome.value === 'promise_to_pay';
          const body = { channel: channel.value, outcome: outcome.value };
          if (promised) Object.assign(body, { promise_date: date.value, promise_amount: amount.value });
          busy(button, async () => {
            try {
              await api.post(`/v1/collections/loans/${loanId}/contacts`, body);
              await rerender(notice('Logged: ', plain(OUTCOMES, outcome.value), '.'));
            } catch (err) {
              status.error(err);
            }
          });
        },
      },
      h('h2', {}, 'Log a contact'),
      field('How', channel),
      field('Outcome', outcome),
      field('Promised date', date, 'only for a promise to pay'),
      field('Promised amount (CNY)', amount, 'only for a promise to pay'),
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
        heading(`Case of ${c.customer_name ?? 'a customer'}`),
        message ?? null,
        facts(
          [
            ['Customer', c.customer_name ?? '—', 'case-customer'],
            ['Phone', c.customer_phone ?? '—', 'case-phone'],
            ['Days overdue', `${c.days_past_due} (${c.bucket})`, 'case-dpd'],
            ['Assigned to', c.assignee ?? 'nobody yet', 'case-assignee'],
            ['Promise to pay', promiseText(c.promise_date, c.promise_amount), 'case-promise'],
            ['Follow up on', c.next_follow_up ?? '—'],
            ['Late fees paused until', c.paused_until ?? 'not paused'],
          ],
          { dataset: { testid: 'case' } },
        ),
        c.contacts.length
          ? table(
              'Contacts, newest first',
              ['On', 'How', 'Outcome', 'Promise', 'By'],
              c.contacts.map((k) => [
                k.business_date,
                plain(CHANNELS, k.channel),
                plain(OUTCOMES, k.outcome),
                promiseText(k.promise_date, k.promise_amount),
                k.by,
              ]),
              { dataset: { testid: 'contacts' } },
            )
          : h('p', {}, 'No contact logged yet.'),
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
    const refundTo = select('refund_to', { card: "The customer's card", credit_balance: 'Credit balance' });
    const button = h('button', { type: 'submit' }, 'Record the return');
    return h(
      'form',
      {
        'aria-label': 'Goods return',
        onsubmit: (e) => {
          e.preventDefault();
          const body = { refund_to: refundTo.value };
          if (amount.value) body.amount = amount.value;
          busy(button, async () => {
            try {
              const r = (await action.send('POST', `/v1/orders/${order.value}/returns`, body)).body;
              status.show(
                notice(
                  h('span', { dataset: { testid: 'return-result' } }, `Returned ${display(r.returned)}`),
                  `: ${display(r.refund)} refunded ${REFUND_TO[r.refund_to] ?? ''}, `,
                  `${display(r.credit_released)} of credit released.`,
                ),
              );
            } catch (err) {
              status.error(err);
            }
          });
        },
      },
      h('h2', {}, 'Goods returned'),
      field('Order number', order),
      field('Value returned (CNY)', amount, 'leave empty when everything comes back'),
      field('Refund', refundTo),
      button,
      status.el,
    );
  }

  const ADJUSTMENTS = {
    'charge:fee': 'Charge a fee',
    'waiver:fee': 'Waive a fee',
    'waiver:interest': 'Waive interest',
    'waiver:penalty': 'Waive a late fee',
  };

  function adjustmentForm() {
    const status = statusArea();
    const action = moneyAction(api);
    const loan = h('input', { name: 'loan', required: true, pattern: '^[0-9]{1,19}$' });
    const what = select('what', ADJUSTMENTS);
    const amount = h('input', {
      name: 'amount',
      required: true,
      inputmode: 'decimal',
      pattern: AMOUNT_PATTERN,
    });
    const reason = h('input', { name: 'reason', required: true, maxlength: 200 });
    const button = h('button', { type: 'submit' }, 'Send');
    return h(
      'form',
      {
        'aria-label': 'Charge or waiver',
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
              const words = `${kind === 'charge' ? 'Charged' : 'Waived'} ${display(amount.value)} of ${COMPONENTS[component]}`;
              status.show(
                notice(
                  h(
                    'span',
                    { dataset: { testid: 'adjustment-result' } },
                    done ? `Sent for a second approval: ${words.toLowerCase()}` : words,
                  ),
                  done ? '. Another staff member must approve it.' : '.',
                ),
              );
            } catch (err) {
              status.error(err);
            }
          });
        },
      },
      h('h2', {}, 'Charges and waivers'),
      field('Loan number', loan),
      field('What', what),
      field('Amount (CNY)', amount),
      field('Why', reason, 'in plain words; the customer may read it'),
      button,
      status.el,
    );
  }

  function servicingView() {
    return h(
      'section',
      {},
      heading('Returns, charges and waivers'),
      h('p', {}, 'Large waivers and charges wait for a second approval before they apply.'),
      h(
        'div',
        { class: 'cards' },
        h('div', { class: 'card' }, returnForm()),
        h('div', { class: 'card' }, adjustmentForm()),
      ),
    );
  }

  return { collectionsView, caseView, servicingView, home: () => go('#/collections') };
}

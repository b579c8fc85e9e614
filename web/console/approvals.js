/**
 * What waits for a second person: credit lines above the approval limit (risk and ops) and
 * charges and waivers above the staff limit (ops). The customer's credit is shown first; people
 * are shown by name, customers by masked name.
 */
import { moneyAction } from '../shared/api.js';
import { busy, facts, field, fill, h, notice } from '../shared/dom.js';
import { t } from '../shared/i18n.js';
import { display } from '../shared/money.js';
import { badge, customerLink, heading, statusArea, table, waited, when, word } from './ui.js';

const PROPOSAL_PAGE = 50;
const ADJUSTMENT_PAGE = 50;
const PROPOSAL_STATES = ['open', 'approved', 'rejected'];

/** The customer's current credit: what anyone must see before approving more. */
export function creditContext(c) {
  const worst = c.max_days_past_due;
  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'context-h', dataset: { testid: 'customer-credit' } },
    h('h2', { id: 'context-h' }, t('context.title')),
    facts([
      [
        t('customer.line'),
        c.line
          ? t('customer.lineText', {
              limit: display(c.line.limit),
              used: display(c.line.used),
              status: word('status', c.line.status),
            })
          : t('customer.noLine'),
        'context-line',
      ],
      [t('context.open'), String(c.open_loans), 'context-open-loans'],
      [
        t('customer.dpd'),
        worst === 0 ? t('customer.dpdNone') : t('common.days', { n: worst }),
        'context-dpd',
      ],
    ]),
    c.loans.length
      ? table(
          t('customer.loansCaption'),
          [t('loan.loan'), t('loan.principal'), t('loan.status'), t('loan.dpd'), t('loan.bucket')],
          c.loans.map((l) => [
            l.id,
            display(l.principal),
            word('status', l.status),
            String(l.days_past_due),
            word('bucket', l.bucket),
          ]),
          { dataset: { testid: 'context-loans' } },
        )
      : h('p', {}, t('customer.noLoans')),
  );
}

/** The API client the views use: one per console page, set by the factory below. */
let api;

async function proposalsView(_params, query) {
  const state = PROPOSAL_STATES.includes(query.get('status')) ? query.get('status') : 'open';
  const page = await api.get(`/v1/credit-proposals?status=${state}&limit=${PROPOSAL_PAGE}`);
  return h(
    'section',
    {},
    heading(t('proposals.title')),
    h('p', {}, t('proposals.intro')),
    page.items.length
      ? table(
          t('proposals.caption', { state: word('status', state) }),
          ['proposal', 'what', 'customer', 'limit', 'why', 'by', 'when'].map((k) => t(`proposals.${k}`)),
          page.items.map((p) => [
            h('a', { href: `#/proposals/${p.id}`, 'aria-label': t('proposals.open', { id: p.id }) }, p.id),
            word('proposals.kind', p.kind),
            customerLink(p.customer_id, p.customer_name ?? null),
            display(p.limit),
            word('proposals.reason', p.reason),
            p.proposed_by_name ?? t('common.dash'),
            when(p.created_at),
          ]),
          { dataset: { testid: 'proposals' } },
        )
      : h(
          'p',
          { dataset: { testid: 'proposals-empty' } },
          t('proposals.empty', { state: word('status', state) }),
        ),
  );
}

function decidePanel(p, status, decide) {
  const approve = h('button', { type: 'button' }, t('proposal.approve'));
  const note = h('input', { name: 'note', required: true, maxlength: 500 });
  const reject = h('button', { type: 'submit', class: 'danger' }, t('proposal.reject'));
  approve.addEventListener('click', () =>
    decide(
      approve,
      'approve',
      undefined,
      t('proposal.approved', { customer: p.customer_name ?? p.customer_id, limit: display(p.limit) }),
    ),
  );
  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'decide-h' },
    h('h2', { id: 'decide-h' }, t('proposal.decide')),
    h('p', {}, t('proposal.notOwn')),
    h('div', { class: 'actions' }, approve),
    h(
      'form',
      {
        'aria-label': t('proposal.reject'),
        class: 'spaced',
        onsubmit: (e) => {
          e.preventDefault();
          decide(reject, 'reject', { note: note.value.trim() }, t('proposal.rejected'));
        },
      },
      field(t('proposal.rejectNote'), note),
      h('div', { class: 'actions' }, reject),
    ),
    status.el,
  );
}

async function proposalView({ id }, query) {
  const outlet = h('section', {});
  let message = query.get('sent') ? notice(t('proposal.sent'), t('proposal.sentHint')) : null;
  const render = async () => {
    const { proposal: p, customer } = await api.get(`/v1/credit-proposals/${encodeURIComponent(id)}`);
    const status = statusArea();
    const decide = (button, path, body, done) =>
      busy(button, async () => {
        status.clear();
        try {
          await api.post(`/v1/credit-proposals/${p.id}/${path}`, body);
          message = notice(done);
          await render();
        } catch (err) {
          status.error(err);
        }
      });
    fill(
      outlet,
      heading(t('proposal.title', { id: p.id })),
      message,
      facts([
        [t('proposals.what'), word('proposals.kind', p.kind)],
        [t('proposals.customer'), customerLink(p.customer_id, p.customer_name ?? null)],
        [t('proposals.limit'), display(p.limit), 'proposal-limit'],
        [t('proposal.why'), word('proposals.reason', p.reason)],
        [
          t('proposal.askedBy'),
          t('proposal.askedText', {
            name: p.proposed_by_name ?? t('common.dash'),
            time: when(p.created_at),
          }),
        ],
        [t('proposal.status'), badge(p.status), 'proposal-status'],
        p.decided_by
          ? [
              t('proposal.decidedBy'),
              `${p.decided_by_name ?? t('common.dash')}${p.reject_note ? `: ${p.reject_note}` : ''}`,
            ]
          : null,
      ]),
      creditContext(customer),
      p.status === 'open' ? decidePanel(p, status, decide) : null,
      h('p', {}, h('a', { href: '#/proposals' }, t('proposal.back'))),
    );
  };
  await render();
  return outlet;
}

function adjustmentButtons(p, decide) {
  if (p.yours) return h('span', {}, t('adjust.yours'));
  const approve = h(
    'button',
    { type: 'button', 'aria-label': t('adjust.approveLabel', { id: p.proposal_id }) },
    t('adjust.approve'),
  );
  const reject = h(
    'button',
    { type: 'button', class: 'danger', 'aria-label': t('adjust.rejectLabel', { id: p.proposal_id }) },
    t('adjust.reject'),
  );
  approve.addEventListener('click', () => decide(p, 'approve', approve));
  reject.addEventListener('click', () => decide(p, 'reject', reject));
  return h('div', { class: 'actions' }, approve, reject);
}

async function adjustmentsView() {
  const outlet = h('section', {});
  let message = null;
  const status = statusArea();
  // one action per proposal and verb: a retry after no answer carries the same Idempotency-Key
  const actions = new Map();
  const actionFor = (id, verb) => {
    if (!actions.has(`${id}/${verb}`)) actions.set(`${id}/${verb}`, moneyAction(api));
    return actions.get(`${id}/${verb}`);
  };
  const decide = (p, verb, button) =>
    busy(button, async () => {
      status.clear();
      try {
        await actionFor(p.proposal_id, verb).send(
          'POST',
          `/v1/adjustment-proposals/${p.proposal_id}/${verb}`,
        );
        const args = { kind: word('adjust.kind', p.kind), amount: display(p.amount), loan: p.loan_id };
        message = notice(t(verb === 'approve' ? 'adjust.approved' : 'adjust.rejected', args));
        await render();
      } catch (err) {
        status.error(err);
      }
    });
  const render = async () => {
    const page = await api.get(`/v1/adjustment-proposals?status=open&limit=${ADJUSTMENT_PAGE}`);
    fill(
      outlet,
      heading(t('adjust.title')),
      message,
      h('p', {}, t('adjust.intro')),
      page.items.length
        ? table(
            t('adjust.caption'),
            [
              t('proposals.proposal'),
              t('proposals.customer'),
              t('adjust.loan'),
              t('adjust.what'),
              t('adjust.amount'),
              t('proposals.by'),
              t('reviews.waiting'),
              t('adjust.reason'),
              t('adjust.decide'),
            ],
            page.items.map((p) => [
              p.proposal_id,
              customerLink(p.customer_id, p.customer_name),
              h('a', { href: `#/loans/${p.loan_id}` }, p.loan_id),
              p.kind === 'charge'
                ? t('adjust.charge')
                : t('adjust.waiver', { component: word('adjust.component', p.component) }),
              display(p.amount),
              p.proposed_by_name,
              waited(p.age_s),
              p.reason,
              adjustmentButtons(p, decide),
            ]),
            { dataset: { testid: 'adjustment-proposals' } },
          )
        : h('p', { dataset: { testid: 'adjustment-proposals-empty' } }, t('adjust.empty')),
      status.el,
    );
  };
  await render();
  return outlet;
}

export function approvalViews(client) {
  api = client;
  return { proposalsView, proposalView, adjustmentsView };
}

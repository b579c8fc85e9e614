/**
 * Risk pages: the review queue (masked names, waiting time, assignee; take one), the decision list
 * with filters, and a decision: outcome in words, the rules that fired apart from the rules that
 * could not be checked, the points per feature against the score, replay, and the review forms.
 */

import { signedBarChart } from '../shared/chart.js';
import { busy, facts, field, fill, go, h, notice } from '../shared/dom.js';
import { formatCount, t } from '../shared/i18n.js';
import { AMOUNT_PATTERN, display } from '../shared/money.js';
import { creditContext } from './approvals.js';
import { decisionHeadings, decisionRows } from './back-office.js';
import {
  badge,
  customerLink,
  errorBox,
  heading,
  outcome,
  reasonText,
  statusArea,
  table,
  waited,
  when,
  word,
} from './ui.js';

const REVIEW_PAGE = 50;
const DECISION_PAGE = 50;
const REVIEW_STATES = ['open', 'approved', 'declined'];
const OUTCOMES = ['approve', 'decline', 'refer'];
const GRADES = ['A', 'B', 'C', 'D', 'E'];
const PRODUCTS = ['goods', 'cash', 'car', 'education', 'home', 'business', 'travel', 'other'];
/** Decline reasons offered in the review form; any UPPER_SNAKE code is accepted. */
const DECLINE_REASONS = [
  'SCORE_TOO_LOW',
  'INCOME_NOT_VERIFIED',
  'IDENTITY_NOT_VERIFIED',
  'POLICY_EXCEPTION_DENIED',
];

const select = (id, values, chosen, label, { any = false } = {}) =>
  h(
    'select',
    { id, name: id },
    any ? h('option', { value: '' }, t('common.all')) : null,
    values.map((v) => h('option', { value: v, selected: v === chosen }, label(v))),
  );

/** The API client the views use: one per console page, set by the factory below. */
let api;

function reviewRow(r, take) {
  const open = h(
    'a',
    {
      href: `#/decisions/${r.decision_id}${r.suggested_line ? `?suggested=${r.suggested_line}` : ''}`,
      'aria-label': t('reviews.open', { id: r.decision_id }),
    },
    r.decision_id,
  );
  let who = r.assignee ?? t('reviews.nobody');
  if (r.status === 'open' && !r.assignee) {
    const button = h(
      'button',
      { type: 'button', class: 'secondary', 'aria-label': t('reviews.takeLabel', { id: r.decision_id }) },
      t('reviews.take'),
    );
    button.addEventListener('click', () => take(r, button));
    who = button;
  } else if (r.status !== 'open') {
    who = r.reviewer ?? r.assignee ?? t('common.dash');
  }
  // people first: a reviewer looks for a person, the application number is the link to the file
  return [
    customerLink(r.customer_id, r.customer_name),
    open,
    r.grade ?? t('common.dash'),
    r.score === null ? t('common.dash') : String(r.score),
    h(
      'ul',
      { class: 'plain' },
      r.reasons.map((c) => h('li', {}, reasonText(c))),
    ),
    r.suggested_line === null ? t('common.dash') : display(r.suggested_line),
    waited(r.waiting_s),
    who,
  ];
}

async function reviewsView(_params, query) {
  const state = REVIEW_STATES.includes(query.get('status')) ? query.get('status') : 'open';
  const outlet = h('section', { class: 'review-queue' });
  let message = null;
  const status = statusArea();
  const take = (r, button) =>
    busy(button, async () => {
      try {
        await api.send('PUT', `/v1/reviews/${r.decision_id}/assignee`, {});
        message = notice(t('reviews.taken', { id: r.decision_id }));
        await render();
      } catch (err) {
        status.error(err);
      }
    });
  const render = async () => {
    const qs = new URLSearchParams({ status: state, limit: String(REVIEW_PAGE) });
    if (query.get('cursor')) qs.set('cursor', query.get('cursor'));
    const page = await api.get(`/v1/reviews?${qs}`);
    const picker = select('review-status', REVIEW_STATES, state, (v) => word('status', v));
    picker.addEventListener('change', (e) => go(`#/reviews?status=${e.target.value}`));
    const heads = ['customer', 'application', 'grade', 'score', 'reasons', 'line', 'waiting'].map((k) =>
      t(`reviews.${k}`),
    );
    fill(
      outlet,
      heading(t('reviews.title')),
      message,
      h('div', { class: 'field narrow' }, h('label', { for: 'review-status' }, t('reviews.show')), picker),
      page.items.length
        ? table(
            t('reviews.caption', { state: word('status', state) }),
            [...heads, t(state === 'open' ? 'reviews.assignee' : 'reviews.reviewer')],
            page.items.map((r) => reviewRow(r, take)),
            { dataset: { testid: 'reviews' } },
          )
        : h(
            'p',
            { dataset: { testid: 'reviews-empty' } },
            t('reviews.empty', { state: word('status', state) }),
          ),
      status.el,
      page.next_cursor
        ? h(
            'a',
            { class: 'button secondary', href: `#/reviews?status=${state}&cursor=${page.next_cursor}` },
            t('common.next'),
          )
        : null,
    );
  };
  await render();
  return outlet;
}

function decisionFilters(query) {
  const outcomeSel = select('f-outcome', OUTCOMES, query.get('outcome'), (v) => word('outcome', v), {
    any: true,
  });
  const gradeSel = select('f-grade', GRADES, query.get('grade'), (v) => v, { any: true });
  const productSel = select('f-product', PRODUCTS, query.get('product'), (v) => word('product', v), {
    any: true,
  });
  const from = h('input', { type: 'date', id: 'f-from', name: 'from', value: query.get('from') ?? '' });
  const to = h('input', { type: 'date', id: 'f-to', name: 'to', value: query.get('to') ?? '' });
  const onsubmit = (e) => {
    e.preventDefault();
    const qs = new URLSearchParams();
    for (const [k, el] of [
      ['outcome', outcomeSel],
      ['grade', gradeSel],
      ['product', productSel],
      ['from', from],
      ['to', to],
    ]) {
      if (el.value) qs.set(k, el.value);
    }
    go(`#/decisions?${qs}`);
  };
  const cell = (label, el) => h('div', { class: 'field' }, h('label', { for: el.id }, label), el);
  return h(
    'form',
    { class: 'filters', 'aria-label': t('common.filter'), onsubmit },
    cell(t('decisions.outcome'), outcomeSel),
    cell(t('decisions.grade'), gradeSel),
    cell(t('decisions.product'), productSel),
    cell(t('decisions.from'), from),
    cell(t('decisions.to'), to),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, t('decisions.apply'))),
  );
}

function findForm() {
  const id = h('input', {
    id: 'find-id',
    name: 'id',
    inputmode: 'numeric',
    pattern: '^\\d{1,19}$',
    required: true,
    maxlength: 19,
  });
  return h(
    'form',
    {
      class: 'filters',
      'aria-label': t('decision.find'),
      onsubmit: (e) => {
        e.preventDefault();
        go(`#/decisions/${id.value.trim()}`);
      },
    },
    field(t('decision.id'), id),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, t('decision.open'))),
  );
}

async function decisionsView(_params, query) {
  const qs = new URLSearchParams({ limit: String(DECISION_PAGE) });
  for (const k of ['outcome', 'grade', 'product', 'from', 'to', 'cursor'])
    if (query.get(k)) qs.set(k, query.get(k));
  const status = statusArea();
  const page = await api.get(`/v1/decisions?${qs}`).catch((err) => {
    status.error(err);
    return { items: [], next_cursor: null };
  });
  const next = new URLSearchParams(query);
  if (page.next_cursor) next.set('cursor', page.next_cursor);
  return h(
    'section',
    {},
    heading(t('decisions.title')),
    decisionFilters(query),
    status.el,
    page.items.length
      ? table(
          t('decisions.caption'),
          [...decisionHeadings().slice(0, 1), t('decision.customer'), ...decisionHeadings().slice(1)],
          decisionRows(page.items).map((row, i) => [
            row[0],
            customerLink(page.items[i].customer_id, page.items[i].customer_name),
            ...row.slice(1),
          ]),
          { dataset: { testid: 'decisions' } },
        )
      : h('p', { dataset: { testid: 'decisions-empty' } }, t('decisions.empty')),
    page.next_cursor
      ? h('a', { class: 'button secondary', href: `#/decisions?${next}` }, t('common.next'))
      : null,
    h('h2', {}, t('decision.find')),
    findForm(),
  );
}

function reviewForms(d, suggested, onResolved) {
  const status = statusArea();
  const line = h('input', {
    name: 'line',
    inputmode: 'decimal',
    pattern: AMOUNT_PATTERN,
    required: true,
    maxlength: 16,
    value: suggested ?? d.line ?? '',
  });
  const approve = h('button', { type: 'submit' }, t('decision.approve'));
  const reason = h('input', {
    name: 'reason',
    list: 'decline-reasons',
    required: true,
    maxlength: 64,
    pattern: '^[A-Z][A-Z0-9_]{1,63}$',
    placeholder: 'SCORE_TOO_LOW',
  });
  const decline = h('button', { type: 'submit', class: 'danger' }, t('decision.decline'));
  const resolve = (button, body) =>
    busy(button, async () => {
      status.clear();
      try {
        const resolved = await api.post(`/v1/reviews/${d.id}/decision`, body);
        // Above the approval limit the API answers a proposal: a second officer must approve it.
        if (resolved.kind === 'review_approval') return go(`#/proposals/${resolved.id}?sent=1`);
        let lineNow = null;
        if (resolved.review?.status === 'approved') {
          lineNow = await api.get(`/v1/customers/${resolved.customer_id}/credit-line`).catch(() => null);
        }
        onResolved(resolved, lineNow);
      } catch (err) {
        status.error(err);
      }
    });
  const form = (name, onsubmit, ...children) =>
    h('form', { 'aria-label': name, class: 'spaced', onsubmit }, ...children);
  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'resolve-h' },
    h('h2', { id: 'resolve-h' }, t('decision.resolve')),
    form(
      t('decision.approveForm'),
      (e) => {
        e.preventDefault();
        resolve(approve, { decision: 'approve', line: line.value.trim() });
      },
      field(t('decision.lineField'), line),
      h('div', { class: 'actions' }, approve),
    ),
    form(
      t('decision.declineForm'),
      (e) => {
        e.preventDefault();
        resolve(decline, { decision: 'decline', reason: reason.value.trim() });
      },
      field(t('decision.reasonField'), reason, t('decision.reasonHint')),
      h(
        'datalist',
        { id: 'decline-reasons' },
        DECLINE_REASONS.map((c) => h('option', { value: c, label: reasonText(c) })),
      ),
      h('div', { class: 'actions' }, decline),
    ),
    status.el,
  );
}

export function riskViews(client) {
  api = client;
  return { reviewsView, decisionsView, decisionView };
}

/** "Repayment history: paid duly / none / other": a feature and its bin for people. */
function featureLabel(feature, bin) {
  const value =
    bin === 'missing' ? t('feature.missing') : String(bin).replaceAll('_', ' ').replaceAll(' | ', ' / ');
  return `${word('feature', feature)}: ${value}`;
}

/** The rules that fired and the ones that could not be checked, as two lists. */
function rulesSection(rules) {
  const fact = (name) => word('fact', name ?? 'unknown');
  return h(
    'div',
    { class: 'rules' },
    h('h3', {}, t('decision.fired')),
    h('p', { class: 'hint' }, t('decision.firedHint')),
    rules.fired.length
      ? h(
          'ul',
          { dataset: { testid: 'rules-fired' } },
          rules.fired.map((r) =>
            h(
              'li',
              { dataset: { code: r.code } },
              reasonText(r.code),
              ' — ',
              t('decision.firedSaw', { fact: fact(r.fact), observed: String(r.observed) }),
            ),
          ),
        )
      : h('p', { dataset: { testid: 'rules-fired-none' } }, t('decision.firedNone')),
    h('h3', {}, t('decision.unknown')),
    h('p', { class: 'hint' }, t('decision.unknownHint')),
    rules.unknown.length
      ? h(
          'ul',
          { dataset: { testid: 'rules-unknown' } },
          rules.unknown.map((r) =>
            h(
              'li',
              { dataset: { code: r.code } },
              reasonText(r.code),
              ' — ',
              t('decision.unknownFact', { fact: fact(r.fact) }),
            ),
          ),
        )
      : h('p', { dataset: { testid: 'rules-unknown-none' } }, t('decision.unknownNone')),
  );
}

function decisionFacts(d) {
  return facts([
    [t('decision.outcome'), outcome(d.decision), 'outcome'],
    [t('decision.score'), d.score === null ? t('common.dash') : String(d.score), 'score'],
    [t('decision.grade'), d.grade ?? t('common.dash'), 'grade'],
    [t('decision.line'), d.line === null ? t('common.dash') : display(d.line, d.currency)],
    [t('decision.customer'), customerLink(d.customer_id, d.customer_name ?? null)],
    [t('decision.versions'), `${d.model_version ?? t('common.dash')} / ${d.policy_version}`],
    [
      t('decision.decided'),
      t('decision.decidedIn', { time: when(d.created_at), ms: formatCount(d.latency_ms) }),
    ],
    d.degraded.length ? [t('decision.degraded'), d.degraded.join(', ')] : null,
    d.review
      ? [
          t('decision.review'),
          [
            badge(d.review.status),
            d.review.line ? ` ${t('decision.reviewLine', { line: display(d.review.line) })}` : '',
            d.review.reason ? ` ${reasonText(d.review.reason)}` : '',
          ],
          'review-status',
        ]
      : null,
  ]);
}

/** The replay button and the area its answer goes to: the stored decision re-run and compared. */
function replayControls(d) {
  const area = h('div', { 'aria-live': 'polite' });
  const button = h('button', { type: 'button', class: 'secondary' }, t('decision.replay'));
  button.addEventListener('click', () =>
    busy(button, async () => {
      try {
        const r = await api.post(`/v1/credit-applications/${d.id}/replay`, undefined);
        const all = Object.entries(r.replayed.points ?? {}).map(([feature, value]) => ({
          label: word('feature', feature),
          value,
        }));
        fill(
          area,
          r.matches
            ? notice(t('decision.replayMatches'))
            : errorBox({
                code: 'REPLAY_DIFFERS',
                message: t('decision.replayDiffers', { fields: r.differences.join(', ') }),
              }),
          all.length ? signedBarChart(t('decision.replayPoints'), all, { total: d.score }) : null,
        );
      } catch (err) {
        fill(area, errorBox(err));
      }
    }),
  );
  return [h('div', { class: 'actions' }, button), area];
}

/** Reasons in words, the fired and unchecked rules, and the points per feature against the score. */
function explanation(d) {
  const points = d.score_reasons.map((r) => ({
    label: featureLabel(r.feature, r.bin),
    value: r.points,
    best: r.points + r.shortfall,
  }));
  return [
    h('h2', {}, t('decision.reasons')),
    d.reasons.length
      ? h(
          'ul',
          { dataset: { testid: 'reasons' } },
          d.reasons.map((r) => h('li', { dataset: { code: r.code } }, reasonText(r.code, r.message))),
        )
      : h('p', {}, t('common.none')),
    d.rules ? rulesSection(d.rules) : null,
    points.length
      ? [
          signedBarChart(t('decision.pointsTitle', { score: d.score ?? t('common.dash') }), points, {
            total: d.score,
          }),
          h('p', { class: 'hint' }, t('decision.pointsHint')),
        ]
      : h('p', {}, t('decision.pointsNone')),
  ];
}

async function decisionView({ id }, query) {
  const outlet = h('section', {});
  let message = null;
  const resolved = (review, line) => {
    message = notice(
      t('decision.resolved', { status: word('status', review.review.status) }),
      line ? t('decision.lineNow', { limit: display(line.limit), available: display(line.available) }) : '',
    );
    render();
  };
  const render = async () => {
    const d = await api.get(`/v1/credit-applications/${encodeURIComponent(id)}`);
    const open = d.review?.status === 'open';
    fill(
      outlet,
      heading(t('decision.title', { id: d.id })),
      message,
      decisionFacts(d),
      explanation(d),
      replayControls(d),
      open ? await customerCredit(d.customer_id) : null,
      open ? reviewForms(d, query.get('suggested'), resolved) : null,
      h('p', {}, h('a', { href: '#/reviews' }, t('decision.back'))),
    );
  };
  await render();
  return outlet;
}

/** The customer's line and loans, read for a review. */
async function customerCredit(customerId) {
  const [line, loans] = await Promise.all([
    api.get(`/v1/customers/${customerId}/credit-line`).catch(() => null),
    api.get(`/v1/loans?customer_id=${customerId}`).catch(() => ({ items: [] })),
  ]);
  const items = loans.items ?? [];
  const open = items.filter((l) => l.status === 'active');
  return creditContext({
    line: line && { limit: line.limit, used: line.used, status: line.status },
    loans: items,
    open_loans: open.length,
    max_days_past_due: open.reduce((m, l) => Math.max(m, l.days_past_due), 0),
  });
}

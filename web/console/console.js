/**
 * The operations console for staff. Risk staff work the review queue, read a decision (score,
 * points per feature as a chart, reasons) and the policy; ops staff watch the overview charts and
 * replay dead-lettered orders and decide the charges and waivers another ops member proposed.
 * Both see the overview and the credit proposals that wait for a second approver (with the
 * customer's line, loans and days past due shown first). The API decides who may do what; the
 * console only hides what a role cannot use.
 */
import { ApiError, createClient, moneyAction } from '../shared/api.js';
import { barChart, lineChart, signedBarChart } from '../shared/chart.js';
import {
  badge,
  busy,
  errorBox,
  facts,
  field,
  fill,
  go,
  h,
  localTime,
  markCurrent,
  notice,
  startShell,
  statusArea,
  table,
} from '../shared/dom.js';
import { loginPage } from '../shared/login.js';
import { AMOUNT_PATTERN, display } from '../shared/money.js';
import { servicingViews } from './servicing.js';

const STAFF_ROLES = ['risk', 'ops'];
/** Who may log in: collectors too, for the collections pages (./servicing.js). */
const CONSOLE_ROLES = [...STAFF_ROLES, 'collector'];
const OVERVIEW_DAYS = [7, 14, 30];
/** Decline reasons offered in the review form; any UPPER_SNAKE code is accepted. */
const DECLINE_REASONS = [
  'SCORE_TOO_LOW',
  'INCOME_NOT_VERIFIED',
  'IDENTITY_NOT_VERIFIED',
  'POLICY_EXCEPTION_DENIED',
];
const DEAD_LETTER_PAGE = 50;

const api = createClient({
  tokenKey: 'fenqi.console.token',
  onUnauthorized: () => go(`#/login?next=${encodeURIComponent(location.hash || '#/')}`),
});

const heading = (text) => h('h1', {}, text);

// ---- log in ----------------------------------------------------------------------------------

const loginView = loginPage({
  api,
  title: 'Staff log in',
  identity: { label: 'Username', name: 'username', attrs: { autocomplete: 'username', maxlength: 64 } },
  accepts: (role) => CONSOLE_ROLES.includes(role),
  refusal: () => new ApiError(403, 'NOT_STAFF', 'the console is for staff; customers use /app/'),
});

// ---- overview (risk and ops) -----------------------------------------------------------------

async function overviewView(_params, query) {
  const days = OVERVIEW_DAYS.includes(Number(query.get('days'))) ? Number(query.get('days')) : 14;
  const s = await api.get(`/v1/ops/summary?days=${days}`);
  const picker = h(
    'select',
    { id: 'days', onchange: (e) => go(`#/overview?days=${e.target.value}`) },
    OVERVIEW_DAYS.map((d) => h('option', { value: d, selected: d === days }, `last ${d} days`)),
  );
  const decided = s.decisions_by_day.reduce((n, d) => n + d.approve + d.decline + d.refer, 0);
  return h(
    'section',
    {},
    heading('Overview'),
    h('div', { class: 'field', style: 'max-width: 14rem' }, h('label', { for: 'days' }, 'Period'), picker),
    h(
      'div',
      { class: 'cards', style: 'margin: 1rem 0' },
      h(
        'div',
        { class: 'card', dataset: { testid: 'ledger' } },
        h('h2', {}, 'Ledger, last ', String(s.ledger.window_hours), ' h'),
        h('p', {}, badge(s.ledger.status)),
        facts([
          ['Entries checked', String(s.ledger.entries)],
          ['Debits', display(s.ledger.debits)],
          ['Credits', display(s.ledger.credits)],
          ['Unbalanced', String(s.ledger.unbalanced_entries)],
        ]),
        s.ledger.truncated ? h('p', { class: 'hint' }, 'Only the newest entries were checked.') : null,
      ),
      h(
        'div',
        { class: 'card' },
        h('h2', {}, 'Close of business'),
        s.last_cob
          ? [
              h('p', {}, badge(s.last_cob.status)),
              facts([
                ['Business date', s.last_cob.business_date],
                ['Loans closed', `${s.last_cob.loans_done} of ${s.last_cob.loans_total}`],
              ]),
            ]
          : h('p', {}, 'No day closed yet.'),
      ),
      h(
        'div',
        { class: 'card' },
        h('h2', {}, 'Decisions'),
        facts([
          [`Made in ${s.days} days`, String(decided), 'decisions-total'],
          ['Waiting for review', String(s.open_reviews), 'open-reviews'],
        ]),
      ),
    ),
    lineChart(
      `Credit decisions per day by outcome (${s.time_zone})`,
      s.decisions_by_day.map((d) => d.date),
      [
        { name: 'approve', values: s.decisions_by_day.map((d) => d.approve) },
        { name: 'decline', values: s.decisions_by_day.map((d) => d.decline) },
        { name: 'refer', values: s.decisions_by_day.map((d) => d.refer) },
      ],
    ),
    barChart(
      'Active loans per delinquency bucket',
      s.loans_by_bucket.map((b) => ({ label: b.bucket, value: b.loans })),
    ),
    h('p', { class: 'hint' }, `As of ${localTime(s.generated_at)}`),
  );
}

// ---- reviews and decisions (risk) ------------------------------------------------------------

async function reviewsView(_params, query) {
  const state = ['open', 'approved', 'declined'].includes(query.get('status')) ? query.get('status') : 'open';
  const qs = new URLSearchParams({ status: state, limit: '50' });
  if (query.get('cursor')) qs.set('cursor', query.get('cursor'));
  const page = await api.get(`/v1/reviews?${qs}`);
  const picker = h(
    'select',
    { id: 'review-status', onchange: (e) => go(`#/reviews?status=${e.target.value}`) },
    ['open', 'approved', 'declined'].map((v) => h('option', { value: v, selected: v === state }, v)),
  );
  return h(
    'section',
    {},
    heading('Review queue'),
    h(
      'div',
      { class: 'field', style: 'max-width: 14rem' },
      h('label', { for: 'review-status' }, 'Show'),
      picker,
    ),
    page.items.length
      ? table(
          `${state} reviews, oldest first`,
          ['Application', 'Customer', 'Grade', 'Score', 'Reasons', 'Suggested line', 'Received'],
          page.items.map((r) => [
            h(
              'a',
              {
                href: `#/decisions/${r.decision_id}${r.suggested_line ? `?suggested=${r.suggested_line}` : ''}`,
                'aria-label': `Open application ${r.decision_id}`,
              },
              r.decision_id,
            ),
            r.customer_id,
            r.grade ?? '—',
            r.score === null ? '—' : String(r.score),
            r.reasons.join(', '),
            r.suggested_line === null ? '—' : display(r.suggested_line),
            localTime(r.created_at),
          ]),
          { dataset: { testid: 'reviews' } },
        )
      : h('p', { dataset: { testid: 'reviews-empty' } }, `No ${state} reviews.`),
    page.next_cursor
      ? h(
          'a',
          { class: 'button secondary', href: `#/reviews?status=${state}&cursor=${page.next_cursor}` },
          'Next page',
        )
      : null,
  );
}

function decisionLookupView() {
  const id = h('input', {
    name: 'id',
    inputmode: 'numeric',
    pattern: '^\\d{1,19}$',
    required: true,
    maxlength: 19,
  });
  return h(
    'section',
    {},
    heading('Find a decision'),
    h(
      'form',
      {
        onsubmit: (e) => {
          e.preventDefault();
          go(`#/decisions/${id.value.trim()}`);
        },
      },
      field('Application id', id),
      h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Open')),
    ),
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
  const approve = h('button', { type: 'submit' }, 'Approve with this line');
  const reason = h('input', {
    name: 'reason',
    list: 'decline-reasons',
    required: true,
    maxlength: 64,
    pattern: '^[A-Z][A-Z0-9_]{1,63}$',
    placeholder: 'SCORE_TOO_LOW',
  });
  const decline = h('button', { type: 'submit', class: 'danger' }, 'Decline');
  const resolve = (button, body) =>
    busy(button, async () => {
      status.clear();
      try {
        const resolved = await api.post(`/v1/reviews/${d.id}/decision`, body);
        // Above the approval limit the API answers a proposal: a second officer must approve it.
        if (resolved.kind === 'review_approval') {
          go(`#/proposals/${resolved.id}?sent=1`);
          return;
        }
        let lineNow = null;
        if (resolved.review?.status === 'approved') {
          lineNow = await api.get(`/v1/customers/${resolved.customer_id}/credit-line`).catch(() => null);
        }
        onResolved(resolved, lineNow);
      } catch (err) {
        status.error(err);
      }
    });
  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'resolve-h' },
    h('h2', { id: 'resolve-h' }, 'Resolve this review'),
    h(
      'form',
      {
        'aria-label': 'Approve',
        onsubmit: (e) => {
          e.preventDefault();
          resolve(approve, { decision: 'approve', line: line.value.trim() });
        },
      },
      field('Credit line (CNY)', line),
      h('div', { class: 'actions' }, approve),
    ),
    h(
      'form',
      {
        'aria-label': 'Decline',
        style: 'margin-top: 1rem',
        onsubmit: (e) => {
          e.preventDefault();
          resolve(decline, { decision: 'decline', reason: reason.value.trim() });
        },
      },
      field('Reason code', reason, 'UPPER_SNAKE, e.g. SCORE_TOO_LOW'),
      h(
        'datalist',
        { id: 'decline-reasons' },
        DECLINE_REASONS.map((c) => h('option', { value: c })),
      ),
      h('div', { class: 'actions' }, decline),
    ),
    status.el,
  );
}

async function decisionView({ id }, query) {
  const outlet = h('section', {});
  let message = null;
  const render = async () => {
    const d = await api.get(`/v1/credit-applications/${encodeURIComponent(id)}`);
    const points = d.score_reasons.map((r) => ({ label: `${r.feature}: ${r.bin}`, value: r.points }));
    const replayArea = h('div', { 'aria-live': 'polite' });
    const replay = h('button', { type: 'button', class: 'secondary' }, 'Replay under its model and policy');
    replay.addEventListener('click', () =>
      busy(replay, async () => {
        try {
          const r = await api.post(`/v1/credit-applications/${d.id}/replay`, undefined);
          const all = Object.entries(r.replayed.points ?? {}).map(([feature, value]) => ({
            label: feature,
            value,
          }));
          fill(
            replayArea,
            r.matches
              ? notice('The replay matches the stored decision.')
              : errorBox({ code: 'REPLAY_DIFFERS', message: `differs in: ${r.differences.join(', ')}` }),
            all.length ? signedBarChart('Points per feature (all features, replayed)', all) : null,
          );
        } catch (err) {
          fill(replayArea, errorBox(err));
        }
      }),
    );
    fill(
      outlet,
      heading(`Application ${d.id}`),
      message,
      facts([
        ['Outcome', badge(d.decision), 'outcome'],
        ['Score', d.score === null ? '—' : String(d.score), 'score'],
        ['Grade', d.grade ?? '—', 'grade'],
        ['Line', d.line === null ? '—' : display(d.line, d.currency)],
        ['Customer', d.customer_id],
        ['Model / policy', `${d.model_version ?? '—'} / ${d.policy_version}`],
        ['Decided', `${localTime(d.created_at)} in ${d.latency_ms} ms`],
        d.degraded.length ? ['Degraded', d.degraded.join(', ')] : null,
        d.review
          ? [
              'Review',
              [
                badge(d.review.status),
                d.review.line ? ` line ${display(d.review.line)}` : '',
                d.review.reason ? ` ${d.review.reason}` : '',
              ],
              'review-status',
            ]
          : null,
      ]),
      h('h2', {}, 'Reasons'),
      d.reasons.length
        ? h(
            'ul',
            { dataset: { testid: 'reasons' } },
            d.reasons.map((r) => h('li', {}, h('code', {}, r.code), ' ', r.message)),
          )
        : h('p', {}, 'None.'),
      points.length
        ? signedBarChart('Points per feature (where the score lost points)', points)
        : h('p', {}, 'No score reasons: every feature scored its best.'),
      h('div', { class: 'actions' }, replay),
      replayArea,
      d.review?.status === 'open' ? await customerCreditCard(d.customer_id) : null,
      d.review?.status === 'open'
        ? reviewForms(d, query.get('suggested'), (resolved, line) => {
            message = notice(
              `Review ${resolved.review.status}.`,
              line
                ? ` The customer's credit line is now ${display(line.limit)} (available ${display(line.available)}).`
                : '',
            );
            render();
          })
        : null,
      h('p', {}, h('a', { href: '#/reviews' }, 'Back to the queue')),
    );
  };
  await render();
  return outlet;
}

// ---- credit proposals: a second person approves large lines (risk and ops) -------------------

const PROPOSAL_REASONS = {
  above_policy_max: 'the line is above the maximum the credit policy allows',
  above_threshold: 'the line is above the amount one person may approve alone',
};
const PROPOSAL_KINDS = {
  line_change: 'Credit line change',
  review_approval: 'Approval of a referred application',
};

/** The customer's current credit: what anyone must see before approving more. */
function creditContext(c) {
  const worst = c.max_days_past_due;
  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'context-h', dataset: { testid: 'customer-credit' } },
    h('h2', { id: 'context-h' }, "The customer's credit today"),
    facts([
      [
        'Credit line',
        c.line ? `${display(c.line.limit)} (used ${display(c.line.used)}, ${c.line.status})` : 'none yet',
        'context-line',
      ],
      ['Open loans', String(c.open_loans), 'context-open-loans'],
      ['Most days past due', worst === 0 ? '0 (nothing overdue)' : `${worst} days`, 'context-dpd'],
    ]),
    c.loans.length
      ? table(
          'Loans, newest first',
          ['Loan', 'Principal', 'Status', 'Days past due', 'Bucket'],
          c.loans.map((l) => [l.id, display(l.principal), l.status, String(l.days_past_due), l.bucket]),
          { dataset: { testid: 'context-loans' } },
        )
      : h('p', {}, 'No loans.'),
  );
}

/** The same picture for a review, read from the customer's line and loans. */
async function customerCreditCard(customerId) {
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

async function proposalsView(_params, query) {
  const state = ['open', 'approved', 'rejected'].includes(query.get('status')) ? query.get('status') : 'open';
  const page = await api.get(`/v1/credit-proposals?status=${state}&limit=50`);
  return h(
    'section',
    {},
    heading('Waiting for a second approval'),
    h(
      'p',
      {},
      'Credit lines above the approval limit or the policy maximum are not applied by the person who asks. ',
      'Another staff member checks the customer and approves or rejects them here.',
    ),
    page.items.length
      ? table(
          `${state} proposals, newest first`,
          ['Proposal', 'What', 'Customer', 'Line asked for', 'Why', 'Asked by', 'When'],
          page.items.map((p) => [
            h('a', { href: `#/proposals/${p.id}`, 'aria-label': `Open proposal ${p.id}` }, p.id),
            PROPOSAL_KINDS[p.kind] ?? p.kind,
            p.customer_id,
            display(p.limit),
            PROPOSAL_REASONS[p.reason] ?? p.reason,
            `staff ${p.proposed_by}`,
            localTime(p.created_at),
          ]),
          { dataset: { testid: 'proposals' } },
        )
      : h('p', { dataset: { testid: 'proposals-empty' } }, `No ${state} proposals.`),
  );
}

async function proposalView({ id }, query) {
  const outlet = h('section', {});
  let message = query.get('sent')
    ? notice('Sent for a second approval.', ' Another staff member must approve this line before it applies.')
    : null;
  const render = async () => {
    const { proposal: p, customer } = await api.get(`/v1/credit-proposals/${encodeURIComponent(id)}`);
    const status = statusArea();
    const approve = h('button', { type: 'button' }, 'Approve this line');
    const note = h('input', { name: 'note', required: true, maxlength: 500, placeholder: 'why not' });
    const reject = h('button', { type: 'submit', class: 'danger' }, 'Reject');
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
    approve.addEventListener('click', () =>
      decide(
        approve,
        'approve',
        undefined,
        `Approved: the line of customer ${p.customer_id} is now ${display(p.limit)}.`,
      ),
    );
    fill(
      outlet,
      heading(`Proposal ${p.id}`),
      message,
      facts([
        ['What', PROPOSAL_KINDS[p.kind] ?? p.kind],
        ['Customer', p.customer_id],
        ['Line asked for', display(p.limit), 'proposal-limit'],
        ['Why a second person', PROPOSAL_REASONS[p.reason] ?? p.reason],
        ['Asked by', `staff ${p.proposed_by} on ${localTime(p.created_at)}`],
        ['Status', badge(p.status), 'proposal-status'],
        p.decided_by
          ? ['Decided by', `staff ${p.decided_by}${p.reject_note ? `: ${p.reject_note}` : ''}`]
          : null,
      ]),
      creditContext(customer),
      p.status === 'open'
        ? h(
            'section',
            { class: 'card', 'aria-labelledby': 'decide-h' },
            h('h2', { id: 'decide-h' }, 'Approve or reject'),
            h('p', {}, 'You cannot decide a proposal you made yourself.'),
            h('div', { class: 'actions' }, approve),
            h(
              'form',
              {
                'aria-label': 'Reject',
                style: 'margin-top: 1rem',
                onsubmit: (e) => {
                  e.preventDefault();
                  decide(reject, 'reject', { note: note.value.trim() }, 'Rejected: nothing was changed.');
                },
              },
              field('Reason for rejecting', note),
              h('div', { class: 'actions' }, reject),
            ),
            status.el,
          )
        : null,
      h('p', {}, h('a', { href: '#/proposals' }, 'Back to the proposals')),
    );
  };
  await render();
  return outlet;
}

// ---- charges and waivers above the staff limit: another ops member decides them -------------

const ADJUSTMENT_PAGE = 50;

/** "just now", "12 min", "3 h", "2 days": how long a proposal has waited. */
function ageText(seconds) {
  if (seconds < 60) return 'just now';
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)} h`;
  const days = Math.floor(seconds / 86_400);
  return days === 1 ? '1 day' : `${days} days`;
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
  const render = async () => {
    const page = await api.get(`/v1/adjustment-proposals?status=open&limit=${ADJUSTMENT_PAGE}`);
    const decide = (p, verb, button) =>
      busy(button, async () => {
        status.clear();
        try {
          await actionFor(p.proposal_id, verb).send(
            'POST',
            `/v1/adjustment-proposals/${p.proposal_id}/${verb}`,
          );
          message = notice(
            verb === 'approve'
              ? `Approved: the ${p.kind} of ${display(p.amount)} on loan ${p.loan_id} is applied.`
              : `Rejected: the ${p.kind} of ${display(p.amount)} on loan ${p.loan_id} is not applied.`,
          );
          await render();
        } catch (err) {
          status.error(err);
        }
      });
    const decision = (p) => {
      if (p.yours) return h('span', {}, 'Yours: another ops member decides it');
      const approve = h(
        'button',
        { type: 'button', 'aria-label': `Approve proposal ${p.proposal_id}` },
        'Approve',
      );
      const reject = h(
        'button',
        { type: 'button', class: 'danger', 'aria-label': `Reject proposal ${p.proposal_id}` },
        'Reject',
      );
      approve.addEventListener('click', () => decide(p, 'approve', approve));
      reject.addEventListener('click', () => decide(p, 'reject', reject));
      return h('div', { class: 'actions' }, approve, reject);
    };
    fill(
      outlet,
      heading('Charges and waivers to approve'),
      message,
      h(
        'p',
        {},
        'A charge or waiver above the staff limit is not applied by the person who asks. ',
        'Another ops member checks it and approves or rejects it here.',
      ),
      page.items.length
        ? table(
            'Open proposals, newest first',
            ['Proposal', 'Customer', 'Loan', 'What', 'Amount', 'Asked by', 'Waiting', 'Reason', 'Decide'],
            page.items.map((p) => [
              p.proposal_id,
              `${p.customer_name} (${p.customer_id})`,
              p.loan_id,
              p.kind === 'charge' ? 'Charge (fee)' : `Waiver (${p.component})`,
              display(p.amount),
              p.proposed_by_name,
              ageText(p.age_s),
              p.reason,
              decision(p),
            ]),
            { dataset: { testid: 'adjustment-proposals' } },
          )
        : h(
            'p',
            { dataset: { testid: 'adjustment-proposals-empty' } },
            'No charges or waivers wait for approval.',
          ),
      status.el,
    );
  };
  await render();
  return outlet;
}

/** Roll back: copy an earlier version into a new active one, with a note saying why. */
function rollbackForm(versions, onDone) {
  const earlier = versions.filter((v) => !v.active);
  if (!earlier.length) return null;
  const version = h(
    'select',
    { name: 'version' },
    earlier.map((v) => h('option', { value: v.version }, `${v.version}: ${v.note}`)),
  );
  const note = h('input', { name: 'note', required: true, maxlength: 500, autocomplete: 'off' });
  const submit = h('button', { type: 'submit' }, 'Make this version active');
  const status = statusArea();
  // a retry after no answer carries the same key, so the roll-back happens once
  const activation = moneyAction(api);
  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'rollback-h' },
    h('h2', { id: 'rollback-h' }, 'Roll back'),
    h(
      'form',
      {
        onsubmit: (event) => {
          event.preventDefault();
          status.clear();
          busy(submit, async () => {
            try {
              const { body } = await activation.send('POST', `/v1/risk/policies/${version.value}/activate`, {
                note: note.value.trim(),
              });
              onDone(body);
            } catch (err) {
              status.error(err);
            }
          });
        },
      },
      field('Version', version),
      field('Why', note, 'Kept with the new version in the audit trail'),
      h('div', { class: 'actions' }, submit),
      status.el,
    ),
  );
}

async function policyView(_params, query) {
  const [active, versions] = await Promise.all([
    api.get('/v1/risk/policies/active').catch((err) => {
      if (err instanceof ApiError && err.code === 'POLICY_NOT_FOUND') return null;
      throw err;
    }),
    api.get('/v1/risk/policies?limit=20'),
  ]);
  const p = active?.policy;
  return h(
    'section',
    {},
    heading('Credit policy'),
    query.get('activated') ? notice(`Version ${query.get('activated')} is now active.`) : null,
    active
      ? [
          facts([
            ['Active version', String(active.version), 'policy-version'],
            ['Note', active.note],
            [
              'Published',
              `${localTime(active.created_at)}${active.published_by ? ` by staff ${active.published_by}` : ''}`,
            ],
            ['Approved grades', p.approveGrades.join(', ') || '—'],
            ['Referred grades', p.referGrades.join(', ') || '—'],
            [
              'Line',
              `${display(fromMinorText(p.line.minLineMinor))} to ${display(fromMinorText(p.line.maxLineMinor))}`,
            ],
          ]),
          table(
            'Hard rules',
            ['Code', 'Rule', 'Action', 'When unknown', 'Description'],
            p.rules.map((r) => [
              h('code', {}, r.code),
              `${r.fact} ${r.op} ${r.value}`,
              r.action,
              r.whenMissing,
              r.description,
            ]),
          ),
          table(
            'Line as a multiple of monthly income, per grade',
            ['Grade', 'Multiple'],
            Object.entries(p.line.incomeMultipleBp).map(([g, bp]) => [g, `${bp / 10000}×`]),
          ),
        ]
      : h('p', {}, 'No policy yet: the default is installed by the first decision.'),
    table(
      'Versions, newest first',
      ['Version', 'Active', 'Note', 'Published'],
      versions.items.map((v) => [
        String(v.version),
        v.active ? badge('active') : '',
        v.note,
        localTime(v.created_at),
      ]),
      { dataset: { testid: 'policy-versions' } },
    ),
    rollbackForm(versions.items, (made) => go(`#/policy?activated=${made.version}`)),
  );
}

/** "2000000" minor units (a policy's fen) → "20000.00" without floats. */
function fromMinorText(minor) {
  const digits = String(minor).padStart(3, '0');
  return `${digits.slice(0, -2)}.${digits.slice(-2)}`;
}

// ---- dead letters (ops) ----------------------------------------------------------------------

async function deadLettersView() {
  const outlet = h('section', {});
  let message = null;
  const render = async () => {
    const page = await api.get(`/v1/ops/dead-letters?limit=${DEAD_LETTER_PAGE}`);
    const status = statusArea();
    const boxes = page.items.map((d) =>
      h('input', {
        type: 'checkbox',
        value: d.seq,
        disabled: !d.replayable,
        'aria-label': `Select dead letter ${d.seq}`,
      }),
    );
    const replaySelected = h('button', { type: 'button' }, 'Replay selected');
    const replayAll = h('button', { type: 'button', class: 'secondary' }, 'Replay all');
    const replay = (button, body) =>
      busy(button, async () => {
        status.clear();
        try {
          const r = await api.post('/v1/ops/dead-letters/replay', body);
          message = notice(
            h('span', { dataset: { testid: 'replay-result' } }, `Replayed ${r.replayed}`),
            `, not found ${r.not_found}, unreplayable ${r.unreplayable}; ${r.remaining} left.`,
            r.done ? '' : ' More are waiting: replay all again.',
          );
          await render();
        } catch (err) {
          status.error(err);
        }
      });
    replaySelected.addEventListener('click', () => {
      const seqs = boxes.filter((b) => b.checked).map((b) => b.value);
      if (!seqs.length) {
        status.error({ code: 'NOTHING_SELECTED', message: 'select the dead letters to replay' });
        return;
      }
      replay(replaySelected, { seqs });
    });
    replayAll.addEventListener('click', () => replay(replayAll, { all: true }));
    fill(
      outlet,
      heading('Dead-lettered orders'),
      message,
      h('p', { dataset: { testid: 'dead-total' } }, `${page.total} held in FENQI_DEAD.`),
      page.items.length
        ? table(
            'Orders the settler could not process, oldest first',
            ['', 'Seq', 'Order', 'Customer', 'Reason', 'Deliveries', 'Dead since'],
            page.items.map((d, i) => [
              boxes[i],
              d.seq,
              d.order_id ?? '—',
              d.customer_id ?? '—',
              d.reason,
              String(d.deliveries),
              localTime(d.dead_lettered_at),
            ]),
            { dataset: { testid: 'dead-letters' } },
          )
        : h('p', {}, 'No dead letters: every order was processed.'),
      h('div', { class: 'actions' }, page.items.length ? replaySelected : null, replayAll),
      status.el,
    );
  };
  await render();
  return outlet;
}

// ---- shell -----------------------------------------------------------------------------------

const forRoles = (roles, render) => (params, query) => {
  if (!api.session.token) {
    go(`#/login?next=${encodeURIComponent(location.hash || '#/')}`);
    return null;
  }
  if (!roles.includes(api.session.role)) {
    return h(
      'section',
      {},
      heading('Not for your role'),
      errorBox({ code: 'FORBIDDEN', message: `this page is for ${roles.join(' or ')} staff` }),
    );
  }
  return render(params, query);
};

// ---- servicing (issue 15): collections, returns, charges and waivers, in ./servicing.js -------

const servicing = servicingViews(api);

function homeRedirect() {
  if (!api.session.token) go('#/login');
  else if (api.session.role === 'collector') servicing.home();
  else go(api.session.role === 'risk' ? '#/reviews' : '#/overview');
  return null;
}

const nav = document.getElementById('nav');
const logout = document.getElementById('logout');
const who = document.getElementById('who');
const syncShell = () => {
  const role = api.session.token ? api.session.role : null;
  nav.hidden = !role;
  logout.hidden = !role;
  who.textContent = role ? `${role} staff` : '';
  for (const link of nav.querySelectorAll('[data-role]'))
    link.hidden = !link.dataset.role.split(' ').includes(role);
  markCurrent(nav);
};
startShell({
  sync: syncShell,
  logOut: () => api.session.clear(),
  routes: [
    ['/login', loginView],
    ['/', homeRedirect],
    ['/overview', forRoles(STAFF_ROLES, overviewView)],
    ['/reviews', forRoles(['risk'], reviewsView)],
    ['/decisions', forRoles(['risk'], decisionLookupView)],
    ['/decisions/:id', forRoles(['risk'], decisionView)],
    ['/policy', forRoles(['risk'], policyView)],
    ['/dead-letters', forRoles(['ops'], deadLettersView)],
    ['/adjustments', forRoles(['ops'], adjustmentsView)],
    ['/proposals', forRoles(STAFF_ROLES, proposalsView)],
    ['/proposals/:id', forRoles(STAFF_ROLES, proposalView)],
    ['/collections', forRoles(['ops', 'collector'], servicing.collectionsView)],
    ['/collections/:id', forRoles(['ops', 'collector'], servicing.caseView)],
    ['/servicing', forRoles(['ops'], servicing.servicingView)],
  ],
  fallback: () =>
    h('section', {}, heading('Not found'), errorBox({ code: 'ROUTE_NOT_FOUND', message: 'no such page' })),
});

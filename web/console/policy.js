/**
 * The credit policy page: the active version (grades, line range, hard rules, income multiples),
 * the history, and a roll-back that shows exactly what would change (a diff against the active
 * version) before it is made active.
 */
import { ApiError, moneyAction } from '../shared/api.js';
import { busy, facts, field, fill, go, h, notice } from '../shared/dom.js';
import { t } from '../shared/i18n.js';
import { display } from '../shared/money.js';
import { heading, reasonText, statusArea, table, when, word } from './ui.js';

const POLICY_VERSIONS_PAGE = 20;

/** "2000000" minor units (a policy's fen) → "20000.00" without floats. */
function fromMinorText(minor) {
  const digits = String(minor).padStart(3, '0');
  return `${digits.slice(0, -2)}.${digits.slice(-2)}`;
}

/** Comparison signs people read, not the policy's op names. */
const OPS = { lt: '<', lte: '≤', gt: '>', gte: '≥', eq: '=', ne: '≠' };
const valueText = (v) => (typeof v === 'boolean' ? t(v ? 'policy.yes' : 'policy.no') : String(v));
const condition = (r) => `${word('fact', r.fact)} ${OPS[r.op] ?? r.op} ${valueText(r.value)}`;

const ruleText = (r) =>
  `${condition(r)} → ${word('policy.action', r.action)}` +
  `; ${t('policy.whenMissing')}: ${word('policy.missing', r.whenMissing)}`;

/** The settings of a policy flattened to label → text, for comparing two versions. */
function flatten(p) {
  const out = new Map();
  out.set(t('policy.approveGrades'), p.approveGrades.join(', ') || t('common.dash'));
  out.set(t('policy.referGrades'), p.referGrades.join(', ') || t('common.dash'));
  out.set(
    t('policy.lineRange'),
    t('policy.lineText', {
      min: display(fromMinorText(p.line.minLineMinor)),
      max: display(fromMinorText(p.line.maxLineMinor)),
    }),
  );
  for (const [g, bp] of Object.entries(p.line.incomeMultipleBp)) {
    out.set(`${t('policy.multiple')} ${g}`, `${bp / 10000}×`);
  }
  for (const r of p.rules) out.set(`${reasonText(r.code, r.description)} (${r.code})`, ruleText(r));
  for (const [source, d] of Object.entries(p.degradation)) {
    out.set(`${t('decision.degraded')} ${source}`, `${d.referMarginPoints} / ${d.lineFactorBp}bp`);
  }
  return out;
}

/** What changes from `now` to `after`: rows of [setting, now, after], only where they differ. */
export function policyDiff(now, after) {
  const a = flatten(now);
  const b = flatten(after);
  const rows = [];
  for (const key of new Set([...a.keys(), ...b.keys()])) {
    if (a.get(key) === b.get(key)) continue;
    rows.push([key, a.get(key) ?? t('policy.added'), b.get(key) ?? t('policy.removed')]);
  }
  return rows;
}

/** The API client the views use: one per console page, set by the factory below. */
let api;

/** Roll back: shows the diff of the chosen version against the active one, then makes it active. */
function rollbackForm(active, versions, onDone) {
  const earlier = versions.filter((v) => !v.active);
  if (!earlier.length) return null;
  const version = h(
    'select',
    { name: 'version' },
    earlier.map((v) => h('option', { value: v.version }, `${v.version}: ${v.note}`)),
  );
  const note = h('input', { name: 'note', required: true, maxlength: 500, autocomplete: 'off' });
  const submit = h('button', { type: 'submit' }, t('policy.confirm'));
  const diffArea = h('div', { 'aria-live': 'polite', dataset: { testid: 'policy-diff' } });
  const status = statusArea();
  // a retry after no answer carries the same key, so the roll-back happens once
  const activation = moneyAction(api);
  const showDiff = async () => {
    try {
      const target = await api.get(`/v1/risk/policies/${version.value}`);
      const rows = active ? policyDiff(active.policy, target.policy) : [];
      fill(
        diffArea,
        h('h3', {}, t('policy.diffTitle', { from: active?.version ?? t('common.dash'), to: version.value })),
        rows.length
          ? table(
              t('policy.diffTitle', { from: active?.version ?? '', to: version.value }),
              [t('policy.diffField'), t('policy.diffNow'), t('policy.diffAfter')],
              rows,
            )
          : h('p', {}, t('policy.diffNone')),
      );
    } catch (err) {
      status.error(err);
    }
  };
  version.addEventListener('change', showDiff);
  showDiff();
  const onsubmit = (event) => {
    event.preventDefault();
    status.clear();
    busy(submit, async () => {
      try {
        const path = `/v1/risk/policies/${version.value}/activate`;
        const { body } = await activation.send('POST', path, { note: note.value.trim() });
        onDone(body);
      } catch (err) {
        status.error(err);
      }
    });
  };
  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'rollback-h' },
    h('h2', { id: 'rollback-h' }, t('policy.rollback')),
    h(
      'form',
      { onsubmit },
      field(t('policy.version'), version),
      diffArea,
      field(t('policy.why'), note, t('policy.whyHint')),
      h('div', { class: 'actions' }, submit),
      status.el,
    ),
  );
}

function activeFacts(active) {
  const p = active.policy;
  return [
    facts([
      [t('policy.active'), String(active.version), 'policy-version'],
      [t('policy.note'), active.note],
      [
        t('policy.published'),
        active.published_by
          ? t('policy.publishedBy', {
              time: when(active.created_at),
              name: active.published_by_name ?? active.published_by,
            })
          : when(active.created_at),
      ],
      [t('policy.approveGrades'), p.approveGrades.join(', ') || t('common.dash')],
      [t('policy.referGrades'), p.referGrades.join(', ') || t('common.dash')],
      [
        t('policy.lineRange'),
        t('policy.lineText', {
          min: display(fromMinorText(p.line.minLineMinor)),
          max: display(fromMinorText(p.line.maxLineMinor)),
        }),
      ],
    ]),
    table(
      t('policy.rules'),
      ['code', 'rule', 'action', 'whenMissing', 'description'].map((k) => t(`policy.${k}`)),
      p.rules.map((r) => [
        h('code', {}, r.code),
        condition(r),
        word('policy.action', r.action),
        word('policy.missing', r.whenMissing),
        reasonText(r.code, r.description),
      ]),
    ),
    table(
      t('policy.multiples'),
      [t('policy.grade'), t('policy.multiple')],
      Object.entries(p.line.incomeMultipleBp).map(([g, bp]) => [g, `${bp / 10000}×`]),
    ),
  ];
}

async function policyView(_params, query) {
  const [active, versions] = await Promise.all([
    api.get('/v1/risk/policies/active').catch((err) => {
      if (err instanceof ApiError && err.code === 'POLICY_NOT_FOUND') return null;
      throw err;
    }),
    api.get(`/v1/risk/policies?limit=${POLICY_VERSIONS_PAGE}`),
  ]);
  return h(
    'section',
    {},
    heading(t('policy.title')),
    query.get('activated') ? notice(t('policy.activated', { version: query.get('activated') })) : null,
    active ? activeFacts(active) : h('p', {}, t('policy.none')),
    table(
      t('policy.versions'),
      [t('policy.version'), t('policy.isActive'), t('policy.note'), t('policy.published')],
      versions.items.map((v) => [
        String(v.version),
        v.active ? h('span', { class: 'badge active' }, t('policy.isActive')) : '',
        v.note,
        when(v.created_at),
      ]),
      { dataset: { testid: 'policy-versions' } },
    ),
    rollbackForm(active, versions.items, (made) => go(`#/policy?activated=${made.version}`)),
  );
}

export function policyViews(client) {
  api = client;
  return { policyView };
}

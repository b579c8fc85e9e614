/**
 * The operations console for staff, Chinese first (English by the switch in the header). Risk
 * staff work the review queue, the decision list and a decision, and the policy; ops staff watch
 * the overview (amounts owed per bucket, through to the loans), held orders, and the charges and
 * waivers another ops member proposed; both see a customer's page and the credit proposals that
 * wait for a second approver. The API decides who may do what; the console only hides what a role
 * cannot use. Strings live in ./messages.js.
 */
import { createClient } from '../shared/api.js';
import { barChart, lineChart } from '../shared/chart.js';
import { busy, facts, fill, go, h, markCurrent, notice, startShell } from '../shared/dom.js';
import { LOCALE_EVENT, locale, setLocale, t } from '../shared/i18n.js';
import { display } from '../shared/money.js';
import { approvalViews } from './approvals.js';
import { backOfficeViews } from './back-office.js';
import { policyViews } from './policy.js';
import { riskViews } from './risk.js';
import { servicingViews } from './servicing.js';
import {
  autoRefresh,
  badge,
  day,
  errorBox,
  heading,
  REFRESH_INTERVAL_MS,
  statusArea,
  table,
  when,
  word,
} from './ui.js';

const STAFF_ROLES = ['risk', 'ops'];
/** Who may log in: collectors too, for the collections pages (./servicing.js). */
const CONSOLE_ROLES = [...STAFF_ROLES, 'collector'];
const OVERVIEW_DAYS = [7, 14, 30];
const OVERVIEW_DAYS_DEFAULT = 14;
const DEAD_LETTER_PAGE = 50;
const OUTCOMES = ['approve', 'decline', 'refer'];

const api = createClient({
  tokenKey: 'fenqi.console.token',
  onUnauthorized: () => go(`#/login?next=${encodeURIComponent(location.hash || '#/')}`),
});

// ---- log in ----------------------------------------------------------------------------------

function loginView(_params, query) {
  const username = h('input', {
    id: 'login-username',
    name: 'username',
    required: true,
    autocomplete: 'username',
    maxlength: 64,
  });
  const password = h('input', {
    id: 'login-password',
    name: 'password',
    type: 'password',
    autocomplete: 'current-password',
    required: true,
    maxlength: 128,
  });
  const submit = h('button', { type: 'submit' }, t('login.submit'));
  const status = statusArea();
  const onsubmit = (event) => {
    event.preventDefault();
    status.clear();
    busy(submit, async () => {
      try {
        const token = await api.post('/v1/auth/login', {
          username: username.value.trim(),
          password: password.value,
        });
        if (!CONSOLE_ROLES.includes(token.role)) throw { code: 'NOT_STAFF', message: t('login.notStaff') };
        api.session.save(token.access_token, token.role);
        try {
          sessionStorage.setItem('fenqi.console.name', username.value.trim());
        } catch {
          // the name is only for the header
        }
        password.value = '';
        go(query.get('next') || '#/');
      } catch (err) {
        status.error(err);
      }
    });
  };
  const row = (label, input) => h('div', { class: 'field' }, h('label', { for: input.id }, label), input);
  return h(
    'section',
    {},
    heading(t('login.title')),
    h(
      'form',
      { onsubmit },
      row(t('login.username'), username),
      row(t('login.password'), password),
      h('div', { class: 'actions' }, submit),
      status.el,
    ),
  );
}

// ---- overview (risk and ops) -----------------------------------------------------------------

function bucketTable(buckets) {
  return table(
    t('overview.buckets'),
    [t('overview.bucket'), t('overview.loans'), t('overview.owed'), t('overview.principal')],
    buckets.map((b) => [
      h(
        'a',
        {
          href: `#/buckets/${encodeURIComponent(b.bucket)}`,
          'aria-label': t('overview.open', { bucket: word('bucket', b.bucket) }),
        },
        word('bucket', b.bucket),
      ),
      String(b.loans),
      display(b.owed ?? '0.00'),
      display(b.principal),
    ]),
    { dataset: { testid: 'buckets' } },
  );
}

function overviewCards(s) {
  const decided = s.decisions_by_day.reduce((n, d) => n + d.approve + d.decline + d.refer, 0);
  return h(
    'div',
    { class: 'cards' },
    h(
      'div',
      { class: 'card', dataset: { testid: 'ledger' } },
      h('h2', {}, t('overview.ledger', { hours: s.ledger.window_hours })),
      h('p', {}, badge(s.ledger.status)),
      facts([
        [t('overview.entries'), String(s.ledger.entries)],
        [t('overview.debits'), display(s.ledger.debits)],
        [t('overview.credits'), display(s.ledger.credits)],
        [t('overview.unbalanced'), String(s.ledger.unbalanced_entries)],
      ]),
      s.ledger.truncated ? h('p', { class: 'hint' }, t('overview.truncated')) : null,
    ),
    h(
      'div',
      { class: 'card' },
      h('h2', {}, t('overview.cob')),
      s.last_cob
        ? [
            h('p', {}, badge(s.last_cob.status)),
            facts([
              [t('overview.businessDate'), day(s.last_cob.business_date)],
              [
                t('overview.loansClosed'),
                t('overview.loansOf', { done: s.last_cob.loans_done, total: s.last_cob.loans_total }),
              ],
            ]),
          ]
        : h('p', {}, t('overview.noCob')),
    ),
    h(
      'div',
      { class: 'card' },
      h('h2', {}, t('overview.decisions')),
      facts([
        [t('overview.made', { days: s.days }), String(decided), 'decisions-total'],
        [t('overview.waiting'), String(s.open_reviews), 'open-reviews'],
      ]),
    ),
  );
}

async function overviewView(_params, query) {
  const asked = Number(query.get('days'));
  const days = OVERVIEW_DAYS.includes(asked) ? asked : OVERVIEW_DAYS_DEFAULT;
  const outlet = h('section', {});
  const picker = h(
    'select',
    { id: 'days', onchange: (e) => go(`#/overview?days=${e.target.value}`) },
    OVERVIEW_DAYS.map((d) =>
      h('option', { value: d, selected: d === days }, t('common.lastDays', { days: d })),
    ),
  );
  const render = async () => {
    const s = await api.get(`/v1/ops/summary?days=${days}`);
    fill(
      outlet,
      heading(t('overview.title')),
      h(
        'div',
        { class: 'toolbar' },
        h('div', { class: 'field narrow' }, h('label', { for: 'days' }, t('common.period')), picker),
        h(
          'p',
          { class: 'hint' },
          t('common.refreshed', { time: when(s.generated_at) }),
          ' · ',
          t('common.autoRefresh', { seconds: REFRESH_INTERVAL_MS / 1000 }),
        ),
      ),
      overviewCards(s),
      bucketTable(s.loans_by_bucket),
      lineChart(
        t('overview.decisionsChart', { zone: s.time_zone }),
        s.decisions_by_day.map((d) => d.date),
        OUTCOMES.map((o) => ({
          key: o,
          name: word('outcome', o),
          values: s.decisions_by_day.map((d) => d[o]),
        })),
      ),
      barChart(
        t('overview.bucketsChart'),
        s.loans_by_bucket.map((b) => ({ key: b.bucket, label: word('bucket', b.bucket), value: b.loans })),
        { headings: [t('overview.bucket'), t('overview.loans')] },
      ),
    );
  };
  await render();
  autoRefresh(outlet, render);
  return outlet;
}

// ---- held orders (dead letters, ops) -----------------------------------------------------------

function deadTable(page, boxes) {
  return table(
    t('dead.caption'),
    [
      t('dead.select'),
      t('dead.number'),
      t('dead.order'),
      t('dead.customer'),
      t('dead.reason'),
      t('dead.deliveries'),
      t('dead.since'),
    ],
    page.items.map((d, i) => [
      boxes[i],
      d.seq,
      d.order_id ?? t('common.dash'),
      d.customer_id
        ? h('a', { href: `#/customers/${d.customer_id}` }, t('loan.customerPage'))
        : t('common.dash'),
      d.reason,
      String(d.deliveries),
      when(d.dead_lettered_at),
    ]),
    { dataset: { testid: 'dead-letters' } },
  );
}

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
        'aria-label': t('dead.selectLabel', { seq: d.seq }),
      }),
    );
    const replaySelected = h('button', { type: 'button' }, t('dead.replaySelected'));
    const replayAll = h('button', { type: 'button', class: 'secondary' }, t('dead.replayAll'));
    const replay = (button, body) =>
      busy(button, async () => {
        status.clear();
        try {
          const r = await api.post('/v1/ops/dead-letters/replay', body);
          message = notice(
            h('span', { dataset: { testid: 'replay-result' } }, t('dead.replayed', { n: r.replayed })),
            t('dead.replayRest', { missing: r.not_found, bad: r.unreplayable, left: r.remaining }),
            r.done ? '' : t('dead.more'),
          );
          await render();
        } catch (err) {
          status.error(err);
        }
      });
    replaySelected.addEventListener('click', () => {
      const seqs = boxes.filter((b) => b.checked).map((b) => b.value);
      if (!seqs.length) return status.error({ code: 'NOTHING_SELECTED', message: t('dead.nothingSelected') });
      replay(replaySelected, { seqs });
    });
    replayAll.addEventListener('click', () => replay(replayAll, { all: true }));
    const held = page.total > 0;
    fill(
      outlet,
      heading(t('dead.title')),
      message,
      h(
        'p',
        { dataset: { testid: 'dead-total' } },
        held ? t('dead.total', { n: page.total }) : t('dead.none'),
      ),
      page.items.length ? deadTable(page, boxes) : null,
      // "Replay all" only when something is held: with nothing held it would do nothing
      held ? h('div', { class: 'actions' }, page.items.length ? replaySelected : null, replayAll) : null,
      status.el,
      h('p', { class: 'hint' }, t('common.autoRefresh', { seconds: REFRESH_INTERVAL_MS / 1000 })),
    );
  };
  await render();
  autoRefresh(outlet, render);
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
      heading(t('common.forbiddenTitle')),
      errorBox({
        code: 'FORBIDDEN',
        message: t('common.forbidden', { roles: roles.map((r) => word('role', r)).join(' / ') }),
      }),
    );
  }
  return render(params, query);
};

const servicing = servicingViews(api);
const risk = riskViews(api);
const approvals = approvalViews(api);
const backOffice = backOfficeViews(api);
const policy = policyViews(api);

function homeRedirect() {
  if (!api.session.token) go('#/login');
  else if (api.session.role === 'collector') servicing.home();
  else go(api.session.role === 'risk' ? '#/reviews' : '#/overview');
  return null;
}

const nav = document.getElementById('nav');
const logout = document.getElementById('logout');
const who = document.getElementById('who');
const language = document.getElementById('language');

/** Every fixed string of the page around the views, in the chosen language. */
function translateShell() {
  document.documentElement.lang = locale();
  document.body.dataset.site = t('site.name');
  for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  nav.setAttribute('aria-label', t('shell.nav'));
  language.textContent = t('shell.language');
  language.setAttribute('aria-label', t('shell.languageLabel'));
  language.setAttribute('lang', locale() === 'zh-CN' ? 'en' : 'zh-CN');
}

const syncShell = () => {
  const role = api.session.token ? api.session.role : null;
  translateShell();
  nav.hidden = !role;
  logout.hidden = !role;
  let name = null;
  try {
    name = sessionStorage.getItem('fenqi.console.name');
  } catch {
    // no name: the role alone
  }
  who.textContent = role ? t('shell.who', { name: name ?? '', role: word('role', role) }).trim() : '';
  for (const link of nav.querySelectorAll('[data-role]'))
    link.hidden = !link.dataset.role.split(' ').includes(role);
  markCurrent(nav);
};

language.addEventListener('click', () => setLocale(locale() === 'zh-CN' ? 'en' : 'zh-CN'));

const shell = startShell({
  sync: syncShell,
  logOut: () => {
    api.session.clear();
    try {
      sessionStorage.removeItem('fenqi.console.name');
    } catch {
      // nothing stored
    }
  },
  routes: [
    ['/login', loginView],
    ['/', homeRedirect],
    ['/overview', forRoles(STAFF_ROLES, overviewView)],
    ['/buckets/:bucket', forRoles(STAFF_ROLES, backOffice.bucketView)],
    ['/loans/:id', forRoles(STAFF_ROLES, backOffice.loanView)],
    ['/customers', forRoles(STAFF_ROLES, backOffice.customerLookupView)],
    ['/customers/:id', forRoles(STAFF_ROLES, backOffice.customerView)],
    ['/reviews', forRoles(['risk'], risk.reviewsView)],
    ['/decisions', forRoles(['risk'], risk.decisionsView)],
    ['/decisions/:id', forRoles(['risk'], risk.decisionView)],
    ['/policy', forRoles(['risk'], policy.policyView)],
    ['/dead-letters', forRoles(['ops'], deadLettersView)],
    ['/adjustments', forRoles(['ops'], approvals.adjustmentsView)],
    ['/proposals', forRoles(STAFF_ROLES, approvals.proposalsView)],
    ['/proposals/:id', forRoles(STAFF_ROLES, approvals.proposalView)],
    ['/collections', forRoles(['ops', 'collector'], servicing.collectionsView)],
    ['/collections/:id', forRoles(['ops', 'collector'], servicing.caseView)],
    ['/servicing', forRoles(['ops'], servicing.servicingView)],
  ],
  fallback: () =>
    h(
      'section',
      {},
      heading(t('common.notFoundTitle')),
      errorBox({ code: 'ROUTE_NOT_FOUND', message: t('common.notFound') }),
    ),
});

// a language switch redraws the shell and the page in place
window.addEventListener(LOCALE_EVENT, () => {
  syncShell();
  shell.refresh();
});

/**
 * The borrower app, Chinese first and phone first: log in, sign up or reset a password by phone, see what is due
 * (next payment, this month's bill, anything late), apply for credit, buy on installments or borrow
 * cash, and repay. Every sentence comes from ./messages.js (error codes: ../shared/messages.js);
 * every number shown is the API's, sums on BigInt minor units (../shared/money.js).
 */
import '../shared/messages.js';
import './messages.js';
import { ApiError } from '../shared/api.js';
import {
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
import { formatDate, LOCALE_EVENT, LOCALES, locale, setLocale, t } from '../shared/i18n.js';
import { loginPage } from '../shared/login.js';
import { display } from '../shared/money.js';
import { amountInput, api } from './client.js';
import { forgotView } from './forgot.js';
import { homeView } from './home.js';
import { loansView, loanView } from './loans.js';
import { cashView, goodsView, shopView } from './shop.js';

/** What the credit application offers; the API's list (src/risk/features.ts PURPOSES). */
const PURPOSES = ['goods', 'cash', 'car', 'education', 'home', 'business', 'travel', 'other'];

/** The app install id the risk engine counts applications by: random, not personal. */
function deviceId() {
  let id = localStorage.getItem('fenqi.device');
  if (!id) {
    id = `web-${crypto.randomUUID()}`;
    localStorage.setItem('fenqi.device', id);
  }
  return id;
}

// ---- log in and sign up ----------------------------------------------------------------------

const loginView = (params, query) => {
  const view = loginPage({
    api,
    title: t('login.title'),
    submitLabel: t('login.submit'),
    passwordLabel: t('login.password'),
    identity: {
      label: t('login.phone'),
      name: 'phone',
      attrs: { type: 'tel', inputmode: 'numeric', autocomplete: 'username', maxlength: 20 },
    },
    accepts: (role) => role === 'customer',
    refusal: () => new ApiError(403, 'NOT_A_CUSTOMER', 'staff log in at the operations console (/console/)'),
  })(params, query);
  if (query.get('reset') === 'done') view.querySelector('h1')?.after(notice(t('login.reset_done')));
  view.append(
    h(
      'p',
      { class: 'actions' },
      h('a', { class: 'button secondary', href: '#/signup' }, t('login.signup')),
      h('a', { class: 'button secondary', href: '#/forgot' }, t('login.forgot')),
    ),
  );
  return view;
};

function signupView() {
  const input = (name, attrs) => h('input', { name, required: true, ...attrs });
  const phone = input('phone', { type: 'tel', inputmode: 'numeric', autocomplete: 'tel', maxlength: 20 });
  const password = input('password', {
    type: 'password',
    autocomplete: 'new-password',
    minlength: 8,
    maxlength: 128,
  });
  const name = input('legal_name', { autocomplete: 'name', maxlength: 64 });
  const nationalId = input('national_id', { autocomplete: 'off', maxlength: 24 });
  const submit = h('button', { type: 'submit' }, t('signup.submit'));
  const status = statusArea();
  const onsubmit = async (event) => {
    event.preventDefault();
    status.clear();
    await busy(submit, async () => {
      try {
        const body = {
          phone: phone.value.trim(),
          password: password.value,
          legal_name: name.value.trim(),
          national_id: nationalId.value.trim(),
        };
        await api.post('/v1/customers', body);
        const token = await api.post('/v1/auth/login', { phone: body.phone, password: body.password });
        api.session.save(token.access_token, token.role);
        go('#/');
      } catch (err) {
        status.error(err);
      }
    });
  };
  return h(
    'section',
    {},
    h('h1', {}, t('signup.title')),
    h(
      'form',
      { onsubmit },
      field(t('login.phone'), phone),
      field(t('login.password'), password, t('signup.password_hint')),
      field(t('signup.name'), name),
      field(t('signup.national_id'), nationalId),
      h('div', { class: 'actions' }, submit),
      status.el,
    ),
    h(
      'p',
      { class: 'actions' },
      h('a', { class: 'button secondary', href: '#/login' }, t('signup.have_account')),
    ),
  );
}

// ---- apply for credit ------------------------------------------------------------------------

/** One plain outcome, one reason and what to do: never the policy's rule lines or a provider's timeout. */
function decisionPanel(d) {
  const why = { refer: 'decision.refer_why', decline: 'decision.decline_why' }[d.decision];
  const next = { refer: 'decision.refer_do', decline: 'decision.decline_do' }[d.decision];
  return h(
    'section',
    { class: 'card', 'aria-labelledby': 'decision-h', dataset: { testid: 'decision', outcome: d.decision } },
    h('h2', { id: 'decision-h' }, t(`decision.${d.decision}`)),
    facts([
      d.grade ? [t('decision.grade'), d.grade, 'decision-grade'] : null,
      d.line !== null ? [t('decision.line'), display(d.line, d.currency), 'decision-line'] : null,
      [t('decision.application'), d.id],
    ]),
    // the policy's codes stay for support as data, never as text
    why
      ? h(
          'p',
          { dataset: { testid: 'decision-reason', codes: d.reasons.map((r) => r.code).join(' ') } },
          t(why),
        )
      : null,
    next ? h('p', { dataset: { testid: 'decision-next' } }, t(next)) : null,
    d.decision === 'approve' ? h('a', { class: 'button', href: '#/shop' }, t('decision.shop')) : null,
  );
}

function applyView() {
  const income = amountInput({ name: 'stated_income', required: true, placeholder: '15000.00' });
  const purpose = h(
    'select',
    { name: 'purpose', required: true },
    PURPOSES.map((p) => h('option', { value: p }, t(`purpose.${p}`))),
  );
  const requested = amountInput({ name: 'requested_amount' });
  const submit = h('button', { type: 'submit' }, t('apply.submit'));
  const status = statusArea();
  const result = h('div', {});
  const onsubmit = async (event) => {
    event.preventDefault();
    status.clear();
    await busy(submit, async () => {
      try {
        const body = { stated_income: income.value.trim(), purpose: purpose.value, device_id: deviceId() };
        if (requested.value.trim()) body.requested_amount = requested.value.trim();
        fill(result, decisionPanel(await api.post('/v1/credit-applications', body)));
        const heading = result.querySelector('h2');
        heading?.setAttribute('tabindex', '-1');
        heading?.focus();
      } catch (err) {
        status.error(err);
      }
    });
  };
  return h(
    'section',
    {},
    h('h1', {}, t('apply.title')),
    h(
      'form',
      { onsubmit },
      field(t('apply.income'), income, t('apply.income_hint')),
      field(t('apply.purpose'), purpose),
      field(t('apply.requested'), requested),
      h('p', { class: 'hint', dataset: { testid: 'bureau-consent' } }, t('apply.bureau')),
      h('div', { class: 'actions' }, submit),
      status.el,
    ),
    result,
  );
}

// ---- statements ------------------------------------------------------------------------------

const LINE_KINDS = ['installment', 'past_due', 'payment', 'charge'];

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
  const print = h('button', { type: 'button', class: 'secondary' }, t('bill.print'));
  print.addEventListener('click', () => openPrintable(st.id).catch((err) => status.error(err)));
  const kind = (k) => t(`bill.kind.${LINE_KINDS.includes(k) ? k : 'other'}`);
  return h(
    'section',
    {},
    h('h1', {}, t('bill.title', { start: formatDate(st.cycle_start), end: formatDate(st.cycle_end) })),
    facts([
      [t('bill.total'), display(st.total_due), 'statement-total'],
      [t('bill.due'), formatDate(st.due_date)],
      [t('bill.past_due'), display(st.past_due)],
      [t('bill.received'), display(st.payments_received)],
    ]),
    table(
      t('bill.lines'),
      [t('bill.col.date'), t('bill.col.item'), t('bill.col.amount')],
      lines.map((l) => [
        formatDate(l.date),
        `${kind(l.kind)}${l.installment ? ` · ${t('bill.installment', { n: l.installment })}` : ''}`,
        display(l.amount),
      ]),
      { dataset: { testid: 'statement-lines' } },
    ),
    h(
      'div',
      { class: 'actions' },
      print,
      h('a', { class: 'button secondary', href: '#/' }, t('common.home')),
    ),
    status.el,
  );
}

function notFoundView() {
  return h(
    'section',
    {},
    h('h1', {}, t('common.not_found')),
    errorBox({ code: 'ROUTE_NOT_FOUND' }),
    h('a', { class: 'button secondary', href: '#/' }, t('common.home')),
  );
}

// ---- shell -----------------------------------------------------------------------------------

const loggedIn = (render) => (params, query) => {
  if (!api.session.token) {
    go(`#/login?next=${encodeURIComponent(location.hash || '#/')}`);
    return null;
  }
  return render(params, query);
};

/** The header's fixed words, in the chosen language ([data-i18n] elements). */
function translateShell() {
  for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  document.getElementById('nav').setAttribute('aria-label', t('nav.main'));
  for (const button of document.querySelectorAll('[data-locale]')) {
    button.setAttribute('aria-pressed', String(button.dataset.locale === locale()));
  }
}

function languageSwitch() {
  const holder = document.getElementById('language');
  const names = { 'zh-CN': '中文', en: 'English' };
  fill(
    holder,
    LOCALES.map((loc) =>
      h(
        'button',
        {
          type: 'button',
          class: 'link lang',
          lang: loc,
          dataset: { locale: loc },
          onclick: () => setLocale(loc),
        },
        names[loc],
      ),
    ),
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
locale(); // sets <html lang> before anything is drawn
languageSwitch();
translateShell();
const router = startShell({
  sync: syncShell,
  logOut: () => api.session.clear(),
  routes: [
    ['/login', loginView],
    ['/signup', signupView],
    ['/forgot', forgotView],
    ['/', loggedIn(homeView)],
    ['/apply', loggedIn(applyView)],
    ['/shop', loggedIn(shopView)],
    ['/shop/:id', loggedIn(goodsView)],
    ['/cash', loggedIn(cashView)],
    ['/loans', loggedIn(loansView)],
    ['/loans/:id', loggedIn(loanView)],
    ['/statements/:id', loggedIn(statementView)],
  ],
  fallback: notFoundView,
});
window.addEventListener(LOCALE_EVENT, () => {
  translateShell();
  router.refresh();
});

/**
 * The console as its users meet it (issue 17): Chinese first with an English switch that sticks;
 * staff pages naming customers by masked name and staff by username, reasons in words; every page
 * usable on a 390x844 phone (each control inside the viewport and at least 44x44 px); the review
 * queue unclipped at 1366 px; keyboard-only journeys of a risk officer and an ops engineer; a
 * decision's fired rules apart from the ones that could not be checked; and the back-office reads
 * behind the pages. Screenshots of every page at phone and desktop size, in both languages, go to
 * artifacts/screenshots/console/ for people to look at.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Page } from 'playwright-core';
import { signAccessToken } from '../../src/api/auth.ts';
import { CURRENT_AGREEMENT_VERSION } from '../../src/domain/agreement.ts';
import { mask } from '../../src/privacy/masking.ts';
import { getCustomer } from '../../src/store/customers.ts';
import {
  APP_PHONE_VIEWPORT,
  assertCleanText,
  bearer,
  controlsOffOrSmall,
  customerWithLine,
  lineForEveryGrade,
  openPage,
  openWebLab,
  placeOrder,
  usePolicy,
  type WebCustomer,
  type WebLab,
} from './support.ts';

const DESKTOP = { width: 1366, height: 900 };
/** Tab presses a keyboard journey may take to reach one control before the test gives up. */
const TAB_LIMIT = 80;
const SHOTS = join(process.cwd(), 'artifacts', 'screenshots', 'console');
/** An UPPER_SNAKE code (SCORE_REVIEW, FENQI_DEAD): what staff must never have to read. */
const RAW_CODE = /\b[A-Z][A-Z0-9]+_[A-Z0-9_]+\b/;
type Locale = 'zh-CN' | 'en';
type Role = 'risk' | 'ops';

describe('operations console pages', () => {
  let lab: WebLab;
  let borrower: WebCustomer;
  let loanId: string;
  let orderId: string;
  let referredId: string;
  let maskedName: string;

  const token = (role: Role) =>
    signAccessToken(lab.platform.config.tokenSecret, { role, id: lab.demo.staff[role].id }, 900);
  const get = async (role: Role, url: string) => {
    const res = await lab.app.inject({ method: 'GET', url, headers: bearer(token(role)) });
    return { status: res.statusCode, body: res.json() };
  };
  const apply = async (c: WebCustomer) => {
    const res = await lab.app.inject({
      method: 'POST',
      url: '/v1/credit-applications',
      headers: bearer(c.token),
      payload: { stated_income: '12000.00', purpose: 'goods', device_id: `console-pages-${c.id}` },
    });
    assert.equal(res.statusCode, 200, res.body);
    return res.json() as { id: string; decision: string };
  };

  /** A page already logged in as `role`, in `locale`, at `viewport`. */
  async function staffPage(role: Role, locale: Locale, viewport = DESKTOP) {
    const opened = await openPage(lab, { viewport });
    const session = { token: token(role), role, locale, name: lab.demo.staff[role].login };
    // a script string: this file is compiled without the DOM's types
    await opened.context.addInitScript(`
      sessionStorage.setItem('fenqi.console.token', ${JSON.stringify(session.token)});
      sessionStorage.setItem('fenqi.console.token.role', ${JSON.stringify(role)});
      sessionStorage.setItem('fenqi.console.name', ${JSON.stringify(session.name)});
      localStorage.setItem('fenqi.lang', ${JSON.stringify(locale)});`);
    return opened;
  }

  async function show(page: Page, hash: string) {
    await page.goto(`/console/${hash}`);
    await page.locator('main h1').first().waitFor();
    await page.locator('#view:not([aria-busy])').waitFor();
  }

  before(async () => {
    lab = await openWebLab('web-console-pages', { nats: true });
    borrower = await customerWithLine(lab, '10000.00');
    const placed = await placeOrder(lab, borrower, 2, 3);
    loanId = placed.loan_id;
    orderId = placed.id;
    // the loan is 12 days late: bucket M1
    await lab.platform.db.sql`
      update loans set days_past_due = 12, bucket = 'M1' where customer_id = ${borrower.id} and id = ${BigInt(loanId)}`;
    await usePolicy(lab, (p) => {
      p.approveGrades = [];
      p.referGrades = ['A', 'B', 'C', 'D', 'E'];
      lineForEveryGrade(p);
    });
    referredId = (await apply(borrower)).id;
    const profile = await getCustomer(lab.platform.db.sql, lab.platform.services.crypto, borrower.id);
    maskedName = mask('legal_name', profile!.legalName, 'staff');
    mkdirSync(SHOTS, { recursive: true });
  });
  after(async () => {
    await lab?.close();
  });

  test('both languages hold the same console messages, and none is empty', async () => {
    // plain browser modules, loaded by URL (they have no type declarations)
    const web = (path: string) => new URL(`../../web/${path}`, import.meta.url).href;
    await import(web('console/messages.js'));
    await import(web('shared/chart.js'));
    const i18n = (await import(web('shared/i18n.js'))) as { keysOf(locale: string): string[] };
    const zh = i18n.keysOf('zh-CN').sort();
    assert.deepEqual(i18n.keysOf('en').sort(), zh);
    assert.ok(zh.length > 300, `${zh.length} messages`);
  });

  test('the console is Chinese by default, and the English switch sticks across a reload', async () => {
    // a browser set to Chinese, as the walk-through had it
    const context = await lab.browser.newContext({
      baseURL: lab.baseUrl,
      viewport: APP_PHONE_VIEWPORT,
      locale: 'zh-CN',
    });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(err.message));
    const close = () => context.close();
    try {
      await page.goto('/console/#/login');
      await page.getByRole('heading', { level: 1, name: '员工登录' }).waitFor();
      assert.equal(await page.evaluate('document.documentElement.lang'), 'zh-CN');
      await page.getByRole('button', { name: 'Switch to English' }).click();
      await page.getByRole('heading', { level: 1, name: 'Staff log in' }).waitFor();
      await page.reload();
      await page.getByRole('heading', { level: 1, name: 'Staff log in' }).waitFor();
      assert.equal(await page.evaluate('document.documentElement.lang'), 'en');
      await page.getByLabel('Username').fill('risk');
      await page.getByLabel('Password').fill(lab.demo.staff.risk.password);
      await page.getByRole('button', { name: 'Log in' }).click();
      await page.getByRole('heading', { level: 1, name: 'Review queue' }).waitFor();
      assert.match((await page.locator('#who').textContent()) ?? '', /^risk \(risk staff\)$/);
      await page.getByRole('button', { name: '切换到中文' }).click();
      await page.getByRole('heading', { level: 1, name: '审核队列' }).waitFor();
      assert.deepEqual(errors, []);
    } finally {
      await close();
    }
  });

  test('the review queue names the customer masked, shows reasons in words, waiting time and assignee, in both languages', async () => {
    for (const [locale, words] of [
      ['zh-CN', { nobody: '未分配', reason: '信用评分所在等级需人工审核', take: '由我处理' }],
      ['en', { nobody: 'Take it', reason: 'The score is in a grade a person reviews', take: 'Take it' }],
    ] as const) {
      const { page, errors, close } = await staffPage('risk', locale);
      try {
        await show(page, '#/reviews');
        const row = page.getByTestId('reviews').locator('tbody tr', { hasText: referredId });
        const text = (await row.textContent()) ?? '';
        assert.ok(text.includes(maskedName), text);
        assert.equal(
          (await row.locator('th, td').first().textContent())?.trim(),
          maskedName,
          'the first column is the person, not the application number',
        );
        assert.ok(!text.includes(borrower.id.toString()), 'customers are named, not numbered');
        assert.ok(text.includes(words.reason), text);
        assert.doesNotMatch(text, /SCORE_REVIEW|[A-Z]{3,}_[A-Z]/);
        assert.ok(text.includes(words.take) || text.includes(words.nobody), text);
        await assertCleanText(page);
        assert.deepEqual(errors, []);
      } finally {
        await close();
      }
    }
  });

  test('at 1366 px nothing in the review queue is clipped or scrolled sideways', async () => {
    const { page, close } = await staffPage('risk', 'zh-CN', DESKTOP);
    try {
      await show(page, '#/reviews');
      const problems = await page.evaluate<string[]>(`(() => {
        const out = [];
        if (document.documentElement.scrollWidth > window.innerWidth) out.push('the page scrolls sideways');
        for (const w of document.querySelectorAll('.table-wrap')) if (w.scrollWidth > w.clientWidth) out.push('the table scrolls sideways');
        for (const c of document.querySelectorAll('.review-queue th, .review-queue td')) {
          const r = c.getBoundingClientRect();
          if (r.right > window.innerWidth || r.left < 0) out.push('a cell is cut: ' + c.textContent);
          if (c.scrollWidth > c.clientWidth + 1) out.push('a cell overflows: ' + c.textContent);
        }
        return out;
      })()`);
      assert.deepEqual(problems, []);
    } finally {
      await close();
    }
  });

  /** Presses Tab until the focused element's accessible text matches, then returns. */
  async function tabTo(page: Page, name: RegExp | string) {
    for (let i = 0; i < TAB_LIMIT; i++) {
      await page.keyboard.press('Tab');
      const focused = await page.evaluate<string>(
        `(() => { const el = document.activeElement; return (el?.getAttribute('aria-label') || el?.labels?.[0]?.textContent || el?.textContent || '').trim(); })()`,
      );
      if (typeof name === 'string' ? focused === name : name.test(focused)) return;
    }
    assert.fail(`no control named ${name} within ${TAB_LIMIT} tab presses`);
  }

  test('a risk officer takes, reads and approves a referred application with the keyboard alone', async () => {
    const applicant = await customerWithLine(lab);
    const referred = await apply(applicant);
    assert.equal(referred.decision, 'refer');
    const { page, errors, close } = await staffPage('risk', 'en');
    try {
      await show(page, '#/reviews');
      await tabTo(page, `Take application ${referred.id}`);
      await page.keyboard.press('Enter');
      await page.getByText(`Application ${referred.id} is yours now.`).waitFor();
      const row = page.getByTestId('reviews').locator('tbody tr', { hasText: referred.id });
      assert.match((await row.textContent()) ?? '', /risk$/);
      await tabTo(page, `Open application ${referred.id}`);
      await page.keyboard.press('Enter');
      await page.getByRole('heading', { level: 1, name: `Application ${referred.id}` }).waitFor();
      assert.equal(await page.getByTestId('outcome').textContent(), 'Referred to a person');
      await tabTo(page, 'Credit line (CNY)');
      await page.keyboard.press('Control+A');
      await page.keyboard.type('6000.00');
      await page.keyboard.press('Enter');
      await page.getByText("The customer's credit line is now ¥6,000.00").waitFor();
      assert.deepEqual(errors, []);
    } finally {
      await close();
    }
  });

  test('an ops engineer drills from an overdue bucket to the loan with the keyboard alone, amounts owed shown', async () => {
    const { page, errors, close } = await staffPage('ops', 'zh-CN');
    try {
      await show(page, '#/overview');
      const bucketRow = page.getByTestId('buckets').locator('tbody tr').nth(1);
      const cells = await bucketRow.locator('td').allTextContents();
      assert.equal(cells[0], '逾期 1–30 天');
      assert.equal(cells[1], '1');
      assert.match(cells[2]!, /^¥[\d,]+\.\d\d$/);
      await tabTo(page, '查看 逾期 1–30 天 的贷款');
      await page.keyboard.press('Enter');
      await page.getByRole('heading', { level: 1, name: '逾期 1–30 天的贷款' }).waitFor();
      const loans = (await page.getByTestId('loans').textContent()) ?? '';
      assert.ok(loans.includes(maskedName), loans);
      await tabTo(page, `打开贷款 ${loanId}`);
      await page.keyboard.press('Enter');
      await page.getByRole('heading', { level: 1, name: `贷款 ${loanId}` }).waitFor();
      assert.equal(await page.getByTestId('loan-dpd').textContent(), '12');
      assert.equal(await page.getByTestId('loan-owed').textContent(), cells[2]);
      assert.deepEqual(errors, []);
    } finally {
      await close();
    }
  });

  test("a customer's page shows the identity masked, the line, loans with days past due, decisions, notes and the loan agreement accepted", async () => {
    for (const locale of ['zh-CN', 'en'] as const) {
      const { page, errors, close } = await staffPage('ops', locale);
      try {
        await show(page, `#/customers/${borrower.id}`);
        assert.equal(await page.getByTestId('customer-name').textContent(), maskedName);
        const text = (await page.locator('main').textContent()) ?? '';
        assert.ok(!text.includes(borrower.phone), 'the phone is masked');
        assert.ok(text.includes(loanId));
        assert.match((await page.getByTestId('customer-dpd').textContent()) ?? '', /^12/);
        assert.ok((await page.getByTestId('customer-decisions').locator('tbody tr').count()) >= 1);
        // the order was placed under an acceptance of the current agreement (placeOrder records it)
        const accepted = page.getByTestId('agreements').locator('tbody tr').first();
        const acceptedText = (await accepted.textContent()) ?? '';
        assert.ok(acceptedText.includes(CURRENT_AGREEMENT_VERSION), acceptedText);
        assert.ok(
          acceptedText.includes(orderId),
          `the acceptance names the order it covered: ${acceptedText}`,
        );
        await assertCleanText(page);
        assert.deepEqual(errors, []);
      } finally {
        await close();
      }
    }
  });

  test('a decision lists the rules that fired apart from those that could not be checked, in words', async () => {
    await usePolicy(lab, (p) => {
      lineForEveryGrade(p);
      p.rules.find((r) => r.code === 'TOO_MANY_INQUIRIES')!.whenMissing = 'refer';
    });
    const providers = lab.platform.services.risk.providers;
    lab.platform.services.risk.configure({
      providers: {
        ...providers,
        bureau: { name: 'down', fetchReport: async () => Promise.reject(new Error('down')) },
      },
    });
    let made: { id: string };
    try {
      made = await apply(await customerWithLine(lab, undefined, 16));
    } finally {
      lab.platform.services.risk.configure({ providers });
    }
    const stored = await get('risk', `/v1/credit-applications/${made.id}`);
    assert.deepEqual(
      stored.body.rules.fired.map((r: { code: string }) => r.code),
      ['AGE_BELOW_MIN'],
    );
    assert.deepEqual(
      stored.body.rules.unknown.map((r: { code: string }) => r.code),
      ['TOO_MANY_INQUIRIES'],
    );
    const codes = stored.body.reasons.map((r: { code: string }) => r.code);
    assert.ok(!codes.includes('TOO_MANY_INQUIRIES'), 'an unchecked rule is not a reason of its own');
    assert.ok(!(codes.includes('AGE_BELOW_MIN') && codes.includes('AGE_ABOVE_MAX')));
    const { page, errors, close } = await staffPage('risk', 'en');
    try {
      await show(page, `#/decisions/${made.id}`);
      assert.match((await page.getByTestId('rules-fired').textContent()) ?? '', /younger than 18 — age: 16/);
      assert.match(
        (await page.getByTestId('rules-unknown').textContent()) ?? '',
        /Over 6 lender inquiries in 6 months — missing: bureau inquiries/,
      );
      assert.doesNotMatch((await page.getByTestId('reasons').textContent()) ?? '', /[A-Z]{3,}_[A-Z]/);
      assert.deepEqual(errors, []);
    } finally {
      await close();
    }
  });

  test('the decision list filters by outcome, grade, product and dates, and refuses a bad range with a code', async () => {
    const all = await get('risk', '/v1/decisions?limit=100');
    assert.equal(all.status, 200);
    assert.ok(all.body.items.some((d: { id: string }) => d.id === referredId));
    const referred = await get('risk', '/v1/decisions?outcome=refer&product=goods');
    assert.ok(referred.body.items.every((d: { decision: string }) => d.decision === 'refer'));
    assert.ok(referred.body.items.every((d: { customer_name: string }) => !/^\d+$/.test(d.customer_name)));
    const cash = await get('risk', '/v1/decisions?product=cash');
    assert.deepEqual(cash.body.items, []);
    const future = await get('risk', '/v1/decisions?from=2999-01-01');
    assert.deepEqual(future.body.items, []);
    for (const [query, code] of [
      ['from=2027-02-01&to=2027-01-01', 'DATE_RANGE_INVALID'],
      ['from=2027-02-30', 'DATE_RANGE_INVALID'],
      ['from=2020-01-01&to=2027-01-01', 'DATE_RANGE_INVALID'],
      ['grade=Z', 'VALIDATION_FAILED'],
      ['limit=100000', 'VALIDATION_FAILED'],
      ['cursor=99999999999999999999', 'VALIDATION_FAILED'],
    ] as const) {
      const res = await get('risk', `/v1/decisions?${query}`);
      assert.equal(res.status, 400, `${query}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.error.code, code, `${query}: ${JSON.stringify(res.body)}`);
    }
    assert.equal((await get('ops', '/v1/decisions')).status, 403);
    const { page, errors, close } = await staffPage('risk', 'zh-CN');
    try {
      await show(page, '#/decisions');
      await page.getByLabel('结果').selectOption('refer');
      await page.getByRole('button', { name: '筛选' }).click();
      await page.waitForURL(/outcome=refer/);
      // the filtered list replaces the unfiltered one: no declined row stays
      await page
        .locator('[data-testid="decisions"] .badge[data-status="decline"]')
        .first()
        .waitFor({ state: 'detached' });
      const outcomes = await page.getByTestId('decisions').locator('.badge').allTextContents();
      assert.ok(outcomes.length > 0 && outcomes.every((o) => o === '转人工审核'), outcomes.join());
      assert.deepEqual(errors, []);
    } finally {
      await close();
    }
  });

  test('the back-office reads are for staff, answer 4xx to bad input, and amounts owed add up', async () => {
    const overview = await get('ops', `/v1/customers/${borrower.id}/overview`);
    assert.equal(overview.status, 200);
    assert.equal(overview.body.customer.name, maskedName);
    assert.notEqual(overview.body.customer.phone, borrower.phone);
    assert.equal(overview.body.max_days_past_due, 12);
    assert.equal((await get('ops', '/v1/customers/1/overview')).status, 404);
    assert.equal((await get('ops', '/v1/customers/abc/overview')).status, 400);
    assert.equal((await get('ops', '/v1/customers/99999999999999999999/overview')).status, 400);
    const asCustomer = await lab.app.inject({
      method: 'GET',
      url: `/v1/customers/${borrower.id}/overview`,
      headers: bearer(borrower.token),
    });
    assert.equal(asCustomer.statusCode, 403);
    const bucket = await get('ops', '/v1/ops/buckets/M1/loans');
    assert.equal(bucket.status, 200);
    const loan = bucket.body.items.find((l: { id: string }) => l.id === loanId);
    assert.equal(loan.customer_name, maskedName);
    const summary = await get('ops', '/v1/ops/summary');
    const m1 = summary.body.loans_by_bucket.find((b: { bucket: string }) => b.bucket === 'M1');
    assert.equal(m1.owed, loan.owed);
    const detail = await get('ops', `/v1/loans/${loanId}`);
    assert.equal(detail.body.outstanding.total, loan.owed);
    assert.equal((await get('ops', '/v1/ops/buckets/M9/loans')).status, 400);
    assert.equal((await get('ops', '/v1/ops/buckets/M1/loans?limit=0')).status, 400);
    const take = await lab.app.inject({
      method: 'PUT',
      url: '/v1/reviews/1/assignee',
      headers: bearer(token('risk')),
    });
    assert.equal(take.statusCode, 404);
    assert.equal(take.json().error.code, 'NOT_FOUND');
  });

  test('held orders: words instead of the stream name, and no "Replay all" when nothing is held', async () => {
    for (const locale of ['zh-CN', 'en'] as const) {
      const { page, errors, close } = await staffPage('ops', locale);
      try {
        await show(page, '#/dead-letters');
        const text = (await page.locator('main').textContent()) ?? '';
        assert.doesNotMatch(text, /FENQI_|DEAD/);
        assert.equal(
          await page.getByRole('button', { name: locale === 'en' ? 'Replay all' : '全部重放' }).count(),
          0,
        );
        assert.deepEqual(errors, []);
      } finally {
        await close();
      }
    }
  });

  const PAGES: { name: string; role: Role; hash: () => string }[] = [
    { name: 'overview', role: 'ops', hash: () => '#/overview' },
    { name: 'bucket-loans', role: 'ops', hash: () => '#/buckets/M1' },
    { name: 'loan', role: 'ops', hash: () => `#/loans/${loanId}` },
    { name: 'customer', role: 'ops', hash: () => `#/customers/${borrower.id}` },
    { name: 'customer-lookup', role: 'ops', hash: () => '#/customers' },
    { name: 'dead-letters', role: 'ops', hash: () => '#/dead-letters' },
    { name: 'adjustments', role: 'ops', hash: () => '#/adjustments' },
    { name: 'collections', role: 'ops', hash: () => '#/collections' },
    { name: 'servicing', role: 'ops', hash: () => '#/servicing' },
    { name: 'review-queue', role: 'risk', hash: () => '#/reviews' },
    { name: 'decisions', role: 'risk', hash: () => '#/decisions' },
    { name: 'decision', role: 'risk', hash: () => `#/decisions/${referredId}` },
    { name: 'policy', role: 'risk', hash: () => '#/policy' },
    { name: 'proposals', role: 'risk', hash: () => '#/proposals' },
  ];

  for (const locale of ['zh-CN', 'en'] as const) {
    test(`every console page at 390x844 keeps each control on screen and at least 44x44 px, and is photographed (${locale})`, async () => {
      for (const role of ['ops', 'risk'] as const) {
        const phone = await staffPage(role, locale, APP_PHONE_VIEWPORT);
        const desk = await staffPage(role, locale, DESKTOP);
        try {
          for (const p of PAGES.filter((x) => x.role === role)) {
            await show(phone.page, p.hash());
            assert.deepEqual(await controlsOffOrSmall(phone.page), [], `${p.name} (${locale}) on a phone`);
            if (p.name !== 'policy') {
              // the policy page lists its rules by code on purpose; every other page speaks in words
              const text = (await phone.page.locator('main').textContent()) ?? '';
              assert.doesNotMatch(text, RAW_CODE, `${p.name} (${locale}) shows a raw code`);
            }
            await phone.page.screenshot({
              path: join(SHOTS, `${p.name}.${locale}.phone.png`),
              fullPage: true,
            });
            await show(desk.page, p.hash());
            await desk.page.screenshot({
              path: join(SHOTS, `${p.name}.${locale}.desktop.png`),
              fullPage: true,
            });
          }
          assert.deepEqual([...phone.errors, ...desk.errors], []);
        } finally {
          await phone.close();
          await desk.close();
        }
      }
    });
  }
});

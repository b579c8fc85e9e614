/**
 * The operations console in headless Chromium against the real API on PostgreSQL, Redis and NATS: risk
 * staff work the review queue and read decisions and the policy, ops staff replay dead letters and
 * read the overview charts and decide the charges and waivers another ops member proposed; plus
 * GET /v1/ops/summary, the route the overview draws from.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { signAccessToken } from '../../src/api/auth.ts';
import { addDays } from '../../src/domain/dates.ts';
import { mask } from '../../src/privacy/masking.ts';
import { ORDERS_SUBJECT } from '../../src/queue/index.ts';
import { signBody } from '../../src/queue/mac.ts';
import { getCreditLine } from '../../src/store/credit-lines.ts';
import { getCustomer } from '../../src/store/customers.ts';
import { checkLedger } from '../../src/store/ledger.ts';
import { hashPassword } from '../../src/store/passwords.ts';
import { createStaff } from '../../src/store/staff.ts';
import { startOrderSettler } from '../../src/workers/order-settler.ts';
import { waitFor } from '../harness/process.ts';
import {
  assertCleanText,
  assertControlsNamed,
  bearer,
  customerWithLine,
  lineForEveryGrade,
  logInToConsole,
  openPage,
  openWebLab,
  PHONE_VIEWPORT,
  placeOrder,
  UI_TIMEOUT_MS,
  usePolicy,
  type WebCustomer,
  type WebLab,
} from './support.ts';

interface Summary {
  days: number;
  decisions_by_day: { date: string; approve: number; decline: number; refer: number }[];
  loans_by_bucket: { bucket: string; loans: number; principal: string }[];
  open_reviews: number;
  ledger: { status: string; entries: number; debits: string; credits: string; unbalanced_entries: number };
}

describe('operations console', () => {
  let lab: WebLab;
  let borrower: WebCustomer;

  const staffToken = (role: 'risk' | 'ops') =>
    signAccessToken(lab.platform.config.tokenSecret, { role, id: lab.demo.staff[role].id }, 900);

  const applyAs = async (c: WebCustomer) => {
    const res = await lab.app.inject({
      method: 'POST',
      url: '/v1/credit-applications',
      headers: bearer(c.token),
      payload: { stated_income: '12000.00', purpose: 'goods', device_id: `web-console-${c.id}` },
    });
    assert.equal(res.statusCode, 200, res.body);
    return res.json() as { id: string; decision: string };
  };

  const deadPage = async () =>
    (
      await lab.app.inject({ method: 'GET', url: '/v1/ops/dead-letters', headers: bearer(staffToken('ops')) })
    ).json() as { total: number; items: { seq: string }[] };
  const deadTotal = async () => (await deadPage()).total;
  const deadSeqs = async () => (await deadPage()).items.map((d) => d.seq);

  const summary = async (token: string, query = '') => {
    const res = await lab.app.inject({
      method: 'GET',
      url: `/v1/ops/summary${query}`,
      headers: bearer(token),
    });
    return { status: res.statusCode, body: res.json() };
  };

  before(async () => {
    lab = await openWebLab('web-console', { nats: true });
    borrower = await customerWithLine(lab, '10000.00');
    await placeOrder(lab, borrower, 2, 3);
  });
  after(async () => {
    await lab?.close();
  });

  test('a risk reviewer approves a referred application from the console and the customer line is set', async () => {
    await usePolicy(lab, (p) => {
      p.approveGrades = [];
      p.referGrades = ['A', 'B', 'C', 'D', 'E'];
      lineForEveryGrade(p);
    });
    const applicant = await customerWithLine(lab);
    const referred = await applyAs(applicant);
    assert.equal(referred.decision, 'refer');
    const { page, errors, close } = await openPage(lab);
    try {
      await logInToConsole(page, 'risk', lab.demo.staff.risk.password);
      await page.getByRole('heading', { level: 1, name: 'Review queue' }).waitFor();
      await page.getByRole('link', { name: `Open application ${referred.id}` }).click();
      await page.getByRole('heading', { level: 1, name: `Application ${referred.id}` }).waitFor();
      assert.match((await page.getByTestId('score').textContent()) ?? '', /^\d+$/);
      assert.equal(await page.getByTestId('outcome').textContent(), 'refer');
      assert.match((await page.getByTestId('reasons').textContent()) ?? '', /SCORE_REVIEW/);
      await assertCleanText(page);
      await assertControlsNamed(page);

      await page.getByLabel('Credit line (CNY)').fill('8000.00');
      await page.getByRole('button', { name: 'Approve with this line' }).click();
      await page.getByText("The customer's credit line is now ¥8,000.00").waitFor();
      assert.match(
        (await page.getByTestId('review-status').textContent()) ?? '',
        /^approved line ¥8,000\.00/,
      );
      const line = await getCreditLine(lab.platform.db.sql, applicant.id);
      assert.equal(line?.limitMinor, 8_000_00n);
      assert.deepEqual(errors, []);
    } finally {
      await close();
      await usePolicy(lab, () => {});
    }
  });

  test('an approval above the limit goes to a second officer, who sees the customer credit first and approves it', async () => {
    await usePolicy(lab, (p) => {
      p.approveGrades = [];
      p.referGrades = ['A', 'B', 'C', 'D', 'E'];
      lineForEveryGrade(p);
    });
    const applicant = await customerWithLine(lab, '1000.00');
    const referred = await applyAs(applicant);
    const password = 'second-officer-password';
    await createStaff(lab.platform.db.sql, {
      username: 'second.officer',
      role: 'risk',
      passwordHash: await hashPassword(password),
    });
    const first = await openPage(lab);
    let proposalId: string;
    try {
      await logInToConsole(first.page, 'risk', lab.demo.staff.risk.password);
      await first.page.goto(`/console/#/decisions/${referred.id}`);
      await first.page.getByTestId('customer-credit').waitFor();
      assert.match((await first.page.getByTestId('context-line').textContent()) ?? '', /¥1,000\.00/);
      await first.page.getByLabel('Credit line (CNY)').fill('30000.00');
      await first.page.getByRole('button', { name: 'Approve with this line' }).click();
      await first.page.getByText('Sent for a second approval.').waitFor();
      proposalId = /#\/proposals\/(\d+)/.exec(first.page.url())![1]!;
      assert.equal(await first.page.getByTestId('proposal-status').textContent(), 'open');
      await first.page.getByRole('button', { name: 'Approve this line' }).click();
      await first.page.getByText('OWN_PROPOSAL').waitFor();
      assert.equal((await getCreditLine(lab.platform.db.sql, applicant.id))?.limitMinor, 1_000_00n);
      assert.deepEqual(
        first.errors.filter((e) => !/403/.test(e)),
        [],
      );
    } finally {
      await first.close();
    }
    const second = await openPage(lab);
    try {
      await logInToConsole(second.page, 'second.officer', password);
      await second.page.goto('/console/#/proposals');
      await second.page.getByRole('link', { name: `Open proposal ${proposalId}` }).click();
      await second.page.getByTestId('customer-credit').waitFor();
      assert.match((await second.page.getByTestId('context-dpd').textContent()) ?? '', /^0/);
      await assertControlsNamed(second.page);
      await second.page.getByRole('button', { name: 'Approve this line' }).click();
      await second.page.getByText('Approved: the line of customer').waitFor();
      assert.equal(await second.page.getByTestId('proposal-status').textContent(), 'approved');
      assert.equal((await getCreditLine(lab.platform.db.sql, applicant.id))?.limitMinor, 30_000_00n);
      assert.deepEqual(second.errors, []);
    } finally {
      await second.close();
      await usePolicy(lab, () => {});
    }
  });

  test("a decision's detail draws the points per feature as bars, and a replay confirms it", async () => {
    const applicant = await customerWithLine(lab, undefined, 22);
    const made = await applyAs(applicant);
    const { page, errors, close } = await openPage(lab);
    try {
      await logInToConsole(page, 'risk', lab.demo.staff.risk.password);
      await page.getByRole('link', { name: 'Decisions' }).click();
      await page.getByLabel('Application id').fill(made.id);
      await page.getByRole('button', { name: 'Open' }).click();
      await page.getByRole('heading', { level: 1, name: `Application ${made.id}` }).waitFor();
      const stored = (
        await lab.app.inject({
          method: 'GET',
          url: `/v1/credit-applications/${made.id}`,
          headers: bearer(staffToken('risk')),
        })
      ).json() as { score_reasons: { points: number }[] };
      const bars = page.locator('figure svg rect.bar');
      assert.equal(await bars.count(), stored.score_reasons.length);
      for (const [i, r] of stored.score_reasons.entries()) {
        assert.equal(await bars.nth(i).getAttribute('data-value'), String(r.points));
      }

      await page.getByRole('button', { name: 'Replay under its model and policy' }).click();
      await page.getByText('The replay matches the stored decision.').waitFor();
      const replayed = page.locator('figure', { hasText: 'Points per feature (all features, replayed)' });
      assert.ok((await replayed.locator('rect.bar').count()) >= stored.score_reasons.length);
      assert.deepEqual(errors, []);
    } finally {
      await close();
    }
  });

  test('declining a review needs a reason code, and the refusal is shown with its code', async () => {
    await usePolicy(lab, (p) => {
      p.approveGrades = [];
      p.referGrades = ['A', 'B', 'C', 'D', 'E'];
      lineForEveryGrade(p);
    });
    const applicant = await customerWithLine(lab);
    const referred = await applyAs(applicant);
    const { page, errors, close } = await openPage(lab);
    try {
      await logInToConsole(page, 'risk', lab.demo.staff.risk.password);
      await page.goto(`/console/#/decisions/${referred.id}`);
      await page.getByLabel('Reason code').waitFor();
      // someone else resolves it first: the console shows the API's refusal, code and message
      const other = await lab.app.inject({
        method: 'POST',
        url: `/v1/reviews/${referred.id}/decision`,
        headers: bearer(staffToken('risk')),
        payload: { decision: 'decline', reason: 'FRAUD_SUSPECTED' },
      });
      assert.equal(other.statusCode, 200, other.body);
      await page.getByLabel('Reason code').fill('INCOME_NOT_VERIFIED');
      await page.getByRole('button', { name: 'Decline' }).click();
      const alert = page.getByRole('alert');
      await alert.waitFor();
      assert.equal(await alert.getAttribute('data-code'), 'REVIEW_ALREADY_RESOLVED');
      assert.equal(await page.getByLabel('Reason code').inputValue(), 'INCOME_NOT_VERIFIED');
      assert.deepEqual(errors, []);
    } finally {
      await close();
      await usePolicy(lab, () => {});
    }
  });

  test('the policy page shows the active version, its rules and history, and rolls back to an earlier version', async () => {
    const { page, errors, close } = await openPage(lab);
    try {
      await logInToConsole(page, 'risk', lab.demo.staff.risk.password);
      await page.getByRole('link', { name: 'Policy' }).click();
      await page.getByRole('heading', { level: 1, name: 'Credit policy' }).waitFor();
      const [active] = await lab.platform.db.sql<{ version: number }[]>`
        select version from risk_policy_versions where active`;
      assert.equal(await page.getByTestId('policy-version').textContent(), String(active!.version));
      await page.getByRole('cell', { name: 'AGE_BELOW_MIN' }).waitFor();
      assert.ok((await page.getByTestId('policy-versions').locator('tbody tr').count()) >= 2);
      await assertCleanText(page);

      // roll back to the first version: a new active version, copied from it, with the note
      await page.getByLabel('Version').selectOption('1');
      await page.getByLabel('Why').fill('back to the default after the test policies');
      await page.getByRole('button', { name: 'Make this version active' }).click();
      const made = String(active!.version + 1);
      await page.getByText(`Version ${made} is now active.`).waitFor();
      assert.equal(await page.getByTestId('policy-version').textContent(), made);
      const [now] = await lab.platform.db.sql<{ version: number; note: string }[]>`
        select version, note from risk_policy_versions where active`;
      assert.deepEqual(now, {
        version: active!.version + 1,
        note: 'rollback to version 1: back to the default after the test policies',
      });
      await assertControlsNamed(page);
      assert.deepEqual(errors, []);
    } finally {
      await close();
    }
  });

  test('an ops user replays nothing when there are no dead letters and sees the overview charts', async () => {
    const { page, errors, close } = await openPage(lab);
    try {
      await logInToConsole(page, 'ops', lab.demo.staff.ops.password);
      await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
      // one bar per delinquency bucket, each as high as the API's count
      const expected = (await summary(staffToken('ops'))).body as Summary;
      const bars = page
        .locator('figure', { hasText: 'Active loans per delinquency bucket' })
        .locator('rect.bar');
      assert.equal(await bars.count(), 5);
      for (const [i, b] of expected.loans_by_bucket.entries()) {
        assert.equal(await bars.nth(i).getAttribute('data-label'), b.bucket);
        assert.equal(await bars.nth(i).getAttribute('data-value'), String(b.loans));
      }
      assert.ok(Number(await bars.first().getAttribute('data-value')) >= 1, 'the borrower loan is current');
      // a line per outcome with a point per day of the period
      const lines = page
        .locator('figure', { hasText: 'Credit decisions per day' })
        .locator('polyline.series');
      const names = [];
      for (let i = 0; i < (await lines.count()); i++)
        names.push(await lines.nth(i).getAttribute('data-series'));
      assert.deepEqual(names, ['approve', 'decline', 'refer']);
      const points = (await lines.first().getAttribute('points'))!.trim().split(/\s+/);
      assert.equal(points.length, 14);
      assert.equal(await page.getByTestId('ledger').locator('.badge').textContent(), 'balanced');

      await page.getByLabel('Period').selectOption('7');
      // polled from here: waitForFunction would evaluate a string in the page, which the CSP forbids
      const pointsShown = async () =>
        ((await lines.first().getAttribute('points')) ?? '').trim().split(/\s+/).length;
      await waitFor('the 7-day chart', async () => (await pointsShown()) === 7, UI_TIMEOUT_MS);
      assert.ok(page.url().endsWith('#/overview?days=7'), page.url());

      await page.getByRole('link', { name: 'Dead letters' }).click();
      await page.getByRole('heading', { level: 1, name: 'Dead-lettered orders' }).waitFor();
      assert.equal(await page.getByTestId('dead-total').textContent(), '0 held in FENQI_DEAD.');
      await page.getByRole('button', { name: 'Replay all' }).click();
      await page.getByTestId('replay-result').waitFor();
      assert.equal(await page.getByTestId('replay-result').textContent(), 'Replayed 0');
      await assertCleanText(page);
      await assertControlsNamed(page);
      assert.deepEqual(errors, []);
    } finally {
      await close();
    }
  });

  test('an ops user sees a dead-lettered order with its reason and replays the selected one', async () => {
    const settler = await startOrderSettler(lab.platform);
    const { page, errors, close } = await openPage(lab);
    try {
      // a message the settler cannot read: it goes straight to the dead letters, with its reason
      await lab.platform.queue.publish(
        ORDERS_SUBJECT,
        Buffer.from(
          JSON.stringify(
            signBody(lab.platform.config.queueMacKeys, 'order', { v: 1, order_id: 'not-a-number' }),
          ),
        ),
        {
          msgId: 'web-console-malformed',
        },
      );
      await waitFor('the message dead-lettered', async () => (await deadTotal()) === 1, UI_TIMEOUT_MS);
      await logInToConsole(page, 'ops', lab.demo.staff.ops.password);
      await page.getByRole('link', { name: 'Dead letters' }).click();
      const rows = page.getByTestId('dead-letters').locator('tbody tr');
      await rows.first().waitFor();
      await assertControlsNamed(page);
      assert.equal(await rows.count(), 1);
      assert.match((await rows.first().textContent()) ?? '', /bad order_id/);
      const firstSeq = await rows.first().locator('td').nth(1).textContent();

      await page.getByRole('button', { name: 'Replay selected' }).click();
      assert.equal(await page.getByRole('alert').getAttribute('data-code'), 'NOTHING_SELECTED');
      await page.getByRole('checkbox', { name: `Select dead letter ${firstSeq}` }).check();
      await page.getByRole('button', { name: 'Replay selected' }).click();
      await page.getByTestId('replay-result').filter({ hasText: 'Replayed 1' }).waitFor();
      // still unreadable, so the settler dead-letters it again, under a new sequence: nothing is lost
      await waitFor(
        'dead-lettered again',
        async () => (await deadTotal()) === 1 && (await deadSeqs())[0] !== firstSeq,
        UI_TIMEOUT_MS,
      );
      assert.deepEqual(errors, []);
    } finally {
      await close();
      await settler.stop();
    }
  });

  test('an ops member sees the charges another proposed (customer masked, loan, amount, who, how long) and approves one and rejects another; the proposer gets no buttons', async () => {
    const order = await placeOrder(lab, borrower, 1, 3);
    const propose = async (amount: string, reason: string) => {
      const res = await lab.app.inject({
        method: 'POST',
        url: `/v1/loans/${order.loan_id}/charges`,
        headers: { ...bearer(staffToken('ops')), 'idempotency-key': `console-${reason}` },
        payload: { amount, reason },
      });
      assert.equal(res.statusCode, 202, res.body);
      return res.json().proposal_id as string;
    };
    const approveId = await propose('600.00', 'courier-fee');
    const rejectId = await propose('700.00', 'paperwork-fee');
    // the list is for ops, who decide them: risk staff and customers are refused
    for (const token of [staffToken('risk'), borrower.token]) {
      const refused = await lab.app.inject({
        method: 'GET',
        url: '/v1/adjustment-proposals',
        headers: bearer(token),
      });
      assert.equal(refused.statusCode, 403, refused.body);
    }
    const statusOf = async (id: string) =>
      (
        await lab.platform.db.sql<{ status: string; decided_by: string | null }[]>`
          select status, decided_by::text as decided_by from adjustment_proposals where id = ${id}::bigint`
      )[0]!;
    const legalName = (await getCustomer(lab.platform.db.sql, lab.platform.services.crypto, borrower.id))!
      .legalName;

    const maker = await openPage(lab);
    try {
      await logInToConsole(maker.page, 'ops', lab.demo.staff.ops.password);
      await maker.page.getByRole('link', { name: 'Charges & waivers' }).click();
      const mine = maker.page.getByTestId('adjustment-proposals').locator('tbody tr', { hasText: approveId });
      await mine.waitFor();
      assert.match((await mine.textContent()) ?? '', /Yours: another ops member decides it/);
      assert.equal(
        await maker.page.getByRole('button', { name: `Approve proposal ${approveId}` }).count(),
        0,
      );
      assert.deepEqual(maker.errors, []);
    } finally {
      await maker.close();
    }

    const password = 'ops-checker-password';
    const created = await createStaff(lab.platform.db.sql, {
      username: 'ops.checker',
      role: 'ops',
      passwordHash: await hashPassword(password),
    });
    assert.ok(created.ok);
    const checker = { id: BigInt(created.id) };
    const { page, errors, close } = await openPage(lab);
    try {
      await logInToConsole(page, 'ops.checker', password);
      await page.getByRole('link', { name: 'Charges & waivers' }).click();
      await page.getByRole('heading', { level: 1, name: 'Charges and waivers to approve' }).waitFor();
      const row = page.getByTestId('adjustment-proposals').locator('tbody tr', { hasText: approveId });
      await row.waitFor();
      const cells = await row.locator('td').allTextContents();
      assert.equal(cells[0], approveId);
      assert.equal(cells[1], `${mask('legal_name', legalName, 'staff')} (${borrower.id})`);
      assert.equal(cells[2], order.loan_id);
      assert.equal(cells[3], 'Charge (fee)');
      assert.equal(cells[4], '¥600.00');
      assert.equal(cells[5], 'ops');
      assert.match(cells[6]!, /^(just now|\d+ min)$/);
      assert.equal(cells[7], 'courier-fee');
      assert.doesNotMatch((await page.locator('main').textContent()) ?? '', new RegExp(legalName));
      await assertCleanText(page);
      await assertControlsNamed(page);

      await page.getByRole('button', { name: `Approve proposal ${approveId}` }).click();
      await page.getByText(`Approved: the charge of ¥600.00 on loan ${order.loan_id} is applied.`).waitFor();
      assert.deepEqual(await statusOf(approveId), { status: 'approved', decided_by: checker.id.toString() });
      await page.getByRole('button', { name: `Reject proposal ${rejectId}` }).click();
      await page
        .getByText(`Rejected: the charge of ¥700.00 on loan ${order.loan_id} is not applied.`)
        .waitFor();
      assert.deepEqual(await statusOf(rejectId), { status: 'rejected', decided_by: checker.id.toString() });
      await page.getByTestId('adjustment-proposals-empty').waitFor();
      assert.deepEqual(errors, []);
    } finally {
      await close();
    }
  });

  test('each role sees only its pages, and a customer cannot log in to the console', async () => {
    const { page, errors, close } = await openPage(lab, { viewport: PHONE_VIEWPORT });
    try {
      await page.goto('/console/#/login');
      await page.getByLabel('Username').fill('13800138000');
      await page.getByLabel('Password').fill('not-a-staff-password');
      await page.getByRole('button', { name: 'Log in' }).click();
      const alert = page.getByRole('alert');
      await alert.waitFor();
      assert.equal(await alert.getAttribute('data-code'), 'INVALID_CREDENTIALS');
      assert.equal(await page.getByLabel('Username').inputValue(), '13800138000');

      await logInToConsole(page, 'ops', lab.demo.staff.ops.password);
      assert.equal(await page.getByRole('link', { name: 'Reviews' }).isVisible(), false);
      await page.goto('/console/#/reviews');
      await page.getByRole('heading', { level: 1, name: 'Not for your role' }).waitFor();
      const overflow = await page.evaluate<number>(
        'document.documentElement.scrollWidth - window.innerWidth',
      );
      assert.ok(overflow <= 0, `the console is ${overflow}px wider than a phone`);
      assert.deepEqual(errors, []);
    } finally {
      await close();
    }
  });

  test('GET /v1/ops/summary counts decisions by outcome today and checks the last day of the ledger', async () => {
    const before = (await summary(staffToken('risk'))).body as Summary;
    await usePolicy(lab, (p) => {
      p.approveGrades = [];
      p.referGrades = [];
    });
    await applyAs(await customerWithLine(lab));
    await usePolicy(lab, () => {});
    const { status, body } = await summary(staffToken('risk'), '?days=3');
    assert.equal(status, 200, JSON.stringify(body));
    const s = body as Summary;
    assert.equal(s.decisions_by_day.length, 3);
    const today = s.decisions_by_day.at(-1)!;
    assert.equal(today.decline, before.decisions_by_day.at(-1)!.decline + 1);
    assert.deepEqual(
      s.loans_by_bucket.map((b) => b.bucket),
      ['current', 'M1', 'M2', 'M3', 'M3+'],
    );
    assert.equal(s.ledger.status, 'balanced');
    assert.ok(s.ledger.entries >= 1);
    assert.equal(s.ledger.debits, s.ledger.credits);
  });

  test('GET /v1/ops/summary is for staff only and refuses an out-of-range period', async () => {
    const anonymous = await lab.app.inject({ method: 'GET', url: '/v1/ops/summary' });
    assert.equal(anonymous.statusCode, 401);
    assert.equal(anonymous.json().error.code, 'UNAUTHORIZED');
    const customer = await summary(borrower.token);
    assert.equal(customer.status, 403);
    assert.equal(customer.body.error.code, 'FORBIDDEN');
    for (const q of ['?days=0', '?days=91', '?days=x', '?other=1']) {
      const res = await summary(staffToken('ops'), q);
      assert.equal(res.status, 400, q);
      assert.equal(res.body.error.code, 'VALIDATION_FAILED', q);
    }
  });
  // ---- servicing (issue 15): collections, returns, charges and waivers --------------------------

  test('collections, returns and waivers: staff see masked names and plain words, never ids and codes', async () => {
    // | who       | page                 | action                                         | sees                               |
    // | ops       | Collections          | open the overdue customer's case, assign        | masked name, "Assigned to"         |
    // | collector | Collections > case   | log a call: promised to pay 50.00 in 3 days    | "Promised to pay", the promise     |
    // | ops       | Returns & waivers    | charge a 15.00 fee, waive 5.00 of it           | "Charged ¥15.00 of fee", "Waived"  |
    // | ops       | Returns & waivers    | record a full goods return of another order    | "Returned ¥..." ; ledger check ok  |
    const sql = lab.platform.db.sql;
    const customer = await customerWithLine(lab, '10000.00');
    const order = await placeOrder(lab, customer, 1, 3);
    await sql`update loans set days_past_due = 12, bucket = 'M1' where id = ${order.loan_id}::bigint`;
    await sql`update installments set status = 'overdue' where loan_id = ${order.loan_id}::bigint and number = 1`;
    const [named] = await sql<
      { n: string }[]
    >`select count(*)::text as n from customers where id = ${customer.id}`;
    assert.equal(named!.n, '1');
    const profile = await getCustomer(sql, lab.platform.services.crypto, customer.id);
    const masked = mask('legal_name', profile!.legalName, 'staff');
    assert.notEqual(masked, profile!.legalName);
    const collectorPassword = 'collector-web-pw-1';
    const created = await createStaff(sql, {
      username: 'collector-web',
      role: 'collector',
      passwordHash: await hashPassword(collectorPassword),
    });
    assert.ok(created.ok);

    const ops = await openPage(lab);
    try {
      await logInToConsole(ops.page, 'ops', lab.demo.staff.ops.password);
      await ops.page.getByRole('link', { name: 'Collections' }).click();
      await ops.page.getByRole('heading', { level: 1, name: 'Collections' }).waitFor();
      const queueText = (await ops.page.getByTestId('collections').textContent()) ?? '';
      assert.ok(queueText.includes(masked), queueText);
      assert.ok(!queueText.includes(profile!.legalName), 'the full name is never shown');
      assert.ok(!queueText.includes(customer.id.toString()), 'customers are named, not numbered');
      await ops.page
        .getByRole('link', { name: `Open the case of ${masked}` })
        .first()
        .click();
      await ops.page.getByRole('heading', { level: 1, name: `Case of ${masked}` }).waitFor();
      await ops.page.getByLabel('Collector').selectOption({ label: 'collector-web' });
      await ops.page.getByRole('button', { name: 'Assign' }).click();
      await ops.page.getByText('Assigned to collector-web.').waitFor();
      assert.equal(await ops.page.getByTestId('case-assignee').textContent(), 'collector-web');
      await assertCleanText(ops.page);
      await assertControlsNamed(ops.page);
    } finally {
      await ops.close();
    }

    const promised = addDays(await lab.platform.services.clock.today(), 3);
    const collector = await openPage(lab);
    try {
      await logInToConsole(collector.page, 'collector-web', collectorPassword);
      await collector.page.getByRole('heading', { level: 1, name: 'Collections' }).waitFor();
      await collector.page
        .getByRole('link', { name: `Open the case of ${masked}` })
        .first()
        .click();
      await collector.page.getByLabel('How').selectOption({ label: 'Phone call' });
      await collector.page.getByLabel('Outcome').selectOption({ label: 'Promised to pay' });
      await collector.page.getByLabel('Promised date').fill(promised);
      await collector.page.getByLabel('Promised amount (CNY)').fill('50.00');
      await collector.page.getByRole('button', { name: 'Log the contact' }).click();
      await collector.page.getByText('Logged: Promised to pay.').waitFor();
      assert.equal(await collector.page.getByTestId('case-promise').textContent(), `¥50.00 by ${promised}`);
      const log = (await collector.page.getByTestId('contacts').textContent()) ?? '';
      assert.match(log, /Phone call/);
      assert.match(log, /Promised to pay/);
      assert.doesNotMatch(log, /promise_to_pay|call\b/);
      assert.equal(await collector.page.getByRole('link', { name: 'Returns & waivers' }).isHidden(), true);
      assert.deepEqual(collector.errors, []);
    } finally {
      await collector.close();
    }

    const other = await placeOrder(lab, customer, 2, 3);
    const desk = await openPage(lab);
    try {
      await logInToConsole(desk.page, 'ops', lab.demo.staff.ops.password);
      await desk.page.goto('/console/#/servicing');
      await desk.page.getByRole('heading', { level: 1, name: 'Returns, charges and waivers' }).waitFor();
      const adjust = desk.page.getByRole('form', { name: 'Charge or waiver' });
      await adjust.getByLabel('Loan number').fill(order.loan_id);
      await adjust.getByLabel('What').selectOption({ label: 'Charge a fee' });
      await adjust.getByLabel('Amount (CNY)').fill('15.00');
      await adjust.getByLabel('Why').fill('returned payment');
      await adjust.getByRole('button', { name: 'Send' }).click();
      await desk.page.getByText('Charged ¥15.00 of fee').waitFor();
      await adjust.getByLabel('What').selectOption({ label: 'Waive a fee' });
      await adjust.getByLabel('Amount (CNY)').fill('5.00');
      await adjust.getByLabel('Why').fill('goodwill');
      await adjust.getByRole('button', { name: 'Send' }).click();
      await desk.page.getByText('Waived ¥5.00 of fee').waitFor();

      const ret = desk.page.getByRole('form', { name: 'Goods return' });
      await ret.getByLabel('Order number').fill(other.id);
      await ret.getByRole('button', { name: 'Record the return' }).click();
      await desk.page.getByTestId('return-result').waitFor();
      assert.match(
        (await desk.page.getByTestId('return-result').textContent()) ?? '',
        /^Returned ¥[\d,]+\.\d\d$/,
      );
      await assertCleanText(desk.page);
      assert.deepEqual(desk.errors, []);
    } finally {
      await desk.close();
    }
    const [returned] = await sql<
      { status: string }[]
    >`select status from loans where id = ${other.loan_id}::bigint`;
    assert.equal(returned!.status, 'cancelled');
    const check = await checkLedger(sql);
    assert.ok(check.ok, JSON.stringify({ ...check, accountBalances: undefined }));
  });
});

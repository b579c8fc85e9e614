/**
 * The borrower app in headless Chromium against the real API on PostgreSQL and Redis: log in,
 * the credit line, applying for credit, buying on installments, repaying, errors, retries, a
 * phone-sized screen and the keyboard.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Locator } from 'playwright-core';
import { getCreditLine } from '../../src/store/credit-lines.ts';
import {
  assertCleanText,
  assertControlsNamed,
  customerWithLine,
  lineForEveryGrade,
  logInToApp,
  openPage,
  openWebLab,
  orderOnPage,
  PHONE_VIEWPORT,
  placeOrder,
  usePolicy,
  type WebLab,
} from './support.ts';

describe('borrower app', () => {
  let lab: WebLab;

  before(async () => {
    lab = await openWebLab('web-app');
  });
  after(async () => {
    await lab?.close();
  });

  const loanCount = async (customerId: bigint) =>
    Number(
      (
        await lab.platform.db.sql<
          { n: bigint }[]
        >`select count(*) as n from loans where customer_id = ${customerId}`
      )[0]!.n,
    );

  test('a borrower logs in, sees their line, buys goods on 6 installments and sees the new loan schedule and the reduced available line', async () => {
    const { page, errors, close } = await openPage(lab);
    try {
      await logInToApp(page, lab.demo.customer.login, lab.demo.customer.password);
      assert.equal(await page.getByTestId('line-limit').textContent(), '¥20,000.00');
      assert.equal(await page.getByTestId('line-available').textContent(), '¥20,000.00');
      assert.equal(await page.getByRole('meter').getAttribute('aria-valuenow'), '0');

      await page.getByRole('link', { name: 'Shop on installments' }).click();
      await page.getByTestId('goods').first().waitFor();
      assert.equal(await page.getByTestId('goods').count(), 6);
      assert.equal(
        await page.getByRole('button', { name: 'Show more' }).isVisible(),
        false,
        'one page holds them all',
      );
      await page.getByRole('link', { name: 'Buy Smartphone 15, 256 GB on installments' }).click();
      await page.getByRole('heading', { level: 1, name: 'Smartphone 15, 256 GB' }).waitFor();
      assert.equal(await page.getByTestId('goods-price').textContent(), '¥5,999.00');
      await page.getByRole('radio', { name: '6 months' }).check();
      const quoteRows = page.getByTestId('quote-schedule').locator('tbody tr');
      await page.getByRole('button', { name: /^Place order: 6 × ¥/ }).waitFor();
      assert.equal(await quoteRows.count(), 6);

      await page.getByLabel('I have read and accept the loan agreement').check();
      await page.getByRole('button', { name: /^Place order: 6 × ¥/ }).click();
      await page.getByRole('heading', { level: 1, name: 'Smartphone 15, 256 GB' }).waitFor();
      await page.getByText('Order placed. Here is your new loan.').waitFor();
      assert.equal(await page.getByTestId('loan-schedule').locator('tbody tr').count(), 6);
      assert.equal(await page.getByTestId('loan-status').textContent(), 'Repaying');
      await assertCleanText(page);

      await page.getByRole('link', { name: 'Home' }).click();
      await page.getByTestId('line-available').filter({ hasText: '¥14,001.00' }).waitFor();
      assert.equal(await page.getByTestId('line-used').textContent(), '¥5,999.00');
      assert.equal(await page.getByRole('meter').getAttribute('aria-valuenow'), '29.9');
      assert.deepEqual(errors, []);
    } finally {
      await close();
    }
  });

  test('an approved application shows its grade and line, and the line is set', async () => {
    await usePolicy(lab, (p) => {
      p.approveGrades = ['A', 'B', 'C', 'D', 'E'];
      p.referGrades = [];
      lineForEveryGrade(p);
    });
    const c = await customerWithLine(lab);
    const { page, errors, close } = await openPage(lab);
    try {
      await logInToApp(page, c.phone, c.password);
      await page.getByText('You have no credit line yet.').waitFor();
      await page.getByRole('link', { name: 'Apply for credit', exact: true }).first().click();
      await page.getByLabel('Monthly income (CNY)').fill('15000.00');
      await page.getByLabel('What is the credit for?').selectOption('goods');
      await page.getByRole('button', { name: 'Apply' }).click();
      const decision = page.getByTestId('decision');
      await decision.waitFor();
      assert.equal(
        await decision.getAttribute('data-outcome'),
        'approve',
        (await decision.textContent()) ?? '',
      );
      const shownLine = (await page.getByTestId('decision-line').textContent())!;
      assert.match((await page.getByTestId('decision-grade').textContent()) ?? '', /^[A-E]$/);
      const line = await getCreditLine(lab.platform.db.sql, c.id);
      assert.ok(line, 'the approval set a credit line');
      assert.equal(
        shownLine,
        `¥${Number(line.limitMinor / 100n).toLocaleString('en-US')}.${String(line.limitMinor % 100n).padStart(2, '0')}`,
      );
      assert.deepEqual(errors, []);
    } finally {
      await close();
    }
  });

  test('a declined application shows one plain reason and what the borrower can do, its codes kept as data', async () => {
    await usePolicy(lab, (p) => {
      p.approveGrades = [];
      p.referGrades = [];
    });
    const c = await customerWithLine(lab);
    const { page, errors, close } = await openPage(lab);
    try {
      await logInToApp(page, c.phone, c.password);
      await page.goto('/app/#/apply');
      await page.getByLabel('Monthly income (CNY)').fill('8000.00');
      await page.getByRole('button', { name: 'Apply' }).click();
      const decision = page.getByTestId('decision');
      await decision.waitFor();
      assert.equal(await decision.getAttribute('data-outcome'), 'decline');
      // one plain reason and what to do; the policy's codes stay as data for support
      const reason = page.getByTestId('decision-reason');
      assert.equal(await reason.count(), 1);
      assert.match((await reason.getAttribute('data-codes')) ?? '', /\bSCORE_TOO_LOW\b/);
      assert.equal(
        await reason.textContent(),
        'From what we know today, we cannot offer you a credit line yet.',
      );
      await page.getByTestId('decision-next').waitFor();
      await assertCleanText(page);
      assert.deepEqual(errors, []);
    } finally {
      await close();
      await usePolicy(lab, () => {});
    }
  });

  test('an API error is shown as a plain sentence (its code kept as data) and the form keeps the input', async () => {
    const c = await customerWithLine(lab, '10000.00');
    const order = await placeOrder(lab, c, 2, 3); // earbuds, 899.00 on 3
    const { page, errors, close } = await openPage(lab);
    try {
      await logInToApp(page, c.phone, c.password);
      await page.goto(`/app/#/loans/${order.loan_id}`);
      const amount = page.getByLabel('Amount (CNY)');
      await amount.fill('99999.00');
      await page.getByRole('button', { name: 'Repay', exact: true }).click();
      await page.getByRole('button', { name: 'Confirm' }).click();
      const alert = page.getByRole('alert');
      await alert.waitFor();
      assert.equal(await alert.getAttribute('data-code'), 'OVERPAYMENT');
      assert.equal(await alert.textContent(), 'That is more than you owe; please pay the amount shown.');
      assert.equal(await amount.inputValue(), '99999.00');
      assert.equal(await page.getByTestId('loan-status').textContent(), 'Repaying');
      assert.deepEqual(errors, []);
    } finally {
      await close();
    }
  });

  test('repaying an installment and then paying off closes the loan and frees the line', async () => {
    const c = await customerWithLine(lab, '10000.00');
    const order = await placeOrder(lab, c, 5, 3); // robot vacuum, 1999.00 on 3
    const { page, errors, close } = await openPage(lab);
    try {
      await logInToApp(page, c.phone, c.password);
      await page.getByRole('link', { name: 'My loans' }).first().click();
      await page.getByTestId('loan-card').first().waitFor();
      await page.goto(`/app/#/loans/${order.loan_id}`);
      // the form offers the first installment's amount; paying it marks that installment paid
      await page.getByRole('button', { name: 'Repay', exact: true }).click();
      await page.getByRole('button', { name: 'Confirm' }).click();
      await page.getByText(/^Paid ¥/).waitFor();
      await page.getByTestId('loan-schedule').locator('tbody tr').first().getByText('Paid').waitFor();

      await page.getByRole('button', { name: /^Pay off ¥/ }).click();
      await page.getByRole('button', { name: 'Confirm' }).click();
      await page.getByText(/The loan is paid off\./).waitFor();
      assert.equal(await page.getByTestId('loan-status').textContent(), 'Paid off');
      assert.equal(await page.getByTestId('loan-outstanding').textContent(), '¥0.00');
      await assertCleanText(page);
      const line = await getCreditLine(lab.platform.db.sql, c.id);
      assert.equal(line?.usedMinor, 0n);
      assert.deepEqual(errors, []);
    } finally {
      await close();
    }
  });

  test('an order whose answer is lost is sent again with the same Idempotency-Key and makes one loan', async () => {
    const c = await customerWithLine(lab, '10000.00');
    const { page, errors, close } = await openPage(lab);
    const keys: string[] = [];
    try {
      await logInToApp(page, c.phone, c.password);
      let lost = false;
      await page.route('**/v1/orders', async (route) => {
        keys.push(route.request().headers()['idempotency-key'] ?? '');
        if (lost) return route.continue();
        lost = true;
        await route.fetch(); // the server places the order...
        await route.abort('connectionreset'); // ...and the answer never arrives
      });
      await page.goto(`/app/#/shop/${lab.demo.goodsIds[2]}`);
      await orderOnPage(page, 3);
      await page.getByTestId('loan-schedule').waitFor(); // the loan's page (its heading is the goods' name)
      assert.equal(keys.length, 2);
      assert.match(keys[0]!, /^[0-9a-f-]{36}$/);
      assert.equal(keys[1], keys[0]);
      assert.equal(await loanCount(c.id), 1);
      assert.deepEqual(errors, []);
    } finally {
      await close();
    }
  });

  test('on a phone-sized screen a borrower logs in with the keyboard alone and nothing overflows sideways', async () => {
    const customer = await customerWithLine(lab, '10000.00');
    const { page, errors, close } = await openPage(lab, { viewport: PHONE_VIEWPORT });
    try {
      await page.goto('/app/');
      await page.getByRole('heading', { level: 1, name: 'Log in' }).waitFor();
      assert.equal(await page.getByRole('navigation').isVisible(), false, 'no menu before logging in');
      await page.getByLabel('Mobile number').focus();
      await page.keyboard.type(customer.phone);
      await page.keyboard.press('Tab');
      await page.keyboard.type(customer.password);
      await page.keyboard.press('Enter');
      await page.getByRole('heading', { level: 1, name: /^Hello/ }).waitFor();
      const order = await placeOrder(lab, customer, 0, 12);
      const pages: [string, Locator][] = [
        ['#/', page.getByTestId('credit-line')],
        ['#/shop', page.getByTestId('goods').first()],
        [`#/shop/${lab.demo.goodsIds[1]}`, page.getByTestId('quote-schedule')],
        ['#/loans', page.getByTestId('loans')],
        [`#/loans/${order.loan_id}`, page.getByTestId('loan-schedule')],
        ['#/apply', page.getByLabel('Monthly income (CNY)')],
      ];
      for (const [hash, shown] of pages) {
        await page.goto(`/app/${hash}`);
        await shown.waitFor();
        const overflow = await page.evaluate<number>(
          'document.documentElement.scrollWidth - window.innerWidth',
        );
        assert.ok(overflow <= 0, `${hash} is ${overflow}px wider than the screen`);
        await assertCleanText(page);
        await assertControlsNamed(page);
      }
      assert.deepEqual(errors, []);
    } finally {
      await close();
    }
  });

  test('an expired session sends the borrower to log in and then back to the page they were on', async () => {
    const c = await customerWithLine(lab, '5000.00');
    const { page, errors, close } = await openPage(lab);
    try {
      await logInToApp(page, c.phone, c.password);
      // what an expired token looks like to the API: signed with nothing it knows
      await page.evaluate(`sessionStorage.setItem('fenqi.app.token', 'expired.token')`);
      await page.goto('/app/#/loans');
      await page.getByRole('heading', { level: 1, name: 'Log in' }).waitFor();
      assert.equal(await page.evaluate<string | null>(`sessionStorage.getItem('fenqi.app.token')`), null);
      await page.getByLabel('Mobile number').fill(c.phone);
      await page.getByLabel('Password').fill(c.password);
      await page.getByRole('button', { name: 'Log in' }).click();
      await page.getByRole('heading', { level: 1, name: 'My loans' }).waitFor();
      assert.equal(
        await page.getByRole('link', { name: 'My loans' }).first().getAttribute('aria-current'),
        'page',
      );
      assert.deepEqual(errors, []);
    } finally {
      await close();
    }
  });

  test('money is shown and summed from the API strings exactly, beyond what a float can hold', async () => {
    const { page, errors, close } = await openPage(lab);
    try {
      await page.goto('/app/#/login');
      const results = await page.evaluate<Record<string, string | number>>(`(async () => {
        const m = await import('/shared/money.js');
        return {
          big: m.display('99999999999999.99'),
          sum: m.sum('0.10', '0.20'),
          back: m.fromMinor(m.toMinor('12000.5')),
          share: m.percentOf('5999.00', '20000.00'),
          refused: String(m.toMinor('1.005')),
        };
      })()`);
      assert.deepEqual(results, {
        big: '¥99,999,999,999,999.99',
        sum: '0.30',
        back: '12000.50',
        share: 29.9,
        refused: 'undefined',
      });
      assert.deepEqual(errors, []);
    } finally {
      await close();
    }
  });

  test('/ sends a browser to the app, and pages come with a content security policy', async () => {
    const root = await lab.app.inject({ method: 'GET', url: '/' });
    assert.equal(root.statusCode, 302);
    assert.equal(root.headers.location, '/app/');
    for (const area of ['app', 'console']) {
      const bare = await lab.app.inject({ method: 'GET', url: `/${area}` });
      assert.equal(bare.statusCode, 301);
      assert.equal(bare.headers.location, `/${area}/`);
    }
    for (const url of ['/app/', '/console/', '/shared/api.js', '/shared/style.css']) {
      const res = await lab.app.inject({ method: 'GET', url });
      assert.equal(res.statusCode, 200, url);
      assert.match(String(res.headers['content-security-policy']), /script-src 'self'/, url);
    }
    const missing = await lab.app.inject({ method: 'GET', url: '/app/nothing-here.js' });
    assert.equal(missing.statusCode, 404);
    assert.equal(missing.json().error.code, 'ROUTE_NOT_FOUND');
  });
});

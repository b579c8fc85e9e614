/**
 * The borrower app on sale day (FENQI_SALE_MODE): an order is answered 202 and queued in NATS
 * JetStream; the page follows it until the settler has made the loan, then shows the loan. Real
 * PostgreSQL, Redis and NATS, the settler running in this process.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type OrderSettler, startOrderSettler } from '../../src/workers/order-settler.ts';
import { customerWithLine, logInToApp, openPage, openWebLab, orderOnPage, type WebLab } from './support.ts';

describe('borrower app on sale day', () => {
  let lab: WebLab;
  let settler: OrderSettler;

  before(async () => {
    lab = await openWebLab('web-sale', { nats: true, env: { FENQI_SALE_MODE: 'true' } });
    settler = await startOrderSettler(lab.platform);
  });
  after(async () => {
    await settler?.stop();
    await lab?.close();
  });

  test('a queued order (202) is followed until it settles, then its loan is shown', async () => {
    const c = await customerWithLine(lab, '5000.00');
    const { page, errors, close } = await openPage(lab);
    try {
      await logInToApp(page, c.phone, c.password);
      await page.goto(`/app/#/shop/${lab.demo.goodsIds[2]}`);
      const placed = page.waitForResponse(
        (r) => r.url().endsWith('/v1/orders') && r.request().method() === 'POST',
      );
      await orderOnPage(page, 3);
      assert.equal((await placed).status(), 202);
      await page.getByTestId('loan-schedule').waitFor(); // the loan's page (its heading is the goods' name)
      assert.equal(await page.getByTestId('loan-schedule').locator('tbody tr').count(), 3);
      const [row] = await lab.platform.db.sql<{ n: bigint }[]>`
        select count(*)::bigint as n from loans where customer_id = ${c.id}`;
      assert.equal(row!.n, 1n);
      assert.deepEqual(errors, []);
    } finally {
      await close();
    }
  });

  test('a queued order refused for want of credit shows the refusal code, and no loan is made', async () => {
    const c = await customerWithLine(lab, '500.00');
    const { page, errors, close } = await openPage(lab);
    try {
      await logInToApp(page, c.phone, c.password);
      await page.goto(`/app/#/shop/${lab.demo.goodsIds[2]}`);
      await orderOnPage(page, 3);
      const alert = page.getByRole('alert');
      await alert.waitFor();
      assert.equal(await alert.getAttribute('data-code'), 'INSUFFICIENT_CREDIT');
      const [row] = await lab.platform.db.sql<{ n: bigint }[]>`
        select count(*)::bigint as n from loans where customer_id = ${c.id}`;
      assert.equal(row!.n, 0n);
      assert.deepEqual(errors, []);
    } finally {
      await close();
    }
  });
});

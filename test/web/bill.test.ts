/**
 * The borrower app's home page shows the next payment and this month's bill, and the bill's lines,
 * on a 390 px wide phone screen without sideways overflow, from what the API says.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { cycleBilledAfterClose } from '../../src/domain/statements.ts';
import { generateStatements } from '../../src/statements/run.ts';
import {
  assertCleanText,
  assertControlsNamed,
  customerWithLine,
  logInToApp,
  openPage,
  openWebLab,
  placeOrder,
  type WebLab,
} from './support.ts';

const PHONE_390 = { width: 390, height: 844 };

describe('borrower app: next payment and the bill', () => {
  let lab: WebLab;
  before(async () => {
    lab = await openWebLab('web-bill', { env: { FENQI_BUSINESS_CLOCK: 'manual' } });
  });
  after(async () => {
    await lab?.close();
  });

  test('at 390 px the home page shows the next payment and the bill, and the bill opens with its lines', async () => {
    const { clock } = lab.platform.services;
    await clock.set('2026-01-10');
    const customer = await customerWithLine(lab, '20000.00');
    const order = await placeOrder(lab, customer, 0, 6);
    await generateStatements(lab.platform.db.sql, cycleBilledAfterClose('2026-01-31', 1));
    await clock.set('2026-02-01');
    const [first] = await lab.platform.db.sql<{ due: string; owed: bigint }[]>`
      select due_date::text as due, (principal_minor + interest_minor + fee_minor)::bigint as owed
      from installments where loan_id = ${BigInt(order.loan_id)} and number = 1`;
    const owed = `¥${(Number(first!.owed) / 100).toLocaleString('en-US', { minimumFractionDigits: 2 })}`;

    const { page, errors, close } = await openPage(lab, { viewport: PHONE_390 });
    try {
      await logInToApp(page, customer.phone, customer.password);
      await page.getByTestId('next-payment').waitFor();
      assert.equal(await page.getByTestId('next-payment-date').textContent(), first!.due);
      assert.equal(await page.getByTestId('next-payment-amount').textContent(), owed);
      assert.equal(
        await page.getByTestId('bill-total').textContent(),
        owed,
        'the bill is the one installment due',
      );
      assert.equal(await page.getByTestId('bill-due-date').textContent(), first!.due);
      for (const hash of ['#/', null]) {
        if (hash === null) {
          await page.getByRole('link', { name: 'View the bill' }).click();
          await page.getByTestId('statement-lines').waitFor();
          assert.equal(await page.getByTestId('statement-total').textContent(), owed);
        }
        const overflow = await page.evaluate<number>(
          'document.documentElement.scrollWidth - window.innerWidth',
        );
        assert.ok(overflow <= 0, `${hash ?? 'the bill'} is ${overflow}px wider than the screen`);
        await assertCleanText(page);
        await assertControlsNamed(page);
      }
      assert.deepEqual(errors, []);
    } finally {
      await close();
    }
  });
});

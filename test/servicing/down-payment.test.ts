/**
 * Goods orders with a down payment, as a scenario table on real PostgreSQL through the API: the
 * down payment is taken at checkout, only the rest is financed and uses the line, the merchant is
 * paid the whole price, and a return gives the down payment back too.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { call } from '../lending/fixtures.ts';
import {
  accountOfLoan,
  assertLedgerChecks,
  buy,
  installments,
  loanState,
  ROUND_GOODS,
  type Scenario,
  setBusinessDate,
  startScenarios,
} from './support.ts';

describe('down payment on goods loans', () => {
  let s: Scenario;
  before(async () => {
    s = await startScenarios({ ...ROUND_GOODS, code: 'SERV-DOWN', downPaymentBp: 2000 });
  });
  after(async () => {
    await s?.lab.close();
  });

  test('20% down on 600.00: 120.00 at checkout, 480.00 financed in 6 x 80.00; a full return refunds the down payment too', async () => {
    // | 2025-01-01 | order 600.00, 20% down | down 120.00, loan 480.00 = 6 x 80.00, used 480.00, merchant owed 600.00 |
    // | 2025-02-01 | repay 80.00            | used 400.00                                                          |
    // | 2025-03-01 | repay 80.00            | used 320.00                                                          |
    // | 2025-03-10 | full return (90 d)     | cancelled 320.00, refund 280.00 (160.00 paid + 120.00 down), used 0  |
    await setBusinessDate(s, '2025-01-01');
    const { loanId, merchantId, orderId, token } = await buy(s, 60_000n);
    const inst = await installments(s, loanId);
    assert.deepEqual(
      inst.map((i) => i.principal),
      [8_000n, 8_000n, 8_000n, 8_000n, 8_000n, 8_000n],
    );
    assert.equal((await loanState(s, loanId)).used_minor, 48_000n);
    const [down] = await s.lab.platform.db.sql<{ n: number }[]>`
      select count(*)::int as n from journal_entries where loan_id = ${loanId} and kind = 'down_payment'`;
    assert.equal(down!.n, 1);
    // the merchant is owed the whole price, paid by the next day's settlement (docs/settlement.md)
    assert.equal(await accountOfLoan(s, loanId, '2100'), -60_000n, 'the merchant is owed the whole price');
    assert.equal(await accountOfLoan(s, loanId, '1000'), 12_000n, '120.00 in at checkout');
    await assertLedgerChecks(s);

    for (const [date, key] of [
      ['2025-02-01', 'd1'],
      ['2025-03-01', 'd2'],
    ] as const) {
      await setBusinessDate(s, date);
      const r = await call(s.lab, 'POST', `/v1/loans/${loanId}/repayments`, {
        token,
        key,
        body: { amount: '80.00' },
      });
      assert.equal(r.status, 201);
    }
    await call(s.lab, 'PUT', `/v1/merchants/${merchantId}/return-policy`, {
      token: s.ops,
      body: { return_window_days: 90 },
    });
    await setBusinessDate(s, '2025-03-10');
    const ret = await call(s.lab, 'POST', `/v1/orders/${orderId}/returns`, {
      token: s.lab.token('merchant', merchantId),
      key: 'dr',
      body: {},
    });
    assert.equal(ret.status, 201, JSON.stringify(ret.body));
    assert.equal(ret.body.cancelled.principal, '320.00');
    assert.equal(ret.body.refund, '280.00');
    assert.equal(ret.body.merchant_payable_reversed, '600.00');
    assert.equal((await loanState(s, loanId)).used_minor, 0n);
    await assertLedgerChecks(s);
  });
});

/**
 * A customer's credit balance: an overpayment kept for them, moved onto another of their loans,
 * and paid out to their card; scenario table on real PostgreSQL through the API.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { call, createCustomer, createGoods } from '../lending/fixtures.ts';
import {
  assertLedgerChecks,
  installments,
  loanState,
  type Scenario,
  setBusinessDate,
  startScenarios,
} from './support.ts';

describe('credit balance', () => {
  let s: Scenario;
  before(async () => {
    s = await startScenarios();
  });
  after(async () => {
    await s?.lab.close();
  });

  test('an overpayment is kept, moved onto another loan and refunded, never spent twice', async () => {
    // | 2025-01-01 | orders A and B, 600.00 each                        | used 1200.00              |
    // | 2025-01-10 | pay 650.00 on A (?overpayment=credit_balance)      | A paid off, balance 50.00 |
    // | 2025-01-10 | ops: move 30.00 onto B                             | B #1 30.00 paid, bal 20.00 |
    // | 2025-01-10 | ops: refund 20.00 to the card                      | balance 0.00              |
    // | 2025-01-10 | ops: refund 1.00                                   | CREDIT_BALANCE_TOO_LOW    |
    await setBusinessDate(s, '2025-01-01');
    const sql = s.lab.platform.db.sql;
    const customerId = await createCustomer(sql, 2_000_000n);
    const token = s.lab.token('customer', customerId);
    const loans: bigint[] = [];
    for (const key of ['a', 'b']) {
      const { goodsId } = await createGoods(sql, 60_000n);
      const r = await call(s.lab, 'POST', '/v1/orders', {
        token,
        key,
        body: { goods_id: goodsId.toString(), product_id: s.productId.toString(), tenor: 6 },
      });
      assert.equal(r.status, 201);
      loans.push(BigInt(r.body.loan_id));
    }
    const [a, b] = loans as [bigint, bigint];
    await setBusinessDate(s, '2025-01-10');
    const over = await call(s.lab, 'POST', `/v1/loans/${a}/repayments?overpayment=credit_balance`, {
      token,
      key: 'over',
      body: { amount: '650.00' },
    });
    assert.equal(over.status, 201, JSON.stringify(over.body));
    assert.equal(over.body.credit_balance_added, '50.00');
    const balance = async () =>
      (await call(s.lab, 'GET', `/v1/customers/${customerId}/credit-balance`, { token })).body.credit_balance;
    assert.equal(await balance(), '50.00');

    const moved = await call(s.lab, 'POST', `/v1/customers/${customerId}/credit-balance/transfer`, {
      token: s.ops,
      key: 'mv',
      body: { amount: '30.00', loan_id: b.toString() },
    });
    assert.equal(moved.status, 201, JSON.stringify(moved.body));
    assert.equal(moved.body.allocated.principal, '30.00');
    assert.equal(moved.body.credit_balance, '20.00');
    assert.equal((await installments(s, b))[0]!.paidPrincipal, 3_000n);
    assert.equal(
      (await loanState(s, b)).used_minor,
      57_000n,
      'the line follows: 600.00 - 30.00 on B, A paid off',
    );
    const refund = await call(s.lab, 'POST', `/v1/customers/${customerId}/credit-balance/refund`, {
      token: s.ops,
      key: 'rf',
      body: { amount: '20.00' },
    });
    assert.equal(refund.status, 201, JSON.stringify(refund.body));
    assert.equal(await balance(), '0.00');
    const again = await call(s.lab, 'POST', `/v1/customers/${customerId}/credit-balance/refund`, {
      token: s.ops,
      key: 'rf2',
      body: { amount: '1.00' },
    });
    assert.equal(again.body.error.code, 'CREDIT_BALANCE_TOO_LOW');
    const byCustomer = await call(s.lab, 'POST', `/v1/customers/${customerId}/credit-balance/refund`, {
      token,
      key: 'rf3',
      body: { amount: '1.00' },
    });
    assert.equal(byCustomer.status, 403);
    await assertLedgerChecks(s);
  });
});

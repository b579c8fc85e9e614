/**
 * Goods returns, as scenario tables (Fineract style) on real PostgreSQL through the API: a full
 * return after two of six installments were paid, a partial return before any payment (the
 * schedule is cut from the last installment), and the merchant's return window.
 * Goods: 600.00 in 6 monthly installments of 100.00 from 2025-01-01, 0% interest.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { call } from '../lending/fixtures.ts';
import {
  accountOfLoan,
  assertLedgerChecks,
  buy,
  closeDate,
  installments,
  loanState,
  type Scenario,
  setBusinessDate,
  startScenarios,
} from './support.ts';

describe('goods returns', () => {
  let s: Scenario;
  before(async () => {
    s = await startScenarios();
  });
  after(async () => {
    await s?.lab.close();
  });

  test('a full return after two of six installments paid: refund, released line, reversed merchant payable, balanced ledger', async () => {
    // | date       | action                                   | expected                                        |
    // | 2025-01-01 | order 600.00 (merchant paid 600.00)      | used 600.00                                     |
    // | 2025-02-01 | repay 100.00                             | #1 paid, used 500.00                            |
    // | 2025-03-01 | repay 100.00                             | #2 paid, used 400.00                            |
    // | 2025-03-10 | merchant returns the goods (window 30 d) | RETURN_WINDOW_CLOSED                            |
    // | 2025-03-10 | ops sets the window to 90 d; return all  | cancelled 400.00, refund 200.00 to card,        |
    // |            |                                          | released 400.00 (used 0), merchant owed 0.00,   |
    // |            |                                          | loan cancelled, ledger check passes             |
    await setBusinessDate(s, '2025-01-01');
    const { loanId, customerId, merchantId, orderId, token } = await buy(s, 60_000n);
    for (const [date, key] of [
      ['2025-02-01', 'r1'],
      ['2025-03-01', 'r2'],
    ] as const) {
      await setBusinessDate(s, date);
      const r = await call(s.lab, 'POST', `/v1/loans/${loanId}/repayments`, {
        token,
        key,
        body: { amount: '100.00' },
      });
      assert.equal(r.status, 201);
      await closeDate(s, date);
    }
    assert.equal((await loanState(s, loanId)).used_minor, 40_000n);
    await setBusinessDate(s, '2025-03-10');
    const merchant = s.lab.token('merchant', merchantId);
    const late = await call(s.lab, 'POST', `/v1/orders/${orderId}/returns`, {
      token: merchant,
      key: 'ret-0',
      body: {},
    });
    assert.equal(late.status, 422);
    assert.equal(late.body.error.code, 'RETURN_WINDOW_CLOSED');
    const other = await call(s.lab, 'POST', `/v1/orders/${orderId}/returns`, {
      token: s.lab.token('merchant', merchantId + 1000n),
      key: 'ret-x',
      body: {},
    });
    assert.equal(other.status, 404, "another merchant's order is not found");
    const policy = await call(s.lab, 'PUT', `/v1/merchants/${merchantId}/return-policy`, {
      token: s.ops,
      body: { return_window_days: 90 },
    });
    assert.equal(policy.status, 200);

    const cashBefore = await accountOfLoan(s, loanId, '1000');
    const ret = await call(s.lab, 'POST', `/v1/orders/${orderId}/returns`, {
      token: merchant,
      key: 'ret-1',
      body: {},
    });
    assert.equal(ret.status, 201, JSON.stringify(ret.body));
    assert.deepEqual(
      { ...ret.body, id: undefined },
      {
        id: undefined,
        order_id: orderId,
        kind: 'full',
        returned: '600.00',
        cancelled: { principal: '400.00', interest: '0.00', fee: '0.00', penalty: '0.00' },
        refund: '200.00',
        refunded: { principal: '200.00', interest: '0.00', fee: '0.00', penalty: '0.00' },
        refund_to: 'card',
        credit_released: '400.00',
        merchant_payable_reversed: '600.00',
        loan_status: 'cancelled',
        business_date: '2025-03-10',
      },
    );
    const retry = await call(s.lab, 'POST', `/v1/orders/${orderId}/returns`, {
      token: merchant,
      key: 'ret-1',
      body: {},
    });
    assert.deepEqual(retry.body, ret.body, 'a retried return has one effect');
    const again = await call(s.lab, 'POST', `/v1/orders/${orderId}/returns`, {
      token: merchant,
      key: 'ret-2',
      body: {},
    });
    assert.equal(again.body.error.code, 'LOAN_NOT_ACTIVE');

    const state = await loanState(s, loanId);
    assert.deepEqual(state, { status: 'cancelled', days_past_due: 0, bucket: 'current', used_minor: 0n });
    // the loan's sub-ledger: receivables gone, nothing payable to the merchant, the refund left
    for (const code of ['1100', '1110', '1120', '1130', '2300']) {
      assert.equal(await accountOfLoan(s, loanId, code), 0n, `${code} is cleared`);
    }
    // the order was not settled yet: what it made payable to the merchant is cancelled (a return
    // after settlement is clawed back from the merchant's next one: test/settlement)
    assert.equal(
      await accountOfLoan(s, loanId, '2100'),
      0n,
      'payable to merchant reversed: 600.00 no longer owed',
    );
    assert.equal(
      (await accountOfLoan(s, loanId, '1000')) - cashBefore,
      -20_000n,
      '200.00 refunded to the card',
    );
    const [row] = await s.lab.platform.db.sql<{ kind: string; refund_minor: bigint; requested_by: string }[]>`
      select kind, refund_minor, requested_by from order_returns where customer_id = ${customerId}`;
    assert.deepEqual(row, { kind: 'full', refund_minor: 20_000n, requested_by: `merchant:${merchantId}` });
    await assertLedgerChecks(s);
    // the closing note's figures
    console.log(
      `goods return after 2 of 6 paid: returned ${ret.body.returned}, refund ${ret.body.refund} to ${ret.body.refund_to}, ` +
        `credit released ${ret.body.credit_released} (used ${state.used_minor}), merchant payable reversed ` +
        `${ret.body.merchant_payable_reversed}, loan ${ret.body.loan_status}, ledger check ok`,
    );
  });

  test('a partial return before any payment cuts the schedule from the last installment and releases that much line', async () => {
    // | 2025-01-01 | order 600.00                  |                                               |
    // | 2025-01-05 | merchant returns 250.00 of it | #6 and #5 cut to 0, #4 to 50.00; used 350.00  |
    // | 2025-01-06 | merchant returns 400.00 more  | RETURN_EXCEEDS_ORDER                          |
    // | 2025-01-06 | merchant returns 350.00 more  | nothing owed: loan paid off, used 0           |
    await setBusinessDate(s, '2025-01-01');
    const { loanId, merchantId, orderId } = await buy(s, 60_000n);
    await setBusinessDate(s, '2025-01-05');
    const merchant = s.lab.token('merchant', merchantId);
    const part = await call(s.lab, 'POST', `/v1/orders/${orderId}/returns`, {
      token: merchant,
      key: 'p-1',
      body: { amount: '250.00', refund_to: 'credit_balance' },
    });
    assert.equal(part.status, 201, JSON.stringify(part.body));
    assert.equal(part.body.kind, 'partial');
    assert.equal(part.body.refund, '0.00');
    assert.equal(part.body.loan_status, 'active');
    assert.deepEqual(
      (await installments(s, loanId)).map((i) => i.principal),
      [10_000n, 10_000n, 10_000n, 5_000n, 0n, 0n],
    );
    assert.equal((await loanState(s, loanId)).used_minor, 35_000n);
    await assertLedgerChecks(s);
    await setBusinessDate(s, '2025-01-06');
    const tooMuch = await call(s.lab, 'POST', `/v1/orders/${orderId}/returns`, {
      token: merchant,
      key: 'p-2',
      body: { amount: '400.00' },
    });
    assert.equal(tooMuch.body.error.code, 'RETURN_EXCEEDS_ORDER');
    const rest = await call(s.lab, 'POST', `/v1/orders/${orderId}/returns`, {
      token: s.ops,
      key: 'p-3',
      body: { amount: '350.00' },
    });
    assert.equal(rest.status, 201, JSON.stringify(rest.body));
    assert.equal(rest.body.loan_status, 'paid_off');
    assert.equal((await loanState(s, loanId)).used_minor, 0n);
    assert.equal(await accountOfLoan(s, loanId, '2100'), 0n, 'nothing left payable to the merchant');
    await assertLedgerChecks(s);
  });

  test('with interest (GOODS-0DOWN, 12% annuity): a full return after two payments refunds the interest paid and clears unearned interest', async () => {
    await setBusinessDate(s, '2025-01-01');
    const { loanId, merchantId, orderId, token } = await buy(s, 60_000n, 6, s.lab.goodsProductId);
    const inst = await installments(s, loanId);
    const sql = s.lab.platform.db.sql;
    const [due] = await sql<{ total: bigint }[]>`
      select (principal_minor + interest_minor)::bigint as total from installments where loan_id = ${loanId} and number = 1`;
    for (const [date, key] of [
      [inst[0]!.due, 'i1'],
      [inst[1]!.due, 'i2'],
    ] as const) {
      await setBusinessDate(s, date);
      const r = await call(s.lab, 'POST', `/v1/loans/${loanId}/repayments`, {
        token,
        key,
        body: { amount: (Number(due!.total) / 100).toFixed(2) },
      });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      await closeDate(s, date);
    }
    await call(s.lab, 'PUT', `/v1/merchants/${merchantId}/return-policy`, {
      token: s.ops,
      body: { return_window_days: 90 },
    });
    await setBusinessDate(s, '2025-03-10');
    const [paid] = await sql<{ p: bigint; i: bigint }[]>`
      select sum(paid_principal_minor)::bigint as p, sum(paid_interest_minor)::bigint as i
      from installments where loan_id = ${loanId}`;
    const ret = await call(s.lab, 'POST', `/v1/orders/${orderId}/returns`, {
      token: s.lab.token('merchant', merchantId),
      key: 'i-ret',
      body: {},
    });
    assert.equal(ret.status, 201, JSON.stringify(ret.body));
    const minor = (text: string) => BigInt(text.replace('.', ''));
    assert.equal(minor(ret.body.refunded.principal), paid!.p);
    assert.equal(minor(ret.body.refunded.interest), paid!.i, 'interest paid is refunded on a full return');
    assert.equal(minor(ret.body.cancelled.principal), 60_000n - paid!.p);
    assert.equal(await accountOfLoan(s, loanId, '2300'), 0n, 'no unearned interest is left');
    assert.equal(await accountOfLoan(s, loanId, '4100'), 0n, 'no interest income is kept on returned goods');
    assert.equal((await loanState(s, loanId)).used_minor, 0n);
    await assertLedgerChecks(s);
  });
});

/**
 * Per-product delinquency policy through the product API (buckets, grace, write-off threshold) and
 * writing one loan off by hand on a chosen date; scenario tables on real PostgreSQL.
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

describe('delinquency policy per product, and write-off of one loan', () => {
  let s: Scenario;
  before(async () => {
    s = await startScenarios();
  });
  after(async () => {
    await s?.lab.close();
  });

  test('buckets, grace days and the write-off threshold set through the product API drive close of business', async () => {
    // product: M1 1-10, M2 11-20, M3 21-30, M3+ after; 2 grace days; written off at 40 days past due
    // | close of   | dpd after | bucket | late fee (10.00 fixed) | status      |
    // | 2025-02-02 | 2         | M1     | none (grace)           | active      |
    // | 2025-02-03 | 3         | M1     | 10.00                  | active      |
    // | 2025-02-10 | 10        | M1     |                        | active      |
    // | 2025-02-11 | 11        | M2     |                        | active      |
    // | 2025-03-12 | 40        |        |                        | written_off |
    const created = await call(s.lab, 'POST', '/v1/products', {
      token: s.ops,
      body: {
        code: 'SERV-POLICY',
        name: 'Goods with a short fuse',
        kind: 'goods',
        tenors: [6],
        rate: '0',
        method: 'equal-principal',
        grace_days: 2,
        late_fee: { amount: '10.00', percent_per_day: '0', cap: null },
        bucket_max_dpd: [10, 20, 30],
        write_off_dpd: 40,
      },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.deepEqual(created.body.bucket_max_dpd, [10, 20, 30]);
    assert.equal(created.body.write_off_dpd, 40);
    const bad = await call(s.lab, 'POST', '/v1/products', {
      token: s.ops,
      body: {
        code: 'SERV-BAD',
        name: 'x',
        kind: 'goods',
        tenors: [6],
        rate: '0',
        bucket_max_dpd: [10, 5, 30],
      },
    });
    assert.equal(bad.status, 422);
    assert.match(bad.body.error.message, /bucket_max_dpd/);

    await setBusinessDate(s, '2025-01-01');
    const { loanId } = await buy(s, 60_000n, 6, BigInt(created.body.id));
    const expect: [string, number, string, bigint, string][] = [
      ['2025-02-02', 2, 'M1', 0n, 'active'],
      ['2025-02-03', 3, 'M1', 1_000n, 'active'],
      ['2025-02-10', 10, 'M1', 1_000n, 'active'],
      ['2025-02-11', 11, 'M2', 1_000n, 'active'],
    ];
    for (const [date, dpd, bucket, penalty, status] of expect) {
      await closeDate(s, date);
      const st = await loanState(s, loanId);
      assert.deepEqual(
        [st.days_past_due, st.bucket, st.status],
        [dpd, bucket, status],
        `after the close of ${date}`,
      );
      assert.equal((await installments(s, loanId))[0]!.penalty, penalty, `penalty after ${date}`);
    }
    await closeDate(s, '2025-03-11');
    assert.equal((await loanState(s, loanId)).status, 'active', '39 days past due: not yet');
    await closeDate(s, '2025-03-12');
    assert.equal((await loanState(s, loanId)).status, 'written_off', 'written off at 40 days past due');
    await assertLedgerChecks(s);
  });

  test('ops write one loan off on a chosen date: the loss is what it still owed, the line is released and frozen', async () => {
    // | 2025-01-01 | order 600.00                          |                                         |
    // | 2025-02-01 | repay 100.00                          | 500.00 owed                             |
    // | 2025-02-20 | write off on 2025-02-15 (chosen date) | loss 500.00, entry dated 2025-02-15     |
    await setBusinessDate(s, '2025-01-01');
    const { loanId, customerId, token } = await buy(s, 60_000n);
    await setBusinessDate(s, '2025-02-01');
    await call(s.lab, 'POST', `/v1/loans/${loanId}/repayments`, {
      token,
      key: 'w-pay',
      body: { amount: '100.00' },
    });
    await setBusinessDate(s, '2025-02-20');
    const future = await call(s.lab, 'POST', `/v1/loans/${loanId}/write-off`, {
      token: s.ops,
      key: 'wo-0',
      body: { date: '2025-02-21', reason: 'fraud' },
    });
    assert.equal(future.body.error.code, 'WRITE_OFF_DATE_NOT_ALLOWED');
    const byCustomer = await call(s.lab, 'POST', `/v1/loans/${loanId}/write-off`, {
      token,
      key: 'wo-1',
      body: { reason: 'x' },
    });
    assert.equal(byCustomer.status, 403);
    const w = await call(s.lab, 'POST', `/v1/loans/${loanId}/write-off`, {
      token: s.ops,
      key: 'wo-2',
      body: { date: '2025-02-15', reason: 'customer deceased' },
    });
    assert.equal(w.status, 200, JSON.stringify(w.body));
    assert.deepEqual(w.body, {
      loan_id: loanId.toString(),
      date: '2025-02-15',
      loss: '500.00',
      loan_status: 'written_off',
    });
    const [entry] = await s.lab.platform.db.sql<{ d: string }[]>`
      select business_date::text as d from journal_entries where loan_id = ${loanId} and kind = 'write_off'`;
    assert.equal(entry!.d, '2025-02-15');
    assert.equal(await accountOfLoan(s, loanId, '5100'), 50_000n);
    const [line] = await s.lab.platform.db.sql<{ used_minor: bigint; status: string }[]>`
      select used_minor, status from credit_lines where customer_id = ${customerId}`;
    assert.deepEqual(line, { used_minor: 0n, status: 'frozen' });
    await assertLedgerChecks(s);
  });
});

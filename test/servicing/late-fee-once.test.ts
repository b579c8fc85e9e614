/**
 * A one-time percentage late fee as a product option (Fineract's "percentage of overdue
 * installment" penalty), set through the product API; scenario table on real PostgreSQL.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { call } from '../lending/fixtures.ts';
import {
  assertLedgerChecks,
  buy,
  closeDate,
  installments,
  type Scenario,
  setBusinessDate,
  startScenarios,
} from './support.ts';

describe('one-time percentage late fee', () => {
  let s: Scenario;
  before(async () => {
    s = await startScenarios();
  });
  after(async () => {
    await s?.lab.close();
  });

  test('5% of the overdue installment is charged once after the grace days, never again, never on a daily count', async () => {
    // product: late fee 5% of the overdue amount once, 1 grace day, no fixed part, no daily rate
    // | close of   | dpd | #1 penalty |
    // | 2025-02-01 | 1   | 0.00       | (grace)
    // | 2025-02-02 | 2   | 5.00       | 5% of 100.00
    // | 2025-02-20 | 20  | 5.00       | charged once
    const created = await call(s.lab, 'POST', '/v1/products', {
      token: s.ops,
      body: {
        code: 'SERV-ONCE',
        name: 'Goods with a one-time late fee',
        kind: 'goods',
        tenors: [6],
        rate: '0',
        method: 'equal-principal',
        grace_days: 1,
        late_fee: { amount: '0', percent_per_day: '0', percent_once: '5', cap: null },
      },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.late_fee.percent_once, '5');
    await setBusinessDate(s, '2025-01-01');
    const { loanId } = await buy(s, 60_000n, 6, BigInt(created.body.id));
    for (const [date, penalty] of [
      ['2025-02-01', 0n],
      ['2025-02-02', 500n],
      ['2025-02-20', 500n],
    ] as const) {
      await closeDate(s, date);
      assert.equal((await installments(s, loanId))[0]!.penalty, penalty, `after the close of ${date}`);
    }
    await assertLedgerChecks(s);
  });
});

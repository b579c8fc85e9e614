/**
 * Interest recalculation on early payment as a product option (Fineract's progressive interest
 * recalculation with "interest till pre-close"), set through the product API; scenario tables on
 * real PostgreSQL. Product: goods, 600.00 in six monthly equal-principal installments from
 * 2025-01-01 at 12% a year 30/360 (1% a month: interest 6.00, 5.00, 4.00, 3.00, 2.00, 1.00), no
 * late fee. The same steps on the same terms without the option are the contrast.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { call } from '../lending/fixtures.ts';
import {
  accountOfLoan,
  assertLedgerChecks,
  buy,
  type Scenario,
  setBusinessDate,
  startScenarios,
} from './support.ts';

interface InterestLine {
  n: number;
  interest: bigint;
  paidInterest: bigint;
  paidPrincipal: bigint;
  status: string;
}

async function interestLines(s: Scenario, loanId: bigint): Promise<InterestLine[]> {
  const rows = await s.lab.platform.db.sql<
    {
      number: number;
      interest_minor: bigint;
      paid_interest_minor: bigint;
      paid_principal_minor: bigint;
      status: string;
    }[]
  >`select number, interest_minor, paid_interest_minor, paid_principal_minor, status
    from installments where loan_id = ${loanId} order by number`;
  return rows.map((r) => ({
    n: r.number,
    interest: r.interest_minor,
    paidInterest: r.paid_interest_minor,
    paidPrincipal: r.paid_principal_minor,
    status: r.status,
  }));
}

async function product(s: Scenario, code: string, recalculation?: string): Promise<bigint> {
  const r = await call(s.lab, 'POST', '/v1/products', {
    token: s.ops,
    body: {
      code,
      name: `Goods at 1% a month (${recalculation ?? 'default'})`,
      kind: 'goods',
      tenors: [6],
      rate: '12',
      method: 'equal-principal',
      late_fee: { amount: '0', percent_per_day: '0', cap: null },
      ...(recalculation ? { interest_recalculation: recalculation } : {}),
    },
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.equal(r.body.interest_recalculation, recalculation ?? 'none');
  return BigInt(r.body.id);
}

async function repay(s: Scenario, loanId: bigint, token: string, key: string, amount: string, date?: string) {
  const r = await call(s.lab, 'POST', `/v1/loans/${loanId}/repayments`, {
    token: date ? s.ops : token,
    key,
    body: date ? { amount, transaction_date: date } : { amount },
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body;
}

describe('interest recalculation on early payment', () => {
  let s: Scenario;
  let progressive: bigint;
  let plain: bigint;
  before(async () => {
    s = await startScenarios();
    progressive = await product(s, 'SERV-RECALC', 'progressive');
    plain = await product(s, 'SERV-NO-RECALC');
  });
  after(async () => {
    await s?.lab.close();
  });

  test('an extra payment lowers the interest after it and the pay-off owes interest only to its date', async () => {
    // | date       | action             | progressive (the option)                        | default (contrast)               |
    // | 2025-02-01 | repay 106.00       | #1 paid (100.00 + 6.00)                         | same                             |
    // | 2025-02-15 | repay 200.00       | 2.50 interest (#2 accrued), 197.50 principal;   | 105.00 to #2, 4.00 + 91.00 to #3 |
    // |            |                    | #2 interest 5.00 -> 4.01, #3 4.00 -> 3.03       |                                  |
    // | 2025-03-10 | payoff quote       | 304.89 = 302.50 principal + 1.51 (#2) + 0.88    | 309.00                           |
    // |            |                    | (#3, 9 days at 302.50); waived 8.15             |                                  |
    // | 2025-03-10 | repay the payoff   | paid_off; interest paid 10.89 in all            | paid_off; interest paid 15.00    |
    const totals: Record<string, bigint> = {};
    for (const [name, productId, afterExtra, payoff] of [
      ['progressive', progressive, { principal: '197.50', interest: '2.50' }, '304.89'],
      ['default', plain, { principal: '191.00', interest: '9.00' }, '309.00'],
    ] as const) {
      await setBusinessDate(s, '2025-01-01');
      const { loanId, token } = await buy(s, 60_000n, 6, productId);
      await setBusinessDate(s, '2025-02-01');
      await repay(s, loanId, token, `${name}-1`, '106.00');
      await setBusinessDate(s, '2025-02-15');
      const extra = await repay(s, loanId, token, `${name}-2`, '200.00');
      assert.equal(extra.allocated.principal, afterExtra.principal, name);
      assert.equal(extra.allocated.interest, afterExtra.interest, name);
      if (name === 'progressive') {
        const lines = await interestLines(s, loanId);
        assert.deepEqual(
          lines.map((l) => [l.interest, l.paidInterest, l.paidPrincipal]),
          [
            [600n, 600n, 10_000n],
            [401n, 250n, 10_000n],
            [303n, 0n, 9_750n],
            [300n, 0n, 0n],
            [200n, 0n, 0n],
            [100n, 0n, 0n],
          ],
        );
        // receivable interest: 21.00 booked - 6.00 - 2.50 paid - 1.96 recalculated = 10.54
        assert.equal(await accountOfLoan(s, loanId, '1110'), 1_054n);
      }
      await assertLedgerChecks(s);
      await setBusinessDate(s, '2025-03-10');
      const quote = await call(s.lab, 'GET', `/v1/loans/${loanId}/payoff`, { token });
      assert.equal(quote.status, 200, JSON.stringify(quote.body));
      assert.equal(quote.body.total, payoff, name);
      const closed = await repay(s, loanId, token, `${name}-3`, payoff);
      assert.equal(closed.loan_status, 'paid_off');
      const lines = await interestLines(s, loanId);
      totals[name] = lines.reduce((sum, l) => sum + l.paidInterest, 0n);
      assert.equal(await accountOfLoan(s, loanId, '1110'), 0n);
      assert.equal(await accountOfLoan(s, loanId, '2300'), 0n);
      await assertLedgerChecks(s);
    }
    assert.deepEqual(totals, { progressive: 1_089n, default: 1_500n });
  });

  test('a reversed early payment puts the interest back; a backdated one recalculates from its date', async () => {
    // | date       | action                                   | expected                                  |
    // | 2025-02-01 | repay 106.00                             | #1 paid                                   |
    // | 2025-02-20 | staff: repay 200.00 dated 2025-02-15     | #2 interest 4.01, #3 3.03 (as on the day) |
    // | 2025-02-21 | staff: reverse it (bounced)              | #2 5.00, #3 4.00, nothing paid on them    |
    await setBusinessDate(s, '2025-01-01');
    const { loanId, token } = await buy(s, 60_000n, 6, progressive);
    await setBusinessDate(s, '2025-02-01');
    await repay(s, loanId, token, 'r-1', '106.00');
    await setBusinessDate(s, '2025-02-20');
    const dated = await repay(s, loanId, token, 'r-2', '200.00', '2025-02-15');
    let lines = await interestLines(s, loanId);
    assert.deepEqual(
      lines.slice(1, 3).map((l) => [l.interest, l.paidInterest, l.paidPrincipal]),
      [
        [401n, 250n, 10_000n],
        [303n, 0n, 9_750n],
      ],
    );
    await assertLedgerChecks(s);
    await setBusinessDate(s, '2025-02-21');
    const reversed = await call(s.lab, 'POST', `/v1/loans/${loanId}/repayments/${dated.id}/reversal`, {
      token: s.ops,
      key: 'r-3',
      body: { reason: 'bounced' },
    });
    assert.equal(reversed.status, 200, JSON.stringify(reversed.body));
    lines = await interestLines(s, loanId);
    assert.deepEqual(
      lines.map((l) => [l.interest, l.paidInterest, l.paidPrincipal]),
      [
        [600n, 600n, 10_000n],
        [500n, 0n, 0n],
        [400n, 0n, 0n],
        [300n, 0n, 0n],
        [200n, 0n, 0n],
        [100n, 0n, 0n],
      ],
    );
    assert.equal(await accountOfLoan(s, loanId, '1110'), 1_500n);
    await assertLedgerChecks(s);
  });

  test('the option is fixed once the product exists, and refused for flat interest', async () => {
    const body = {
      code: 'SERV-RECALC',
      name: 'Goods at 1% a month (none)',
      kind: 'goods',
      tenors: [6],
      rate: '12',
      method: 'equal-principal',
      interest_recalculation: 'none',
    };
    const put = await call(s.lab, 'PUT', `/v1/products/${progressive}`, { token: s.ops, body });
    assert.equal(put.status, 409, JSON.stringify(put.body));
    assert.equal(put.body.error.code, 'INTEREST_RECALCULATION_FIXED');
    const flat = await call(s.lab, 'POST', '/v1/products', {
      token: s.ops,
      body: { ...body, code: 'SERV-FLAT', method: 'flat', interest_recalculation: 'progressive' },
    });
    assert.equal(flat.status, 422, JSON.stringify(flat.body));
    assert.equal(flat.body.error.code, 'INVALID_PRODUCT');
  });
});

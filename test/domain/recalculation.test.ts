/**
 * Interest recalculation on early payment (domain/recalculation.ts), pure: 600.00 at 1% a month
 * in six equal-principal installments from 2025-01-01 (interest 6, 5, 4, 3, 2, 1 on the schedule).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type InstallmentState, ZERO_COMPONENTS } from '../../src/domain/allocation.ts';
import {
  interestOnActualBalance,
  planProgressiveRepayment,
  progressivePayoffQuote,
  type RecalculationBasis,
} from '../../src/domain/recalculation.ts';

const DUES = ['2025-02-01', '2025-03-01', '2025-04-01', '2025-05-01', '2025-06-01', '2025-07-01'];
const schedule = DUES.map((dueDate, k) => ({
  number: k + 1,
  dueDate,
  principalMinor: 10_000n,
  scheduledInterestMinor: BigInt(600 - 100 * k),
}));
const basis = (principalPaid: RecalculationBasis['principalPaid']): RecalculationBasis => ({
  startDate: '2025-01-01',
  schedule,
  principalPaid,
  rounding: { roundingMode: 'half-up', multipleMinor: 1n },
});
const fresh = (): InstallmentState[] =>
  schedule.map((r) => ({
    number: r.number,
    dueDate: r.dueDate,
    scheduled: { principal: r.principalMinor, interest: r.scheduledInterestMinor, fee: 0n, penalty: 0n },
    paid: { ...ZERO_COMPONENTS },
  }));

describe('interest recalculation', () => {
  test('with principal paid on schedule the interest is exactly the scheduled interest', () => {
    const onTime = DUES.slice(0, 5).map((date) => ({ date, amountMinor: 10_000n }));
    assert.deepEqual(
      [...interestOnActualBalance(basis(onTime), null).values()],
      [600n, 500n, 400n, 300n, 200n, 100n],
    );
  });

  test('a late payment never raises interest', () => {
    assert.deepEqual(
      [...interestOnActualBalance(basis([]), null).values()],
      [600n, 500n, 400n, 300n, 200n, 100n],
    );
  });

  test('principal paid mid-period lowers that period for the days after it (rounded half-up once)', () => {
    // 500.00 for 14 days then 302.50 for 14 days of February: 5.00 x 11,235 / 14,000 = 4.0125 -> 4.01;
    // March at 302.50 against an opening 400.00: 4.00 x 302.5 / 400 = 3.025 -> 3.03
    const paid = [
      { date: '2025-02-01', amountMinor: 10_000n },
      { date: '2025-02-15', amountMinor: 19_750n },
    ];
    const interest = interestOnActualBalance(basis(paid), null);
    assert.equal(interest.get(2), 401n);
    assert.equal(interest.get(3), 303n);
    assert.equal(interest.get(4), 300n);
  });

  test('an extra payment pays the interest accrued so far, then principal oldest first, and lowers later interest', () => {
    const inst = fresh();
    inst[0] = { ...inst[0]!, paid: { ...inst[0]!.scheduled } };
    const facts = {
      amountMinor: 20_000n,
      overpayment: 'refuse' as const,
      loanPrincipalMinor: 60_000n,
      installments: inst,
      order: ['penalty', 'fee', 'interest', 'principal'] as const,
    };
    const plan = planProgressiveRepayment(
      basis([{ date: '2025-02-01', amountMinor: 10_000n }]),
      facts,
      '2025-02-15',
    );
    assert.ok(plan.ok);
    assert.equal(plan.paysOff, false);
    assert.deepEqual(plan.split, { penalty: 0n, fee: 0n, interest: 250n, principal: 19_750n });
    assert.equal(plan.recalculatedInterestMinor, 196n);
    const byNumber = new Map(plan.updates.map((u) => [u.number, u]));
    assert.equal(byNumber.get(2)!.interest, 401n);
    assert.equal(byNumber.get(3)!.interest, 303n);
    assert.equal(byNumber.get(3)!.paid.principal, 9_750n);
  });

  test('paying off early owes interest only to the pay-off date, on the actual balance', () => {
    const inst = fresh().map((i) => ({ ...i }));
    inst[0] = { ...inst[0]!, paid: { ...inst[0]!.scheduled } };
    inst[1] = {
      ...inst[1]!,
      scheduled: { ...inst[1]!.scheduled, interest: 401n },
      paid: { principal: 10_000n, interest: 250n, fee: 0n, penalty: 0n },
    };
    inst[2] = {
      ...inst[2]!,
      scheduled: { ...inst[2]!.scheduled, interest: 303n },
      paid: { principal: 9_750n, interest: 0n, fee: 0n, penalty: 0n },
    };
    const paid = [
      { date: '2025-02-01', amountMinor: 10_000n },
      { date: '2025-02-15', amountMinor: 19_750n },
    ];
    // March: 9 days at 302.50 of 31: 4.00 x 302.5 x 9 / (400 x 31) = 0.878 -> 0.88
    const quote = progressivePayoffQuote(basis(paid), inst, '2025-03-10');
    assert.deepEqual(quote.owed, { principal: 30_250n, interest: 151n + 88n, fee: 0n, penalty: 0n });
    assert.equal(quote.totalMinor, 30_489n);
    assert.equal(quote.waivedInterestMinor, 303n - 88n + 300n + 200n + 100n);
  });
});

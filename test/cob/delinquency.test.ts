import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  bucketFor,
  daysPastDue,
  type InstallmentState,
  isOverdue,
  lateFeeDueMinor,
  outstandingOf,
  reachesWriteOff,
  writeOffDpdOf,
} from '../../src/domain/delinquency.ts';
import { addDays, lateFeeFor, validateProduct } from '../../src/domain/index.ts';
import { testProductInput } from './fixtures.ts';

function installment(over: Partial<InstallmentState> = {}): InstallmentState {
  return {
    number: 1,
    dueDate: '2025-03-01',
    status: 'due',
    principalMinor: 100_000n,
    interestMinor: 1_500n,
    feeMinor: 0n,
    penaltyMinor: 0n,
    paidPrincipalMinor: 0n,
    paidInterestMinor: 0n,
    paidFeeMinor: 0n,
    paidPenaltyMinor: 0n,
    ...over,
  };
}

describe('delinquency: days past due and buckets', () => {
  it('puts 0 days in current, 1-30 in M1, 31-60 in M2, 61-90 in M3 and 91 and over in M3+', () => {
    const expected: [number, string][] = [
      [0, 'current'],
      [1, 'M1'],
      [30, 'M1'],
      [31, 'M2'],
      [60, 'M2'],
      [61, 'M3'],
      [90, 'M3'],
      [91, 'M3+'],
      [400, 'M3+'],
    ];
    for (const [dpd, bucket] of expected) assert.equal(bucketFor(dpd), bucket, `${dpd} days`);
  });

  it('counts days past due from the oldest unpaid installment, and not on its due date itself', () => {
    const list = [
      installment({ number: 1, dueDate: '2025-01-01', status: 'paid' }),
      installment({ number: 2, dueDate: '2025-02-01' }),
      installment({ number: 3, dueDate: '2025-03-01' }),
    ];
    assert.equal(daysPastDue(list, '2025-02-01'), 0, 'due today is not late');
    assert.equal(daysPastDue(list, '2025-02-02'), 1);
    assert.equal(daysPastDue(list, '2025-03-05'), 32, 'the oldest unpaid one counts');
    assert.equal(isOverdue(list[0]!, '2025-06-01'), false, 'a paid installment is never overdue');
    assert.equal(isOverdue(list[1]!, '2025-02-01'), false);
    assert.equal(isOverdue(list[1]!, '2025-02-02'), true);
  });

  it('writes off at the threshold, not a day before, and reads a product override', () => {
    assert.equal(reachesWriteOff(179, 180), false);
    assert.equal(reachesWriteOff(180, 180), true);
    assert.equal(writeOffDpdOf({ writeOffDpd: 90 }, 180), 90);
    for (const bad of [{}, null, { writeOffDpd: 0 }, { writeOffDpd: '90' }, { writeOffDpd: 1.5 }]) {
      assert.equal(writeOffDpdOf(bad, 180), 180);
    }
  });

  it('sums what unpaid installments still owe by component, ignoring paid ones', () => {
    const out = outstandingOf([
      installment({ status: 'paid', paidPrincipalMinor: 100_000n, paidInterestMinor: 1_500n }),
      installment({ number: 2, paidPrincipalMinor: 40_000n, penaltyMinor: 700n, paidPenaltyMinor: 200n }),
    ]);
    assert.deepEqual(out, {
      principalMinor: 60_000n,
      interestMinor: 1_500n,
      feeMinor: 0n,
      penaltyMinor: 500n,
    });
  });
});

describe('delinquency: incremental late fees', () => {
  const product = validateProduct(testProductInput());

  it('charges nothing within the grace days, then the fee owed minus what was already charged', () => {
    const i = installment();
    assert.equal(lateFeeDueMinor(product, i, addDays(i.dueDate, 3)), 0n);
    const owed4 = lateFeeFor(product, 101_500n, 4);
    assert.equal(lateFeeDueMinor(product, i, addDays(i.dueDate, 4)), owed4);
    assert.equal(lateFeeDueMinor(product, { ...i, penaltyMinor: owed4 }, addDays(i.dueDate, 4)), 0n);
  });

  it('arrives at the same total charged daily or all at once, never above the cap', () => {
    let daily = installment();
    for (let day = 1; day <= 400; day += 1) {
      const fee = lateFeeDueMinor(product, daily, addDays(daily.dueDate, day));
      daily = { ...daily, penaltyMinor: daily.penaltyMinor + fee };
      assert.ok(daily.penaltyMinor <= 20_000n, 'never above the cap');
    }
    const once = lateFeeDueMinor(product, installment(), addDays('2025-03-01', 400));
    assert.equal(daily.penaltyMinor, once);
    assert.equal(once, 20_000n);
  });

  it('never takes a fee back when a part payment shrinks what is overdue', () => {
    const charged = installment({ penaltyMinor: 5_000n, paidPrincipalMinor: 99_000n });
    assert.equal(lateFeeDueMinor(product, charged, addDays(charged.dueDate, 10)), 0n);
  });
});

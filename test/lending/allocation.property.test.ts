/**
 * Properties of repayment allocation and payoff quotes over random loans: nothing is paid beyond
 * what is due, the parts add up to the payment less the excess, the order is honoured.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  allocate,
  type Components,
  type InstallmentDue,
  payoffQuote,
  sumComponents,
} from '../../src/domain/allocation.ts';
import { addMonths, DEFAULT_ALLOCATION_ORDER } from '../../src/domain/index.ts';
import type { AllocationTarget } from '../../src/domain/product.ts';

const RUNS = Number(process.env.FENQI_PROPERTY_RUNS ?? 1000);
const amount = fc.bigInt({ min: 0n, max: 1_000_000n });
const components = fc.record({ penalty: amount, fee: amount, interest: amount, principal: amount });
const dues = fc
  .array(components, { minLength: 1, maxLength: 24 })
  .map((list) =>
    list.map((due, k): InstallmentDue => ({ number: k + 1, dueDate: addMonths('2025-01-15', k + 1), due })),
  );
const order = fc.shuffledSubarray([...DEFAULT_ALLOCATION_ORDER], { minLength: 4, maxLength: 4 });

describe('allocation of a repayment', () => {
  it('never pays a component more than is due on it', () => {
    fc.assert(
      fc.property(dues, fc.bigInt({ min: 0n, max: 200_000_000n }), order, (d, pay, o) => {
        const a = allocate(d, pay, o as AllocationTarget[]);
        for (const inst of a.installments) {
          const due = d.find((x) => x.number === inst.number)!.due;
          for (const t of DEFAULT_ALLOCATION_ORDER) assert.ok(inst.paid[t] >= 0n && inst.paid[t] <= due[t]);
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('allocates exactly the payment less the excess, and leaves excess only when everything is paid', () => {
    fc.assert(
      fc.property(dues, fc.bigInt({ min: 0n, max: 200_000_000n }), order, (d, pay, o) => {
        const a = allocate(d, pay, o as AllocationTarget[]);
        assert.equal(sumComponents(a.totals) + a.excessMinor, pay);
        const owed = d.reduce((s, x) => s + sumComponents(x.due), 0n);
        assert.equal(a.excessMinor, pay > owed ? pay - owed : 0n);
      }),
      { numRuns: RUNS },
    );
  });

  it('honours the order: oldest installment first, and within it the product order', () => {
    fc.assert(
      fc.property(dues, fc.bigInt({ min: 0n, max: 200_000_000n }), order, (d, pay, o) => {
        const a = allocate(d, pay, o as AllocationTarget[]);
        const paid = new Map(a.installments.map((i) => [i.number, i.paid]));
        const zero: Components = { penalty: 0n, fee: 0n, interest: 0n, principal: 0n };
        // Flatten the debts in the promised order; a later debt gets money only if all earlier are paid.
        const flat: { due: bigint; got: bigint }[] = [];
        for (const inst of d) {
          const p = paid.get(inst.number) ?? zero;
          for (const t of o as AllocationTarget[]) flat.push({ due: inst.due[t], got: p[t] });
        }
        let allPaidSoFar = true;
        for (const f of flat) {
          if (!allPaidSoFar) assert.equal(f.got, 0n);
          if (f.got < f.due) allPaidSoFar = false;
        }
      }),
      { numRuns: RUNS },
    );
  });
});

describe('payoff quote', () => {
  it('owes outstanding principal, fees and penalties in full and never more interest than scheduled', () => {
    fc.assert(
      fc.property(dues, fc.integer({ min: -40, max: 800 }), (d, offsetDays) => {
        const installments = d.map((x) => ({
          number: x.number,
          dueDate: x.dueDate,
          scheduled: x.due,
          paid: { penalty: 0n, fee: 0n, interest: 0n, principal: 0n },
        }));
        const date = new Date(Date.UTC(2025, 0, 15) + offsetDays * 86_400_000).toISOString().slice(0, 10);
        const q = payoffQuote('2025-01-15', installments, date);
        const sum = (t: AllocationTarget) => d.reduce((s, x) => s + x.due[t], 0n);
        assert.equal(q.owed.principal, sum('principal'));
        assert.equal(q.owed.fee, sum('fee'));
        assert.equal(q.owed.penalty, sum('penalty'));
        assert.equal(q.owed.interest + q.waivedInterestMinor, sum('interest'));
        assert.ok(q.waivedInterestMinor >= 0n);
        if (date >= d[d.length - 1]!.dueDate) assert.equal(q.waivedInterestMinor, 0n);
        if (date <= '2025-01-15') assert.equal(q.owed.interest, 0n);
      }),
      { numRuns: RUNS },
    );
  });
});

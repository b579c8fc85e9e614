/**
 * Properties of every schedule, over thousands of random products: the money rules must hold for
 * any combination of method, frequency, basis, rounding, down payment and fees, not only for the
 * hand-checked examples.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  BASES,
  buildSchedule,
  DomainError,
  FREQUENCY_UNITS,
  METHODS,
  ROUNDING_MODES,
  rational,
  type Schedule,
  type ScheduleTermsInput,
  UPFRONT_FEE_MODES,
} from '../../src/domain/index.ts';

// FENQI_PROPERTY_RUNS raises the count for a deeper search; the default keeps each file near a second.
const RUNS = Number(process.env.FENQI_PROPERTY_RUNS ?? 2000);

const frequencyArb = fc.constantFrom(...FREQUENCY_UNITS).chain((unit) =>
  fc.record({
    unit: fc.constant(unit),
    every:
      unit === 'month'
        ? fc.integer({ min: 1, max: 6 })
        : unit === 'week'
          ? fc.integer({ min: 1, max: 4 })
          : fc.integer({ min: 1, max: 60 }),
  }),
);

/** Rates in basis points: up to 60% a year, or up to 5% a month. */
const rateArb = fc.oneof(
  fc.record({ bp: fc.integer({ min: 0, max: 6000 }), per: fc.constant('year' as const) }),
  fc.record({ bp: fc.integer({ min: 0, max: 500 }), per: fc.constant('month' as const) }),
);

const termsArb = fc
  .record({
    principalMinor: fc.bigInt({ min: 1n, max: 10n ** 10n }),
    rate: rateArb,
    tenor: fc.integer({ min: 1, max: 48 }),
    method: fc.constantFrom(...METHODS),
    frequency: frequencyArb,
    basis: fc.constantFrom(...BASES),
    mode: fc.constantFrom(...ROUNDING_MODES),
    decimals: fc.integer({ min: 0, max: 3 }),
    multipleMinor: fc.constantFrom(1n, 1n, 1n, 5n, 10n, 100n),
    downPaymentBp: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 9000 })),
    upfrontMinor: fc.oneof(fc.constant(0n), fc.bigInt({ min: 0n, max: 10_000n })),
    upfrontBp: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 500 })),
    upfrontMode: fc.constantFrom(...UPFRONT_FEE_MODES),
    installmentMinor: fc.oneof(fc.constant(0n), fc.bigInt({ min: 0n, max: 1_000n })),
    installmentBp: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 100 })),
    startDate: fc
      .date({
        min: new Date('2000-01-01T00:00:00Z'),
        max: new Date('2040-12-31T00:00:00Z'),
        noInvalidDate: true,
      })
      .map((d) => d.toISOString().slice(0, 10)),
  })
  .map(
    (a): ScheduleTermsInput => ({
      principalMinor: a.principalMinor,
      rate: { fraction: rational(BigInt(a.rate.bp), 10000n), per: a.rate.per },
      tenor: a.tenor,
      startDate: a.startDate,
      method: a.method,
      frequency: a.frequency,
      basis: a.basis,
      rounding: { mode: a.mode, decimals: a.decimals, multipleMinor: a.multipleMinor },
      downPayment: rational(BigInt(a.downPaymentBp), 10000n),
      fees: {
        upfrontMinor: a.upfrontMinor,
        upfrontRate: rational(BigInt(a.upfrontBp), 10000n),
        upfrontMode: a.upfrontMode,
        installmentMinor: a.installmentMinor,
        installmentRate: rational(BigInt(a.installmentBp), 10000n),
      },
    }),
  );

/**
 * Builds the schedule, or returns null when the terms are refused for a documented reason: a
 * rounding multiple too coarse for a tiny amount, a deducted fee that eats the whole loan, or an
 * APR too large to represent.
 * Any other error fails the property.
 */
function build(terms: ScheduleTermsInput): Schedule | null {
  try {
    return buildSchedule(terms);
  } catch (err) {
    if (err instanceof DomainError && (err.code === 'ROUNDING_TOO_COARSE' || err.code === 'INVALID_TERMS')) {
      return null;
    }
    // A fixed fee on a loan of a few minor units can cost more than e^700 a year, which no double
    // holds; that refusal is expected only when there is a fixed fee.
    const fixedFee = (terms.fees?.upfrontMinor ?? 0n) + (terms.fees?.installmentMinor ?? 0n) > 0n;
    if (err instanceof DomainError && err.code === 'APR_NOT_FOUND' && fixedFee) return null;
    throw err;
  }
}

function zeroCost(terms: ScheduleTermsInput): ScheduleTermsInput {
  return {
    ...terms,
    rate: { fraction: rational(0n), per: 'year' },
    fees: {
      upfrontMinor: 0n,
      upfrontRate: rational(0n),
      installmentMinor: 0n,
      installmentRate: rational(0n),
    },
  };
}

describe('schedule properties over random products', () => {
  it('principal parts sum exactly to the amount financed and no part is ever negative', () => {
    let built = 0;
    fc.assert(
      fc.property(termsArb, (terms) => {
        const s = build(terms);
        if (s === null) return;
        built++;
        const principal = s.installments.reduce((sum, i) => sum + i.principalMinor, 0n);
        assert.equal(principal, s.amountFinancedMinor);
        let previousBalance = s.amountFinancedMinor;
        for (const i of s.installments) {
          assert.ok(
            i.principalMinor >= 0n && i.interestMinor >= 0n && i.feeMinor >= 0n && i.balanceMinor >= 0n,
          );
          assert.equal(i.totalMinor, i.principalMinor + i.interestMinor + i.feeMinor);
          assert.equal(i.balanceMinor, previousBalance - i.principalMinor);
          previousBalance = i.balanceMinor;
        }
        assert.equal(previousBalance, 0n);
        assert.ok(s.downPaymentMinor >= 0n && s.downPaymentMinor < terms.principalMinor);
        assert.equal(s.installments.length, terms.tenor);
        assert.ok(s.apr.fraction >= 0);
      }),
      { numRuns: RUNS },
    );
    // The refusals must stay the exception, or the property would prove little.
    assert.ok(built > RUNS * 0.8, `only ${built} of ${RUNS} random products built a schedule`);
  });

  it('with a 0% rate and no fees all interest is zero and the APR is exactly 0', () => {
    fc.assert(
      fc.property(termsArb, (terms) => {
        const s = build(zeroCost(terms));
        if (s === null) return;
        assert.ok(s.installments.every((i) => i.interestMinor === 0n && i.feeMinor === 0n));
        assert.equal(s.totalInterestMinor, 0n);
        assert.equal(s.apr.fraction, 0);
        assert.equal(s.apr.percent, '0.00');
        assert.equal(s.totalPayableMinor, terms.principalMinor);
      }),
      { numRuns: RUNS },
    );
  });

  it('annuity installments are all equal except the last', () => {
    fc.assert(
      fc.property(termsArb, (terms) => {
        const s = build({ ...terms, method: 'annuity' });
        if (s === null) return;
        const first = s.installments[0]!.totalMinor;
        for (const i of s.installments.slice(0, -1)) assert.equal(i.totalMinor, first);
      }),
      { numRuns: RUNS },
    );
  });

  it('a higher rate never lowers total interest', () => {
    fc.assert(
      fc.property(termsArb, fc.integer({ min: 0, max: 3000 }), (terms, extraBp) => {
        const higher: ScheduleTermsInput = {
          ...terms,
          rate: {
            per: terms.rate.per,
            fraction: rational(
              terms.rate.fraction.num * 10000n + BigInt(extraBp) * terms.rate.fraction.den,
              terms.rate.fraction.den * 10000n,
            ),
          },
        };
        const low = build(terms);
        const high = build(higher);
        if (low === null || high === null) return;
        assert.ok(
          high.totalInterestMinor >= low.totalInterestMinor,
          `+${extraBp} bp lowered total interest from ${low.totalInterestMinor} to ${high.totalInterestMinor}`,
        );
      }),
      { numRuns: RUNS },
    );
  });

  it('due dates strictly increase and the down payment falls on the start date', () => {
    fc.assert(
      fc.property(termsArb, (terms) => {
        const s = build(terms);
        if (s === null) return;
        assert.equal(s.downPaymentDate, terms.startDate);
        let previous = terms.startDate;
        for (const i of s.installments) {
          assert.ok(i.dueDate > previous, `${i.dueDate} is not after ${previous}`);
          previous = i.dueDate;
        }
      }),
      { numRuns: RUNS },
    );
  });
});

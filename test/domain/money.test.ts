import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  DomainError,
  divRound,
  formatAmount,
  formatPercent,
  fromBp,
  parseAmount,
  parsePercent,
  rational,
  roundToUnit,
} from '../../src/domain/index.ts';

describe('money: decimal strings and minor units', () => {
  it('parses decimal strings into minor units for the currency decimals', () => {
    assert.equal(parseAmount('12000.00', 2), 1_200_000n);
    assert.equal(parseAmount('12000', 2), 1_200_000n);
    assert.equal(parseAmount('0.5', 2), 50n);
    assert.equal(parseAmount('-3.25', 2), -325n);
    assert.equal(parseAmount('100', 0), 100n);
    assert.equal(parseAmount('1.230', 2), 123n, 'trailing zeros beyond the decimals are harmless');
  });

  it('refuses more decimal places than the currency has, and anything not a decimal', () => {
    for (const text of ['1.234', '1e3', '', '12,000.00', 'abc', '.5', '1.']) {
      assert.throws(
        () => parseAmount(text, 2),
        (e: unknown) => e instanceof DomainError && e.code === 'INVALID_AMOUNT',
      );
    }
    assert.throws(() => parseAmount('1.5', 0), DomainError);
  });

  it('formats minor units with exactly the currency decimals', () => {
    assert.equal(formatAmount(1_200_000n, 2), '12000.00');
    assert.equal(formatAmount(5n, 2), '0.05');
    assert.equal(formatAmount(-5n, 2), '-0.05');
    assert.equal(formatAmount(0n, 2), '0.00');
    assert.equal(formatAmount(1234n, 0), '1234');
    assert.equal(formatAmount(1n, 3), '0.001');
  });

  it('round-trips every amount through format and parse', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: -(10n ** 20n), max: 10n ** 20n }),
        fc.integer({ min: 0, max: 6 }),
        (minor, dec) => {
          assert.equal(parseAmount(formatAmount(minor, dec), dec), minor);
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('money: rounding', () => {
  it('half-up sends exact halves away from zero, half-even to the even neighbour', () => {
    // 2.5 → 3 / 2, 3.5 → 4 / 4, -2.5 → -3 / -2, 2.4 → 2 / 2, 2.6 → 3 / 3
    const cases: [bigint, bigint, bigint, bigint][] = [
      [5n, 2n, 3n, 2n],
      [7n, 2n, 4n, 4n],
      [-5n, 2n, -3n, -2n],
      [12n, 5n, 2n, 2n],
      [13n, 5n, 3n, 3n],
      [1n, 3n, 0n, 0n],
    ];
    for (const [num, den, up, even] of cases) {
      assert.equal(divRound(num, den, 'half-up'), up, `${num}/${den} half-up`);
      assert.equal(divRound(num, den, 'half-even'), even, `${num}/${den} half-even`);
    }
  });

  it('rounds to a multiple: 1250 to hundreds is 1300 half-up and 1200 half-even', () => {
    assert.equal(roundToUnit(1250n, 1n, 100n, 'half-up'), 1300n);
    assert.equal(roundToUnit(1250n, 1n, 100n, 'half-even'), 1200n);
    assert.equal(roundToUnit(1350n, 1n, 100n, 'half-even'), 1400n);
    assert.equal(roundToUnit(1249n, 1n, 100n, 'half-up'), 1200n);
    assert.equal(roundToUnit(10000n, 3n, 100n, 'half-up'), 3300n);
  });

  it('never moves a value by more than half a unit', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: -(10n ** 15n), max: 10n ** 15n }),
        fc.bigInt({ min: 1n, max: 10n ** 6n }),
        fc.bigInt({ min: 1n, max: 1000n }),
        fc.constantFrom('half-up' as const, 'half-even' as const),
        (num, den, unit, mode) => {
          const r = roundToUnit(num, den, unit, mode);
          assert.equal(r % unit, 0n);
          const twiceError = (r * den - num) * 2n;
          assert.ok(twiceError <= unit * den && twiceError >= -unit * den);
        },
      ),
      { numRuns: 3000 },
    );
  });
});

describe('rates', () => {
  it('parses percentages exactly, with no float in between', () => {
    assert.deepEqual(parsePercent('24'), rational(24n, 100n));
    assert.deepEqual(parsePercent('0.05'), rational(5n, 10000n));
    assert.deepEqual(parsePercent('7.125'), rational(7125n, 100000n));
    assert.deepEqual(fromBp(2400), rational(6n, 25n));
    assert.throws(() => parsePercent('-1'), DomainError);
    assert.throws(() => parsePercent('24%'), DomainError);
  });

  it('formats a fraction as a percentage rounded half-up to two places', () => {
    assert.equal(formatPercent(rational(24n, 100n)), '24.00');
    assert.equal(formatPercent(rational(1n, 3n)), '33.33');
    assert.equal(formatPercent(rational(2n, 3n)), '66.67');
    assert.equal(formatPercent(rational(0n)), '0.00');
  });
});

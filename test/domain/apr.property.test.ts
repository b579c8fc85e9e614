/** The APR solver against closed forms and its own definition, over random loans. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { aprOf, buildSchedule, type CashFlow, exceedsCap, rational } from '../../src/domain/index.ts';

describe('APR by internal rate of return', () => {
  it('of a fee-free monthly annuity is (1 + r/12)^12 − 1, on loans large enough that rounding a fen does not move it', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 10_000_000n, max: 10n ** 10n }),
        fc.integer({ min: 1, max: 6000 }),
        fc.integer({ min: 2, max: 48 }),
        (principalMinor, rateBp, tenor) => {
          const s = buildSchedule({
            principalMinor,
            rate: { fraction: rational(BigInt(rateBp), 10000n), per: 'year' },
            tenor,
            startDate: '2024-01-31',
          });
          const expected = (1 + rateBp / 10000 / 12) ** 12 - 1;
          assert.ok(Math.abs(s.apr.fraction - expected) < 1e-4, `${s.apr.fraction} vs ${expected}`);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('discounts the cash flow to zero at the rate it reports', () => {
    let checked = 0;
    fc.assert(
      fc.property(
        fc.bigInt({ min: 1_000n, max: 10n ** 9n }),
        // Repay between half and three times the money lent, split by random weights.
        fc.integer({ min: 500, max: 3000 }),
        fc.array(
          fc.record({ weight: fc.integer({ min: 0, max: 100 }), days: fc.integer({ min: 30, max: 2000 }) }),
          {
            minLength: 1,
            maxLength: 24,
          },
        ),
        (lentMinor, perMille, parts) => {
          const weights = parts.reduce((sum, p) => sum + p.weight, 0);
          if (weights === 0) return;
          const flows: CashFlow[] = [
            { amountMinor: -lentMinor, years: 0 },
            ...parts.map((p) => ({
              amountMinor: (lentMinor * BigInt(perMille) * BigInt(p.weight)) / (1000n * BigInt(weights)),
              years: p.days / 365,
            })),
          ];
          const total = flows.slice(1).reduce((sum, f) => sum + f.amountMinor, 0n);
          if (total === 0n) return;
          const apr = aprOf(flows);
          const npv = flows.reduce(
            (v, f) => v + (Number(f.amountMinor) / Number(lentMinor)) * (1 + apr.fraction) ** -f.years,
            0,
          );
          assert.ok(Math.abs(npv) < 1e-9, `npv ${npv} at ${apr.fraction}`);
          assert.equal(apr.fraction > 0, total > lentMinor);
          checked++;
        },
      ),
      { numRuns: 2000 },
    );
    assert.ok(checked > 1500, `only ${checked} cash flows checked`);
  });

  it('is exactly at a cap of its own value without being refused', () => {
    // 12000 repaid as 12 × 1000 plus 1200 after one year: exactly 10% a year.
    const apr = aprOf([
      { amountMinor: -1_200_000n, years: 0 },
      { amountMinor: 1_320_000n, years: 1 },
    ]);
    assert.equal(apr.percent, '10.00');
    assert.equal(exceedsCap(apr, rational(10n, 100n)), false);
    assert.equal(exceedsCap(apr, rational(999n, 10000n)), true);
  });
});

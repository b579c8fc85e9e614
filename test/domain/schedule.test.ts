/**
 * Hand-checked schedules. Each expected figure was worked by hand from the rule in the comment
 * above it (or taken from the published reference named there), not copied from the code's output.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  buildSchedule,
  DomainError,
  formatAmount,
  parsePercent,
  type Rate,
  type Schedule,
  type ScheduleTermsInput,
} from '../../src/domain/index.ts';

const perYear = (percent: string): Rate => ({ fraction: parsePercent(percent), per: 'year' });

/** Each installment as "due principal interest fee total balance", in the currency's decimals. */
function rows(s: Schedule): string[] {
  const m = (x: bigint) => formatAmount(x, s.terms.rounding.decimals);
  return s.installments.map(
    (i) =>
      `${i.dueDate} ${m(i.principalMinor)} ${m(i.interestMinor)} ${m(i.feeMinor)} ${m(i.totalMinor)} ${m(i.balanceMinor)}`,
  );
}

/**
 * Present value of the installments at the monthly rate equivalent to the APR, as a check of the
 * APR that does not use the solver: (1 + APR)^(1/12) − 1 per month.
 */
function presentValueAtApr(s: Schedule): number {
  const monthly = (1 + s.apr.fraction) ** (1 / 12) - 1;
  return s.installments.reduce((pv, inst, k) => pv + Number(inst.totalMinor) / (1 + monthly) ** (k + 1), 0);
}

function build(terms: ScheduleTermsInput): Schedule {
  return buildSchedule(terms);
}

describe('annuity', () => {
  // PMT(2%, 12, 12000) = 1134.7148 (LibreOffice/Excel PMT), rounded once to 1134.72. Month 1
  // interest 12000 × 2% = 240.00; the last installment takes the 11 rounded-up half-fen back:
  // 12 × 1134.72 − 13616.59 = 0.05 less. APR = 1.02^12 − 1 = 26.824%.
  it('24% a year over 12 months: 1134.72 a month, the last 1134.67, APR 26.82%', () => {
    const s = build({ principalMinor: 1_200_000n, rate: perYear('24'), tenor: 12, startDate: '2024-01-31' });
    const r = rows(s);
    assert.equal(r[0], '2024-02-29 894.72 240.00 0.00 1134.72 11105.28');
    assert.equal(r[1], '2024-03-31 912.61 222.11 0.00 1134.72 10192.67');
    assert.equal(r[11], '2025-01-31 1112.42 22.25 0.00 1134.67 0.00');
    assert.equal(formatAmount(s.totalInterestMinor, 2), '1616.59');
    assert.equal(s.apr.percent, '26.82');
  });

  // Quarterly: PMT(3%, 4, 10000) = 2690.27 (LibreOffice PMT). Interest 300.00, then 7609.73 × 3% =
  // 228.29, 5147.75 × 3% = 154.43, 2611.91 × 3% = 78.36. APR = 1.03^4 − 1 = 12.55%.
  it('every 3 months at 12% a year: four payments of 2690.27', () => {
    const s = build({
      principalMinor: 1_000_000n,
      rate: perYear('12'),
      tenor: 4,
      startDate: '2024-01-15',
      frequency: { every: 3, unit: 'month' },
    });
    assert.deepEqual(rows(s), [
      '2024-04-15 2390.27 300.00 0.00 2690.27 7609.73',
      '2024-07-15 2461.98 228.29 0.00 2690.27 5147.75',
      '2024-10-15 2535.84 154.43 0.00 2690.27 2611.91',
      '2025-01-15 2611.91 78.36 0.00 2690.27 0.00',
    ]);
    assert.equal(s.apr.percent, '12.55');
  });

  // actual/365 at 36.5%: Jan 1 → Feb 1 is 31 days (r1 = 0.031), Feb 1 → Mar 1 is 28 (r2 = 0.028).
  // P = 1000 × 1.031 × 1.028 / (1.028 + 1) = 522.6174 → 522.62. Interest 31.00; the exact balance
  // 1031 − 522.6174 = 508.3826 earns 14.2347 → 14.23; the last row repays 508.38.
  it('actual/365 charges each month for its real days', () => {
    const s = build({
      principalMinor: 100_000n,
      rate: perYear('36.5'),
      tenor: 2,
      startDate: '2023-01-01',
      basis: 'actual/365',
    });
    assert.deepEqual(rows(s), [
      '2023-02-01 491.62 31.00 0.00 522.62 508.38',
      '2023-03-01 508.38 14.23 0.00 522.61 0.00',
    ]);
  });

  it('a rate of 1% a month gives the same schedule as 12% a year', () => {
    const base = { principalMinor: 500_000n, tenor: 6, startDate: '2024-05-31' };
    const monthly = build({ ...base, rate: { fraction: parsePercent('1'), per: 'month' } });
    const yearly = build({ ...base, rate: perYear('12') });
    assert.deepEqual(rows(monthly), rows(yearly));
  });
});

describe('equal principal', () => {
  // 3000 over 3 months at 36% actual/360 from Jan 31 2024: dues Feb 29 (29 days), Mar 31 (31),
  // Apr 30 (30). Interest 3000 × 0.36 × 29/360 = 87.00, 2000 × 0.36 × 31/360 = 62.00,
  // 1000 × 0.36 × 30/360 = 30.00.
  it('actual/360 from a month-end: 87.00, 62.00, 30.00 of interest', () => {
    const s = build({
      principalMinor: 300_000n,
      rate: perYear('36'),
      tenor: 3,
      startDate: '2024-01-31',
      method: 'equal-principal',
      basis: 'actual/360',
    });
    assert.deepEqual(rows(s), [
      '2024-02-29 1000.00 87.00 0.00 1087.00 2000.00',
      '2024-03-31 1000.00 62.00 0.00 1062.00 1000.00',
      '2024-04-30 1000.00 30.00 0.00 1030.00 0.00',
    ]);
  });

  // 30/360 monthly at 12%: 1% a month on a balance falling by 1000: 120, 110, …, 10; total 780.
  it('30/360 monthly: interest falls by 10.00 a month, 780.00 in all', () => {
    const s = build({
      principalMinor: 1_200_000n,
      rate: perYear('12'),
      tenor: 12,
      startDate: '2024-01-15',
      method: 'equal-principal',
    });
    assert.deepEqual(
      s.installments.map((i) => formatAmount(i.interestMinor, 2)),
      [
        '120.00',
        '110.00',
        '100.00',
        '90.00',
        '80.00',
        '70.00',
        '60.00',
        '50.00',
        '40.00',
        '30.00',
        '20.00',
        '10.00',
      ],
    );
    assert.equal(formatAmount(s.totalInterestMinor, 2), '780.00');
  });

  // Every 2 weeks at 36% on 30/360: a period is 14/360 of a year, 1.4%. 700 × 1.4% = 9.80, 350 ×
  // 1.4% = 4.90. Dues Mar 15 and Mar 29.
  it('every 2 weeks on 30/360 counts 14 days of a 360-day year', () => {
    const s = build({
      principalMinor: 70_000n,
      rate: perYear('36'),
      tenor: 2,
      startDate: '2024-03-01',
      method: 'equal-principal',
      frequency: { every: 2, unit: 'week' },
    });
    assert.deepEqual(rows(s), [
      '2024-03-15 350.00 9.80 0.00 359.80 350.00',
      '2024-03-29 350.00 4.90 0.00 354.90 0.00',
    ]);
  });
});

describe('flat', () => {
  // Flat 12% on 12000 for a year: 1440 of interest on the original principal, 120.00 a month, with
  // 1000.00 of principal: 12 × 1120.00. The APR is checked independently below: discounting the 12
  // payments at the monthly equivalent of the APR gives back the 12000 lent.
  it('12% flat for 12 months: 12 × 1120.00, and an APR near twice the flat rate', () => {
    const s = build({
      principalMinor: 1_200_000n,
      rate: perYear('12'),
      tenor: 12,
      startDate: '2024-01-15',
      method: 'flat',
    });
    assert.ok(rows(s).every((r) => r.includes(' 1000.00 120.00 0.00 1120.00 ')));
    assert.equal(formatAmount(s.totalInterestMinor, 2), '1440.00');
    assert.equal(s.apr.percent, '23.70');
    assert.ok(Math.abs(presentValueAtApr(s) - 1_200_000) < 1e-4);
  });
});

describe('down payment and days: pay in 4', () => {
  // 100.00 at 0%: 25% (25.00) on the start date, then --tenor 3 every 15 days: Feb 15, Mar 1 (2024
  // is a leap year: Feb 15 + 15 = Mar 1), Mar 16, 25.00 each. Nothing costs anything: APR 0.
  it('zero-interest pay in 4: 25.00 on the start date and three 25.00 every 15 days', () => {
    const s = build({
      principalMinor: 10_000n,
      rate: perYear('0'),
      tenor: 3,
      startDate: '2024-01-31',
      frequency: { every: 15, unit: 'day' },
      downPayment: parsePercent('25'),
    });
    assert.equal(s.downPaymentMinor, 2_500n);
    assert.equal(s.downPaymentDate, '2024-01-31');
    assert.deepEqual(rows(s), [
      '2024-02-15 25.00 0.00 0.00 25.00 50.00',
      '2024-03-01 25.00 0.00 0.00 25.00 25.00',
      '2024-03-16 25.00 0.00 0.00 25.00 0.00',
    ]);
    assert.equal(s.totalPayableMinor, 10_000n);
    assert.equal(s.apr.fraction, 0);
  });
});

describe('whole currency units in multiples of 100', () => {
  // 10000 yen at 18% (1.5% a month), equal principal, amounts to hundreds of yen half-up:
  // principal 10000/3 = 3333 → 3300, 3300, and the last takes 3400. Interest 150 → 200,
  // 6700 × 1.5% = 100.5 → 100, 3400 × 1.5% = 51 → 100.
  it('yen rounded to hundreds: the last installment takes the principal left over', () => {
    const s = build({
      principalMinor: 10_000n,
      rate: perYear('18'),
      tenor: 3,
      startDate: '2024-01-15',
      method: 'equal-principal',
      rounding: { decimals: 0, multipleMinor: 100n, mode: 'half-up' },
    });
    assert.deepEqual(rows(s), [
      '2024-02-15 3300 200 0 3500 6700',
      '2024-03-15 3300 100 0 3400 3400',
      '2024-04-15 3400 100 0 3500 0',
    ]);
  });

  // 50000 yen at 0% over 3: 16666.7 → 16700, 16700, last 50000 − 33400 = 16600.
  it('an annuity in yen rounds the installment once to 16700 and ends on 16600', () => {
    const s = build({
      principalMinor: 50_000n,
      rate: perYear('0'),
      tenor: 3,
      startDate: '2024-01-15',
      rounding: { decimals: 0, multipleMinor: 100n },
    });
    assert.deepEqual(
      s.installments.map((i) => i.totalMinor),
      [16_700n, 16_700n, 16_600n],
    );
  });
});

describe('rounding modes', () => {
  // 0.10 in 4: 2.5 fen each. Half-up: 3, 3, 3 and the last 1; half-even: 2, 2, 2 and the last 4.
  it('half-up and half-even split 0.10 in four differently, both summing to 0.10', () => {
    const terms = {
      principalMinor: 10n,
      rate: perYear('0'),
      tenor: 4,
      startDate: '2024-01-15',
      method: 'equal-principal' as const,
    };
    const up = build({ ...terms, rounding: { mode: 'half-up' } });
    const even = build({ ...terms, rounding: { mode: 'half-even' } });
    assert.deepEqual(
      up.installments.map((i) => i.principalMinor),
      [3n, 3n, 3n, 1n],
    );
    assert.deepEqual(
      even.installments.map((i) => i.principalMinor),
      [2n, 2n, 2n, 4n],
    );
  });

  // 12.50 at 1% a month for one month: 12.5 fen of interest, 13 half-up, 12 half-even.
  it('an interest of exactly half a fen rounds to 0.13 half-up and 0.12 half-even', () => {
    const terms = {
      principalMinor: 1_250n,
      rate: { fraction: parsePercent('1'), per: 'month' as const },
      tenor: 1,
      startDate: '2024-01-15',
    };
    assert.equal(build({ ...terms, rounding: { mode: 'half-up' } }).installments[0]!.interestMinor, 13n);
    assert.equal(build({ ...terms, rounding: { mode: 'half-even' } }).installments[0]!.interestMinor, 12n);
  });
});

describe('fees', () => {
  // The classic card installment: 0% interest and 0.6% of 12000 (72.00) a month as a fee. Its
  // monthly IRR is 1.0856%, which the industry quotes as "about 13% a year" (×12); compounded it
  // is 13.84%. The present-value check confirms it without the solver.
  it('a 0.6% monthly fee on a 0% loan discloses an APR of 13.84%', () => {
    const s = build({
      principalMinor: 1_200_000n,
      rate: perYear('0'),
      tenor: 12,
      startDate: '2024-01-15',
      fees: { installmentRate: parsePercent('0.6') },
    });
    assert.ok(rows(s).every((r) => r.endsWith('1000.00 0.00 72.00 1072.00 ' + r.split(' ').at(-1))));
    assert.equal(formatAmount(s.totalFeesMinor, 2), '864.00');
    assert.equal(formatAmount(s.totalInterestMinor, 2), '0.00');
    assert.equal(s.apr.percent, '13.84');
    assert.ok(Math.abs(presentValueAtApr(s) - 1_200_000) < 1e-4);
  });

  // 10000 at 0% with a 100.00 fee: deducted, the customer gets 9900 and repays 10 × 1000; financed,
  // gets 10000 and repays 10 × 1010. Deducting costs slightly more (the fee is paid at once).
  it('an upfront fee is either deducted from the money lent or added to the loan', () => {
    const terms = { principalMinor: 1_000_000n, rate: perYear('0'), tenor: 10, startDate: '2024-01-15' };
    const deducted = build({ ...terms, fees: { upfrontMinor: 10_000n, upfrontMode: 'deducted' } });
    const financed = build({ ...terms, fees: { upfrontMinor: 10_000n, upfrontMode: 'financed' } });
    assert.equal(deducted.disbursedMinor, 990_000n);
    assert.equal(deducted.amountFinancedMinor, 1_000_000n);
    assert.ok(deducted.installments.every((i) => i.totalMinor === 100_000n));
    assert.equal(financed.disbursedMinor, 1_000_000n);
    assert.equal(financed.amountFinancedMinor, 1_010_000n);
    assert.ok(financed.installments.every((i) => i.totalMinor === 101_000n));
    assert.equal(deducted.totalFeesMinor, 10_000n);
    assert.equal(deducted.apr.percent, '2.22');
    assert.equal(financed.apr.percent, '2.20');
  });
});

describe('refusals', () => {
  it('refuses a rounding multiple so coarse that the last installment would be negative', () => {
    // 1000 yen in 12 to hundreds: 83.3 rounds up to 100, so ten installments repay everything and
    // the 11th would have to be negative.
    assert.throws(
      () =>
        build({
          principalMinor: 1_000n,
          rate: perYear('0'),
          tenor: 12,
          startDate: '2024-01-15',
          method: 'equal-principal',
          rounding: { decimals: 0, multipleMinor: 100n },
        }),
      (e: unknown) => e instanceof DomainError && e.code === 'ROUNDING_TOO_COARSE',
    );
  });

  it('refuses a down payment of 100%, a zero tenor and an impossible start date', () => {
    const ok = { principalMinor: 10_000n, rate: perYear('10'), tenor: 3, startDate: '2024-01-15' };
    const invalid = (e: unknown) => e instanceof DomainError && e.code === 'INVALID_TERMS';
    assert.throws(() => build({ ...ok, downPayment: parsePercent('100') }), invalid);
    assert.throws(() => build({ ...ok, tenor: 0 }), invalid);
    assert.throws(() => build({ ...ok, principalMinor: 0n }), invalid);
    assert.throws(
      () => build({ ...ok, startDate: '2023-02-29' }),
      (e: unknown) => e instanceof DomainError && e.code === 'INVALID_DATE',
    );
  });
});

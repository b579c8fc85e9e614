import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DomainError, type LoanProduct, lateFeeFor, quote, validateProduct } from '../../src/domain/index.ts';

/** A 0-interest goods product with a 0.5% monthly fee: 11.46% APR at 12 months, under 24%. */
const goods = {
  code: 'PHONE-12',
  name: 'Phones in 3, 6 or 12',
  kind: 'goods',
  tenors: [3, 6, 12],
  rateBp: 0,
  method: 'annuity',
  installmentFeeBp: 50,
  minPrincipalMinor: 50_000n,
  maxPrincipalMinor: 5_000_000n,
};

function refused(code: string, pattern?: RegExp) {
  return (e: unknown) => e instanceof DomainError && e.code === code && (!pattern || pattern.test(e.message));
}

describe('loan products', () => {
  it('accepts a valid product and fills the documented defaults', () => {
    const p = validateProduct(goods);
    assert.equal(p.aprCapBp, 2400);
    assert.deepEqual(p.allocationOrder, ['penalty', 'fee', 'interest', 'principal']);
    assert.equal(p.unit, 'month');
    assert.equal(p.basis, '30/360');
    assert.equal(p.currency.decimals, 2);
    assert.equal(p.active, true);
  });

  it('accepts minor units as bigint, safe integer or digit string, as an API body or a row gives them', () => {
    const p = validateProduct({ ...goods, minPrincipalMinor: 50000, maxPrincipalMinor: '5000000' });
    assert.equal(p.minPrincipalMinor, 50_000n);
    assert.equal(p.maxPrincipalMinor, 5_000_000n);
  });

  it('refuses a contradictory product and lists every reason at once', () => {
    assert.throws(
      () =>
        validateProduct({
          ...goods,
          kind: 'cash',
          downPaymentBp: 2500,
          tenors: [3, 3],
          minPrincipalMinor: 10n,
          maxPrincipalMinor: 5n,
          lateFee: { fixedMinor: 5000n, capMinor: 1000n },
          allocationOrder: ['principal', 'interest'],
        }),
      (e: unknown) => {
        assert.ok(e instanceof DomainError && e.code === 'INVALID_PRODUCT');
        for (const part of [
          'cash loan cannot have a down payment',
          'tenors must not repeat',
          'minPrincipalMinor is above',
          'capMinor is below',
          'allocationOrder',
        ]) {
          assert.ok(e.message.includes(part), `missing "${part}" in: ${e.message}`);
        }
        return true;
      },
    );
  });

  it('refuses grace days as long as a period, and unknown methods', () => {
    assert.throws(
      () => validateProduct({ ...goods, graceDays: 28 }),
      refused('INVALID_PRODUCT', /graceDays/),
    );
    assert.throws(
      () => validateProduct({ ...goods, method: 'balloon' }),
      refused('INVALID_PRODUCT', /method/),
    );
    assert.throws(() => validateProduct('not an object'), refused('INVALID_PRODUCT'));
  });

  it('refuses a product whose APR exceeds its cap at an offered tenor', () => {
    // 24% nominal paid monthly is 26.82% a year compounded, above the default 24% cap.
    assert.throws(
      () => validateProduct({ ...goods, kind: 'cash', rateBp: 2400, installmentFeeBp: 0, tenors: [12] }),
      refused('APR_CAP_EXCEEDED', /APR 26\.8\d% exceeds the cap of 24\.00%/),
    );
    assert.doesNotThrow(() =>
      validateProduct({
        ...goods,
        kind: 'cash',
        rateBp: 2400,
        installmentFeeBp: 0,
        tenors: [12],
        aprCapBp: 3600,
      }),
    );
  });

  it('refuses a product whose fixed fee makes its smallest loan too dear', () => {
    // A 50.00 fee on a 500.00 loan over 3 months is far above 24% a year.
    assert.throws(() => validateProduct({ ...goods, upfrontFeeMinor: 5_000n }), refused('APR_CAP_EXCEEDED'));
  });
});

describe('quotes of a product', () => {
  const product: LoanProduct = validateProduct(goods);
  const request = { principalMinor: 600_000n, tenor: 12, startDate: '2024-03-31' };

  it('quotes a schedule with the product terms', () => {
    const s = quote(product, request);
    assert.equal(s.installments.length, 12);
    assert.ok(s.installments.every((i) => i.feeMinor === 3_000n && i.interestMinor === 0n));
    assert.equal(s.installments[0]!.dueDate, '2024-04-30');
    // 6000 repaid as 12 × 530: monthly IRR 0.90803% (bisection by hand-written script), 1.0090803^12 − 1.
    assert.equal(s.apr.percent, '11.46');
  });

  it('refuses a tenor the product does not offer, a principal out of range, an inactive product', () => {
    assert.throws(() => quote(product, { ...request, tenor: 24 }), refused('TENOR_NOT_ALLOWED', /3, 6, 12/));
    assert.throws(
      () => quote(product, { ...request, principalMinor: 100n }),
      refused('PRINCIPAL_OUT_OF_RANGE'),
    );
    assert.throws(() => quote({ ...product, active: false }, request), refused('PRODUCT_INACTIVE'));
  });

  it('refuses a quote above the cap even when the product passed its own check', () => {
    assert.throws(() => quote({ ...product, aprCapBp: 1000 }, request), refused('APR_CAP_EXCEEDED'));
  });
});

describe('late fees', () => {
  const rules = { graceDays: 3, roundingMode: 'half-up' as const, multipleMinor: 1n };

  it('charges nothing within the grace days, then a fixed fee plus a daily rate from the due date', () => {
    const p = { ...rules, lateFee: { fixedMinor: 1_000n, bpPerDay: 5, capMinor: null } };
    assert.equal(lateFeeFor(p, 100_000n, 3), 0n);
    // 1000.00 overdue 4 days: 10.00 + 1000.00 × 0.05% × 4 = 10.00 + 2.00
    assert.equal(lateFeeFor(p, 100_000n, 4), 1_200n);
  });

  it('never charges more than the cap', () => {
    const p = { ...rules, lateFee: { fixedMinor: 1_000n, bpPerDay: 5, capMinor: 2_500n } };
    assert.equal(lateFeeFor(p, 100_000n, 365), 2_500n);
  });
});

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { InjectOptions } from 'fastify';
import { dateInZone, quote, scheduleToJson } from '../../src/domain/index.ts';
import { getProduct } from '../../src/store/products.ts';
import {
  assertError,
  openProductsApi,
  type ProductsApi,
  productBody,
  productsFingerprint,
  refusedUnchanged,
} from './support.ts';

const run = promisify(execFile);
const FENQI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/fenqi');

/** Inline quote bodies and the `fenqi quote` flags that say the same thing. */
const INLINE_CASES: { name: string; body: Record<string, unknown>; flags: string[] }[] = [
  {
    name: 'a 12-month annuity at 24% a year',
    body: { principal: '12000.00', rate: '24', tenor: 12, start: '2024-01-31' },
    flags: ['--principal', '12000.00', '--rate', '24', '--tenor', '12', '--start', '2024-01-31'],
  },
  {
    name: 'a zero-interest pay in 4 every 15 days',
    body: {
      principal: '400.00',
      rate: '0',
      tenor: 3,
      every: 15,
      unit: 'day',
      down_payment_percent: '25',
      start: '2024-03-01',
    },
    flags: [
      '--principal',
      '400.00',
      '--rate',
      '0',
      '--tenor',
      '3',
      '--every',
      '15',
      '--unit',
      'day',
      '--down-payment-percent',
      '25',
      '--start',
      '2024-03-01',
    ],
  },
  {
    name: 'equal principal by actual days with every kind of fee',
    body: {
      principal: '5000.00',
      rate: '1.5',
      rate_per: 'month',
      tenor: 6,
      method: 'equal-principal',
      basis: 'actual/365',
      upfront_fee: '20.00',
      upfront_fee_percent: '1',
      upfront_fee_mode: 'financed',
      installment_fee: '2.50',
      installment_fee_percent: '0.1',
      start: '2024-02-29',
    },
    flags: [
      '--principal',
      '5000.00',
      '--rate',
      '1.5',
      '--rate-per',
      'month',
      '--tenor',
      '6',
      '--method',
      'equal-principal',
      '--basis',
      'actual/365',
      '--upfront-fee',
      '20.00',
      '--upfront-fee-percent',
      '1',
      '--upfront-fee-mode',
      'financed',
      '--installment-fee',
      '2.50',
      '--installment-fee-percent',
      '0.1',
      '--start',
      '2024-02-29',
    ],
  },
  {
    name: 'flat interest in whole yen rounded half-even to hundreds, every 2 weeks on actual/360',
    body: {
      principal: '300000',
      rate: '12',
      tenor: 10,
      method: 'flat',
      every: 2,
      unit: 'week',
      basis: 'actual/360',
      rounding: 'half-even',
      decimals: 0,
      multiple: 100,
      start: '2023-12-15',
    },
    flags: [
      '--principal',
      '300000',
      '--rate',
      '12',
      '--tenor',
      '10',
      '--method',
      'flat',
      '--every',
      '2',
      '--unit',
      'week',
      '--basis',
      'actual/360',
      '--rounding',
      'half-even',
      '--decimals',
      '0',
      '--multiple',
      '100',
      '--start',
      '2023-12-15',
    ],
  },
];

describe('POST /v1/quotes on real PostgreSQL and Redis', () => {
  let t: ProductsApi;
  let productId: string;

  const postQuote = (payload: object) =>
    t.app.inject({ method: 'POST', url: '/v1/quotes', payload }) as ReturnType<ProductsApi['app']['inject']>;
  const refused = (request: InjectOptions, status: number, code: string) =>
    refusedUnchanged(t, request, status, code);
  const quoteRefused = (payload: object, status: number, code: string) =>
    refused({ method: 'POST', url: '/v1/quotes', payload }, status, code);

  const createProduct = async (body: Record<string, unknown>) => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/products',
      headers: t.as('ops'),
      payload: body,
    });
    assert.equal(res.statusCode, 201, res.body);
    return (res.json() as { id: string }).id;
  };

  before(async () => {
    t = await openProductsApi('products_quotes');
    productId = await createProduct(
      productBody('QUOTE-STD', {
        tenors: [3, 6, 12],
        rate: '15',
        min_principal: '1000.00',
        fees: { upfront: { amount: '5.00', mode: 'deducted' }, installment: { percent: '0.05' } },
      }),
    );
  });
  after(async () => {
    await t?.close();
  });

  test('a quote by product equals the domain quote() of the stored product for the same inputs', async () => {
    const stored = await getProduct(t.platform.db.sql, BigInt(productId));
    assert.ok(stored);
    for (const [principal, principalMinor, tenor] of [
      ['12000.00', 1_200_000n, 12],
      ['1000.00', 100_000n, 3],
      ['49999.99', 4_999_999n, 6],
    ] as const) {
      const res = await postQuote({ product_id: productId, principal, tenor, start_date: '2024-01-31' });
      assert.equal(res.statusCode, 200, res.body);
      const expected = scheduleToJson(
        quote(stored.product, { principalMinor, tenor, startDate: '2024-01-31' }),
      );
      assert.deepEqual(res.json(), { product_id: productId, ...expected });
    }
  });

  test('a product quote without a start date starts on the business date (FENQI_BUSINESS_TIMEZONE), as close of business counts days', async () => {
    const res = await postQuote({ product_id: productId, principal: '1000.00', tenor: 3 });
    assert.equal(res.statusCode, 200, res.body);
    const zone = t.platform.config.businessTimeZone;
    assert.equal(res.json().start_date, dateInZone(zone, new Date()));
  });

  for (const c of INLINE_CASES) {
    test(`an inline quote prints what fenqi quote --json prints: ${c.name}`, async () => {
      const [res, cli] = await Promise.all([postQuote(c.body), run(FENQI, ['quote', ...c.flags, '--json'])]);
      assert.equal(res.statusCode, 200, res.body);
      assert.deepEqual(res.json(), JSON.parse(cli.stdout));
      assert.equal(res.json().product_id, undefined);
    });
  }

  test('a product quote outside the product is refused: tenor, principal range, inactive', async () => {
    await quoteRefused({ product_id: productId, principal: '1000.00', tenor: 9 }, 422, 'TENOR_NOT_ALLOWED');
    await quoteRefused(
      { product_id: productId, principal: '999.99', tenor: 3 },
      422,
      'PRINCIPAL_OUT_OF_RANGE',
    );
    await quoteRefused(
      { product_id: productId, principal: '50000.01', tenor: 3 },
      422,
      'PRINCIPAL_OUT_OF_RANGE',
    );
    const inactive = await createProduct(productBody('QUOTE-INACTIVE', { active: false }));
    await quoteRefused({ product_id: inactive, principal: '1000.00', tenor: 3 }, 422, 'PRODUCT_INACTIVE');
  });

  test('APR caps: a product quote above its cap and an inline quote above a given cap are refused', async () => {
    const id = await createProduct(productBody('QUOTE-CAPPED', { rate: '20' }));
    // A cap lowered under the product (as by a new regulation) applies to every later quote.
    await t.platform.db.sql`update loan_products set apr_cap_bp = 1500 where id = ${BigInt(id)}`;
    const error = await quoteRefused(
      { product_id: id, principal: '1000.00', tenor: 6 },
      422,
      'APR_CAP_EXCEEDED',
    );
    assert.equal(error.details.cap, '15.00');

    const inline = { principal: '12000.00', rate: '36', tenor: 12, start: '2024-01-31' };
    const capped = await quoteRefused({ ...inline, apr_cap_percent: '24' }, 422, 'APR_CAP_EXCEEDED');
    assert.match(String(capped.message), /exceeds the cap of 24/);
    const uncapped = await postQuote(inline);
    assert.equal(uncapped.statusCode, 200, 'an inline quote has no cap unless one is given');
    assert.ok(Number(uncapped.json().apr) > 24);
  });

  test('exactly one form: both forms, neither, or a field of the other form is 400 with a clear code', async () => {
    const both = await quoteRefused(
      { product_id: productId, principal: '1000.00', tenor: 3, rate: '24' },
      400,
      'QUOTE_FORM_CONFLICT',
    );
    assert.deepEqual(both.details.fields, ['rate']);
    await quoteRefused(
      { product_id: productId, principal: '1000.00', tenor: 3, start: '2024-01-01' },
      400,
      'QUOTE_FORM_CONFLICT',
    );
    await quoteRefused(
      { principal: '1000.00', tenor: 3, rate: '24', start_date: '2024-01-01' },
      400,
      'QUOTE_FORM_CONFLICT',
    );
    await quoteRefused({ principal: '1000.00', tenor: 3 }, 400, 'QUOTE_FORM_INCOMPLETE');
    await quoteRefused({ principal: '1000.00', tenor: 3, method: 'flat' }, 400, 'QUOTE_FORM_INCOMPLETE');
  });

  test('bad input is a 4xx with a stable code, never a 500, and writes nothing', async () => {
    const inline = { principal: '1000.00', rate: '24', tenor: 12, start: '2024-01-31' };
    const cases: [object, number, string][] = [
      [{ ...inline, principal: 1000 }, 400, 'VALIDATION_FAILED'],
      [{ ...inline, tenor: '12' }, 400, 'VALIDATION_FAILED'],
      [{ ...inline, tenor: 0 }, 400, 'VALIDATION_FAILED'],
      [{ ...inline, tenor: 601 }, 400, 'VALIDATION_FAILED'],
      [{ ...inline, tenor: 1.5 }, 400, 'VALIDATION_FAILED'],
      [{ ...inline, principal: '-1000.00' }, 400, 'VALIDATION_FAILED'],
      [{ ...inline, principal: '1e9' }, 400, 'VALIDATION_FAILED'],
      [{ ...inline, principal: '1234567890123456' }, 400, 'VALIDATION_FAILED'],
      [{ ...inline, principal: '1000000000.01' }, 422, 'AMOUNT_TOO_LARGE'],
      [{ ...inline, upfront_fee: '2000000000' }, 422, 'AMOUNT_TOO_LARGE'],
      [{ ...inline, principal: '1000.001' }, 422, 'INVALID_AMOUNT'],
      [{ ...inline, principal: '0.00' }, 422, 'INVALID_TERMS'],
      [{ ...inline, rate: '-5' }, 400, 'VALIDATION_FAILED'],
      [{ ...inline, rate: '24%' }, 400, 'VALIDATION_FAILED'],
      [{ ...inline, down_payment_percent: '100' }, 422, 'INVALID_TERMS'],
      [{ ...inline, start: '2024-02-30' }, 422, 'INVALID_DATE'],
      [{ ...inline, start: 'tomorrow' }, 400, 'VALIDATION_FAILED'],
      [{ ...inline, every: 366, unit: 'month', tenor: 600 }, 422, 'TERM_TOO_LONG'],
      [{ ...inline, principal: '1000', decimals: 0, multiple: 100 }, 422, 'ROUNDING_TOO_COARSE'],
      [{ ...inline, decimals: 7 }, 400, 'VALIDATION_FAILED'],
      [{ ...inline, method: 'balloon' }, 400, 'VALIDATION_FAILED'],
      [{ ...inline, unexpected: 1 }, 400, 'VALIDATION_FAILED'],
      [{ ...inline, rate: `${'1'.repeat(6)}.${'1'.repeat(13)}` }, 400, 'VALIDATION_FAILED'],
      [{ product_id: '999999999', principal: '1000.00', tenor: 3 }, 404, 'PRODUCT_NOT_FOUND'],
      [{ product_id: '9999999999999999999', principal: '1000.00', tenor: 3 }, 404, 'PRODUCT_NOT_FOUND'],
      [{ product_id: '12345678901234567890', principal: '1000.00', tenor: 3 }, 400, 'VALIDATION_FAILED'],
      [{ product_id: 1, principal: '1000.00', tenor: 3 }, 400, 'VALIDATION_FAILED'],
      [{ product_id: productId, principal: '1000.001', tenor: 3 }, 422, 'INVALID_AMOUNT'],
      [
        { product_id: productId, principal: '1000.00', tenor: 3, start_date: '2024-13-01' },
        422,
        'INVALID_DATE',
      ],
      [[inline], 400, 'VALIDATION_FAILED'],
      [{ ...inline, start: 'x'.repeat(100_000) }, 413, 'BODY_TOO_LARGE'],
    ];
    for (const [payload, status, code] of cases) await quoteRefused(payload, status, code);
    const json = { 'content-type': 'application/json' };
    await refused(
      { method: 'POST', url: '/v1/quotes', headers: json, payload: '{"principal":' },
      400,
      'MALFORMED_JSON',
    );
    await refused({ method: 'POST', url: '/v1/quotes', headers: json, payload: '' }, 400, 'MALFORMED_JSON');
    await refused(
      {
        method: 'POST',
        url: '/v1/quotes',
        headers: { 'content-type': 'text/plain' },
        payload: 'principal=1',
      },
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    );
  });

  test('quotes need no token and write nothing', async () => {
    const before = await productsFingerprint(t.platform);
    const res = await postQuote({ product_id: productId, principal: '2000.00', tenor: 6 });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(await productsFingerprint(t.platform), before);
    assertError(await t.app.inject({ method: 'GET', url: '/v1/quotes' }), 404, 'ROUTE_NOT_FOUND');
  });
});

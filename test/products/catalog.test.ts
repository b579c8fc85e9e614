import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { InjectOptions } from 'fastify';
import { ensureDefaultProducts } from '../../src/store/products.ts';
import { assertError, openProductsApi, type ProductsApi, productBody, refusedUnchanged } from './support.ts';

interface ProductJson {
  id: string;
  code: string;
  kind: string;
  rate: string;
  active: boolean;
  version: number;
  [field: string]: unknown;
}

describe('/v1/products on real PostgreSQL and Redis', () => {
  let t: ProductsApi;
  const ops = () => t.as('ops');

  const create = async (body: Record<string, unknown>, headers = ops()) => {
    const res = await t.app.inject({ method: 'POST', url: '/v1/products', headers, payload: body });
    assert.equal(res.statusCode, 201, res.body);
    return res.json() as ProductJson;
  };
  const list = async (query = '', headers: Record<string, string> = {}) => {
    const res = await t.app.inject({ method: 'GET', url: `/v1/products${query}`, headers });
    assert.equal(res.statusCode, 200, res.body);
    return res.json() as { items: ProductJson[]; next_cursor: string | null };
  };

  const refused = (request: InjectOptions, status: number, code: string) =>
    refusedUnchanged(t, request, status, code);

  before(async () => {
    t = await openProductsApi('products_catalog');
    await ensureDefaultProducts(t.platform.db.sql);
  });
  after(async () => {
    await t?.close();
  });

  test('staff create a product and everyone reads it back with amounts as decimal strings and rates as percents', async () => {
    const created = await create(
      productBody('TEST-READ', { rate: '18.5', upfront: undefined }),
      t.as('risk'),
    );
    assert.equal(created.code, 'TEST-READ');
    assert.equal(created.version, 1);
    assert.match(created.id, /^\d+$/);
    const res = await t.app.inject({ method: 'GET', url: `/v1/products/${created.id}` });
    assert.equal(res.statusCode, 200, res.body);
    const read = res.json() as ProductJson;
    assert.deepEqual(read, created);
    assert.equal(read.rate, '18.5');
    assert.equal(read.apr_cap_percent, '24');
    assert.equal(read.min_principal, '100.00');
    assert.equal(read.max_principal, '50000.00');
    assert.deepEqual(read.late_fee, {
      amount: '10.00',
      percent_per_day: '0.05',
      percent_once: '0',
      cap: '200.00',
    });
    assert.deepEqual(read.fees, {
      upfront: { amount: '0.00', percent: '0', mode: 'deducted' },
      installment: { amount: '0.00', percent: '0' },
    });
  });

  test('omitted optional fields take the domain defaults, including the 24% APR cap', async () => {
    const created = await create({
      code: 'TEST-MINIMAL',
      name: 'Minimal',
      kind: 'goods',
      tenors: [6],
      rate: '0',
    });
    assert.equal(created.apr_cap_percent, '24');
    assert.equal(created.method, 'annuity');
    assert.equal(created.rate_per, 'year');
    assert.equal(created.down_payment_percent, '0');
    assert.deepEqual(created.currency, { code: 'CNY', decimals: 2 });
    assert.equal(created.active, true);
  });

  test('writing needs risk or ops staff: no token is 401, a customer or merchant token is 403', async () => {
    const body = productBody('TEST-ROLES');
    await refused({ method: 'POST', url: '/v1/products', payload: body }, 401, 'UNAUTHORIZED');
    await refused(
      { method: 'POST', url: '/v1/products', headers: t.as('customer'), payload: body },
      403,
      'FORBIDDEN',
    );
    await refused(
      { method: 'POST', url: '/v1/products', headers: t.as('merchant'), payload: body },
      403,
      'FORBIDDEN',
    );
    await refused(
      {
        method: 'POST',
        url: '/v1/products',
        headers: { authorization: 'Bearer forged.token' },
        payload: body,
      },
      401,
      'UNAUTHORIZED',
    );
    const { id } = await create(body);
    await refused({ method: 'PUT', url: `/v1/products/${id}`, payload: body }, 401, 'UNAUTHORIZED');
    await refused(
      { method: 'PUT', url: `/v1/products/${id}`, headers: t.as('customer'), payload: body },
      403,
      'FORBIDDEN',
    );
    await refused({ method: 'POST', url: `/v1/products/${id}/deactivate` }, 401, 'UNAUTHORIZED');
    await refused(
      { method: 'POST', url: `/v1/products/${id}/deactivate`, headers: t.as('customer') },
      403,
      'FORBIDDEN',
    );
  });

  test('a contradictory product is refused with every problem listed at once, in the API field names', async () => {
    const error = await refused(
      {
        method: 'POST',
        url: '/v1/products',
        headers: ops(),
        payload: productBody('TEST-CONTRADICTORY', {
          kind: 'cash',
          down_payment_percent: '20',
          min_principal: '900.00',
          max_principal: '100.00',
          grace_days: 40,
          tenors: [3, 3],
          late_fee: { amount: '50.00', percent_per_day: '0.05', cap: '10.00' },
          fees: { upfront: { amount: '1.001' } },
        }),
      },
      422,
      'INVALID_PRODUCT',
    );
    const problems = error.details.problems as string[];
    const expected = [
      /fees\.upfront\.amount has more than 2 decimal places/,
      /tenors must not repeat/,
      /late_fee\.cap is below late_fee\.amount/,
      /cash loan cannot have a down payment/,
      /min_principal is above max_principal/,
      /grace_days must be shorter than one period/,
    ];
    for (const pattern of expected) {
      assert.ok(
        problems.some((p) => pattern.test(p)),
        `${pattern} not among ${JSON.stringify(problems)}`,
      );
    }
    assert.equal(problems.length, expected.length, JSON.stringify(problems));
    assert.ok(!problems.some((p) => /Minor|Bp\b/.test(p)), 'problems use domain field names');
  });

  test('a product whose APR would exceed its cap is refused with APR_CAP_EXCEEDED', async () => {
    const error = await refused(
      {
        method: 'POST',
        url: '/v1/products',
        headers: ops(),
        payload: productBody('TEST-CAP', { rate: '30' }),
      },
      422,
      'APR_CAP_EXCEEDED',
    );
    assert.equal(error.details.cap, '24.00');
  });

  test('a taken code is 409 PRODUCT_CODE_TAKEN, on create and on replace', async () => {
    await create(productBody('TEST-DUP'));
    await refused(
      { method: 'POST', url: '/v1/products', headers: ops(), payload: productBody('TEST-DUP') },
      409,
      'PRODUCT_CODE_TAKEN',
    );
    const other = await create(productBody('TEST-DUP-OTHER'));
    await refused(
      { method: 'PUT', url: `/v1/products/${other.id}`, headers: ops(), payload: productBody('TEST-DUP') },
      409,
      'PRODUCT_CODE_TAKEN',
    );
  });

  test('replace swaps every term, bumps the version, and cached reads see it at once', async () => {
    const created = await create(productBody('TEST-PUT', { grace_days: 5, rate: '12' }));
    const url = `/v1/products/${created.id}`;
    // Warm the cache for the product and the list before the write.
    assert.equal((await t.app.inject({ method: 'GET', url })).json().rate, '12');
    assert.ok((await list('?limit=200')).items.some((p) => p.id === created.id && p.rate === '12'));

    const res = await t.app.inject({
      method: 'PUT',
      url,
      headers: t.as('risk'),
      payload: { code: 'TEST-PUT', name: 'Replaced', kind: 'cash', tenors: [6], rate: '9.75' },
    });
    assert.equal(res.statusCode, 200, res.body);
    const replaced = res.json() as ProductJson;
    assert.equal(replaced.version, 2);
    assert.equal(replaced.rate, '9.75');
    assert.equal(replaced.grace_days, 0, 'a full replace resets what the body leaves out');
    assert.deepEqual(replaced.tenors, [6]);

    assert.deepEqual((await t.app.inject({ method: 'GET', url })).json(), replaced);
    const listed = (await list('?limit=200')).items.find((p) => p.id === created.id);
    assert.deepEqual(listed, replaced);
    const [row] = await t.platform.db.sql<{ version: number; terms: { rateBp: number } }[]>`
      select version, terms from loan_products where id = ${BigInt(created.id)}`;
    assert.equal(row?.version, 2);
    assert.equal(row?.terms.rateBp, 975);
  });

  test('a deactivated product leaves the public catalogue, stays visible to staff, and twice is harmless', async () => {
    const created = await create(productBody('TEST-DEACT', { kind: 'goods' }));
    const url = `/v1/products/${created.id}`;
    assert.equal((await t.app.inject({ method: 'GET', url })).statusCode, 200);
    assert.ok((await list('?kind=goods&limit=200')).items.some((p) => p.id === created.id));

    const res = await t.app.inject({ method: 'POST', url: `${url}/deactivate`, headers: ops() });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().active, false);
    assert.equal(res.json().version, 2);

    assertError(await t.app.inject({ method: 'GET', url }), 404, 'PRODUCT_NOT_FOUND');
    assert.ok(!(await list('?kind=goods&limit=200')).items.some((p) => p.id === created.id));
    const staffView = await t.app.inject({ method: 'GET', url, headers: t.as('risk') });
    assert.equal(staffView.json().active, false);
    assert.ok((await list('?kind=goods&limit=200', ops())).items.some((p) => p.id === created.id));

    const again = await t.app.inject({ method: 'POST', url: `${url}/deactivate`, headers: ops() });
    assert.equal(again.statusCode, 200, again.body);
    assert.equal(again.json().version, 2);
  });

  test('the list filters by kind and pages by id with a cursor, never repeating or skipping', async () => {
    for (let n = 0; n < 5; n++) await create(productBody(`TEST-PAGE-${n}`, { kind: 'goods' }));
    const goods = await list('?kind=goods&limit=200');
    assert.ok(goods.items.length >= 6);
    assert.ok(goods.items.every((p) => p.kind === 'goods' && p.active));
    const cash = await list('?kind=cash&limit=200');
    assert.ok(cash.items.every((p) => p.kind === 'cash'));

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await list(`?kind=goods&limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      assert.ok(page.items.length <= 2);
      seen.push(...page.items.map((p) => p.id));
      cursor = page.next_cursor;
    } while (cursor);
    assert.deepEqual(
      seen,
      goods.items.map((p) => p.id),
    );
  });

  test('bad input on every route is a 4xx with a stable code and changes nothing', async () => {
    const { id } = await create(productBody('TEST-BAD'));
    const post = (payload: object) => ({
      method: 'POST' as const,
      url: '/v1/products',
      headers: ops(),
      payload,
    });
    const cases: [InjectOptions, number, string][] = [
      [post(productBody('TEST-X', { rate: 24 })), 400, 'VALIDATION_FAILED'],
      [post(productBody('TEST-X', { tenors: ['12'] })), 400, 'VALIDATION_FAILED'],
      [post(productBody('TEST-X', { tenors: [] })), 400, 'VALIDATION_FAILED'],
      [post(productBody('TEST-X', { tenors: [601] })), 400, 'VALIDATION_FAILED'],
      [post(productBody('TEST-X', { min_principal: '-1.00' })), 400, 'VALIDATION_FAILED'],
      [post(productBody('TEST-X', { max_principal: '1234567890123456.00' })), 400, 'VALIDATION_FAILED'],
      [post(productBody('TEST-X', { max_principal: 50000 })), 400, 'VALIDATION_FAILED'],
      [post(productBody('TEST-X', { min_principal: '100.001' })), 422, 'INVALID_PRODUCT'],
      [post(productBody('TEST-X', { rate: '24.125' })), 400, 'VALIDATION_FAILED'],
      [post(productBody('TEST-X', { rate: '12000' })), 422, 'INVALID_PRODUCT'],
      [post(productBody('TEST-X', { down_payment_percent: '100' })), 422, 'INVALID_PRODUCT'],
      [post(productBody('TEST-X', { apr_cap_percent: '0' })), 422, 'INVALID_PRODUCT'],
      [post(productBody('TEST-X', { every: 366, unit: 'month', tenors: [600] })), 422, 'INVALID_PRODUCT'],
      [post(productBody('TEST-X', { kind: 'mortgage' })), 400, 'VALIDATION_FAILED'],
      [post(productBody('TEST-X', { name: 'x'.repeat(201) })), 400, 'VALIDATION_FAILED'],
      [post(productBody('TEST X; drop table')), 400, 'VALIDATION_FAILED'],
      [post(productBody('TEST-X', { surprise: true })), 400, 'VALIDATION_FAILED'],
      [post(productBody('TEST-X', { active: 'yes' })), 400, 'VALIDATION_FAILED'],
      [post([1, 2, 3]), 400, 'VALIDATION_FAILED'],
      [post(productBody('TEST-X', { name: 'x'.repeat(100_000) })), 413, 'BODY_TOO_LARGE'],
    ];
    for (const [request, status, code] of cases) await refused(request, status, code);

    const json = { 'content-type': 'application/json', ...ops() };
    await refused(
      { method: 'POST', url: '/v1/products', headers: json, payload: '{"code":' },
      400,
      'MALFORMED_JSON',
    );
    await refused(
      { method: 'PUT', url: `/v1/products/${id}`, headers: json, payload: '{' },
      400,
      'MALFORMED_JSON',
    );
    await refused(
      {
        method: 'PUT',
        url: `/v1/products/${id}`,
        headers: ops(),
        payload: productBody('TEST-BAD', { rate: '-1' }),
      },
      400,
      'VALIDATION_FAILED',
    );
    await refused(
      { method: 'PUT', url: '/v1/products/999999999', headers: ops(), payload: productBody('TEST-BAD') },
      404,
      'PRODUCT_NOT_FOUND',
    );
    await refused(
      {
        method: 'PUT',
        url: '/v1/products/9999999999999999999',
        headers: ops(),
        payload: productBody('TEST-BAD'),
      },
      404,
      'PRODUCT_NOT_FOUND',
    );
    await refused(
      { method: 'POST', url: '/v1/products/999999999/deactivate', headers: ops() },
      404,
      'PRODUCT_NOT_FOUND',
    );
    await refused(
      { method: 'POST', url: '/v1/products/abc/deactivate', headers: ops() },
      400,
      'VALIDATION_FAILED',
    );
    await refused({ method: 'GET', url: '/v1/products/999999999' }, 404, 'PRODUCT_NOT_FOUND');
    await refused({ method: 'GET', url: '/v1/products/12345678901234567890' }, 400, 'VALIDATION_FAILED');
    await refused({ method: 'GET', url: '/v1/products/-1' }, 400, 'VALIDATION_FAILED');
    await refused({ method: 'GET', url: '/v1/products?kind=mortgage' }, 400, 'VALIDATION_FAILED');
    await refused({ method: 'GET', url: '/v1/products?limit=0' }, 400, 'VALIDATION_FAILED');
    await refused({ method: 'GET', url: '/v1/products?limit=100000' }, 400, 'VALIDATION_FAILED');
    await refused({ method: 'GET', url: '/v1/products?cursor=x' }, 400, 'VALIDATION_FAILED');
    const beyond = await t.app.inject({ method: 'GET', url: '/v1/products?cursor=9999999999999999999' });
    assert.deepEqual(beyond.json(), { items: [], next_cursor: null });
  });

  test('the product and quote routes are described in /openapi.json with their schemas', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/openapi.json' });
    assert.equal(res.statusCode, 200);
    const paths = (res.json() as { paths: Record<string, Record<string, unknown>> }).paths;
    assert.deepEqual(Object.keys(paths['/v1/products'] ?? {}).sort(), ['get', 'post']);
    assert.deepEqual(Object.keys(paths['/v1/products/{id}'] ?? {}).sort(), ['get', 'put']);
    assert.ok(paths['/v1/products/{id}/deactivate']?.post);
    assert.match(JSON.stringify(paths['/v1/quotes']?.post), /apr_cap_percent/);
  });
});

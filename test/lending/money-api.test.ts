/**
 * The money routes against real PostgreSQL over real HTTP: concurrency on one credit line,
 * idempotent repayments, cash loans through a faulty gateway, and bad input changing nothing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { SimulatedGateway } from '../../src/payments/gateway.ts';
import { call, counts, createCustomer, createGoods, type Lab, startLab } from './fixtures.ts';

describe('lending money routes', () => {
  let lab: Lab;
  before(async () => {
    lab = await startLab(20);
  });
  after(async () => {
    await lab?.close();
  });

  test('200 concurrent orders against one line never overdraw it: exactly floor(limit/price) settle', async () => {
    const sql = lab.platform.db.sql;
    const price = 150_000n; // 1500.00
    const limit = 3_000_000n + 70_000n; // room for 20 orders, not 21
    const customer = await createCustomer(sql, limit);
    const { goodsId } = await createGoods(sql, price);
    const token = lab.token('customer', customer);
    const replies = await Promise.all(
      Array.from({ length: 200 }, (_, k) =>
        call(lab, 'POST', '/v1/orders', {
          token,
          key: `order-${k}`,
          body: { goods_id: goodsId.toString(), product_id: lab.goodsProductId.toString(), tenor: 6 },
        }),
      ),
    );
    const settled = replies.filter((r) => r.status === 201);
    const refused = replies.filter((r) => r.status === 422);
    assert.equal(settled.length, Number(limit / price));
    assert.equal(refused.length, 200 - settled.length);
    assert.ok(refused.every((r) => r.body.error.code === 'INSUFFICIENT_CREDIT'));
    const [line] = await sql<
      { used_minor: bigint }[]
    >`select used_minor from credit_lines where customer_id = ${customer}`;
    assert.equal(line!.used_minor, price * BigInt(settled.length));
    const [orders] = await sql<
      { n: bigint }[]
    >`select count(*)::bigint as n from orders where customer_id = ${customer}`;
    assert.equal(orders!.n, BigInt(settled.length), 'refused synchronous orders leave no row');
  });

  test('a frozen line refuses new orders with CREDIT_LINE_FROZEN; unfreezing lets them through', async () => {
    const sql = lab.platform.db.sql;
    const customer = await createCustomer(sql, 1_000_000n);
    const { goodsId } = await createGoods(sql, 20_000n);
    // a staff member who exists: every staff change is audited under its author
    const [staff] = await sql<{ id: bigint }[]>`
      insert into staff (username, role, password_hash) values ('ops-freezer', 'ops', 'x') returning id`;
    const ops = lab.token('ops', staff!.id);
    const freeze = await call(lab, 'PUT', `/v1/customers/${customer}/credit-line`, {
      token: ops,
      body: { status: 'frozen' },
    });
    assert.equal(freeze.status, 200);
    const body = { goods_id: goodsId.toString(), product_id: lab.goodsProductId.toString(), tenor: 3 };
    const token = lab.token('customer', customer);
    const refused = await call(lab, 'POST', '/v1/orders', { token, key: 'f1', body });
    assert.equal(refused.body.error.code, 'CREDIT_LINE_FROZEN');
    await call(lab, 'PUT', `/v1/customers/${customer}/credit-line`, {
      token: ops,
      body: { status: 'active' },
    });
    const ok = await call(lab, 'POST', '/v1/orders', { token, key: 'f2', body });
    assert.equal(ok.status, 201);
    const lower = await call(lab, 'PUT', `/v1/customers/${customer}/credit-line`, {
      token: ops,
      body: { limit: '1.00' },
    });
    assert.equal(lower.status, 409);
    assert.equal(lower.body.error.code, 'LIMIT_BELOW_USED');
    const mine = await call(lab, 'GET', '/v1/customers/me/credit-line', { token });
    assert.equal(mine.body.used, '200.00');
  });

  test('200 concurrent repayments with 50 distinct keys apply exactly 50, retries replay', async () => {
    const sql = lab.platform.db.sql;
    const customer = await createCustomer(sql, 10_000_000n);
    const { goodsId } = await createGoods(sql, 5_000_000n);
    const token = lab.token('customer', customer);
    const order = await call(lab, 'POST', '/v1/orders', {
      token,
      key: 'big',
      body: { goods_id: goodsId.toString(), product_id: lab.goodsProductId.toString(), tenor: 12 },
    });
    assert.equal(order.status, 201);
    const loanId = order.body.loan_id;
    const replies = await Promise.all(
      Array.from({ length: 200 }, (_, k) =>
        call(lab, 'POST', `/v1/loans/${loanId}/repayments`, {
          token,
          key: `pay-${k % 50}`,
          body: { amount: '10.00' },
        }),
      ),
    );
    assert.ok(
      replies.every((r) => r.status === 201),
      JSON.stringify(replies.find((r) => r.status !== 201)?.body),
    );
    assert.equal(replies.filter((r) => r.headers.get('idempotent-replay') === 'true').length, 150);
    const ids = new Set(replies.map((r) => r.body.id));
    assert.equal(ids.size, 50);
    const [row] = await sql<{ n: bigint; total: bigint }[]>`
      select count(*)::bigint as n, sum(amount_minor)::bigint as total from repayments where loan_id = ${BigInt(loanId)}`;
    assert.equal(row!.n, 50n);
    assert.equal(row!.total, 50_000n);
    const reused = await call(lab, 'POST', `/v1/loans/${loanId}/repayments`, {
      token,
      key: 'pay-1',
      body: { amount: '11.00' },
    });
    assert.equal(reused.status, 409);
    assert.equal(reused.body.error.code, 'IDEMPOTENCY_KEY_REUSED');
  });

  test('early payoff closes the loan, waives future interest and restores the line; overpayment is refused, or kept up to the principal', async () => {
    const sql = lab.platform.db.sql;
    const customer = await createCustomer(sql, 1_000_000n);
    const { goodsId } = await createGoods(sql, 300_000n);
    const token = lab.token('customer', customer);
    const order = await call(lab, 'POST', '/v1/orders', {
      token,
      key: 'o',
      body: { goods_id: goodsId.toString(), product_id: lab.goodsProductId.toString(), tenor: 6 },
    });
    const loanId = order.body.loan_id;
    const payoff = await call(lab, 'GET', `/v1/loans/${loanId}/payoff`, { token });
    assert.equal(payoff.status, 200);
    assert.equal(payoff.body.principal, '3000.00');
    const over = await call(lab, 'POST', `/v1/loans/${loanId}/repayments`, {
      token,
      key: 'p1',
      body: { amount: '5000.00' },
    });
    assert.equal(over.body.error.code, 'OVERPAYMENT');
    const huge = await call(lab, 'POST', `/v1/loans/${loanId}/repayments?overpayment=credit_balance`, {
      token,
      key: 'p-huge',
      body: { amount: '99999999999.99' },
    });
    assert.equal(huge.body.error.code, 'OVERPAYMENT_TOO_LARGE', 'a credit balance is not a deposit account');
    const kept = await call(lab, 'POST', `/v1/loans/${loanId}/repayments?overpayment=credit_balance`, {
      token,
      key: 'p2',
      body: { amount: '5000.00' },
    });
    assert.equal(kept.status, 201, JSON.stringify(kept.body));
    assert.equal(kept.body.loan_status, 'paid_off');
    assert.equal(kept.body.credit_balance_added, (5000 - Number(payoff.body.total)).toFixed(2));
    const line = await call(lab, 'GET', `/v1/customers/${customer}/credit-line`, { token });
    assert.equal(line.body.used, '0.00');
    const again = await call(lab, 'POST', `/v1/loans/${loanId}/repayments`, {
      token,
      key: 'p3',
      body: { amount: '1.00' },
    });
    assert.equal(again.body.error.code, 'LOAN_NOT_ACTIVE');
  });

  test('cash loans: success activates, a failure cancels and releases credit, a timeout resolves on retry or reconcile', async () => {
    const sql = lab.platform.db.sql;
    const gateway = new SimulatedGateway({ seed: 7, failureRate: 0.3, timeoutRate: 0.3 });
    lab.platform.services.gateway = gateway;
    const customer = await createCustomer(sql, 100_000_000n);
    const token = lab.token('customer', customer);
    const seen = new Map<number, number>();
    for (let k = 0; k < 30; k++) {
      const body = { product_id: lab.cashProductId.toString(), amount: '1000.00', tenor: 6 };
      const first = await call(lab, 'POST', '/v1/loans', { token, key: `cash-${k}`, body });
      seen.set(first.status, (seen.get(first.status) ?? 0) + 1);
      if (first.status === 202) {
        const retry = await call(lab, 'POST', '/v1/loans', { token, key: `cash-${k}`, body });
        assert.ok([201, 422].includes(retry.status), `retry settles: ${retry.status}`);
        assert.equal(retry.headers.get('idempotent-replay'), 'true');
      }
    }
    assert.ok(
      (seen.get(201) ?? 0) > 0 && (seen.get(422) ?? 0) > 0 && (seen.get(202) ?? 0) > 0,
      JSON.stringify([...seen]),
    );
    // A pending loan reconciled by ops
    const gateway2 = new SimulatedGateway({ seed: 3, timeoutRate: 1 });
    lab.platform.services.gateway = gateway2;
    const pending = await call(lab, 'POST', '/v1/loans', {
      token,
      key: 'cash-timeout',
      body: { product_id: lab.cashProductId.toString(), amount: '500.00', tenor: 3 },
    });
    assert.equal(pending.status, 202);
    assert.equal(pending.body.status, 'pending_disbursement');
    const [staff] = await lab.platform.db.sql<{ id: bigint }[]>`
      insert into staff (username, role, password_hash) values ('ops-reconciler', 'ops', 'x') returning id`;
    const reconciled = await call(lab, 'POST', `/v1/loans/${pending.body.id}/reconcile`, {
      token: lab.token('ops', staff!.id),
    });
    assert.equal(reconciled.body.status, 'active');
    assert.equal(gateway2.paidOutMinor.size, 1, 'the money was sent once');
    const [line] = await sql<
      { used_minor: bigint }[]
    >`select used_minor from credit_lines where customer_id = ${customer}`;
    const [open] = await sql<{ p: bigint }[]>`
      select coalesce(sum(principal_minor), 0)::bigint as p from loans where customer_id = ${customer} and status = 'active'`;
    assert.equal(line!.used_minor, open!.p);
    lab.platform.services.gateway = new SimulatedGateway();
  });

  test('bad input on every lending route answers 4xx with a stable code and changes nothing', async () => {
    const sql = lab.platform.db.sql;
    const customer = await createCustomer(sql, 1_000_000n);
    const other = await createCustomer(sql, 1_000_000n);
    const { goodsId } = await createGoods(sql, 10_000n);
    const token = lab.token('customer', customer);
    const otherToken = lab.token('customer', other);
    const order = await call(lab, 'POST', '/v1/orders', {
      token: otherToken,
      key: 'theirs',
      body: { goods_id: goodsId.toString(), product_id: lab.goodsProductId.toString(), tenor: 3 },
    });
    const theirLoan = order.body.loan_id as string;
    const before = await counts(sql);
    const good = { goods_id: goodsId.toString(), product_id: lab.goodsProductId.toString(), tenor: 3 };
    const cases: [string, string, Parameters<typeof call>[3], number, string][] = [
      ['POST', '/v1/orders', { token, body: good }, 400, 'IDEMPOTENCY_KEY_REQUIRED'],
      ['POST', '/v1/orders', { token, body: good, key: 'bad key!' }, 400, 'IDEMPOTENCY_KEY_INVALID'],
      ['POST', '/v1/orders', { token, body: good, key: 'x'.repeat(200) }, 400, 'IDEMPOTENCY_KEY_INVALID'],
      ['POST', '/v1/orders', { body: good, key: 'k' }, 401, 'UNAUTHORIZED'],
      ['POST', '/v1/orders', { token, body: { ...good, tenor: '3' }, key: 'k1' }, 400, 'VALIDATION_FAILED'],
      ['POST', '/v1/orders', { token, body: { ...good, tenor: 0 }, key: 'k2' }, 400, 'VALIDATION_FAILED'],
      ['POST', '/v1/orders', { token, body: { ...good, tenor: 5 }, key: 'k3' }, 422, 'TENOR_NOT_ALLOWED'],
      [
        'POST',
        '/v1/orders',
        { token, body: { ...good, goods_id: '999' }, key: 'k4' },
        404,
        'GOODS_NOT_FOUND',
      ],
      [
        'POST',
        '/v1/orders',
        { token, body: { ...good, goods_id: '99999999999999999999' }, key: 'k5' },
        400,
        'VALIDATION_FAILED',
      ],
      [
        'POST',
        '/v1/orders',
        { token, body: { ...good, product_id: lab.cashProductId.toString() }, key: 'k6' },
        422,
        'PRODUCT_KIND_MISMATCH',
      ],
      ['POST', '/v1/orders', { token, body: { ...good, extra: 1 }, key: 'k7' }, 400, 'VALIDATION_FAILED'],
      ['POST', '/v1/orders', { token, raw: '{"goods_id":', key: 'k8' }, 400, 'MALFORMED_JSON'],
      [
        'POST',
        '/v1/orders',
        { token, raw: JSON.stringify({ ...good, pad: 'x'.repeat(100_000) }), key: 'k9' },
        413,
        'BODY_TOO_LARGE',
      ],
      [
        'POST',
        '/v1/loans',
        { token, body: { product_id: lab.cashProductId.toString(), amount: '-5', tenor: 3 }, key: 'l1' },
        400,
        'VALIDATION_FAILED',
      ],
      [
        'POST',
        '/v1/loans',
        { token, body: { product_id: lab.cashProductId.toString(), amount: '0.00', tenor: 3 }, key: 'l2' },
        422,
        'INVALID_AMOUNT',
      ],
      [
        'POST',
        '/v1/loans',
        { token, body: { product_id: lab.cashProductId.toString(), amount: '100.001', tenor: 3 }, key: 'l3' },
        422,
        'INVALID_AMOUNT',
      ],
      [
        'POST',
        '/v1/loans',
        {
          token,
          body: { product_id: lab.cashProductId.toString(), amount: '99999999999999', tenor: 3 },
          key: 'l4',
        },
        422,
        'PRINCIPAL_OUT_OF_RANGE',
      ],
      [
        'POST',
        '/v1/loans',
        { token, body: { product_id: lab.cashProductId.toString(), amount: 100, tenor: 3 }, key: 'l5' },
        400,
        'VALIDATION_FAILED',
      ],
      [
        'POST',
        '/v1/loans',
        {
          token,
          body: { product_id: lab.cashProductId.toString(), amount: '20000.00', tenor: 3 },
          key: 'l6',
        },
        422,
        'INSUFFICIENT_CREDIT',
      ],
      [
        'POST',
        '/v1/loans',
        { token, body: { product_id: '424242', amount: '100.00', tenor: 3 }, key: 'l7' },
        404,
        'PRODUCT_NOT_FOUND',
      ],
      [
        'POST',
        `/v1/loans/${theirLoan}/repayments`,
        { token, body: { amount: '1.00' }, key: 'r1' },
        404,
        'NOT_FOUND',
      ],
      ['POST', '/v1/loans/123/repayments', { token, body: { amount: '1.00' }, key: 'r2' }, 404, 'NOT_FOUND'],
      [
        'POST',
        `/v1/loans/${theirLoan}/repayments`,
        { token: otherToken, body: { amount: '1e3' }, key: 'r3' },
        400,
        'VALIDATION_FAILED',
      ],
      [
        'POST',
        `/v1/loans/${theirLoan}/repayments`,
        { token: otherToken, body: { amount: '' }, key: 'r4' },
        400,
        'VALIDATION_FAILED',
      ],
      [
        'POST',
        `/v1/loans/${theirLoan}/repayments`,
        { token: otherToken, body: { amount: '1.00' } },
        400,
        'IDEMPOTENCY_KEY_REQUIRED',
      ],
      [
        'POST',
        `/v1/loans/${theirLoan}/repayments?overpayment=maybe`,
        { token: otherToken, body: { amount: '1.00' }, key: 'r5' },
        400,
        'VALIDATION_FAILED',
      ],
      ['GET', `/v1/loans/${theirLoan}`, { token }, 404, 'NOT_FOUND'],
      ['GET', `/v1/loans/${theirLoan}/schedule`, { token }, 404, 'NOT_FOUND'],
      ['GET', `/v1/loans/${theirLoan}/payoff?date=2025-13-01`, { token: otherToken }, 400, 'INVALID_DATE'],
      ['GET', `/v1/loans?customer_id=${other}`, { token }, 404, 'NOT_FOUND'],
      ['GET', '/v1/loans', { token: lab.token('ops', 1n) }, 400, 'CUSTOMER_ID_REQUIRED'],
      ['GET', `/v1/orders/${order.body.id}`, { token }, 404, 'NOT_FOUND'],
      ['GET', `/v1/customers/${other}/credit-line`, { token }, 404, 'NOT_FOUND'],
      ['PUT', `/v1/customers/${other}/credit-line`, { token, body: { limit: '1.00' } }, 403, 'FORBIDDEN'],
      [
        'PUT',
        `/v1/customers/${other}/credit-line`,
        { token: lab.token('risk', 1n), body: {} },
        400,
        'VALIDATION_FAILED',
      ],
      [
        'PUT',
        `/v1/customers/${other}/credit-line`,
        { token: lab.token('risk', 1n), body: { limit: '1.001' } },
        422,
        'INVALID_AMOUNT',
      ],
      [
        'PUT',
        '/v1/customers/777/credit-line',
        { token: lab.token('risk', 1n), body: { limit: '1.00' } },
        404,
        'CUSTOMER_NOT_FOUND',
      ],
      ['POST', `/v1/loans/${theirLoan}/reconcile`, { token }, 403, 'FORBIDDEN'],
    ];
    for (const [method, path, options, status, code] of cases) {
      const r = await call(lab, method, path, options);
      assert.equal(
        r.status,
        status,
        `${method} ${path} ${JSON.stringify(options?.body ?? options?.raw)?.slice(0, 80)}: ${JSON.stringify(r.body)}`,
      );
      assert.equal(r.body.error.code, code, `${method} ${path}`);
    }
    assert.deepEqual(await counts(sql), before);
  });
});

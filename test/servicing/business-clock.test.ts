/**
 * One business clock: the API stamps orders, loans and repayments with the clock's date, close of
 * business moves a manual clock to the next day, and ops set it through the API and the CLI.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createBusinessClock } from '../../src/clock.ts';
import { runFenqi } from '../harness/cli.ts';
import { call, createCustomer, createGoods, type Lab, startLab } from '../lending/fixtures.ts';

describe('the business clock', () => {
  let lab: Lab;
  let ops: string;
  const cliEnv = () => ({ ...lab.pg.env(), FENQI_BUSINESS_CLOCK: 'manual', LOG_LEVEL: 'silent' });
  before(async () => {
    lab = await startLab(10, { FENQI_BUSINESS_CLOCK: 'manual' });
    // setting the date is audited under the token's staff account, which must exist
    const [staff] = await lab.platform.db.sql<{ id: bigint }[]>`
      insert into staff (username, role, password_hash) values ('clock-ops', 'ops', 'x') returning id`;
    ops = lab.token('ops', staff!.id);
  });
  after(async () => {
    await lab?.close();
  });

  test('the zone clock gives the business time zone day, not the UTC day, for eight hours a day', async () => {
    const at = new Date('2025-03-04T20:00:00Z'); // 04:00 on the 5th in Shanghai
    const clock = createBusinessClock(
      { businessTimeZone: 'Asia/Shanghai', businessClock: 'zone' },
      lab.platform.db.sql,
      () => at,
    );
    assert.equal(await clock.today(), '2025-03-05');
    assert.equal(at.toISOString().slice(0, 10), '2025-03-04', 'the UTC day disagrees');
    await assert.rejects(clock.set('2025-01-01'), /manual/);
  });

  test('ops set the date; orders, loans and repayments are stamped with it; a customer may not set it', async () => {
    const set = await call(lab, 'PUT', '/v1/ops/business-date', { token: ops, body: { date: '2025-03-05' } });
    assert.equal(set.status, 200);
    assert.deepEqual(set.body, { business_date: '2025-03-05', clock: 'manual', time_zone: 'Asia/Shanghai' });
    const sql = lab.platform.db.sql;
    const customer = await createCustomer(sql);
    const token = lab.token('customer', customer);
    const refused = await call(lab, 'PUT', '/v1/ops/business-date', { token, body: { date: '2025-01-01' } });
    assert.equal(refused.status, 403);
    const bad = await call(lab, 'PUT', '/v1/ops/business-date', { token: ops, body: { date: '2025-02-30' } });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.code, 'INVALID_DATE');

    const { goodsId } = await createGoods(sql, 60_000n);
    const order = await call(lab, 'POST', '/v1/orders', {
      token,
      key: 'clock-order',
      body: { goods_id: goodsId.toString(), product_id: lab.goodsProductId.toString(), tenor: 6 },
    });
    assert.equal(order.status, 201);
    const [loan] = await sql<{ id: bigint; start_date: string }[]>`
      select id, start_date::text from loans where customer_id = ${customer}`;
    assert.equal(loan!.start_date, '2025-03-05');
    const paid = await call(lab, 'POST', `/v1/loans/${loan!.id}/repayments`, {
      token,
      key: 'clock-pay',
      body: { amount: '10.00' },
    });
    assert.equal(paid.status, 201);
    assert.equal(paid.body.business_date, '2025-03-05');
    const dates = await sql<{ d: string }[]>`
      select distinct business_date::text as d from journal_entries where customer_id = ${customer}`;
    assert.deepEqual(
      dates.map((r) => r.d),
      ['2025-03-05'],
    );
  });

  test('the risk history counts days past due to the business date, not the database date', async () => {
    // | business date | action                         | history read by a decision           |
    // | 2025-05-01    | order 600.00 in 6, due 06-01.. | 0 due, 0 days past due               |
    // | 2025-06-11    | (nothing paid)                 | 1 due, 10 days past due (worst, now) |
    const sql = lab.platform.db.sql;
    await call(lab, 'PUT', '/v1/ops/business-date', { token: ops, body: { date: '2025-05-01' } });
    const customer = await createCustomer(sql);
    const { goodsId } = await createGoods(sql, 60_000n);
    const order = await call(lab, 'POST', '/v1/orders', {
      token: lab.token('customer', customer),
      key: 'history-order',
      body: { goods_id: goodsId.toString(), product_id: lab.goodsProductId.toString(), tenor: 6 },
    });
    assert.equal(order.status, 201, JSON.stringify(order.body));
    const risk = lab.platform.services.risk;
    const before = await risk.histories.submit(customer);
    assert.deepEqual([before?.dueCount, before?.currentDpd], [0, 0]);
    await call(lab, 'PUT', '/v1/ops/business-date', { token: ops, body: { date: '2025-06-11' } });
    const later = await risk.histories.submit(customer);
    assert.deepEqual([later?.dueCount, later?.worstDpd, later?.currentDpd], [1, 10, 10]);
  });

  test('fenqi cob --date D moves the manual clock to D + 1; fenqi business-date --set sets it back', async () => {
    await call(lab, 'PUT', '/v1/ops/business-date', { token: ops, body: { date: '2025-04-10' } });
    const cob = await runFenqi(['cob', '--date', '2025-04-10'], cliEnv());
    assert.equal(cob.code, 0, cob.stderr);
    const after = await call(lab, 'GET', '/v1/business-date', { token: lab.token('customer', 1n) });
    assert.equal(after.body.business_date, '2025-04-11');

    const set = await runFenqi(['business-date', '--set', '2025-01-01'], cliEnv());
    assert.equal(set.code, 0, set.stderr);
    assert.match(set.stdout, /^2025-01-01 \(manual clock\)/);
    // a driver starting a new scenario closes an earlier date again: the manual clock allows it
    const again = await runFenqi(['cob', '--date', '2025-01-01'], cliEnv());
    assert.equal(again.code, 0, again.stderr);
    const shown = await runFenqi(['business-date'], cliEnv());
    assert.match(shown.stdout, /^2025-01-02 /);
  });
});

/**
 * Monthly statements on real PostgreSQL through close of business and the customer API, with the
 * cycle day configured (FENQI_STATEMENT_CYCLE_DAY=5): a bill lists every installment due in the
 * cycle across loans and what is still owed from before, its total equals the installments due
 * (checked against the installments table), a rerun makes no second statement, payments and late
 * fees show up on the next bill, the customer reads it as JSON and as a printable zh-CN page, and
 * the next payment is on the customer API.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { SimulatedPayouts } from '../../src/payments/payouts.ts';
import { dateEn, dateZh, yuan } from '../../src/statements/html.ts';
import { call } from '../lending/fixtures.ts';
import { assertLedgerChecks, type Scenario, setBusinessDate } from '../servicing/support.ts';
import { closeWithSteps, goodsOf, merchantWithKey, order, ROUND_PRODUCT, startWith } from './support.ts';

test('amounts and dates print as the borrower reads them', () => {
  assert.equal(yuan(129_394n), '¥1,293.94');
  assert.equal(yuan(5n), '¥0.05');
  assert.equal(yuan(123_456_789_00n), '¥123,456,789.00');
  assert.equal(dateZh('2027-01-04'), '2027年1月4日');
  assert.equal(dateEn('2027-01-04'), '4 Jan 2027');
});

describe('monthly statements', () => {
  let s: Scenario;
  const rail = new SimulatedPayouts({ seed: 2 });
  before(async () => {
    s = await startWith(ROUND_PRODUCT, { FENQI_STATEMENT_CYCLE_DAY: '5' });
  });
  after(async () => {
    await s?.lab.close();
  });

  /** Every statement's total against the installments it bills, read straight from the installments. */
  async function assertTotalsEqualInstallments(cycleStart: string): Promise<number> {
    const rows = await s.lab.platform.db.sql<{ customer_id: bigint; total: bigint; owed: bigint | null }[]>`
      select st.customer_id, st.total_due_minor as total,
        (select sum(i.principal_minor - i.paid_principal_minor + i.interest_minor - i.paid_interest_minor
            + i.fee_minor - i.paid_fee_minor + i.penalty_minor - i.paid_penalty_minor)::bigint
          from installments i join loans l on l.customer_id = i.customer_id and l.id = i.loan_id
          where i.customer_id = st.customer_id and l.status = 'active' and i.status in ('due', 'overdue')
            and i.due_date <= st.cycle_end) as owed
      from statements st where st.cycle_start = ${cycleStart}::date`;
    for (const r of rows)
      assert.equal(r.total, r.owed ?? 0n, `customer ${r.customer_id}: total = installments due`);
    const [lines] = await s.lab.platform.db.sql<{ bad: number }[]>`
      select count(*)::int as bad from statements st
      where st.cycle_start = ${cycleStart}::date and st.total_due_minor <> (
        select coalesce(sum(amount_minor), 0) from statement_lines sl
        where sl.customer_id = st.customer_id and sl.statement_id = st.id and sl.kind in ('installment', 'past_due'))`;
    assert.equal(lines!.bad, 0, 'each total is the sum of its installment lines');
    return rows.length;
  }

  test('cycle day 5: bills list installments across loans, arrears, payments and fees; totals equal installments due; reruns make none twice', async () => {
    // | 2025-01-10 | X buys 600.00 (6 x 100.00 from 02-10); 01-20 X buys 1,200.00 (6 x 200.00 from 02-20); 01-25 Y buys 300.00 (6 x 50.00 from 02-25) |
    // | close 02-04 | bill of [02-05, 03-04]: X 100.00 (02-10) + 200.00 (02-20) = 300.00 by 02-20; Y 50.00 by 02-25 |
    // | 02-10       | X pays 100.00; X leaves 02-20 unpaid, Y leaves 02-25 unpaid: each 10.00 late fee           |
    // | close 03-04 | bill of [03-05, 04-04]: X past due 210.00 + 100.00 + 200.00 = 510.00, paid 100.00 last cycle |
    const sql = s.lab.platform.db.sql;
    const m = await merchantWithKey(s, 'Bill Shop');
    await setBusinessDate(s, '2025-01-10');
    const x1 = await order(s, await goodsOf(s, m, '600.00'));
    await setBusinessDate(s, '2025-01-20');
    await order(s, await goodsOf(s, m, '1200.00'), x1.customerId);
    await setBusinessDate(s, '2025-01-25');
    const y = await order(s, await goodsOf(s, m, '300.00'));

    const feb = await closeWithSteps(s, '2025-02-04', rail);
    const step = feb.steps.find((x) => x.name === 'statements')!.result;
    assert.deepEqual(step, { cycle_start: '2025-02-05', cycle_end: '2025-03-04', written: 2, total: 2 });
    assert.equal(await assertTotalsEqualInstallments('2025-02-05'), 2);
    const again = await closeWithSteps(s, '2025-02-04', rail);
    assert.equal(
      again.steps.find((x) => x.name === 'statements')!.result.written,
      0,
      'a rerun writes nothing',
    );
    const [count] = await sql<{ n: number }[]>`select count(*)::int as n from statements`;
    assert.equal(count!.n, 2, 'one statement per customer and cycle');

    const list = await call(s.lab, 'GET', '/v1/me/statements', { token: x1.token });
    assert.equal(list.status, 200);
    assert.equal(list.body.items.length, 1);
    const febBill = list.body.items[0];
    assert.deepEqual(
      [febBill.cycle_start, febBill.cycle_end, febBill.due_date, febBill.total_due, febBill.past_due],
      ['2025-02-05', '2025-03-04', '2025-02-20', '300.00', '0.00'],
    );
    const detail = await call(s.lab, 'GET', `/v1/me/statements/${febBill.id}`, { token: x1.token });
    assert.deepEqual(
      detail.body.lines.map((l: { kind: string; date: string; amount: string }) => [
        l.kind,
        l.date,
        l.amount,
      ]),
      [
        ['installment', '2025-02-10', '100.00'],
        ['installment', '2025-02-20', '200.00'],
      ],
      'installments across both loans, by due date',
    );

    await setBusinessDate(s, '2025-02-10');
    const [loan1] = await sql<{ id: bigint }[]>`select loan_id as id from orders where id = ${x1.orderId}`;
    const paid = await call(s.lab, 'POST', `/v1/loans/${loan1!.id}/repayments`, {
      token: x1.token,
      key: 'x-feb',
      body: { amount: '100.00' },
    });
    assert.equal(paid.status, 201, JSON.stringify(paid.body));
    await closeWithSteps(s, '2025-02-25', rail);
    const mar = await closeWithSteps(s, '2025-03-04', rail);
    assert.equal(mar.steps.find((x) => x.name === 'statements')!.result.written, 2);
    assert.equal(await assertTotalsEqualInstallments('2025-03-05'), 2);

    const marList = await call(s.lab, 'GET', '/v1/me/statements?limit=1', { token: x1.token });
    const marBill = marList.body.items[0];
    assert.deepEqual(
      [
        marBill.cycle_start,
        marBill.total_due,
        marBill.past_due,
        marBill.penalty_due,
        marBill.payments_received,
        marBill.due_date,
      ],
      ['2025-03-05', '510.00', '210.00', '10.00', '100.00', '2025-03-20'],
    );
    assert.ok(marList.body.next_cursor, 'a full page has a cursor');
    const older = await call(s.lab, 'GET', `/v1/me/statements?limit=1&cursor=${marList.body.next_cursor}`, {
      token: x1.token,
    });
    assert.equal(older.body.items[0].id, febBill.id);
    const marDetail = await call(s.lab, 'GET', `/v1/me/statements/${marBill.id}`, { token: x1.token });
    assert.deepEqual(
      marDetail.body.lines.map((l: { kind: string; date: string; amount: string }) => [
        l.kind,
        l.date,
        l.amount,
      ]),
      [
        ['past_due', '2025-02-20', '210.00'],
        ['installment', '2025-03-10', '100.00'],
        ['installment', '2025-03-20', '200.00'],
        ['payment', '2025-02-10', '100.00'],
      ],
    );

    const html = await call(s.lab, 'GET', `/v1/me/statements/${marBill.id}.html`, { token: x1.token });
    assert.equal(html.status, 200);
    assert.match(html.headers.get('content-type') ?? '', /^text\/html/);
    for (const text of [
      'lang="zh-CN"',
      '应还总额',
      'Total due',
      '¥510.00',
      '2025年3月20日',
      '20 Mar 2025',
      '逾期未还',
    ]) {
      assert.ok(String(html.body).includes(text), `the page shows ${text}`);
    }
    const theirs = await call(s.lab, 'GET', `/v1/me/statements/${marBill.id}`, { token: y.token });
    assert.equal(theirs.status, 404, "another customer's statement does not exist for them");
    for (const path of [
      '/v1/me/statements/abc',
      '/v1/me/statements/99999999999999999999.html',
      '/v1/me/statements/1.pdf',
    ]) {
      assert.equal((await call(s.lab, 'GET', path, { token: x1.token })).status, 404, path);
    }
    assert.equal((await call(s.lab, 'GET', '/v1/me/statements?limit=0', { token: x1.token })).status, 400);
    assert.equal((await call(s.lab, 'GET', '/v1/me/statements', { token: s.ops })).status, 403);

    const next = await call(s.lab, 'GET', '/v1/me/next-payment', { token: x1.token });
    assert.equal(next.status, 200);
    assert.deepEqual(next.body, {
      business_date: '2025-03-05',
      next_payment: {
        date: '2025-02-20',
        amount: '210.00',
        overdue: true,
        items: [{ loan_id: next.body.next_payment.items[0].loan_id, installment: 1, amount: '210.00' }],
      },
    });
    await assertLedgerChecks(s);
    console.log(
      `statements (cycle day 5): Feb bill X 300.00 by 2025-02-20; Mar bill X 510.00 (210.00 past due incl. 10.00 late fee, ` +
        `100.00 received); totals = installments due for ${await assertTotalsEqualInstallments('2025-03-05')} customers`,
    );
  });
});

/**
 * Hardship tools as scenario tables on real PostgreSQL through the API: a re-age (past-due amounts
 * to the end, the loan current again) and a reschedule (the outstanding principal on a new term and
 * due day), each with the customer's consent reference, the schedule before kept readable, an
 * audit row, and maker-checker when a reschedule lowers what is owed beyond the staff limit.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { call } from '../lending/fixtures.ts';
import {
  accountOfLoan,
  assertLedgerChecks,
  buy,
  closeDate,
  installments,
  loanState,
  type Scenario,
  setBusinessDate,
  startScenarios,
} from './support.ts';

async function staffToken(s: Scenario, username: string): Promise<string> {
  const [staff] = await s.lab.platform.db.sql<{ id: bigint }[]>`
    insert into staff (username, role, password_hash) values (${username}, 'ops', 'x') returning id`;
  return s.lab.token('ops', staff!.id);
}

async function interestProduct(s: Scenario, code: string): Promise<bigint> {
  const r = await call(s.lab, 'POST', '/v1/products', {
    token: s.ops,
    body: {
      code,
      name: 'Goods at 1% a month',
      kind: 'goods',
      tenors: [6, 24],
      rate: '12',
      method: 'equal-principal',
      late_fee: { amount: '0', percent_per_day: '0', cap: null },
    },
  });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return BigInt(r.body.id);
}

async function auditActions(s: Scenario, recordId: string): Promise<string[]> {
  const rows = await s.lab.platform.db.sql<{ action: string }[]>`
    select action from staff_audit_log where record_id = ${recordId} order by seq`;
  return rows.map((r) => r.action);
}

describe('hardship: re-age and reschedule', () => {
  let s: Scenario;
  before(async () => {
    s = await startScenarios();
  });
  after(async () => {
    await s?.lab.close();
  });

  test('a re-age moves the past-due installments after the last one and the loan is current again', async () => {
    // goods 600.00 in 6 x 100.00 from 2025-01-01, 10.00 late fee, no grace
    // | date       | action                              | expected                                          |
    // | 2025-03-05 | close                               | #1, #2 overdue, 10.00 penalty each, 33 dpd, M2   |
    // | 2025-03-06 | ops: re-age (consent HS-1)          | 422 PENALTY_OUTSTANDING 20.00                     |
    // | 2025-03-06 | ops: waive penalty 20.00, re-age    | #1, #2 cut to 0; #7 2025-08-01 100.00, #8         |
    // |            |                                     | 2025-09-01 100.00; 0 dpd, current; ledger check ok |
    // | 2025-04-02 | close                               | #3 overdue: 2 dpd (counted from #3, not #1)       |
    await setBusinessDate(s, '2025-01-01');
    const { loanId, token } = await buy(s, 60_000n);
    await closeDate(s, '2025-03-05');
    assert.deepEqual(
      { dpd: (await loanState(s, loanId)).days_past_due, bucket: (await loanState(s, loanId)).bucket },
      { dpd: 33, bucket: 'M2' },
    );
    await setBusinessDate(s, '2025-03-06');
    const url = `/v1/loans/${loanId}/hardship/re-age`;
    const byCustomer = await call(s.lab, 'POST', url, { token, key: 'ra-c', body: { consent_ref: 'HS-1' } });
    assert.equal(byCustomer.status, 403);
    const refused = await call(s.lab, 'POST', url, {
      token: s.ops,
      key: 'ra-0',
      body: { consent_ref: 'HS-1' },
    });
    assert.equal(refused.status, 422, JSON.stringify(refused.body));
    assert.equal(refused.body.error.code, 'PENALTY_OUTSTANDING');
    assert.equal(refused.body.error.details.penalty_minor, '2000');
    const waived = await call(s.lab, 'POST', `/v1/loans/${loanId}/waivers`, {
      token: s.ops,
      key: 'ra-w',
      body: { component: 'penalty', amount: '20.00', reason: 'hardship' },
    });
    assert.equal(waived.status, 201, JSON.stringify(waived.body));
    const principalBefore = await accountOfLoan(s, loanId, '1100');
    const reAged = await call(s.lab, 'POST', url, {
      token: s.ops,
      key: 'ra-1',
      body: { consent_ref: 'HS-1' },
    });
    assert.equal(reAged.status, 201, JSON.stringify(reAged.body));
    assert.deepEqual(reAged.body.moved_installments, [1, 2]);
    assert.deepEqual(reAged.body.new_installments, [
      { number: 7, due_date: '2025-08-01', principal: '100.00', interest: '0.00', fee: '0.00' },
      { number: 8, due_date: '2025-09-01', principal: '100.00', interest: '0.00', fee: '0.00' },
    ]);
    const again = await call(s.lab, 'POST', url, {
      token: s.ops,
      key: 'ra-1',
      body: { consent_ref: 'HS-1' },
    });
    assert.deepEqual(again.body, reAged.body, 'the same key answers the same, nothing moves twice');
    const inst = await installments(s, loanId);
    assert.deepEqual(
      inst.map((i) => [i.n, i.due, i.principal, i.status]),
      [
        [1, '2025-02-01', 0n, 'paid'],
        [2, '2025-03-01', 0n, 'paid'],
        [3, '2025-04-01', 10_000n, 'due'],
        [4, '2025-05-01', 10_000n, 'due'],
        [5, '2025-06-01', 10_000n, 'due'],
        [6, '2025-07-01', 10_000n, 'due'],
        [7, '2025-08-01', 10_000n, 'due'],
        [8, '2025-09-01', 10_000n, 'due'],
      ],
    );
    const state = await loanState(s, loanId);
    assert.deepEqual([state.days_past_due, state.bucket, state.used_minor], [0, 'current', 60_000n]);
    assert.equal(await accountOfLoan(s, loanId, '1100'), principalBefore, 'a re-age moves no money');
    await assertLedgerChecks(s);

    const history = await call(s.lab, 'GET', `/v1/loans/${loanId}/schedule-history`, { token });
    assert.equal(history.status, 200, JSON.stringify(history.body));
    assert.equal(history.body.versions.length, 1);
    const v1 = history.body.versions[0];
    assert.deepEqual([v1.kind, v1.consent_ref, v1.business_date], ['re_age', 'HS-1', '2025-03-06']);
    assert.deepEqual(v1.installments[0], {
      number: 1,
      due_date: '2025-02-01',
      status: 'overdue',
      principal: '100.00',
      interest: '0.00',
      fee: '0.00',
      penalty: '0.00',
      paid: '0.00',
    });
    assert.deepEqual(await auditActions(s, loanId.toString()), ['loan_waiver_applied', 'loan_re_aged']);

    const dated = await call(s.lab, 'POST', `/v1/loans/${loanId}/repayments`, {
      token: s.ops,
      key: 'ra-dated',
      body: { amount: '10.00', transaction_date: '2025-03-01' },
    });
    assert.equal(dated.status, 409, JSON.stringify(dated.body));
    assert.equal(dated.body.error.code, 'SCHEDULE_CHANGED');

    await closeDate(s, '2025-04-02');
    assert.equal((await loanState(s, loanId)).days_past_due, 2);
    await assertLedgerChecks(s);
  });

  test('a reschedule puts the outstanding principal on a new term and due day and books the interest difference', async () => {
    // 600.00 at 1% a month, 6 equal-principal installments from 2025-01-01 (interest 6, 5, 4, 3, 2, 1)
    // | date       | action                                         | expected                                   |
    // | 2025-02-01 | repay 106.00                                   | #1 paid; 500.00 principal left             |
    // | 2025-02-10 | ops: reschedule, tenor 10, from 2025-02-15     | #2..#6 cut; #7..#16 50.00 each due the     |
    // |            | (consent HS-2)                                 | 15th, Mar..Dec; interest 5.00 down to 0.50 |
    // |            |                                                | = 27.50 replaces 15.00: +12.50 Dr 1110 /   |
    // |            |                                                | Cr 2300; receivable interest 27.50         |
    const productId = await interestProduct(s, 'SERV-HARDSHIP');
    await setBusinessDate(s, '2025-01-01');
    const { loanId, token } = await buy(s, 60_000n, 6, productId);
    await setBusinessDate(s, '2025-02-01');
    const paid = await call(s.lab, 'POST', `/v1/loans/${loanId}/repayments`, {
      token,
      key: 'rs-pay',
      body: { amount: '106.00' },
    });
    assert.equal(paid.status, 201, JSON.stringify(paid.body));
    await setBusinessDate(s, '2025-02-10');
    const r = await call(s.lab, 'POST', `/v1/loans/${loanId}/hardship/reschedule`, {
      token: s.ops,
      key: 'rs-1',
      body: { consent_ref: 'HS-2', tenor: 10, start_date: '2025-02-15' },
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal(r.body.interest_change, '12.50');
    assert.deepEqual(r.body.moved_installments, [2, 3, 4, 5, 6]);
    assert.deepEqual(
      r.body.new_installments.map(
        (i: { number: number; due_date: string; principal: string; interest: string }) => [
          i.number,
          i.due_date,
          i.principal,
          i.interest,
        ],
      ),
      [
        [7, '2025-03-15', '50.00', '5.00'],
        [8, '2025-04-15', '50.00', '4.50'],
        [9, '2025-05-15', '50.00', '4.00'],
        [10, '2025-06-15', '50.00', '3.50'],
        [11, '2025-07-15', '50.00', '3.00'],
        [12, '2025-08-15', '50.00', '2.50'],
        [13, '2025-09-15', '50.00', '2.00'],
        [14, '2025-10-15', '50.00', '1.50'],
        [15, '2025-11-15', '50.00', '1.00'],
        [16, '2025-12-15', '50.00', '0.50'],
      ],
    );
    assert.equal(await accountOfLoan(s, loanId, '1110'), 2_750n);
    // unearned: the new 27.50 and #1's 6.00, which no close has earned yet
    assert.equal(await accountOfLoan(s, loanId, '2300'), -3_350n);
    assert.equal(await accountOfLoan(s, loanId, '1100'), 50_000n);
    await assertLedgerChecks(s);
    const history = await call(s.lab, 'GET', `/v1/loans/${loanId}/schedule-history`, { token: s.ops });
    assert.equal(history.body.versions[0].installments.length, 6, 'the original schedule stays readable');
    assert.equal(history.body.versions[0].installments[5].interest, '1.00');
  });

  test('a reschedule that lowers the interest owed beyond the staff limit waits for a second person', async () => {
    // 9,000.00 at 1% a month in 24 equal-principal installments: interest 1,125.00; rescheduled on
    // 2025-01-10 to one installment: 90.00, so 1,035.00 less is owed (limit 500.00)
    // | ops A: reschedule tenor 1        | 202 proposal, nothing changes          |
    // | ops A: approve own proposal      | 403 OWN_PROPOSAL                       |
    // | ops B: approve                   | applied: #25 9,000.00 + 90.00 due 2025-02-10, -1,035.00 |
    const productId = await interestProduct(s, 'SERV-HARDSHIP-BIG');
    const checker = await staffToken(s, 'hardship-checker');
    await setBusinessDate(s, '2025-01-01');
    const { loanId } = await buy(s, 900_000n, 24, productId);
    await setBusinessDate(s, '2025-01-10');
    const proposed = await call(s.lab, 'POST', `/v1/loans/${loanId}/hardship/reschedule`, {
      token: s.ops,
      key: 'big-1',
      body: { consent_ref: 'HS-3', tenor: 1 },
    });
    assert.equal(proposed.status, 202, JSON.stringify(proposed.body));
    assert.deepEqual([proposed.body.status, proposed.body.interest_change], ['open', '-1035.00']);
    assert.equal((await installments(s, loanId)).length, 24, 'nothing changes before the approval');
    const base = `/v1/loans/${loanId}/hardship/proposals/${proposed.body.proposal_id}`;
    const own = await call(s.lab, 'POST', `${base}/approve`, { token: s.ops, key: 'big-own' });
    assert.equal(own.status, 403, JSON.stringify(own.body));
    assert.equal(own.body.error.code, 'OWN_PROPOSAL');
    const approved = await call(s.lab, 'POST', `${base}/approve`, { token: checker, key: 'big-ok' });
    assert.equal(approved.status, 200, JSON.stringify(approved.body));
    assert.equal(approved.body.proposal.status, 'approved');
    assert.deepEqual(approved.body.change.new_installments, [
      { number: 25, due_date: '2025-02-10', principal: '9000.00', interest: '90.00', fee: '0.00' },
    ]);
    assert.equal(await accountOfLoan(s, loanId, '1110'), 9_000n);
    const twice = await call(s.lab, 'POST', `${base}/reject`, { token: checker, key: 'big-again' });
    assert.equal(twice.body.error.code, 'PROPOSAL_ALREADY_DECIDED');
    await assertLedgerChecks(s);
  });
});

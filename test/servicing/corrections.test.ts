/**
 * Scenarios (Fineract style): a repayment with an earlier transaction date, and a reversal of a
 * repayment, each reprocessing allocation, late fees and days past due. Goods: 600.00 in 6 monthly
 * installments of 100.00 from 2025-01-01, 0% interest, a 10.00 late fee from the first day late.
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

describe('repayment corrections', () => {
  let s: Scenario;
  before(async () => {
    s = await startScenarios();
  });
  after(async () => {
    await s?.lab.close();
  });

  test('a repayment dated back to the due date reprocesses the late fee and days past due', async () => {
    // | date       | action                                       | expected                              |
    // | 2025-01-01 | order 600.00, 6 x 100.00 due on the 1st      | used 600.00                           |
    // | 2025-02-03 | close 2025-02-03                             | #1 overdue, 10.00 late fee, 3 dpd, M1 |
    // | 2025-02-04 | staff: repay 100.00, transaction 2025-02-01  | #1 paid on time, fee reversed, 0 dpd  |
    await setBusinessDate(s, '2025-01-01');
    const { loanId, token } = await buy(s, 60_000n);
    await closeDate(s, '2025-02-03');
    let inst = await installments(s, loanId);
    assert.equal(inst[0]!.due, '2025-02-01');
    assert.equal(inst[0]!.status, 'overdue');
    assert.equal(inst[0]!.penalty, 1_000n);
    assert.deepEqual(await loanState(s, loanId), {
      status: 'active',
      days_past_due: 3,
      bucket: 'M1',
      used_minor: 60_000n,
    });
    await assertLedgerChecks(s);

    await setBusinessDate(s, '2025-02-04');
    const body = { amount: '100.00', transaction_date: '2025-02-01' };
    const byCustomer = await call(s.lab, 'POST', `/v1/loans/${loanId}/repayments`, {
      token,
      key: 'c1',
      body,
    });
    assert.equal(byCustomer.status, 403, 'a customer may not date a payment');
    const tooOld = await call(s.lab, 'POST', `/v1/loans/${loanId}/repayments`, {
      token: s.ops,
      key: 'old',
      body: { amount: '100.00', transaction_date: '2024-12-31' },
    });
    assert.equal(tooOld.body.error.code, 'TRANSACTION_DATE_OUT_OF_WINDOW');
    const future = await call(s.lab, 'POST', `/v1/loans/${loanId}/repayments`, {
      token: s.ops,
      key: 'future',
      body: { amount: '100.00', transaction_date: '2025-02-05' },
    });
    assert.equal(future.body.error.code, 'TRANSACTION_DATE_IN_FUTURE');

    const paid = await call(s.lab, 'POST', `/v1/loans/${loanId}/repayments`, {
      token: s.ops,
      key: 'd1',
      body,
    });
    assert.equal(paid.status, 201, JSON.stringify(paid.body));
    assert.equal(paid.body.transaction_date, '2025-02-01');
    assert.equal(paid.body.business_date, '2025-02-04');
    assert.deepEqual(paid.body.allocated, {
      principal: '100.00',
      interest: '0.00',
      fee: '0.00',
      penalty: '0.00',
    });
    assert.equal(paid.body.credit_balance_added, '0.00');
    const again = await call(s.lab, 'POST', `/v1/loans/${loanId}/repayments`, {
      token: s.ops,
      key: 'd1',
      body,
    });
    assert.deepEqual(again.body, paid.body, 'a retry replays the answer');
    inst = await installments(s, loanId);
    assert.equal(inst[0]!.status, 'paid');
    assert.equal(inst[0]!.penalty, 0n, 'paid on its due date: no late fee');
    assert.deepEqual(await loanState(s, loanId), {
      status: 'active',
      days_past_due: 0,
      bucket: 'current',
      used_minor: 50_000n,
    });
    assert.equal(await accountOfLoan(s, loanId, '4300'), 0n, 'the penalty income is given back');
    await assertLedgerChecks(s);
  });

  test('a bounced repayment is reversed; the later payment moves to the oldest installment and late fees follow', async () => {
    // | date       | action                               | expected                                          |
    // | 2025-01-01 | order 600.00                         |                                                   |
    // | 2025-02-01 | repay 100.00                         | #1 paid                                           |
    // | 2025-03-01 | repay 100.00                         | #2 paid                                           |
    // | 2025-03-05 | close 2025-03-05                     | current, no fees                                  |
    // | 2025-03-06 | reverse the 02-01 payment (bounced)  | #1: fee 10.00 paid, 90.00 of 100.00 principal      |
    // |            |                                      | #2: unpaid, fee 10.00; 33 dpd (M2); used 510.00   |
    await setBusinessDate(s, '2025-01-01');
    const { loanId, token } = await buy(s, 60_000n);
    await setBusinessDate(s, '2025-02-01');
    const first = await call(s.lab, 'POST', `/v1/loans/${loanId}/repayments`, {
      token,
      key: 'p1',
      body: { amount: '100.00' },
    });
    assert.equal(first.status, 201);
    await setBusinessDate(s, '2025-03-01');
    const second = await call(s.lab, 'POST', `/v1/loans/${loanId}/repayments`, {
      token,
      key: 'p2',
      body: { amount: '100.00' },
    });
    assert.equal(second.status, 201);
    await closeDate(s, '2025-03-05');
    assert.deepEqual(await loanState(s, loanId), {
      status: 'active',
      days_past_due: 0,
      bucket: 'current',
      used_minor: 40_000n,
    });

    const path = `/v1/loans/${loanId}/repayments/${first.body.id}/reversal`;
    const byCustomer = await call(s.lab, 'POST', path, { token, key: 'r0', body: { reason: 'bounced' } });
    assert.equal(byCustomer.status, 403);
    const reversed = await call(s.lab, 'POST', path, {
      token: s.ops,
      key: 'r1',
      body: { reason: 'bounced' },
    });
    assert.equal(reversed.status, 200, JSON.stringify(reversed.body));
    assert.equal(reversed.body.status, 'reversed');
    const twice = await call(s.lab, 'POST', path, { token: s.ops, key: 'r2', body: { reason: 'bounced' } });
    assert.equal(twice.body.error.code, 'REPAYMENT_ALREADY_REVERSED');

    const inst = await installments(s, loanId);
    assert.deepEqual(
      inst.slice(0, 2).map((i) => [i.n, i.paidPrincipal, i.penalty, i.paidPenalty, i.status]),
      [
        [1, 9_000n, 1_000n, 1_000n, 'overdue'],
        [2, 0n, 1_000n, 0n, 'overdue'],
      ],
    );
    assert.deepEqual(await loanState(s, loanId), {
      status: 'active',
      days_past_due: 33,
      bucket: 'M2',
      used_minor: 51_000n,
    });
    const history = await call(s.lab, 'GET', `/v1/loans/${loanId}/repayments`, { token });
    assert.deepEqual(
      history.body.items.map((r: { status: string; allocated: { principal: string; penalty: string } }) => [
        r.status,
        r.allocated.principal,
        r.allocated.penalty,
      ]),
      [
        ['reversed', '100.00', '0.00'],
        ['posted', '90.00', '10.00'],
      ],
    );
    const [entries] = await s.lab.platform.db.sql<{ n: number }[]>`
      select count(*)::int as n from journal_entries where loan_id = ${loanId}
        and kind in ('repayment_reversal', 'repayment_reallocation', 'late_fee_adjustment')`;
    assert.equal(entries!.n, 3, 'one reversal, one reallocation, one penalty adjustment; nothing deleted');
    await assertLedgerChecks(s);
  });
});

/**
 * Ad-hoc charges and waivers by staff, as a scenario table on real PostgreSQL through the API.
 * Goods: 600.00 in 6 monthly installments of 100.00 from 2025-01-01, a 10.00 late fee, no grace.
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

describe('charges and waivers', () => {
  let s: Scenario;
  before(async () => {
    s = await startScenarios();
  });
  after(async () => {
    await s?.lab.close();
  });

  test('a returned-payment fee is charged, a late fee waived and not charged again, large ones need a second person', async () => {
    // | date       | action                                   | expected                                      |
    // | 2025-02-03 | close                                    | #1 overdue, penalty 10.00                     |
    // | 2025-02-04 | ops: charge 15.00 (returned payment fee) | #1 fee 15.00; fee income 15.00                |
    // | 2025-02-04 | ops: waive penalty 10.00                 | #1 penalty 0.00; penalty income 0.00          |
    // | 2025-02-04 | ops: waive fee 600.00                    | 202: an open proposal, nothing waived yet     |
    // | 2025-02-04 | ops: waive fee 20.00                     | 422 WAIVER_EXCEEDS_OUTSTANDING (15.00 owed)   |
    // | 2025-02-09 | close                                    | no new late fee on #1 (10.00 already charged) |
    // | 2025-02-10 | repay 115.00                             | #1 paid, current                              |
    await setBusinessDate(s, '2025-01-01');
    const { loanId, token } = await buy(s, 60_000n);
    await closeDate(s, '2025-02-03');
    await setBusinessDate(s, '2025-02-04');
    const charge = await call(s.lab, 'POST', `/v1/loans/${loanId}/charges`, {
      token: s.ops,
      key: 'ch-1',
      body: { amount: '15.00', reason: 'returned payment' },
    });
    assert.equal(charge.status, 201, JSON.stringify(charge.body));
    assert.deepEqual(charge.body.installments, [{ number: 1, amount: '15.00' }]);
    const byCustomer = await call(s.lab, 'POST', `/v1/loans/${loanId}/charges`, {
      token,
      key: 'ch-2',
      body: { amount: '15.00', reason: 'x' },
    });
    assert.equal(byCustomer.status, 403);
    const waive = await call(s.lab, 'POST', `/v1/loans/${loanId}/waivers`, {
      token: s.ops,
      key: 'w-1',
      body: { component: 'penalty', amount: '10.00', reason: 'first time late' },
    });
    assert.equal(waive.status, 201, JSON.stringify(waive.body));
    const big = await call(s.lab, 'POST', `/v1/loans/${loanId}/waivers`, {
      token: s.ops,
      key: 'w-2',
      body: { component: 'fee', amount: '600.00', reason: 'goodwill' },
    });
    assert.equal(big.status, 202, JSON.stringify(big.body));
    assert.equal(big.body.status, 'open', 'a second person decides it (test/servicing/staff-audit.test.ts)');
    const tooMuch = await call(s.lab, 'POST', `/v1/loans/${loanId}/waivers`, {
      token: s.ops,
      key: 'w-3',
      body: { component: 'fee', amount: '20.00', reason: 'goodwill' },
    });
    assert.equal(tooMuch.body.error.code, 'WAIVER_EXCEEDS_OUTSTANDING');
    let first = (await installments(s, loanId))[0]!;
    assert.equal(first.penalty, 0n);
    assert.equal(await accountOfLoan(s, loanId, '4200'), -1_500n, 'fee income 15.00 (credit)');
    assert.equal(await accountOfLoan(s, loanId, '4300'), 0n, 'the waived penalty income is given back');
    await assertLedgerChecks(s);

    await closeDate(s, '2025-02-09');
    first = (await installments(s, loanId))[0]!;
    assert.equal(first.penalty, 0n, 'a waived late fee is not charged again');
    await setBusinessDate(s, '2025-02-10');
    const pay = await call(s.lab, 'POST', `/v1/loans/${loanId}/repayments`, {
      token,
      key: 'pay',
      body: { amount: '115.00' },
    });
    assert.equal(pay.status, 201, JSON.stringify(pay.body));
    assert.deepEqual(pay.body.allocated, {
      principal: '100.00',
      interest: '0.00',
      fee: '15.00',
      penalty: '0.00',
    });
    assert.deepEqual(await loanState(s, loanId), {
      status: 'active',
      days_past_due: 0,
      bucket: 'current',
      used_minor: 50_000n,
    });
    await assertLedgerChecks(s);
  });
});

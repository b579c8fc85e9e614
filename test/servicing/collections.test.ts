/**
 * Collections: the work queue for the collector role, assignment, the contact log with a promise
 * to pay, and the hardship pause of delinquency, as a scenario table on real PostgreSQL.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { call } from '../lending/fixtures.ts';
import {
  assertLedgerChecks,
  buy,
  closeDate,
  installments,
  loanState,
  type Scenario,
  setBusinessDate,
  startScenarios,
} from './support.ts';

describe('collections', () => {
  let s: Scenario;
  before(async () => {
    s = await startScenarios();
  });
  after(async () => {
    await s?.lab.close();
  });

  test('a collector works the loans assigned to them; a promise to pay is logged; a hardship pause holds fees and days past due', async () => {
    // | 2025-01-01 | loans A and B, 600.00 each              |                                            |
    // | 2025-02-05 | close                                   | A and B 5 dpd, 10.00 late fee each; queue  |
    // | 2025-02-06 | ops assigns A to collector C            | C's queue: A only                          |
    // | 2025-02-06 | C: call, promise 100.00 on 2025-02-10   | case follow-up 2025-02-10                  |
    // | 2025-02-06 | ops: pause A through 2025-02-20         |                                            |
    // | 2025-03-05 | close                                   | A still 5 dpd, #2 no fee; B 33 dpd, #2 fee |
    await setBusinessDate(s, '2025-01-01');
    const a = await buy(s, 60_000n);
    const b = await buy(s, 60_000n);
    await closeDate(s, '2025-02-05');
    const sql = s.lab.platform.db.sql;
    const [c] = await sql<{ id: bigint }[]>`
      insert into staff (username, role, password_hash) values ('collector1', 'collector', 'x') returning id`;
    const collector = s.lab.token('collector' as never, c!.id);
    const all = await call(s.lab, 'GET', '/v1/collections/queue', { token: s.ops });
    assert.equal(all.status, 200, JSON.stringify(all.body));
    const mine = (t: string) =>
      call(s.lab, 'GET', '/v1/collections/queue', { token: t }).then((r) =>
        r.body.items.map((i: { loan_id: string }) => i.loan_id),
      );
    assert.ok((await mine(s.ops)).includes(a.loanId.toString()));
    assert.deepEqual(await mine(collector), [], 'nothing assigned yet');
    const byCustomer = await call(s.lab, 'GET', '/v1/collections/queue', { token: a.token });
    assert.equal(byCustomer.status, 403);

    await setBusinessDate(s, '2025-02-06');
    const assign = await call(s.lab, 'PUT', `/v1/collections/loans/${a.loanId}/assignee`, {
      token: s.ops,
      body: { collector_id: c!.id.toString() },
    });
    assert.equal(assign.status, 200, JSON.stringify(assign.body));
    assert.deepEqual(await mine(collector), [a.loanId.toString()]);
    const notMine = await call(s.lab, 'POST', `/v1/collections/loans/${b.loanId}/contacts`, {
      token: collector,
      body: { channel: 'call', outcome: 'no_answer' },
    });
    assert.equal(notMine.status, 403);
    const incomplete = await call(s.lab, 'POST', `/v1/collections/loans/${a.loanId}/contacts`, {
      token: collector,
      body: { channel: 'call', outcome: 'promise_to_pay', promise_date: '2025-02-10' },
    });
    assert.equal(incomplete.body.error.code, 'PROMISE_INCOMPLETE');
    const tooFar = await call(s.lab, 'POST', `/v1/collections/loans/${a.loanId}/contacts`, {
      token: collector,
      body: {
        channel: 'call',
        outcome: 'promise_to_pay',
        promise_date: '2025-04-01',
        promise_amount: '100.00',
      },
    });
    assert.equal(tooFar.body.error.code, 'DATE_NOT_AHEAD');
    const promise = await call(s.lab, 'POST', `/v1/collections/loans/${a.loanId}/contacts`, {
      token: collector,
      body: {
        channel: 'call',
        outcome: 'promise_to_pay',
        promise_date: '2025-02-10',
        promise_amount: '100.00',
      },
    });
    assert.equal(promise.status, 201, JSON.stringify(promise.body));
    const item = (await call(s.lab, 'GET', '/v1/collections/queue', { token: collector })).body.items[0];
    assert.deepEqual(
      [item.promise_date, item.promise_amount, item.next_follow_up],
      ['2025-02-10', '100.00', '2025-02-10'],
    );

    const pause = await call(s.lab, 'POST', `/v1/loans/${a.loanId}/hardship/pause`, {
      token: s.ops,
      body: { until: '2025-03-08', consent_ref: 'CONSENT-1' },
    });
    assert.equal(pause.status, 200, JSON.stringify(pause.body));
    await closeDate(s, '2025-03-05');
    const stA = await loanState(s, a.loanId);
    const stB = await loanState(s, b.loanId);
    assert.equal(stA.days_past_due, 5, 'paused: days past due held');
    assert.equal(stB.days_past_due, 33);
    assert.equal((await installments(s, a.loanId))[1]!.penalty, 0n, 'paused: no late fee on #2');
    assert.equal((await installments(s, b.loanId))[1]!.penalty, 1_000n);
    await assertLedgerChecks(s);
  });
});

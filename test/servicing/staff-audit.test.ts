/**
 * Issue 14 items 4/5 joined with issue 15: every servicing action staff take (charges, waivers,
 * repayment reversal, dated repayments, write-off, staff returns, the return window, credit-balance
 * refunds and transfers, collections assignment/contacts/hardship pause, the business date) writes
 * its staff audit row in the action's own transaction, and the hash chain still verifies, through
 * both the verify function and `fenqi audit verify`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { verifyStaffAudit } from '../../src/store/staff-audit.ts';
import { runFenqi } from '../harness/cli.ts';
import { tempDir } from '../harness/process.ts';
import { call, createCustomer, createGoods } from '../lending/fixtures.ts';
import {
  assertLedgerChecks,
  buy,
  closeDate,
  type Scenario,
  setBusinessDate,
  startScenarios,
} from './support.ts';

interface AuditRow {
  action: string;
  record_type: string;
  record_id: string;
  actor_id: string | null;
  actor_role: string;
  has_before: boolean;
  has_after: boolean;
}

describe('servicing staff actions in the staff audit log', () => {
  let s: Scenario;
  let opsId: bigint;
  before(async () => {
    s = await startScenarios();
    const [row] = await s.lab.platform.db.sql<{ id: bigint }[]>`
      select id from staff where username = 'servicing-ops'`;
    opsId = row!.id;
  });
  after(async () => {
    await s?.lab.close();
  });

  const rows = async (): Promise<AuditRow[]> =>
    s.lab.platform.db.sql<AuditRow[]>`
      select action, record_type, record_id, actor_id::text as actor_id, actor_role,
        before_sha256 is not null as has_before, after_sha256 is not null as has_after
      from staff_audit_log order by seq`;

  const ok = (r: { status: number; body: unknown }, status: number) =>
    assert.equal(r.status, status, JSON.stringify(r.body));

  /** Asserts the newest audit rows since `mark` are exactly `expected` (action, record), by this ops. */
  async function expectAudited(mark: number, expected: [string, string, string][], actor = opsId) {
    const fresh = (await rows()).slice(mark);
    assert.deepEqual(
      fresh.map((r) => [r.action, r.record_type, r.record_id]),
      expected,
    );
    for (const r of fresh) {
      assert.equal(r.actor_id, actor.toString(), `${r.action}: who`);
      assert.ok(r.has_after, `${r.action}: the after digest`);
    }
  }

  test('each servicing staff action writes its audit row; refusals and merchants write none; the chain verifies', async () => {
    const sql = s.lab.platform.db.sql;
    let mark = (await rows()).length;
    await setBusinessDate(s, '2025-01-01');
    await expectAudited(mark, [['business_date_set', 'business_clock', 'business_date']]);

    const a = await buy(s, 60_000n);
    const b = await buy(s, 60_000n);
    const c = await buy(s, 60_000n);
    const customerId = await createCustomer(sql, 2_000_000n);
    const token = s.lab.token('customer', customerId);
    const loans: bigint[] = [];
    for (const key of ['x1', 'x2']) {
      const { goodsId } = await createGoods(sql, 60_000n);
      const r = await call(s.lab, 'POST', '/v1/orders', {
        token,
        key,
        body: { goods_id: goodsId.toString(), product_id: s.productId.toString(), tenor: 6 },
      });
      ok(r, 201);
      loans.push(BigInt(r.body.loan_id));
    }
    const [x1, x2] = loans as [bigint, bigint];

    await setBusinessDate(s, '2025-01-10');
    ok(
      await call(s.lab, 'POST', `/v1/loans/${x1}/repayments?overpayment=credit_balance`, {
        token,
        key: 'over',
        body: { amount: '650.00' },
      }),
      201,
    );
    mark = (await rows()).length;
    const moved = await call(s.lab, 'POST', `/v1/customers/${customerId}/credit-balance/transfer`, {
      token: s.ops,
      key: 'mv',
      body: { amount: '30.00', loan_id: x2.toString() },
    });
    ok(moved, 201);
    ok(
      await call(s.lab, 'POST', `/v1/customers/${customerId}/credit-balance/refund`, {
        token: s.ops,
        key: 'rf',
        body: { amount: '20.00' },
      }),
      201,
    );
    await expectAudited(mark, [
      ['credit_balance_transferred', 'customer', customerId.toString()],
      ['credit_balance_refunded', 'customer', customerId.toString()],
    ]);

    mark = (await rows()).length;
    ok(
      await call(s.lab, 'PUT', `/v1/merchants/${c.merchantId}/return-policy`, {
        token: s.ops,
        body: { return_window_days: 60 },
      }),
      200,
    );
    ok(
      await call(s.lab, 'POST', `/v1/orders/${c.orderId}/returns`, { token: s.ops, key: 'ret', body: {} }),
      201,
    );
    // a merchant returning its own order is not a staff action
    const byMerchant = await call(s.lab, 'POST', `/v1/orders/${b.orderId}/returns`, {
      token: s.lab.token('merchant', b.merchantId),
      key: 'm-ret',
      body: { amount: '100.00' },
    });
    ok(byMerchant, 201);
    await expectAudited(mark, [
      ['return_window_changed', 'merchant', c.merchantId.toString()],
      ['goods_returned', 'order', c.orderId],
    ]);

    await setBusinessDate(s, '2025-02-01');
    const paid = await call(s.lab, 'POST', `/v1/loans/${a.loanId}/repayments`, {
      token: a.token,
      key: 'p1',
      body: { amount: '100.00' },
    });
    ok(paid, 201);
    mark = (await rows()).length;
    const dated = await call(s.lab, 'POST', `/v1/loans/${a.loanId}/repayments`, {
      token: s.ops,
      key: 'dated',
      body: { amount: '50.00', transaction_date: '2025-01-30' },
    });
    ok(dated, 201);
    ok(
      await call(s.lab, 'POST', `/v1/loans/${a.loanId}/repayments/${paid.body.id}/reversal`, {
        token: s.ops,
        key: 'rev',
        body: { reason: 'bounced' },
      }),
      200,
    );
    ok(
      await call(s.lab, 'POST', `/v1/loans/${a.loanId}/charges`, {
        token: s.ops,
        key: 'ch',
        body: { amount: '15.00', reason: 'returned payment' },
      }),
      201,
    );
    ok(
      await call(s.lab, 'POST', `/v1/loans/${a.loanId}/waivers`, {
        token: s.ops,
        key: 'wv',
        body: { component: 'fee', amount: '5.00', reason: 'goodwill' },
      }),
      201,
    );
    await expectAudited(mark, [
      ['dated_repayment_applied', 'repayment', dated.body.id],
      ['repayment_reversed', 'repayment', paid.body.id],
      ['loan_charge_applied', 'loan', a.loanId.toString()],
      ['loan_waiver_applied', 'loan', a.loanId.toString()],
    ]);

    // a refused action leaves no audit row (its transaction rolled back), nor does a customer's repayment
    mark = (await rows()).length;
    const tooMuch = await call(s.lab, 'POST', `/v1/loans/${a.loanId}/waivers`, {
      token: s.ops,
      key: 'wv-too-much',
      body: { component: 'penalty', amount: '400.00', reason: 'more than owed' },
    });
    assert.equal(tooMuch.body.error?.code, 'WAIVER_EXCEEDS_OUTSTANDING', JSON.stringify(tooMuch.body));
    ok(
      await call(s.lab, 'POST', `/v1/loans/${a.loanId}/repayments`, {
        token: a.token,
        key: 'p2',
        body: { amount: '10.00' },
      }),
      201,
    );
    await expectAudited(mark, []);

    await closeDate(s, '2025-02-05');
    const [collector] = await sql<{ id: bigint }[]>`
      insert into staff (username, role, password_hash) values ('audit-collector', 'collector', 'x') returning id`;
    const collectorToken = s.lab.token('collector' as never, collector!.id);
    mark = (await rows()).length;
    ok(
      await call(s.lab, 'PUT', `/v1/collections/loans/${b.loanId}/assignee`, {
        token: s.ops,
        body: { collector_id: collector!.id.toString() },
      }),
      200,
    );
    ok(
      await call(s.lab, 'POST', `/v1/loans/${b.loanId}/hardship/pause`, {
        token: s.ops,
        body: { until: '2025-03-01', consent_ref: 'CONSENT-9' },
      }),
      200,
    );
    await expectAudited(mark, [
      ['collection_case_assigned', 'loan', b.loanId.toString()],
      ['hardship_pause_set', 'loan', b.loanId.toString()],
    ]);
    mark = (await rows()).length;
    const promise = await call(s.lab, 'POST', `/v1/collections/loans/${b.loanId}/contacts`, {
      token: collectorToken,
      body: {
        channel: 'call',
        outcome: 'promise_to_pay',
        promise_date: '2025-02-10',
        promise_amount: '100.00',
      },
    });
    ok(promise, 201);
    await expectAudited(
      mark,
      [['promise_to_pay_recorded', 'collection_contact', promise.body.id]],
      collector!.id,
    );
    assert.equal((await rows()).at(-1)!.actor_role, 'collector');

    mark = (await rows()).length;
    ok(
      await call(s.lab, 'POST', `/v1/loans/${b.loanId}/write-off`, {
        token: s.ops,
        key: 'wo',
        body: { reason: 'uncollectable' },
      }),
      200,
    );
    await expectAudited(mark, [['loan_written_off', 'loan', b.loanId.toString()]]);

    const checked = await verifyStaffAudit(sql);
    assert.ok(
      checked.ok,
      JSON.stringify(checked, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)),
    );
    assert.equal(checked.rows, BigInt((await rows()).length));
    const cli = await runFenqi(['audit', 'verify'], {
      ...s.lab.pg.env(),
      LOG_LEVEL: 'silent',
      FENQI_DATA_DIR: tempDir('servicing-audit-cli'),
    });
    assert.equal(cli.code, 0, cli.stderr);
    assert.match(cli.stdout, /audit verify: OK/);
  });

  test('a charge or waiver above the staff limit is a proposal a second ops member approves or rejects, never its proposer', async () => {
    const sql = s.lab.platform.db.sql;
    const { loanId } = await buy(s, 60_000n);
    const [checker] = await sql<{ id: bigint }[]>`
      insert into staff (username, role, password_hash) values ('checker-ops', 'ops', 'x') returning id`;
    const checkerToken = s.lab.token('ops', checker!.id);
    const fees = async () =>
      (
        await sql<
          { f: bigint }[]
        >`select sum(fee_minor)::bigint as f from installments where loan_id = ${loanId}`
      )[0]!.f;
    const feesBefore = await fees();

    let mark = (await rows()).length;
    const proposed = await call(s.lab, 'POST', `/v1/loans/${loanId}/charges`, {
      token: s.ops,
      key: 'big-charge',
      body: { amount: '600.00', reason: 'a large fee' },
    });
    ok(proposed, 202);
    assert.equal(proposed.body.status, 'open');
    assert.equal(await fees(), feesBefore, 'nothing charged on one person’s word');
    await expectAudited(mark, [['adjustment_proposed', 'adjustment_proposal', proposed.body.proposal_id]]);

    const path = `/v1/adjustment-proposals/${proposed.body.proposal_id}`;
    const own = await call(s.lab, 'POST', `${path}/approve`, { token: s.ops, key: 'own' });
    assert.equal(own.status, 403, JSON.stringify(own.body));
    assert.equal(own.body.error.code, 'OWN_PROPOSAL');
    const ownReject = await call(s.lab, 'POST', `${path}/reject`, { token: s.ops, key: 'own-rej' });
    assert.equal(ownReject.body.error.code, 'OWN_PROPOSAL');

    mark = (await rows()).length;
    const approved = await call(s.lab, 'POST', `${path}/approve`, { token: checkerToken, key: 'ok' });
    ok(approved, 201);
    assert.equal(approved.body.proposal.status, 'approved');
    assert.equal(approved.body.proposal.decided_by, checker!.id.toString());
    assert.equal(approved.body.adjustment.amount, '600.00');
    assert.equal(await fees(), feesBefore + 60_000n, 'charged once approved');
    await expectAudited(
      mark,
      [
        ['loan_charge_applied', 'loan', loanId.toString()],
        ['adjustment_proposal_approved', 'adjustment_proposal', proposed.body.proposal_id],
      ],
      checker!.id,
    );
    const again = await call(s.lab, 'POST', `${path}/approve`, { token: checkerToken, key: 'again' });
    assert.equal(again.body.error.code, 'PROPOSAL_ALREADY_DECIDED');
    const [adjustment] = await sql<{ requested_by: string }[]>`
      select requested_by from loan_adjustments where loan_id = ${loanId} and amount_minor = 60000`;
    assert.equal(adjustment!.requested_by, `ops:${opsId}`, 'the charge stays the proposer’s request');

    const waiver = await call(s.lab, 'POST', `/v1/loans/${loanId}/waivers`, {
      token: s.ops,
      key: 'big-waiver',
      body: { component: 'fee', amount: '550.00', reason: 'a large waiver' },
    });
    ok(waiver, 202);
    mark = (await rows()).length;
    const rejected = await call(s.lab, 'POST', `/v1/adjustment-proposals/${waiver.body.proposal_id}/reject`, {
      token: checkerToken,
      key: 'no',
    });
    ok(rejected, 200);
    assert.equal(rejected.body.status, 'rejected');
    assert.equal(await fees(), feesBefore + 60_000n, 'a rejected waiver waives nothing');
    await expectAudited(
      mark,
      [['adjustment_proposal_rejected', 'adjustment_proposal', waiver.body.proposal_id]],
      checker!.id,
    );
    const missing = await call(s.lab, 'POST', '/v1/adjustment-proposals/999999999/approve', {
      token: checkerToken,
      key: 'missing',
    });
    assert.equal(missing.status, 404, JSON.stringify(missing.body));
    await assertLedgerChecks(s);
    const checked = await verifyStaffAudit(sql);
    assert.ok(checked.ok);
  });
});

/**
 * Issue 14 findings 6, 7, 8 and the header part of 11, each as an attacker tried it on main:
 *  6. a risk officer approved 999,999.00 against a policy maximum of 50,000.00, alone;
 *  7. a NUL character (or an unpaired surrogate) in a text field was a 500;
 *  8. PUT credit-line ignored Idempotency-Key (a late retry undid a newer change), duplicate JSON
 *     keys were accepted, "100.000000" was an amount on loans but not on goods prices, and a limit
 *     of 99999999999999.99 was accepted;
 * 11. personal-data answers had no Cache-Control: no-store, and /docs had no CSP.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { DEFAULT_POLICY } from '../../src/risk/model/policy.ts';
import { productBody } from '../products/support.ts';
import { openStaffLab, type StaffLab } from './staff-support.ts';

describe('staff-side findings of issue 14', () => {
  let lab: StaffLab;
  let risk: string;
  let ops: string;
  let customerId: bigint;
  before(async () => {
    lab = await openStaffLab('staff-findings');
    risk = lab.token('risk', lab.demo.staff.risk.id);
    ops = lab.token('ops', lab.demo.staff.ops.id);
    customerId = lab.demo.customer.id;
  });
  after(async () => lab?.close());

  const key = () => `k-${randomBytes(8).toString('hex')}`;
  const limitOf = async () =>
    (
      await lab.platform.db.sql<{ l: bigint }[]>`
      select limit_minor as l from credit_lines where customer_id = ${customerId.toString()}::bigint`
    )[0]!.l;

  test('finding 7: a NUL or an unpaired surrogate in any text field is a 400 UNSTORABLE_TEXT, never a 500', async () => {
    const cases: [string, string, string, Record<string, unknown>][] = [
      [
        risk,
        'POST',
        '/v1/risk/deny-list',
        { kind: 'phone', value: '13912345678', reason: 'fraud\u0000ring' },
      ],
      [ops, 'POST', '/v1/products', productBody('NUL-NAME', { name: 'Cash\u0000loan' })],
      [risk, 'POST', '/v1/risk/policies', { policy: DEFAULT_POLICY, note: 'tighten\u0000' }],
      [
        risk,
        'POST',
        '/v1/risk/policies',
        {
          policy: {
            ...DEFAULT_POLICY,
            rules: DEFAULT_POLICY.rules.map((r, i) => (i === 0 ? { ...r, description: 'locked\u0000' } : r)),
          },
          note: 'rule description',
        },
      ],
      [
        risk,
        'POST',
        '/v1/risk/deny-list',
        { kind: 'phone', value: '13912345678', reason: 'lone \ud800 high' },
      ],
    ];
    for (const [token, method, url, body] of cases) {
      const res = await lab.call(method, url, token, JSON.stringify(body));
      assert.equal(res.status, 400, `${url}: ${res.body}`);
      assert.equal(res.json().error.code, 'UNSTORABLE_TEXT', url);
    }
    const inUrl = await lab.call('GET', '/v1/goods?merchant_id=1%00', undefined);
    assert.equal(inUrl.status, 400, inUrl.body);
  });

  test('finding 8: duplicate JSON keys are refused, not "last wins"', async () => {
    const res = await lab.call(
      'PUT',
      `/v1/customers/${customerId}/credit-line`,
      ops,
      '{"limit":"100.00","limit":"9000.00"}',
    );
    assert.equal(res.status, 400, res.body);
    assert.equal(res.json().error.code, 'DUPLICATE_JSON_KEY');
    const nested = await lab.call(
      'POST',
      '/v1/risk/deny-list',
      risk,
      '{"kind":"phone","value":"13912345678","reason":"a","reason":"b"}',
    );
    assert.equal(nested.json().error.code, 'DUPLICATE_JSON_KEY');
  });

  test('finding 8: PUT credit-line honours Idempotency-Key: a late retry replays and does not undo a newer change', async () => {
    const first = key();
    const a = await lab.call(
      'PUT',
      `/v1/customers/${customerId}/credit-line`,
      ops,
      { limit: '3000.00' },
      { 'idempotency-key': first },
    );
    assert.equal(a.status, 200, a.body);
    const b = await lab.call(
      'PUT',
      `/v1/customers/${customerId}/credit-line`,
      ops,
      { limit: '4000.00' },
      { 'idempotency-key': key() },
    );
    assert.equal(b.status, 200, b.body);
    const late = await lab.call(
      'PUT',
      `/v1/customers/${customerId}/credit-line`,
      ops,
      { limit: '3000.00' },
      { 'idempotency-key': first },
    );
    assert.equal(late.status, 200, late.body);
    assert.equal(late.headers['idempotent-replay'], 'true');
    assert.equal(await limitOf(), 400_000n, 'the newer limit stands');
  });

  test('finding 8: one money rule for every amount, and a named maximum for limits', async () => {
    // "100.000000" means 100.00 on goods prices as on loans and repayments
    const goods = await lab.call('POST', `/v1/merchants/${lab.demo.merchant.id}/goods`, ops, {
      sku: 'SIX-DECIMALS',
      name: 'Six decimals',
      price: '100.000000',
    });
    assert.equal(goods.status, 201, goods.body);
    assert.equal(goods.json().price, '100.00');
    const tooFine = await lab.call('POST', `/v1/merchants/${lab.demo.merchant.id}/goods`, ops, {
      sku: 'TOO-FINE',
      name: 'Too fine',
      price: '100.001',
    });
    assert.equal(tooFine.status, 422);
    assert.equal(tooFine.json().error.code, 'INVALID_AMOUNT');
    const before = await limitOf();
    const huge = await lab.call('PUT', `/v1/customers/${customerId}/credit-line`, ops, {
      limit: '99999999999999.99',
    });
    assert.equal(huge.status, 422, huge.body);
    assert.equal(huge.json().error.code, 'LIMIT_OUT_OF_RANGE');
    assert.equal(await limitOf(), before);
  });

  test('finding 6: a line above the policy maximum is a proposal; its maker cannot approve it; a second officer sees the customer and approves', async () => {
    const before = await limitOf();
    const proposed = await lab.call('PUT', `/v1/customers/${customerId}/credit-line`, risk, {
      limit: '999999.00',
    });
    assert.equal(proposed.status, 202, proposed.body);
    const proposal = proposed.json();
    assert.equal(proposal.status, 'open');
    assert.equal(proposal.reason, 'above_policy_max');
    assert.equal(await limitOf(), before, 'nothing is applied by one person');

    const own = await lab.call('POST', `/v1/credit-proposals/${proposal.id}/approve`, risk);
    assert.equal(own.status, 403, own.body);
    assert.equal(own.json().error.code, 'OWN_PROPOSAL');
    assert.equal(await limitOf(), before);

    const checker = await lab.staff('risk', 'second-officer');
    const shown = await lab.call('GET', `/v1/credit-proposals/${proposal.id}`, checker.token);
    assert.equal(shown.status, 200, shown.body);
    assert.ok(shown.json().customer.line, 'the existing line is shown');
    assert.ok(Array.isArray(shown.json().customer.loans));
    assert.equal(typeof shown.json().customer.max_days_past_due, 'number');

    const approved = await lab.call('POST', `/v1/credit-proposals/${proposal.id}/approve`, checker.token);
    assert.equal(approved.status, 200, approved.body);
    assert.equal(approved.json().decided_by, checker.id.toString());
    assert.equal(await limitOf(), 99_999_900n);
    const again = await lab.call('POST', `/v1/credit-proposals/${proposal.id}/approve`, ops);
    assert.equal(again.json().error.code, 'PROPOSAL_ALREADY_DECIDED');

    const actions = await lab.platform.db.sql<{ action: string; actor_id: bigint }[]>`
      select action, actor_id from staff_audit_log where record_type = 'credit_proposal'
      and record_id = ${proposal.id} order by seq`;
    assert.deepEqual(
      actions.map((a) => [a.action, BigInt(a.actor_id)]),
      [
        ['credit_line_proposed', lab.demo.staff.risk.id],
        ['proposal_approved', checker.id],
      ],
    );
  });

  test('finding 6: a line above the configured amount but within policy is a proposal too; small changes apply at once', async () => {
    const small = await lab.call('PUT', `/v1/customers/${customerId}/credit-line`, risk, {
      limit: '5000.00',
    });
    assert.equal(small.status, 200, small.body);
    const above = await lab.call('PUT', `/v1/customers/${customerId}/credit-line`, risk, {
      limit: '30000.00',
    });
    assert.equal(above.status, 202, above.body);
    assert.equal(above.json().reason, 'above_threshold');
    const checker = await lab.staff('ops', 'ops-checker');
    const rejected = await lab.call('POST', `/v1/credit-proposals/${above.json().id}/reject`, checker.token, {
      note: 'income not verified',
    });
    assert.equal(rejected.status, 200, rejected.body);
    assert.equal(await limitOf(), 500_000n);
  });

  test("finding 6: the policy maximum is the customer's grade's where the policy sets one (its latest graded decision)", async () => {
    const policy = structuredClone(DEFAULT_POLICY);
    policy.line.maxLineMinorByGrade = { C: '1500000' };
    const published = await lab.call('POST', '/v1/risk/policies', risk, {
      policy,
      note: 'grade C lines at most 15,000.00',
    });
    assert.equal(published.status, 201, published.body);
    const graded = (grade: string) => lab.platform.db.sql`
      insert into credit_decisions (customer_id, outcome, grade, score, line_minor, policy_version, inputs, result, latency_ms)
      select ${customerId.toString()}::bigint, 'approve', ${grade}, 600, 1500000, max(version), '{}'::jsonb, '{}'::jsonb, 1
      from risk_policy_versions`;
    await graded('C');
    const before = await limitOf();
    // 18,000.00: under the configured amount (20,000.00) and the policy maximum (50,000.00), above grade C's
    const aboveGrade = await lab.call('PUT', `/v1/customers/${customerId}/credit-line`, risk, {
      limit: '18000.00',
    });
    assert.equal(aboveGrade.status, 202, aboveGrade.body);
    assert.equal(aboveGrade.json().reason, 'above_policy_max');
    assert.equal(await limitOf(), before, 'nothing is applied by one person');
    // graded A since: A has no maximum of its own, so the same line applies at once
    await graded('A');
    const withinA = await lab.call('PUT', `/v1/customers/${customerId}/credit-line`, risk, {
      limit: '18000.00',
    });
    assert.equal(withinA.status, 200, withinA.body);
    assert.equal(await limitOf(), 1_800_000n);
  });

  test('finding 11: answers with personal data carry Cache-Control: no-store; /docs has a CSP', async () => {
    const me = await lab.call('GET', `/v1/customers/${customerId}`, ops);
    assert.equal(me.status, 200, me.body);
    assert.equal(me.headers['cache-control'], 'no-store');
    const line = await lab.call('GET', `/v1/customers/${customerId}/credit-line`, risk);
    assert.equal(line.headers['cache-control'], 'no-store');
    const login = await lab.call('POST', '/v1/auth/login', undefined, {
      username: 'ops',
      password: 'wrong-password',
    });
    assert.equal(login.headers['cache-control'], 'no-store');
    const docs = await lab.app.inject({ url: '/docs/' });
    assert.equal(docs.statusCode, 200);
    const csp = String(docs.headers['content-security-policy'] ?? '');
    assert.match(csp, /default-src 'self'/);
    assert.match(csp, /object-src 'none'/);
  });
});

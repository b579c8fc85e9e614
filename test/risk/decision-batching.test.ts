/**
 * Decisions that arrive together share their history read and their decision-log write (one
 * statement each per batch, src/store/micro-batch.ts), and their velocity counters (one cache
 * script per batch). These tests prove that sharing changes
 * nothing a caller or an auditor can see.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { simulatedProviders } from '../../src/risk/service/providers.ts';
import { type NewDecision, recordDecisions } from '../../src/store/decisions.ts';
import { claimIdGenerator } from '../../src/store/id-generator.ts';
import { listModels } from '../../src/store/models.ts';
import { activePolicy } from '../../src/store/policies.ts';
import { UNHURRIED_BUDGETS } from '../harness/risk.ts';
import { application, bearer, customer, type DecisionTestApi, openDecisionApi } from './decision-support.ts';

const CONCURRENT_APPLICATIONS = 60;
/** One customer and one device applying this many times at once (velocity rules raised out of the way). */
const SAME_CUSTOMER_APPLICATIONS = 12;

interface Velocity {
  phoneHour: number;
  idDay: number;
  deviceHour: number;
}

describe('decisions that arrive together share statements without changing any answer', () => {
  let t: DecisionTestApi;

  before(async () => {
    t = await openDecisionApi({ DATABASE_POOL_MAX: '4' });
    await t.platform.services.risk.ensureChampion();
    t.platform.services.risk.configure({
      providers: simulatedProviders({ latencyMs: 0 }),
      budgets: UNHURRIED_BUDGETS,
    });
  });
  after(async () => {
    await t?.close();
  });

  test('concurrent applications each get their own stored decision, history and line', async () => {
    const customers = await Promise.all(
      Array.from({ length: CONCURRENT_APPLICATIONS }, (_, i) => customer(t.platform, 25 + (i % 30))),
    );
    const rt = t.platform.services.risk;
    const before = { histories: rt.histories.stats.batches, records: rt.records.stats.batches };
    const answers = await Promise.all(
      customers.map((c) =>
        t.app.inject({
          method: 'POST',
          url: '/v1/credit-applications',
          headers: bearer(c.token),
          payload: application(),
        }),
      ),
    );
    for (const [i, res] of answers.entries()) {
      assert.equal(res.statusCode, 200, res.body);
      const body = res.json() as { id: string; customer_id: string; decision: string; line: string | null };
      assert.equal(body.customer_id, customers[i]!.id.toString());
      const [row] = await t.platform.db.sql<
        {
          customer_id: bigint;
          outcome: string;
          line_minor: bigint | null;
          inputs: { history: { status: string } };
        }[]
      >`select customer_id, outcome, line_minor, inputs from credit_decisions where id = ${body.id}::bigint`;
      assert.equal(row!.customer_id, customers[i]!.id, 'the stored decision is the caller’s own');
      assert.equal(row!.outcome, body.decision);
      assert.equal(row!.inputs.history.status, 'ok', 'every applicant’s history was read');
      if (body.decision === 'approve') {
        const [line] = await t.platform.db.sql<{ limit_minor: bigint }[]>`
          select limit_minor from credit_lines where customer_id = ${customers[i]!.id.toString()}::bigint`;
        assert.equal(line!.limit_minor, row!.line_minor);
      }
    }
    const histories = rt.histories.stats.batches - before.histories;
    const records = rt.records.stats.batches - before.records;
    assert.ok(histories < CONCURRENT_APPLICATIONS, `history statements: ${histories}`);
    assert.ok(records < CONCURRENT_APPLICATIONS, `decision-log statements: ${records}`);
    assert.equal(rt.histories.waiting, 0);
    assert.equal(rt.records.waiting, 0);
  });

  test('applications arriving together share velocity scripts and still count each application once', async () => {
    const c = await customer(t.platform);
    const rt = t.platform.services.risk;
    const scriptsBefore = rt.velocities.stats.batches;
    const sameDevice = application();
    const answers = await Promise.all(
      Array.from({ length: SAME_CUSTOMER_APPLICATIONS }, () =>
        t.app.inject({
          method: 'POST',
          url: '/v1/credit-applications',
          headers: bearer(c.token),
          payload: sameDevice,
        }),
      ),
    );
    const ids = answers.map((res) => {
      assert.equal(res.statusCode, 200, res.body);
      return (res.json() as { id: string }).id;
    });
    const rows = await t.platform.db.sql<{ inputs: { velocity: { status: string; value: Velocity } } }[]>`
      select inputs from credit_decisions where id = any(${ids}::bigint[])`;
    const counted = (pick: (v: Velocity) => number) =>
      rows.map((r) => pick(r.inputs.velocity.value)).sort((a, b) => a - b);
    const oneToN = Array.from({ length: SAME_CUSTOMER_APPLICATIONS }, (_, i) => i + 1);
    assert.ok(rows.every((r) => r.inputs.velocity.status === 'ok'));
    // as one script per application would: the customer's n-th application saw n, for every counter
    assert.deepEqual(
      counted((v) => v.phoneHour),
      oneToN,
    );
    assert.deepEqual(
      counted((v) => v.idDay),
      oneToN,
    );
    assert.deepEqual(
      counted((v) => v.deviceHour),
      oneToN,
    );
    const scripts = rt.velocities.stats.batches - scriptsBefore;
    assert.ok(scripts < SAME_CUSTOMER_APPLICATIONS, `velocity scripts: ${scripts}`);
    assert.equal(rt.velocities.waiting, 0);
  });

  test('two approvals for one customer in one batch leave the later line, as two statements would', async () => {
    const c = await customer(t.platform);
    const policy = (await activePolicy(t.platform.db.sql))!;
    const approval = (lineMinor: bigint): NewDecision => ({
      customerId: c.id,
      outcome: 'approve',
      grade: 'B',
      score: 600,
      lineMinor,
      modelId: null,
      policyVersion: policy.version,
      inputs: {} as NewDecision['inputs'],
      result: {},
      reasons: [],
      latencyMs: 1,
    });
    const stored = await recordDecisions(
      t.platform.db.sql,
      [approval(900_000n), approval(300_000n)],
      await claimIdGenerator(t.platform.db.sql),
    );
    assert.equal(stored.length, 2);
    assert.ok(stored[0]!.id < stored[1]!.id, 'ids follow the order of the batch');
    const [line] = await t.platform.db.sql<{ limit_minor: bigint }[]>`
      select limit_minor from credit_lines where customer_id = ${c.id.toString()}::bigint`;
    assert.equal(line!.limit_minor, 300_000n);
  });

  test('a decision batch of one size is one prepared statement, whatever mix of nulls it carries', async () => {
    const c = await customer(t.platform);
    const policy = (await activePolicy(t.platform.db.sql))!;
    const decision = (lineMinor: bigint | null, modelId: bigint | null): NewDecision => ({
      customerId: c.id,
      outcome: lineMinor === null ? 'decline' : 'approve',
      grade: lineMinor === null ? null : 'B',
      score: lineMinor === null ? null : 600,
      lineMinor,
      modelId,
      policyVersion: policy.version,
      inputs: {} as NewDecision['inputs'],
      result: {},
      reasons: lineMinor === null ? ['SCORE_TOO_LOW'] : [],
      latencyMs: 1,
    });
    const modelId = (await listModels(t.platform.db.sql))[0]!.id;
    const mixes: [bigint | null, bigint | null][][] = [
      [
        [100_000n, modelId],
        [null, null],
      ],
      [
        [null, modelId],
        [200_000n, null],
      ],
      [
        [null, null],
        [null, null],
      ],
      [
        [300_000n, modelId],
        [400_000n, modelId],
      ],
    ];
    const ids = await claimIdGenerator(t.platform.db.sql);
    // one transaction pins one connection, whose prepared statements the session view lists
    const prepared = await t.platform.db.sql.begin(async (tx) => {
      const count = async () =>
        Number((await tx<{ n: string }[]>`select count(*)::text as n from pg_prepared_statements`)[0]!.n);
      await recordDecisions(tx, [decision(1n, null), decision(null, null)], ids);
      const before = await count();
      for (const mix of mixes)
        await recordDecisions(
          tx,
          mix.map(([line, model]) => decision(line, model)),
          ids,
        );
      return (await count()) - before;
    });
    assert.equal(prepared, 0, "every batch of two reused the first batch of two's statement");
  });

  test('an unknown customer in a batch fails only its own write; the others are stored', async () => {
    const known = await customer(t.platform);
    const policy = (await activePolicy(t.platform.db.sql))!;
    const decline = (customerId: bigint): NewDecision => ({
      customerId,
      outcome: 'decline',
      grade: 'E',
      score: 400,
      lineMinor: null,
      modelId: null,
      policyVersion: policy.version,
      inputs: {} as NewDecision['inputs'],
      result: {},
      reasons: ['SCORE_TOO_LOW'],
      latencyMs: 1,
    });
    const records = t.platform.services.risk.records;
    const settled = await Promise.allSettled([
      records.submit(decline(known.id)),
      records.submit(decline(999_999_999_999n)),
      records.submit(decline(known.id)),
    ]);
    assert.deepEqual(
      settled.map((s) => s.status),
      ['fulfilled', 'rejected', 'fulfilled'],
    );
    const [n] = await t.platform.db.sql<{ n: bigint }[]>`
      select count(*) as n from credit_decisions where customer_id = ${known.id.toString()}::bigint`;
    assert.equal(n!.n, 2n);
  });
});

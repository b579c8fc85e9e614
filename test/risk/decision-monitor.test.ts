import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { mulberry32 } from '../../src/risk/model/cv.ts';
import { DEFAULT_POLICY } from '../../src/risk/model/policy.ts';
import { deviceKeyOf } from '../../src/risk/service/decide.ts';
import { publishPolicy } from '../../src/store/policies.ts';
import { runFenqi } from '../harness/cli.ts';
import { customer, type DecisionTestApi, openDecisionApi } from './decision-support.ts';

const POPULATION = 240;

const runCli = (args: string[], env: Record<string, string>) =>
  runFenqi(args, { ...env, LOG_LEVEL: 'silent' });

const lastJson = (stdout: string) => JSON.parse(stdout.trim().split('\n').at(-1)!);

describe('learning from the platform: train --from-platform, promote, monitor on real PostgreSQL', () => {
  let t: DecisionTestApi;
  let env: Record<string, string>;

  /**
   * Applicants decide through the real service; then each gets a loan that started 200 days ago
   * with three monthly installments. Low income and youth make the second installment go unpaid.
   */
  async function population(
    seed: number,
    income: [number, number],
    age: [number, number],
    withLoans: boolean,
  ) {
    const random = mulberry32(seed);
    const sql = t.platform.db.sql;
    const [product] = await sql<{ id: bigint }[]>`
      insert into loan_products (code, kind, apr_cap_bp, terms) values ('monitor-cash', 'cash', 2400, '{}')
      on conflict (code) do update set code = excluded.code returning id`;
    for (let i = 0; i < POPULATION; i++) {
      const years = age[0] + Math.floor(random() * (age[1] - age[0] + 1));
      const monthly = income[0] + Math.floor(random() * (income[1] - income[0]));
      const c = await customer(t.platform, years);
      await t.platform.services.risk.decide(c.id, {
        statedIncomeMinor: String(monthly * 100),
        purpose: random() < 0.5 ? 'goods' : 'cash',
        requestedAmountMinor: String(Math.round(monthly * 100 * (1 + random() * 3))),
        tenorMonths: [3, 6, 12][Math.floor(random() * 3)]!,
        deviceKey: deviceKeyOf(`monitor-device-${seed}-${i}`),
      });
      if (!withLoans) continue;
      const risk = 0.05 + (monthly < 8000 ? 0.35 : 0) + (years < 30 ? 0.2 : 0);
      const bad = random() < risk;
      const [loan] = await sql<{ id: bigint }[]>`
        insert into loans (customer_id, product_id, kind, principal_minor, tenor, start_date, apr_percent, status)
        values (${c.id.toString()}::bigint, ${product!.id.toString()}::bigint, 'cash', 300000, 3,
                current_date - 200, '18', ${bad ? 'active' : 'paid_off'}) returning id`;
      for (const n of [1, 2, 3]) {
        const paid = !bad || n === 1;
        await sql`
          insert into installments (loan_id, number, customer_id, due_date, principal_minor, interest_minor, fee_minor,
                                    status, paid_at)
          values (${loan!.id.toString()}::bigint, ${n}, ${c.id.toString()}::bigint, current_date - 200 + ${30 * n}::int,
                  100000, 0, 0, ${paid ? 'paid' : 'overdue'},
                  ${paid ? sql`(current_date - 200 + ${30 * n}::int)::timestamptz` : null})`;
      }
    }
  }

  before(async () => {
    t = await openDecisionApi();
    env = {
      ...t.pg.env(),
      FENQI_TOKEN_SECRET: t.platform.config.tokenSecret.toString('hex'),
      FENQI_DATA_KEYS: `1:${t.platform.config.dataKeys.get(1)!.toString('hex')}`,
      FENQI_BLIND_INDEX_KEY: t.platform.config.blindIndexKey.toString('hex'),
    };
    await t.platform.services.risk.ensureChampion();
    // every applicant is approved, so every decision gives credit and becomes a training row
    const policy = structuredClone(DEFAULT_POLICY);
    policy.rules = [];
    policy.approveGrades = ['A', 'B', 'C', 'D', 'E'];
    policy.referGrades = [];
    policy.line.minLineMinor = '0';
    await publishPolicy(t.platform.db.sql, policy, 'monitor test: approve everyone');
    t.platform.services.risk.refresh();
    await population(1, [3000, 30000], [22, 60], true);
  });
  after(async () => {
    await t?.close();
  });

  test('train --from-platform labels matured loans by days past due and registers a challenger', async () => {
    const r = await runCli(
      ['risk', 'train', '--from-platform', '--bad-dpd', '30', '--window-days', '180', '--cv', '0', '--json'],
      env,
    );
    assert.equal(r.code, 0, r.stderr);
    const summary = lastJson(r.stdout);
    assert.equal(summary.rows, POPULATION);
    assert.ok(summary.bads > 20 && summary.bads < POPULATION - 20, `bads ${summary.bads}`);
    assert.ok(summary.features.includes('monthly_income'), summary.features.join(','));
    const list = await runCli(['risk', 'models', 'list', '--json'], env);
    const models = lastJson(list.stdout) as { version: number; role: string; source: string }[];
    assert.deepEqual(
      models.map((m) => [m.version, m.role, m.source]),
      [
        [summary.version, 'challenger', 'platform'],
        [1, 'champion', 'bootstrap'],
      ],
    );
  });

  test('the monitor finds the population stable against the platform model, then flags drift when it shifts', async () => {
    const promoted = await runCli(['risk', 'models', 'promote', '2'], env);
    assert.equal(promoted.code, 0, promoted.stderr);
    const stable = await runCli(['risk', 'monitor', '--json'], env);
    assert.equal(stable.code, 0, stable.stderr);
    const before = lastJson(stable.stdout);
    assert.equal(before.model_version, 2);
    assert.equal(before.decisions, POPULATION);
    assert.equal(before.score_flag, 'stable', stable.stdout);
    assert.deepEqual(before.act, []);
    assert.equal(before.matured.loans, POPULATION);
    assert.ok(before.matured.auc > 0.6, `AUC on matured loans ${before.matured.auc}`);
    assert.match(stable.stdout, /population stability index/);

    // a wave of young, low-income applicants: the score and income distributions move
    t.platform.services.risk.refresh();
    await population(2, [1000, 4000], [18, 24], false);
    const shifted = await runCli(['risk', 'monitor', '--json'], env);
    assert.equal(shifted.code, 0, shifted.stderr);
    const after = lastJson(shifted.stdout);
    assert.equal(after.decisions, 2 * POPULATION);
    assert.notEqual(after.score_flag, 'stable', shifted.stdout);
    assert.ok(after.score_psi > before.score_psi);
    assert.ok(after.act.includes('monthly_income'), JSON.stringify(after));
    assert.match(shifted.stdout, /ACT: /);
  });

  test('monitor and models refuse bad flags with a one-line usage error', async () => {
    const bad = await runCli(['risk', 'monitor', '--days', 'x'], env);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--days must be an integer/);
    const missing = await runCli(['risk', 'models', 'promote', '999'], env);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /no model version 999/);
  });
});

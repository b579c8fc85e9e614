import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { approvalCutoff } from '../../src/risk/model/evaluate.ts';
import type { BureauReport } from '../../src/risk/model/features.ts';
import { DEFAULT_POLICY, type Policy } from '../../src/risk/model/policy.ts';
import { DEFAULT_BUDGETS } from '../../src/risk/service/decide.ts';
import {
  type BureauProvider,
  type RiskProviders,
  simulatedProviders,
  simulatedScoreProvider,
} from '../../src/risk/service/providers.ts';
import { blindIndex } from '../../src/store/crypto.ts';
import { publishPolicy } from '../../src/store/policies.ts';
import { UNHURRIED_BUDGETS } from '../harness/risk.ts';
import {
  application,
  bearer,
  customer,
  type DecisionTestApi,
  openDecisionApi,
  riskStaff,
} from './decision-support.ts';

interface DecisionBody {
  id: string;
  decision: 'approve' | 'decline' | 'refer';
  grade: string;
  score: number;
  line: string | null;
  reasons: { code: string; message: string }[];
  score_reasons: { feature: string; points: number; shortfall: number }[];
  degraded: string[];
  model_version: number;
  policy_version: number;
}

/** A bureau that always answers with the given report: the external provider stands in here. */
function fixedBureau(report: Partial<BureauReport>): BureauProvider {
  return {
    name: 'fixed-bureau',
    fetchReport: async () => ({
      inquiries6m: 0,
      openAccounts: 0,
      delinquencies24m: 0,
      utilisation: 0.2,
      provider: 'fixed-bureau',
      ...report,
    }),
  };
}

const clean = (): RiskProviders => ({ score: simulatedScoreProvider(), bureau: fixedBureau({}) });
const codes = (b: DecisionBody) => b.reasons.map((r) => r.code);

describe('credit decisions through the API on real PostgreSQL and Redis', () => {
  let t: DecisionTestApi;
  let risk: { id: bigint; token: string };

  const apply = async (token: string, body: Record<string, unknown> = application()) => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/credit-applications',
      headers: bearer(token),
      payload: body,
    });
    return { status: res.statusCode, body: res.json() as DecisionBody };
  };
  const decisionCount = async () =>
    Number((await t.platform.db.sql<{ n: bigint }[]>`select count(*) as n from credit_decisions`)[0]!.n);

  const withPolicy = async (change: (p: Policy) => void) => {
    const policy = structuredClone(DEFAULT_POLICY);
    change(policy);
    await publishPolicy(t.platform.db.sql, policy, 'test');
    t.platform.services.risk.refresh();
  };

  before(async () => {
    t = await openDecisionApi();
    await t.platform.services.risk.ensureChampion();
    risk = await riskStaff(t.platform);
  });
  after(async () => {
    await t?.close();
  });
  beforeEach(async () => {
    // Outcomes must not depend on how busy the machine is; the tests of the budgets restore them.
    t.platform.services.risk.configure({ providers: clean(), budgets: UNHURRIED_BUDGETS });
    await withPolicy(() => {});
  });

  test('a clean applicant is approved with a line from grade and income, and the line is set', async () => {
    const c = await customer(t.platform, 40);
    const { status, body } = await apply(c.token);
    assert.equal(status, 200, JSON.stringify(body));
    assert.equal(body.decision, 'approve', JSON.stringify(body));
    assert.ok(['A', 'B', 'C'].includes(body.grade));
    assert.match(body.line!, /^\d+\.00$/);
    assert.deepEqual(body.reasons, []);
    const [line] = await t.platform.db.sql<{ limit_minor: bigint }[]>`
      select limit_minor from credit_lines where customer_id = ${c.id.toString()}::bigint`;
    assert.equal(line!.limit_minor, BigInt(body.line!.replace('.', '')));

    const own = await t.app.inject({
      method: 'GET',
      url: `/v1/credit-applications/${body.id}`,
      headers: bearer(c.token),
    });
    assert.equal(own.statusCode, 200);
    assert.equal(own.json().score, body.score);
    const other = await customer(t.platform);
    const theirs = await t.app.inject({
      method: 'GET',
      url: `/v1/credit-applications/${body.id}`,
      headers: bearer(other.token),
    });
    assert.equal(theirs.statusCode, 404);
    const staff = await t.app.inject({
      method: 'GET',
      url: `/v1/credit-applications/${body.id}`,
      headers: bearer(risk.token),
    });
    assert.equal(staff.statusCode, 200);
  });

  test('an approval never lowers the line below what the customer already uses', async () => {
    const c = await customer(t.platform, 40);
    await t.platform.db.sql`
      insert into credit_lines (customer_id, limit_minor, used_minor)
      values (${c.id.toString()}::bigint, 99900000, 99900000)`;
    const { body } = await apply(c.token);
    assert.equal(body.decision, 'approve');
    const [line] = await t.platform.db.sql<{ limit_minor: bigint }[]>`
      select limit_minor from credit_lines where customer_id = ${c.id.toString()}::bigint`;
    assert.equal(line!.limit_minor, 99900000n);
  });

  test('AGE_BELOW_MIN and AGE_ABOVE_MAX decline applicants outside the age bounds', async () => {
    const young = await apply((await customer(t.platform, 17)).token);
    assert.equal(young.body.decision, 'decline');
    assert.deepEqual(codes(young.body), ['AGE_BELOW_MIN']);
    const old = await apply((await customer(t.platform, 70)).token);
    assert.equal(old.body.decision, 'decline');
    assert.deepEqual(codes(old.body), ['AGE_ABOVE_MAX']);
  });

  test('DENY_LISTED declines a customer whose phone or national id blind index is on the deny list', async () => {
    const byPhone = await customer(t.platform);
    const byId = await customer(t.platform);
    const key = t.platform.config.blindIndexKey;
    await t.platform.db.sql`
      insert into risk_deny_list (kind, bidx, reason) values
        ('phone', ${blindIndex(key, 'phone', byPhone.phone)}, 'fraud ring'),
        ('national_id', ${blindIndex(key, 'national_id', byId.nationalId)}, 'identity theft')`;
    for (const c of [byPhone, byId]) {
      const { body } = await apply(c.token);
      assert.equal(body.decision, 'decline');
      assert.deepEqual(codes(body), ['DENY_LISTED']);
    }
  });

  test('TOO_MANY_INQUIRIES declines when the bureau reports more inquiries than the policy allows', async () => {
    t.platform.services.risk.configure({
      providers: { score: simulatedScoreProvider(), bureau: fixedBureau({ inquiries6m: 7 }) },
    });
    const { body } = await apply((await customer(t.platform)).token);
    assert.equal(body.decision, 'decline');
    assert.deepEqual(codes(body), ['TOO_MANY_INQUIRIES']);
  });

  test('SERIOUS_DELINQUENCY declines a customer with an installment 30+ days past due on the platform', async () => {
    const c = await customer(t.platform);
    const sql = t.platform.db.sql;
    // days past due count to the business date (the clock's zone), not the database's UTC date
    const today = await t.platform.services.clock.today();
    const [product] = await sql<{ id: bigint }[]>`
      insert into loan_products (code, kind, apr_cap_bp, terms) values ('risk-test-cash', 'cash', 2400, '{}')
      on conflict (code) do update set code = excluded.code returning id`;
    const [loan] = await sql<{ id: bigint }[]>`
      insert into loans (customer_id, product_id, kind, principal_minor, tenor, start_date, apr_percent, status)
      values (${c.id.toString()}::bigint, ${product!.id.toString()}::bigint, 'cash', 300000, 3,
              ${today}::date - 100, '18', 'active') returning id`;
    await sql`
      insert into installments (loan_id, number, customer_id, due_date, principal_minor, interest_minor, fee_minor,
                                status, paid_at)
      values (${loan!.id.toString()}::bigint, 1, ${c.id.toString()}::bigint, ${today}::date - 70, 100000, 0, 0, 'paid',
              now() - interval '70 days'),
             (${loan!.id.toString()}::bigint, 2, ${c.id.toString()}::bigint, ${today}::date - 40, 100000, 0, 0, 'overdue', null)`;
    const { body } = await apply(c.token);
    assert.equal(body.decision, 'decline');
    assert.deepEqual(codes(body), ['SERIOUS_DELINQUENCY']);
    const stored = await sql<
      { inputs: { history: { value: { currentDpd: number; onTimeRatio: number } } } }[]
    >`
      select inputs from credit_decisions where id = ${body.id}::bigint`;
    assert.equal(stored[0]!.inputs.history.value.currentDpd, 40);
    assert.equal(stored[0]!.inputs.history.value.onTimeRatio, 0.5);
  });

  test('CUSTOMER_NOT_ACTIVE declines a locked account', async () => {
    const c = await customer(t.platform);
    await t.platform.db.sql`update customers set status = 'locked' where id = ${c.id.toString()}::bigint`;
    const { body } = await apply(c.token);
    assert.equal(body.decision, 'decline');
    assert.deepEqual(codes(body), ['CUSTOMER_NOT_ACTIVE']);
  });

  test('the application after the hourly per-phone limit is declined with VELOCITY_PHONE_HOUR', async () => {
    const limit = DEFAULT_POLICY.rules.find((r) => r.code === 'VELOCITY_PHONE_HOUR')!.value as number;
    const c = await customer(t.platform, 40);
    for (let i = 1; i <= limit; i++) {
      const { body } = await apply(c.token);
      assert.ok(!codes(body).includes('VELOCITY_PHONE_HOUR'), `application ${i} is within the limit`);
    }
    const { status, body } = await apply(c.token);
    assert.equal(status, 200);
    assert.equal(body.decision, 'decline');
    assert.ok(codes(body).includes('VELOCITY_PHONE_HOUR'), JSON.stringify(body.reasons));
  });

  test('one device applying for many customers is referred with VELOCITY_DEVICE_HOUR', async () => {
    const limit = DEFAULT_POLICY.rules.find((r) => r.code === 'VELOCITY_DEVICE_HOUR')!.value as number;
    const device = `shared-device-${process.pid}`;
    let last: DecisionBody | undefined;
    for (let i = 0; i <= limit; i++) {
      last = (await apply((await customer(t.platform, 40)).token, application({ device_id: device }))).body;
    }
    assert.equal(last!.decision, 'refer');
    assert.ok(codes(last!).includes('VELOCITY_DEVICE_HOUR'));
  });

  test('a bureau that times out degrades to refer when the score is near the cut-off, by the written rule', async () => {
    // a margin wider than any score range: every score is "near the cut-off"
    await withPolicy((p) => {
      p.degradation.bureau.referMarginPoints = 10_000;
    });
    t.platform.services.risk.configure({
      providers: { score: simulatedScoreProvider(), bureau: simulatedProviders({ latencyMs: 2_000 }).bureau },
      budgets: DEFAULT_BUDGETS,
    });
    const { status, body } = await apply((await customer(t.platform, 40)).token);
    assert.equal(status, 200);
    assert.equal(body.decision, 'refer');
    assert.deepEqual(codes(body), ['BUREAU_UNAVAILABLE']);
    assert.deepEqual(body.degraded, ['bureau:refer']);
    const [row] = await t.platform.db.sql<{ inputs: { bureau: { status: string } } }[]>`
      select inputs from credit_decisions where id = ${body.id}::bigint`;
    assert.equal(row!.inputs.bureau.status, 'timeout');
  });

  test('a bureau and a score provider that time out or fail lower the line by their factors when the score is clear of the cut-off', async () => {
    const c = await customer(t.platform, 40);
    const baseline = await apply(c.token);
    assert.equal(baseline.body.decision, 'approve');
    await withPolicy((p) => {
      p.degradation.bureau.referMarginPoints = -10_000;
      p.degradation.score.referMarginPoints = -10_000;
    });
    // the bureau hangs past its budget, the score provider fails outright
    t.platform.services.risk.configure({
      providers: {
        score: simulatedProviders({ failureRate: 1 }).score,
        bureau: simulatedProviders({ timeoutRate: 1 }).bureau,
      },
      budgets: DEFAULT_BUDGETS,
    });
    const c2 = await customer(t.platform, 40);
    const { status, body } = await apply(c2.token);
    assert.equal(status, 200);
    assert.equal(body.decision, 'approve', JSON.stringify(body));
    assert.deepEqual(body.degraded, ['score:line 8000bp', 'bureau:line 5000bp']);
    const [row] = await t.platform.db.sql<
      { inputs: { bureau: { status: string }; score: { status: string } } }[]
    >`
      select inputs from credit_decisions where id = ${body.id}::bigint`;
    assert.equal(row!.inputs.bureau.status, 'timeout');
    assert.equal(row!.inputs.score.status, 'error');
    // the income multiple of the grade, then 0.8 (score) and 0.5 (bureau), then the caps
    const multipleBp = DEFAULT_POLICY.line.incomeMultipleBp[body.grade as 'A'];
    const expectedMinor = Math.min(
      (15_000_00 * multipleBp * 0.8 * 0.5) / 10_000,
      Number(DEFAULT_POLICY.line.maxLineMinor),
    );
    assert.equal(Number(body.line) * 100, expectedMinor - (expectedMinor % 10_000));
    assert.ok(Number(body.line) <= Number(baseline.body.line));
  });

  test('the champion decides with the cut-off of its approved grades', async () => {
    const act = await t.platform.services.risk.active();
    const cutoff = approvalCutoff(act.champion.model, act.policy.policy);
    const c = act.champion.model.grades.find((g) => g.grade === 'C')!.minScore;
    assert.equal(cutoff, c);
  });

  test('a replayed decision gives the same score, points, reasons, outcome and line', async () => {
    const ids: string[] = [];
    ids.push((await apply((await customer(t.platform, 40)).token)).body.id);
    ids.push((await apply((await customer(t.platform, 17)).token)).body.id);
    t.platform.services.risk.configure({
      providers: simulatedProviders({ latencyMs: 2_000 }),
      budgets: DEFAULT_BUDGETS,
    });
    ids.push((await apply((await customer(t.platform, 30)).token)).body.id);
    // a new policy version afterwards must not change how old decisions replay
    await withPolicy((p) => {
      p.line.incomeMultipleBp.A = 1;
      p.rules = [];
    });
    for (const id of ids) {
      const res = await t.app.inject({
        method: 'POST',
        url: `/v1/credit-applications/${id}/replay`,
        headers: bearer(risk.token),
      });
      assert.equal(res.statusCode, 200);
      const replay = res.json();
      assert.equal(replay.matches, true, JSON.stringify(replay));
      assert.deepEqual(replay.replayed.points, replay.original.points);
      assert.equal(replay.replayed.score, replay.original.score);
      assert.deepEqual(replay.replayed.reasons, replay.original.reasons);
    }
  });

  test('risk staff work the refer queue: approve with a line sets it, and a second resolution is a 409', async () => {
    await withPolicy((p) => {
      p.approveGrades = [];
      p.referGrades = ['A', 'B', 'C', 'D', 'E'];
    });
    const c = await customer(t.platform, 40);
    const { body } = await apply(c.token);
    assert.equal(body.decision, 'refer');
    assert.ok(codes(body).includes('SCORE_REVIEW'));
    const queue = await t.app.inject({
      method: 'GET',
      url: '/v1/reviews?limit=200',
      headers: bearer(risk.token),
    });
    assert.equal(queue.statusCode, 200);
    assert.ok(queue.json().items.some((i: { decision_id: string }) => i.decision_id === body.id));
    const forbidden = await t.app.inject({ method: 'GET', url: '/v1/reviews', headers: bearer(c.token) });
    assert.equal(forbidden.statusCode, 403);

    const resolve = (payload: object) =>
      t.app.inject({
        method: 'POST',
        url: `/v1/reviews/${body.id}/decision`,
        headers: bearer(risk.token),
        payload,
      });
    const approved = await resolve({ decision: 'approve', line: '8000.00' });
    assert.equal(approved.statusCode, 200, approved.body);
    assert.equal(approved.json().review.status, 'approved');
    const [line] = await t.platform.db.sql<{ limit_minor: bigint }[]>`
      select limit_minor from credit_lines where customer_id = ${c.id.toString()}::bigint`;
    assert.equal(line!.limit_minor, 800000n);
    const again = await resolve({ decision: 'decline', reason: 'FRAUD_SUSPECTED' });
    assert.equal(again.statusCode, 409);
    assert.equal(again.json().error.code, 'REVIEW_ALREADY_RESOLVED');
  });

  test('bad input on the decision routes is a 4xx with a stable code and writes nothing', async () => {
    const c = await customer(t.platform, 40);
    const before = await decisionCount();
    const cases: [string, string, Record<string, string>, unknown, number, string][] = [
      ['POST', '/v1/credit-applications', {}, application(), 401, 'UNAUTHORIZED'],
      ['POST', '/v1/credit-applications', bearer(risk.token), application(), 403, 'FORBIDDEN'],
      ['POST', '/v1/credit-applications', bearer(c.token), {}, 400, 'VALIDATION_FAILED'],
      [
        'POST',
        '/v1/credit-applications',
        bearer(c.token),
        application({ stated_income: 15000 }),
        400,
        'VALIDATION_FAILED',
      ],
      [
        'POST',
        '/v1/credit-applications',
        bearer(c.token),
        application({ stated_income: '1.234' }),
        // the one money rule of every amount (api/money-input.ts): too many decimals is a 422
        422,
        'INVALID_AMOUNT',
      ],
      [
        'POST',
        '/v1/credit-applications',
        bearer(c.token),
        application({ stated_income: '-5.00' }),
        400,
        'VALIDATION_FAILED',
      ],
      [
        'POST',
        '/v1/credit-applications',
        bearer(c.token),
        application({ stated_income: '999999999999.99' }),
        422,
        'INCOME_OUT_OF_RANGE',
      ],
      [
        'POST',
        '/v1/credit-applications',
        bearer(c.token),
        application({ purpose: 'yacht' }),
        400,
        'VALIDATION_FAILED',
      ],
      [
        'POST',
        '/v1/credit-applications',
        bearer(c.token),
        application({ device_id: 'x' }),
        400,
        'VALIDATION_FAILED',
      ],
      [
        'POST',
        '/v1/credit-applications',
        bearer(c.token),
        application({ tenor_months: 0 }),
        400,
        'VALIDATION_FAILED',
      ],
      [
        'POST',
        '/v1/credit-applications',
        bearer(c.token),
        application({ extra: true }),
        400,
        'VALIDATION_FAILED',
      ],
      ['POST', '/v1/credit-applications', bearer(c.token), [application()], 400, 'VALIDATION_FAILED'],
      ['GET', '/v1/credit-applications/abc', bearer(c.token), undefined, 400, 'VALIDATION_FAILED'],
      [
        'GET',
        '/v1/credit-applications/99999999999999999999',
        bearer(c.token),
        undefined,
        400,
        'VALIDATION_FAILED',
      ],
      ['GET', '/v1/credit-applications/9223372036854775807', bearer(c.token), undefined, 404, 'NOT_FOUND'],
      ['POST', '/v1/credit-applications/1/replay', bearer(c.token), undefined, 403, 'FORBIDDEN'],
      ['POST', '/v1/credit-applications/1/replay', bearer(risk.token), undefined, 404, 'NOT_FOUND'],
      ['GET', '/v1/reviews?limit=0', bearer(risk.token), undefined, 400, 'VALIDATION_FAILED'],
      ['GET', '/v1/reviews?status=maybe', bearer(risk.token), undefined, 400, 'VALIDATION_FAILED'],
      ['POST', '/v1/reviews/1/decision', bearer(risk.token), { decision: 'approve' }, 422, 'LINE_REQUIRED'],
      ['POST', '/v1/reviews/1/decision', bearer(risk.token), { decision: 'decline' }, 422, 'REASON_REQUIRED'],
      [
        'POST',
        '/v1/reviews/1/decision',
        bearer(risk.token),
        { decision: 'approve', line: '0.00' },
        422,
        'LINE_OUT_OF_RANGE',
      ],
      [
        'POST',
        '/v1/reviews/1/decision',
        bearer(risk.token),
        { decision: 'approve', line: '10.00' },
        404,
        'NOT_FOUND',
      ],
      ['POST', '/v1/reviews/1/decision', bearer(risk.token), { decision: 'maybe' }, 400, 'VALIDATION_FAILED'],
    ];
    for (const [method, url, headers, payload, status, code] of cases) {
      const res = await t.app.inject({
        method: method as 'GET',
        url,
        headers,
        ...(payload === undefined ? {} : { payload: payload as object }),
      });
      assert.equal(res.statusCode, status, `${method} ${url} ${JSON.stringify(payload)}: ${res.body}`);
      assert.equal(res.json().error.code, code, `${method} ${url} ${JSON.stringify(payload)}`);
    }
    const malformed = await t.app.inject({
      method: 'POST',
      url: '/v1/credit-applications',
      headers: { ...bearer(c.token), 'content-type': 'application/json' },
      payload: '{"stated_income": ',
    });
    assert.equal(malformed.statusCode, 400);
    assert.equal(malformed.json().error.code, 'MALFORMED_JSON');
    assert.equal(await decisionCount(), before);
  });
});

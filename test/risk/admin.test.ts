import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { signAccessToken } from '../../src/api/auth.ts';
import { GERMAN_CREDIT_CSV } from '../../src/paths.ts';
import { parseCsv, toDataset } from '../../src/risk/model/csv.ts';
import { type BureauReport, type DecisionInputs, featuresOf } from '../../src/risk/model/features.ts';
import { DEFAULT_POLICY, type Policy } from '../../src/risk/model/policy.ts';
import { scoreRow } from '../../src/risk/model/scorecard.ts';
import { train } from '../../src/risk/model/train.ts';
import { germanToPlatform } from '../../src/risk/service/bootstrap.ts';
import { simulatedScoreProvider } from '../../src/risk/service/providers.ts';
import { getModelByVersion, registerModel } from '../../src/store/models.ts';
import { publishPolicy } from '../../src/store/policies.ts';
import { runFenqi } from '../harness/cli.ts';
import { tempDir } from '../harness/process.ts';
import {
  application,
  bearer,
  customer,
  type DecisionTestApi,
  openDecisionApi,
  riskStaff,
  type TestCustomer,
} from './decision-support.ts';

interface DecisionBody {
  id: string;
  decision: 'approve' | 'decline' | 'refer';
  reasons: { code: string }[];
  model_version: number;
  policy_version: number;
}

interface PolicyBody {
  version: number;
  active: boolean;
  note: string;
  published_by: string | null;
  policy: Policy;
}

/** A bureau with a clean report, so outcomes depend only on the rules under test. */
const cleanProviders = () => ({
  score: simulatedScoreProvider(),
  bureau: {
    name: 'fixed-bureau',
    fetchReport: async (): Promise<BureauReport> => ({
      inquiries6m: 0,
      openAccounts: 0,
      delinquencies24m: 0,
      utilisation: 0.2,
      provider: 'fixed-bureau',
    }),
  },
});

const withMinAge = (years: number): Policy => {
  const policy = structuredClone(DEFAULT_POLICY);
  policy.rules.find((r) => r.code === 'AGE_BELOW_MIN')!.value = years;
  return policy;
};

const runCli = (args: string[], env: Record<string, string>) =>
  runFenqi(args, { ...env, LOG_LEVEL: 'silent' });

describe('risk administration: policy, deny list and models through the API and the CLI', () => {
  let t: DecisionTestApi;
  let risk: { id: bigint; token: string };

  const call = async (
    method: 'GET' | 'POST',
    url: string,
    payload?: unknown,
    headers = bearer(risk.token),
  ) => {
    const res = await t.app.inject({
      method,
      url,
      headers,
      ...(payload === undefined ? {} : { payload: payload as object }),
    });
    return { status: res.statusCode, body: res.json(), text: res.body, headers: res.headers };
  };
  const apply = async (c: TestCustomer) => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/v1/credit-applications',
      headers: bearer(c.token),
      payload: application(),
    });
    assert.equal(res.statusCode, 200, res.body);
    return res.json() as DecisionBody;
  };
  const codes = (d: DecisionBody) => d.reasons.map((r) => r.code);
  const versionCount = async () =>
    Number((await t.platform.db.sql<{ n: bigint }[]>`select count(*) as n from risk_policy_versions`)[0]!.n);

  before(async () => {
    t = await openDecisionApi();
    await t.platform.services.risk.ensureChampion();
    risk = await riskStaff(t.platform);
  });
  after(async () => {
    await t?.close();
  });
  beforeEach(async () => {
    t.platform.services.risk.configure({ providers: cleanProviders() });
    await publishPolicy(t.platform.db.sql, structuredClone(DEFAULT_POLICY), 'test: default');
    t.platform.services.risk.refresh();
  });

  test('publishing a policy that raises the minimum age makes the next decision decline with AGE_BELOW_MIN under the new version', async () => {
    const applicant = await customer(t.platform, 40);
    const published = await call('POST', '/v1/risk/policies', {
      policy: withMinAge(45),
      note: 'raise the minimum age',
    });
    assert.equal(published.status, 201, published.text);
    const body = published.body as PolicyBody;
    assert.equal(body.active, true);
    assert.equal(body.note, 'raise the minimum age');
    assert.equal(body.published_by, risk.id.toString());
    assert.equal(body.policy.rules.find((r) => r.code === 'AGE_BELOW_MIN')!.value, 45);

    const decision = await apply(applicant);
    assert.equal(decision.decision, 'decline');
    assert.deepEqual(codes(decision), ['AGE_BELOW_MIN']);
    assert.equal(decision.policy_version, body.version);

    const active = await call('GET', '/v1/risk/policies/active');
    assert.equal(active.status, 200);
    assert.equal(active.body.version, body.version);
    const one = await call('GET', `/v1/risk/policies/${body.version}`);
    assert.deepEqual(one.body, active.body);
  });

  test('an invalid policy gets 422 POLICY_INVALID with the reason and no version is added', async () => {
    const before = await versionCount();
    const duplicate = structuredClone(DEFAULT_POLICY);
    duplicate.rules.push({ ...duplicate.rules[0]! });
    const overlapping = structuredClone(DEFAULT_POLICY);
    overlapping.referGrades = ['C', 'D'];
    const inverted = structuredClone(DEFAULT_POLICY);
    inverted.line.minLineMinor = '9000000';
    for (const [policy, why] of [
      [duplicate, /duplicate rule code CUSTOMER_NOT_ACTIVE/],
      [overlapping, /grade C is both approved and referred/],
      [inverted, /minLineMinor is above/],
    ] as const) {
      const res = await call('POST', '/v1/risk/policies', { policy, note: 'broken' });
      assert.equal(res.status, 422, res.text);
      assert.equal(res.body.error.code, 'POLICY_INVALID');
      assert.match(res.body.error.message, why);
    }
    // a fact no rule can test is refused by the schema before the policy is even read
    const unknownFact = structuredClone(DEFAULT_POLICY) as unknown as { rules: { fact: string }[] };
    unknownFact.rules[0]!.fact = 'shoe_size';
    const shape = await call('POST', '/v1/risk/policies', { policy: unknownFact, note: 'broken' });
    assert.equal(shape.status, 400);
    assert.equal(shape.body.error.code, 'VALIDATION_FAILED');
    assert.equal(await versionCount(), before);
  });

  test('a publish retried with the same Idempotency-Key stores one version and replays the answer', async () => {
    const before = await versionCount();
    const headers = { ...bearer(risk.token), 'idempotency-key': `publish-${process.pid}` };
    const payload = { policy: withMinAge(21), note: 'once' };
    const first = await call('POST', '/v1/risk/policies', payload, headers);
    const again = await call('POST', '/v1/risk/policies', payload, headers);
    assert.equal(first.status, 201, first.text);
    assert.equal(again.status, 201);
    assert.equal(again.headers['idempotent-replay'], 'true');
    assert.deepEqual(again.body, first.body);
    assert.equal(await versionCount(), before + 1);
    const reused = await call('POST', '/v1/risk/policies', { ...payload, note: 'other' }, headers);
    assert.equal(reused.status, 409);
    assert.equal(reused.body.error.code, 'IDEMPOTENCY_KEY_REUSED');
  });

  test('rolling back activates the old rules as a new version, and earlier decisions keep the version they used', async () => {
    const applicant = await customer(t.platform, 30);
    const good = (await call('GET', '/v1/risk/policies/active')).body as PolicyBody;
    const strict = (await call('POST', '/v1/risk/policies', { policy: withMinAge(35), note: 'strict' }))
      .body as PolicyBody;
    const declined = await apply(applicant);
    assert.deepEqual(codes(declined), ['AGE_BELOW_MIN']);

    const rollback = await call('POST', `/v1/risk/policies/${good.version}/activate`, { note: 'too strict' });
    assert.equal(rollback.status, 201, rollback.text);
    const restored = rollback.body as PolicyBody;
    assert.equal(restored.version, strict.version + 1, 'a new version, never an old one re-activated');
    assert.deepEqual(restored.policy, good.policy);
    assert.match(restored.note, new RegExp(`rollback to version ${good.version}: too strict`));

    const approved = await apply(applicant);
    assert.equal(approved.decision, 'approve', JSON.stringify(approved));
    assert.equal(approved.policy_version, restored.version);
    const [old] = await t.platform.db.sql<{ policy_version: number }[]>`
      select policy_version from credit_decisions where id = ${declined.id}::bigint`;
    assert.equal(old!.policy_version, strict.version);

    const list = await call('GET', '/v1/risk/policies?limit=3');
    assert.deepEqual(
      list.body.items.map((v: { version: number; active: boolean }) => [v.version, v.active]),
      [
        [restored.version, true],
        [strict.version, false],
        [good.version, false],
      ],
    );
    const next = await call('GET', `/v1/risk/policies?limit=3&cursor=${list.body.next_cursor}`);
    assert.ok(next.body.items.every((v: { version: number }) => v.version < good.version));

    const again = await call('POST', `/v1/risk/policies/${restored.version}/activate`, { note: 'again' });
    assert.equal(again.status, 409);
    assert.equal(again.body.error.code, 'POLICY_ALREADY_ACTIVE');
    const missing = await call('POST', '/v1/risk/policies/999999/activate', { note: 'nothing' });
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error.code, 'POLICY_NOT_FOUND');
    assert.equal((await call('GET', '/v1/risk/policies/999999')).body.error.code, 'POLICY_NOT_FOUND');
  });

  test("a phone added to the deny list makes that customer's next application decline with DENY_LISTED, and removing it restores approval", async () => {
    const c = await customer(t.platform, 40);
    // written the way a person would type it: +86, spaces and dashes
    const typed = `+86 ${c.phone.slice(0, 3)}-${c.phone.slice(3, 7)}-${c.phone.slice(7)}`;
    const added = await call('POST', '/v1/risk/deny-list', {
      kind: 'phone',
      value: typed,
      reason: 'fraud ring 7',
    });
    assert.equal(added.status, 201, added.text);
    assert.equal(added.body.kind, 'phone');
    assert.match(added.body.fingerprint, /^[0-9a-f]{8}$/);
    assert.equal(added.body.added_by, risk.id.toString());
    const repeated = await call('POST', '/v1/risk/deny-list', {
      kind: 'phone',
      value: c.phone,
      reason: 'again',
    });
    assert.equal(repeated.status, 200, 'already listed: the same entry');
    assert.deepEqual(repeated.body, added.body);
    assert.deepEqual(
      (await call('POST', '/v1/risk/deny-list/check', { kind: 'phone', value: c.phone })).body,
      {
        listed: true,
        entry: added.body,
      },
    );

    const declined = await apply(c);
    assert.equal(declined.decision, 'decline');
    assert.deepEqual(codes(declined), ['DENY_LISTED']);

    const removed = await call('POST', '/v1/risk/deny-list/remove', {
      kind: 'phone',
      value: c.phone,
      reason: 'cleared',
    });
    assert.equal(removed.status, 200, removed.text);
    assert.equal(removed.body.fingerprint, added.body.fingerprint);
    const twice = await call('POST', '/v1/risk/deny-list/remove', { kind: 'phone', value: c.phone });
    assert.equal(twice.status, 404);
    assert.equal(twice.body.error.code, 'DENY_LIST_ENTRY_NOT_FOUND');
    assert.equal(
      (await call('POST', '/v1/risk/deny-list/check', { kind: 'phone', value: c.phone })).body.listed,
      false,
    );

    const approved = await apply(c);
    assert.equal(approved.decision, 'approve', JSON.stringify(approved));
  });

  test('a national id on the deny list declines with DENY_LISTED whatever the case of its check character', async () => {
    const c = await customer(t.platform, 40);
    const added = await call('POST', '/v1/risk/deny-list', {
      kind: 'national_id',
      value: ` ${c.nationalId.toLowerCase()} `,
      reason: 'identity theft',
    });
    assert.equal(added.status, 201, added.text);
    assert.deepEqual(codes(await apply(c)), ['DENY_LISTED']);
  });

  test('values that are not a phone or a national id get 422 INVALID_PHONE or INVALID_NATIONAL_ID and store nothing', async () => {
    const count = async () =>
      Number((await t.platform.db.sql<{ n: bigint }[]>`select count(*) as n from risk_deny_list`)[0]!.n);
    const before = await count();
    for (const [kind, value, code] of [
      ['phone', '12345', 'INVALID_PHONE'],
      ['phone', '23800138000', 'INVALID_PHONE'],
      ['national_id', '110101199001011234', 'INVALID_NATIONAL_ID'],
      ['national_id', 'abc', 'INVALID_NATIONAL_ID'],
    ] as const) {
      for (const url of ['/v1/risk/deny-list', '/v1/risk/deny-list/remove', '/v1/risk/deny-list/check']) {
        const res = await call('POST', url, {
          kind,
          value,
          ...(url.endsWith('list') ? { reason: 'x' } : {}),
        });
        assert.equal(res.status, 422, `${url} ${value}: ${res.text}`);
        assert.equal(res.body.error.code, code);
      }
    }
    assert.equal(await count(), before);
  });

  test('the deny-list table, the audit trail and every answer hold no phone or national id in plaintext', async () => {
    const c = await customer(t.platform, 40);
    const answers = [
      await call('POST', '/v1/risk/deny-list', { kind: 'phone', value: c.phone, reason: 'chargebacks' }),
      await call('POST', '/v1/risk/deny-list', {
        kind: 'national_id',
        value: c.nationalId,
        reason: 'chargebacks',
      }),
      await call('POST', '/v1/risk/deny-list/check', { kind: 'phone', value: c.phone }),
      await call('GET', '/v1/risk/deny-list?limit=200'),
      await call('GET', '/v1/risk/audit?limit=200'),
      await call('POST', '/v1/risk/deny-list/remove', { kind: 'national_id', value: c.nationalId }),
    ];
    const listed = answers[3]!.body.items as { fingerprint: string; kind: string }[];
    assert.ok(listed.some((e) => e.kind === 'phone' && e.fingerprint === answers[0]!.body.fingerprint));
    const sql = t.platform.db.sql;
    const dumps = [
      ...answers.map((a) => a.text),
      JSON.stringify(
        (await sql`select kind, encode(bidx, 'hex') as bidx, reason from risk_deny_list`) as unknown,
      ),
      JSON.stringify((await sql`select subject, detail from risk_admin_events`) as unknown),
    ];
    const [bidx] = await sql<{ hex: string }[]>`
      select encode(bidx, 'hex') as hex from risk_deny_list where kind = 'phone' and reason = 'chargebacks'`;
    for (const text of dumps) {
      for (const secret of [c.phone, c.nationalId, c.nationalId.slice(0, 17)]) {
        assert.ok(!text.includes(secret), `plaintext in ${text.slice(0, 200)}`);
      }
    }
    for (const text of dumps.slice(0, answers.length)) {
      assert.ok(!text.includes(bidx!.hex), 'answers show a fingerprint, never the whole blind index');
    }
  });

  test('customer, merchant and ops tokens get 403 and callers without a token 401 on every admin route', async () => {
    const c = await customer(t.platform, 40);
    const secret = t.platform.config.tokenSecret;
    const callers = {
      customer: bearer(c.token),
      merchant: bearer(signAccessToken(secret, { role: 'merchant', id: 1n }, 900)),
      ops: bearer(signAccessToken(secret, { role: 'ops', id: 1n }, 900)),
    };
    await t.app.ready();
    const spec = t.app.swagger() as { paths: Record<string, Record<string, unknown>> };
    const routes = Object.entries(spec.paths)
      .filter(([p]) => p.startsWith('/v1/risk/'))
      .flatMap(([p, methods]) =>
        Object.keys(methods).map(
          (m) => [m.toUpperCase() as 'GET' | 'POST', p.replace('{version}', '1')] as const,
        ),
      );
    assert.ok(routes.length >= 13, `${routes.length} admin routes`);
    const versionsBefore = await versionCount();
    // valid bodies: the shape is checked before the role, as on every route
    const deny = { kind: 'phone', value: c.phone };
    const bodyFor = (method: string, url: string): object | undefined => {
      if (method === 'GET' || url.endsWith('/promote')) return undefined;
      if (url.endsWith('/policies')) return { policy: DEFAULT_POLICY, note: 'x' };
      if (url.endsWith('/activate')) return { note: 'x' };
      if (url.endsWith('/role')) return { role: 'retired' };
      if (url.endsWith('/deny-list')) return { ...deny, reason: 'x' };
      return deny;
    };
    for (const [method, url] of routes) {
      for (const [who, headers] of Object.entries(callers)) {
        const res = await call(method, url, bodyFor(method, url), headers);
        assert.equal(res.status, 403, `${who} ${method} ${url}: ${res.text}`);
        assert.equal(res.body.error.code, 'FORBIDDEN');
      }
      const anonymous = await call(method, url, bodyFor(method, url), {} as never);
      assert.equal(anonymous.status, 401, `${method} ${url}`);
      assert.equal(anonymous.body.error.code, 'UNAUTHORIZED');
    }
    assert.equal(await versionCount(), versionsBefore);
  });

  test('promoting a challenger makes it the champion for the next decision, and the champion cannot be retired', async () => {
    const sql = t.platform.db.sql;
    const [champion] = await sql<
      { version: number }[]
    >`select version from risk_models where role = 'champion'`;
    const model = (await getModelByVersion(sql, champion!.version))!.model;
    const challenger = (await registerModel(sql, model, {
      role: 'challenger',
      source: 'file',
      note: 'admin test',
    }))!;

    const listed = await call('GET', '/v1/risk/models');
    assert.equal(listed.status, 200);
    const roles = Object.fromEntries(
      listed.body.items.map((m: { version: number; role: string }) => [m.version, m.role]),
    );
    assert.equal(roles[champion!.version], 'champion');
    assert.equal(roles[challenger.version], 'challenger');
    assert.ok(
      listed.body.items.every((m: { metrics: { features: string[] } }) => m.metrics.features.length > 0),
    );

    const refused = await call('POST', `/v1/risk/models/${champion!.version}/role`, { role: 'retired' });
    assert.equal(refused.status, 409);
    assert.equal(refused.body.error.code, 'MODEL_IS_CHAMPION');

    const promoted = await call('POST', `/v1/risk/models/${challenger.version}/promote`);
    assert.equal(promoted.status, 200, promoted.text);
    assert.equal(promoted.body.role, 'champion');
    const decision = await apply(await customer(t.platform, 40));
    assert.equal(decision.model_version, challenger.version);

    const back = await call('POST', `/v1/risk/models/${champion!.version}/role`, { role: 'challenger' });
    assert.equal(back.status, 200, back.text);
    assert.equal(back.body.role, 'challenger');
    const retired = await call('POST', `/v1/risk/models/${champion!.version}/role`, { role: 'retired' });
    assert.equal(retired.body.role, 'retired');
    const missing = await call('POST', '/v1/risk/models/999999/promote');
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error.code, 'MODEL_NOT_FOUND');

    const restored = await call('POST', `/v1/risk/models/${champion!.version}/promote`);
    assert.equal(restored.body.role, 'champion');
  });

  test('a boosted model registered as a challenger is scored in shadow by its own points table, until retired', async () => {
    const sql = t.platform.db.sql;
    const german = germanToPlatform(toDataset(parseCsv(readFileSync(GERMAN_CREDIT_CSV, 'utf8'))));
    const { model } = train(german, {
      target: 'bad',
      badValue: '0',
      folds: 0,
      model: 'boosted',
      missingPolicy: 'neutral',
    });
    assert.equal(model.modelType, 'boosted');
    const challenger = (await registerModel(sql, model, {
      role: 'challenger',
      source: 'file',
      note: 'boosted',
    }))!;
    t.platform.services.risk.refresh();

    const decision = await apply(await customer(t.platform, 35));
    const [stored] = await sql<
      {
        inputs: DecisionInputs;
        result: { challengers: { version: number; score: number; points: Record<string, number> }[] };
      }[]
    >`
      select inputs, result from credit_decisions where id = ${BigInt(decision.id)}`;
    const shadow = stored!.result.challengers.find((c) => c.version === challenger.version);
    assert.ok(shadow, 'the boosted challenger was scored');
    const expected = scoreRow(model, featuresOf(stored!.inputs));
    assert.equal(shadow.score, expected.score);
    assert.deepEqual(shadow.points, expected.points);
    assert.notEqual(decision.model_version, challenger.version, 'the champion still decides');

    const retired = await call('POST', `/v1/risk/models/${challenger.version}/role`, { role: 'retired' });
    assert.equal(retired.body.role, 'retired');
    t.platform.services.risk.refresh();
    const later = await apply(await customer(t.platform, 36));
    const [afterRetire] = await sql<{ result: { challengers: { version: number }[] } }[]>`
      select result from credit_decisions where id = ${BigInt(later.id)}`;
    assert.ok(!afterRetire!.result.challengers.some((c) => c.version === challenger.version));
  });

  test('challengers promoted at the same moment leave exactly one champion and no 500', async () => {
    const sql = t.platform.db.sql;
    const [champion] = await sql<
      { version: number }[]
    >`select version from risk_models where role = 'champion'`;
    const model = (await getModelByVersion(sql, champion!.version))!.model;
    const challengers = await Promise.all(
      [1, 2, 3, 4].map(
        async () => (await registerModel(sql, model, { role: 'challenger', source: 'file', note: 'race' }))!,
      ),
    );
    const answers = await Promise.all(
      challengers.map((c) => call('POST', `/v1/risk/models/${c.version}/promote`)),
    );
    for (const a of answers) assert.equal(a.status, 200, a.text);
    const champions = await sql`select version from risk_models where role = 'champion'`;
    assert.equal(champions.length, 1);
    const restored = await call('POST', `/v1/risk/models/${champion!.version}/promote`);
    assert.equal(restored.status, 200, restored.text);
  });

  test('every change is in the audit trail with the staff member who made it', async () => {
    const other = await riskStaff(t.platform);
    const c = await customer(t.platform, 40);
    const published = await call(
      'POST',
      '/v1/risk/policies',
      { policy: withMinAge(19), note: 'audited' },
      bearer(other.token),
    );
    await call(
      'POST',
      '/v1/risk/deny-list',
      { kind: 'phone', value: c.phone, reason: 'audited' },
      bearer(other.token),
    );
    await call(
      'POST',
      '/v1/risk/deny-list/remove',
      { kind: 'phone', value: c.phone, reason: 'mistake' },
      bearer(other.token),
    );
    const audit = await call('GET', '/v1/risk/audit?limit=3');
    assert.equal(audit.status, 200);
    const events = audit.body.items as {
      id: string;
      action: string;
      subject: string;
      staff_id: string;
      detail: Record<string, unknown>;
    }[];
    assert.deepEqual(
      events.map((e) => e.action),
      ['deny_removed', 'deny_added', 'policy_published'],
    );
    assert.ok(events.every((e) => e.staff_id === other.id.toString()));
    assert.equal(events[2]!.subject, `policy ${published.body.version}`);
    assert.equal(events[0]!.detail.reason, 'mistake');
    assert.equal(events[0]!.detail.added_reason, 'audited');
    const page = await call('GET', `/v1/risk/audit?limit=3&cursor=${audit.body.next_cursor}`);
    assert.ok(page.body.items.length > 0);
    assert.ok(page.body.items.every((e: { id: string }) => BigInt(e.id) < BigInt(events[2]!.id)));
  });

  describe('the CLI', () => {
    let env: Record<string, string>;
    before(() => {
      env = {
        ...t.pg.env(),
        FENQI_TOKEN_SECRET: t.platform.config.tokenSecret.toString('hex'),
        FENQI_DATA_KEYS: `1:${t.platform.config.dataKeys.get(1)!.toString('hex')}`,
        FENQI_BLIND_INDEX_KEY: t.platform.config.blindIndexKey.toString('hex'),
      };
    });

    test('fenqi risk policy publish stores a checked file as the active version, and show --json round-trips it', async () => {
      const dir = tempDir('risk-admin-cli');
      const file = path.join(dir, 'policy.json');
      writeFileSync(file, JSON.stringify(withMinAge(50)));
      const published = await runCli(['risk', 'policy', 'publish', file, '--note', 'from the cli'], env);
      assert.equal(published.code, 0, published.stderr);
      const { version } = JSON.parse(published.stdout.trim().split('\n').at(-1)!);
      const active = (await call('GET', '/v1/risk/policies/active')).body as PolicyBody;
      assert.equal(active.version, version);
      assert.equal(active.note, 'from the cli');
      assert.equal(active.published_by, null);
      t.platform.services.risk.refresh(); // another process: this test does not wait for the refresh interval
      assert.deepEqual(codes(await apply(await customer(t.platform, 45))), ['AGE_BELOW_MIN']);

      const shown = await runCli(['risk', 'policy', 'show', '--json'], env);
      assert.equal(shown.code, 0, shown.stderr);
      writeFileSync(file, shown.stdout);
      const again = await runCli(['risk', 'policy', 'publish', file, '--note', 'same rules'], env);
      assert.equal(again.code, 0, again.stderr);
      assert.deepEqual(
        ((await call('GET', '/v1/risk/policies/active')).body as PolicyBody).policy,
        active.policy,
      );

      const broken = structuredClone(DEFAULT_POLICY);
      broken.approveGrades = ['A', 'A'];
      writeFileSync(file, JSON.stringify(broken));
      const refused = await runCli(['risk', 'policy', 'publish', file, '--note', 'broken'], env);
      assert.equal(refused.code, 2);
      assert.match(refused.stderr, /approveGrades lists a grade twice/);
      const noNote = await runCli(['risk', 'policy', 'publish', file], env);
      assert.equal(noNote.code, 2);
    });

    test('fenqi risk deny add lists a phone without printing it, and the next application declines with DENY_LISTED', async () => {
      const c = await customer(t.platform, 40);
      const added = await runCli(['risk', 'deny', 'add', '--phone', c.phone, '--reason', 'cli entry'], env);
      assert.equal(added.code, 0, added.stderr);
      assert.match(added.stdout, /^added: phone\s+[0-9a-f]{8} /);
      assert.ok(!added.stdout.includes(c.phone));
      assert.deepEqual(codes(await apply(c)), ['DENY_LISTED']);
      const check = await call('POST', '/v1/risk/deny-list/check', { kind: 'phone', value: c.phone });
      assert.equal(check.body.entry.added_by, null);
      assert.equal(check.body.entry.reason, 'cli entry');

      const removed = await runCli(['risk', 'deny', 'remove', '--phone', c.phone], env);
      assert.equal(removed.code, 0, removed.stderr);
      assert.equal((await apply(c)).decision, 'approve');
      const bad = await runCli(['risk', 'deny', 'add', '--phone', '12345', '--reason', 'x'], env);
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /--phone must be a mobile number/);
    });
    test('fenqi risk deny add --as records the risk staff member, and an unknown --as changes nothing', async () => {
      const c = await customer(t.platform, 40);
      const staff = await riskStaff(t.platform);
      const [row] = await t.platform.db.sql<{ username: string }[]>`
        select username from staff where id = ${staff.id.toString()}::bigint`;
      const unknown = await runCli(
        ['risk', 'deny', 'add', '--phone', c.phone, '--reason', 'cli entry', '--as', 'nobody-here'],
        env,
      );
      assert.equal(unknown.code, 2);
      assert.match(unknown.stderr, /no risk staff member/);
      const none = await call('POST', '/v1/risk/deny-list/check', { kind: 'phone', value: c.phone });
      assert.equal(none.body.listed, false);

      const added = await runCli(
        ['risk', 'deny', 'add', '--phone', c.phone, '--reason', 'cli entry', '--as', row!.username],
        env,
      );
      assert.equal(added.code, 0, added.stderr);
      const check = await call('POST', '/v1/risk/deny-list/check', { kind: 'phone', value: c.phone });
      assert.equal(check.body.entry.added_by, staff.id.toString());
      const removed = await runCli(
        ['risk', 'deny', 'remove', '--phone', c.phone, '--as', row!.username],
        env,
      );
      assert.equal(removed.code, 0, removed.stderr);
    });
  });
});

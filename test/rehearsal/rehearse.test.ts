/**
 * `fenqi rehearse` on real PostgreSQL, Redis and NATS (TLS, passwords, ACL): plan builds made-up
 * shadow customers, a short run sends tagged orders through the listening API and stores a sample a
 * second, the report's figures are the stored samples', a guard rail stops a run, clean empties the
 * shadow schema, and production's tables and keys are byte-identical throughout.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Api } from '../../src/api/server.ts';
import { addDays, addMonths } from '../../src/domain/dates.ts';
import { listReports } from '../../src/ops/reports.ts';
import type { SimulatedCollectionGateway } from '../../src/payments/collection.ts';
import { cleanRehearsal } from '../../src/rehearsal/clean.ts';
import { planRehearsal, shadowTargets } from '../../src/rehearsal/plan.ts';
import { DEFAULT_GUARD_RAILS, parseProfile } from '../../src/rehearsal/profile.ts';
import { SHADOW_SCHEMA } from '../../src/rehearsal/roles.ts';
import { reportOnShadow, runOnSides } from '../../src/rehearsal/run.ts';
import {
  CUSTOMER_ANCHOR,
  CUSTOMER_COLUMN,
  CUSTOMER_TABLES,
  REFERENCE_TABLES,
} from '../../src/store/citus.ts';
import { connectPostgres, openPostgres, type Sql } from '../../src/store/db.ts';
import { checkLedger } from '../../src/store/ledger.ts';
import { settleOrder } from '../../src/store/orders.ts';
import { readRun } from '../../src/store/rehearsals.ts';
import { AutoDebitWorker } from '../../src/workers/auto-debit.ts';
import { startCobScheduler } from '../../src/workers/cob-scheduler.ts';
import { giveCards } from '../debit/cards.ts';
import { SECRETS, type Seed, type Servers, seed, startServers } from '../flash/lab.ts';
import { tempDir } from '../harness/process.ts';
import {
  openShadowDeployment,
  redisChecksums,
  rehearsalApi,
  type ShadowDeployment,
  tableChecksums,
} from './support.ts';

const PLAN_SIZE = 12;
/** Planned customers given a loan due today and a card (automatic debit), and a loan overdue (close of business). */
const DEBITED = 2;
const AGED = 2;
const AGED_DAYS_OVERDUE = 10;
const PROFILE = 'ramp:2s:4-12,hold:3s:12';

describe('fenqi rehearse: plan, run, report, clean on the shadow side', () => {
  let servers: Servers;
  let d: ShadowDeployment;
  let app: Api;
  let shadowApi: Api;
  let apiUrl: string;
  let prodSeed: Seed;
  let tablesBefore: Map<string, string>;
  let keysBefore: Map<string, string>;
  let reportDir: string;

  const sides = () => ({
    shadow: d.shadow,
    rehearsal: { ...emptyRehearsalConfig(), key: d.key },
    tokenSecret: Buffer.from(SECRETS.FENQI_TOKEN_SECRET, 'hex'),
  });
  const emptyRehearsalConfig = () => ({
    key: d.key,
    databaseUrl: d.shadowDbUrl,
    migrationDatabaseUrl: d.shadowOwnerUrl,
    redisUrl: d.shadowRedisUrl,
    natsUser: undefined,
    natsPassword: undefined,
  });
  const count = async (sql: Sql, table: string) =>
    (await sql.unsafe<{ n: number }[]>(`select count(*)::int as n from ${table}`))[0]?.n ?? 0;
  const assertProductionUnchanged = async () => {
    const admin = servers.redis.client('admin');
    try {
      assert.deepEqual(await tableChecksums(d.platform.db.sql), tablesBefore);
      assert.deepEqual(await redisChecksums(admin), keysBefore);
    } finally {
      admin.disconnect();
    }
  };

  before(async () => {
    servers = await startServers();
    d = await openShadowDeployment(servers);
    prodSeed = await seed(d.platform.db.sql, 3);
    ({ app, shadowApi } = await rehearsalApi(d));
    apiUrl = await app.listen({ host: '127.0.0.1', port: 0 });
    reportDir = tempDir('rehearsal-report');
    const admin = servers.redis.client('admin');
    tablesBefore = await tableChecksums(d.platform.db.sql);
    keysBefore = await redisChecksums(admin);
    admin.disconnect();
  });
  after(async () => {
    await Promise.allSettled([app?.close(), shadowApi?.close()]);
    await d?.close();
    await servers?.destroy();
  });

  test('plan makes shadow customers with made-up identities and production credit line sizes', async () => {
    const summary = await planRehearsal(
      d.platform.db.sql,
      { sql: d.shadow.db.sql, crypto: d.shadow.services.crypto },
      {
        id: 'spring-2027',
        size: PLAN_SIZE,
        targetOrdersPerS: 10,
        closesAt: new Date(Date.now() + 3_600_000),
      },
    );
    assert.equal(summary.customers, PLAN_SIZE);
    assert.equal(summary.limitsFromProduction, prodSeed.customers.length);
    assert.equal(await count(d.shadow.db.sql, 'customers'), PLAN_SIZE);
    const prodLimits = new Set(
      (await d.platform.db.sql<{ l: string }[]>`select limit_minor::text as l from credit_lines`).map(
        (r) => r.l,
      ),
    );
    const shadowLimits = await d.shadow.db.sql<
      { l: string }[]
    >`select limit_minor::text as l from credit_lines`;
    assert.ok(
      shadowLimits.every((r) => prodLimits.has(r.l)),
      'every shadow line takes a production size',
    );
    // no production identity is copied: the blind indexes of the two sides never meet
    const admin = openPostgres(servers.pg.urlFor('admin', 'fenqi'));
    try {
      // compared here, not joined: on Citus the two schemas' tables are not co-located
      const bidxOf = async (schema: 'public' | 'fenqi_shadow') =>
        (
          await admin.unsafe<{ b: string }[]>(
            `select encode(bidx, 'hex') as b from ${schema}.customer_identities`,
          )
        ).map((r) => r.b);
      const production = new Set(await bidxOf('public'));
      const shadowBidx = await bidxOf('fenqi_shadow');
      assert.ok(shadowBidx.length >= PLAN_SIZE, 'every planned customer has identities');
      assert.deepEqual(
        shadowBidx.filter((b) => production.has(b)),
        [],
      );
    } finally {
      await admin.end();
    }
    await assertProductionUnchanged();
  });

  test("on Citus, the shadow schema's customer tables are sharded by customer and co-located with the shadow customers, its catalogue tables are reference tables", async (t) => {
    const admin = openPostgres(servers.pg.urlFor('admin', 'fenqi'));
    try {
      if ((await admin`select 1 from pg_extension where extname = 'citus'`).length === 0) {
        t.skip(
          'plain PostgreSQL: nothing is distributed (test/citus/rehearse.citus.test.ts runs this on Citus)',
        );
        return;
      }
      const rows = await admin<{ name: string; method: string; col: string | null; colocation: number }[]>`
        select logicalrelid::regclass::text as name, partmethod as method,
          column_to_column_name(logicalrelid, partkey) as col, colocationid as colocation
        from pg_dist_partition where logicalrelid::regclass::text like ${`${SHADOW_SCHEMA}.%`}`;
      const placed = new Map(rows.map((r) => [r.name.slice(SHADOW_SCHEMA.length + 1), r]));
      const anchor = placed.get(CUSTOMER_ANCHOR.table);
      assert.deepEqual([anchor?.method, anchor?.col], ['h', CUSTOMER_ANCHOR.column]);
      for (const table of CUSTOMER_TABLES) {
        const r = placed.get(table);
        assert.deepEqual(
          [r?.method, r?.col, r?.colocation],
          ['h', CUSTOMER_COLUMN, anchor?.colocation],
          `${SHADOW_SCHEMA}.${table}`,
        );
      }
      for (const table of REFERENCE_TABLES) assert.equal(placed.get(table)?.method, 'n', table);
      const [production] = await admin<{ colocation: number }[]>`
        select colocationid as colocation from pg_dist_partition where logicalrelid = 'public.customers'::regclass`;
      assert.notEqual(production?.colocation, anchor?.colocation, "the shadow shards are not production's");
    } finally {
      await admin.end();
    }
  });

  test('a run sends the orders of its profile tagged, stores a sample a second, and the report shows those figures', async () => {
    const phases = parseProfile(PROFILE);
    const lines: string[] = [];
    const outcome = await runOnSides(
      sides(),
      { id: 'spring-2027', profile: PROFILE, phases, rails: DEFAULT_GUARD_RAILS, apiUrl },
      (line) => lines.push(line),
    );
    const expectedSent = [4, 12, 12, 12, 12].reduce((a, b) => a + b, 0);
    assert.equal(outcome.stopReason, undefined);
    assert.equal(outcome.seconds, 5);
    assert.equal(outcome.sent, expectedSent);
    assert.equal(outcome.skipped, 0);
    assert.equal(lines.length, 5, 'a progress line a second');
    const run = await readRun(d.shadow.db.sql, 'spring-2027');
    assert.ok(run?.finishedAt);
    assert.deepEqual(
      run.samples.map((s) => [s.phase, s.targetPerS, s.sent]),
      [
        ['ramp', 4, 4],
        ['ramp', 12, 12],
        ['hold', 12, 12],
        ['hold', 12, 12],
        ['hold', 12, 12],
      ],
    );
    const answered = run.samples.reduce((a, s) => a + s.accepted + s.refused + s.failed, 0);
    const accepted = run.samples.reduce((a, s) => a + s.accepted, 0);
    assert.equal(
      run.samples.reduce((a, s) => a + s.failed, 0),
      0,
    );
    assert.ok(
      answered <= expectedSent && answered >= expectedSent - 12,
      `${answered} answered of ${expectedSent}`,
    );
    assert.ok(
      run.samples.every((s) => s.pgCommitsPerS !== null && s.redisOpsPerS !== null),
      'signals read',
    );
    // every accepted order settled on the shadow side (inline here); none in production
    assert.ok((await count(d.shadow.db.sql, 'orders')) >= accepted);
    await assertProductionUnchanged();

    const file = path.join(reportDir, 'spring-2027.html');
    const { summary } = await reportOnShadow(d.shadow.db.sql, 'spring-2027', file);
    assert.equal(summary.sent, expectedSent);
    assert.equal(summary.accepted, accepted);
    assert.equal(summary.targetPerS, 10);
    assert.equal(
      summary.sustainedAcceptedPerS,
      [...run.samples.slice(2).map((s) => s.accepted)].sort((a, b) => a - b)[1],
    );
    const html = readFileSync(file, 'utf8');
    for (const section of [
      'Figures',
      'Orders per second',
      'Latency per second',
      'Settlement backlog',
      'PostgreSQL',
      'Redis',
      'Where time goes per hop',
      'First to saturate',
      'Capacity headroom',
    ]) {
      assert.ok(html.includes(section), `report has "${section}"`);
    }
    assert.ok(
      html.includes(`<td>${summary.accepted.toLocaleString('en')} / `),
      'report prints the stored accepted count',
    );
    assert.ok(
      !/<script|https?:\/\/(?!www\.w3\.org)/.test(html),
      'self-contained: no script, nothing fetched',
    );
  });

  test('a guard rail stops a run early and says why', async () => {
    await planRehearsal(
      d.platform.db.sql,
      { sql: d.shadow.db.sql, crypto: d.shadow.services.crypto },
      { id: 'guard-rail', size: 2, targetOrdersPerS: 5, closesAt: new Date(Date.now() + 3_600_000) },
    );
    const rails = { ...DEFAULT_GUARD_RAILS, maxP99Ms: 0, windowSeconds: 2 };
    const profile = 'hold:30s:3';
    const outcome = await runOnSides(
      sides(),
      { id: 'guard-rail', profile, phases: parseProfile(profile), rails, apiUrl },
      () => {},
    );
    assert.equal(outcome.seconds, 2);
    assert.match(outcome.stopReason ?? '', /p99 above 0 ms for 2 s/);
    const run = await readRun(d.shadow.db.sql, 'guard-rail');
    assert.equal(run?.stopReason, outcome.stopReason);
    await reportOnShadow(d.shadow.db.sql, 'guard-rail', path.join(reportDir, 'guard-rail.html'));
    const listed = await listReports({ drill: path.join(reportDir, 'no-drills'), rehearsal: reportDir });
    const spring = await readRun(d.shadow.db.sql, 'spring-2027');
    assert.deepEqual(
      listed.map((r) => [r.kind, r.date, r.outcome, r.files.map((f) => path.basename(f))]),
      [
        ['rehearsal', run?.startedAt.toISOString(), 'stopped', ['guard-rail.html', 'guard-rail.json']],
        ['rehearsal', spring?.startedAt.toISOString(), 'completed', ['spring-2027.html', 'spring-2027.json']],
      ],
      'ops reports lists each rehearsal once, newest first, with its date and outcome',
    );
    assert.ok(listed[0]?.summary.startsWith(`stopped: ${outcome.stopReason}`), listed[0]?.summary);
    await assert.rejects(
      runOnSides(
        sides(),
        { id: 'guard-rail', profile, phases: parseProfile(profile), rails, apiUrl },
        () => {},
      ),
      /has run already/,
    );
  });

  test("the shadow close of business ages the planned customers' overdue loans and shadow automatic debit collects what is due today through the shadow simulator, the shadow books balance, production byte-identical", async () => {
    const sql = d.shadow.db.sql;
    const today = await d.shadow.services.clock.today();
    const yesterday = addDays(today, -1);
    const { customers, goods } = await shadowTargets(sql);
    const [item] = goods;
    assert.ok(item && customers.length >= DEBITED + AGED, 'the plan made customers and goods');
    const debited = customers.slice(0, DEBITED);
    const aged = customers.slice(DEBITED, DEBITED + AGED);
    // loans of planned customers: sold a month ago (first installment due today), or a month and
    // AGED_DAYS_OVERDUE days ago (first installment unpaid since then)
    const sell = async (customerId: bigint, businessDate: string) => {
      const outcome = await sql.begin((tx) =>
        settleOrder(tx, {
          customerId,
          goodsId: item.goodsId,
          productId: item.productId,
          tenor: item.tenor,
          idempotencyKey: `shadow-servicing-${customerId}`,
          businessDate,
        }),
      );
      assert.ok(outcome.status === 'settled' && outcome.order.loanId, outcome.status);
      return outcome.order.loanId;
    };
    const debitedLoans = await Promise.all(debited.map((c) => sell(c, addMonths(today, -1))));
    const agedLoans = await Promise.all(
      aged.map((c) => sell(c, addDays(addMonths(today, -1), -AGED_DAYS_OVERDUE))),
    );
    const shadowGateway = d.shadow.services.collection as SimulatedCollectionGateway;
    const productionGateway = d.platform.services.collection as SimulatedCollectionGateway;
    await giveCards(d.shadow, debited, shadowGateway);
    const entriesBefore = await count(sql, 'journal_entries');

    // with no rehearsal open, neither worker does anything on the shadow side
    const open = await sql<{ id: string }[]>`
      update rehearsals set closed_at = now() where closed_at is null returning id`;
    const debit = new AutoDebitWorker(d.shadow, false);
    assert.equal(await debit.tick(), 0);
    await (await startCobScheduler(d.shadow))?.stop();
    assert.deepEqual(
      [await count(sql, 'debit_attempts'), await count(sql, 'cob_runs')],
      [0, 0],
      'nothing ran while closed',
    );
    await sql`update rehearsals set closed_at = null where id = any(${open.map((r) => r.id)}::text[])`;

    // the scheduler's first pass closes yesterday on the shadow side; then the day's debits
    const cob = await startCobScheduler(d.shadow);
    assert.ok(cob, 'the shadow side runs a close-of-business scheduler');
    await cob.stop();
    const runs = await sql<{ date: string; status: string }[]>`
      select business_date::text as date, status from cob_runs order by business_date`;
    assert.deepEqual(
      runs.map((r) => [r.date, r.status]),
      [[yesterday, 'completed']],
    );
    const standing = await sql<{ id: bigint; dpd: number; bucket: string; expected: number }[]>`
      select l.id, l.days_past_due as dpd, l.bucket,
        (${today}::date - min(i.due_date) filter (where i.status in ('due', 'overdue')))::int as expected
      from loans l join installments i on i.customer_id = l.customer_id and i.loan_id = l.id
      where l.id = any(${agedLoans.map(String)}::bigint[]) group by l.id, l.days_past_due, l.bucket order by l.id`;
    assert.equal(standing.length, AGED);
    for (const loan of standing) {
      assert.ok(loan.expected > 0, 'its first installment is overdue');
      assert.deepEqual([loan.dpd, loan.bucket], [loan.expected, 'M1'], `loan ${loan.id} aged`);
    }

    assert.equal(await debit.tick(), DEBITED);
    assert.deepEqual([debit.stats.succeeded, debit.stats.failed], [DEBITED, 0]);
    const collected = await sql<{ loan_id: bigint; status: string; amount: bigint; repaid: bigint }[]>`
      select a.loan_id, i.status, a.amount_minor as amount, r.amount_minor as repaid
      from debit_attempts a
      join installments i on i.customer_id = a.customer_id and i.loan_id = a.loan_id and i.due_date = ${today}::date
      join repayments r on r.customer_id = a.customer_id and r.id = a.repayment_id
      where a.status = 'succeeded' order by a.loan_id`;
    assert.deepEqual(
      collected.map((c) => [c.loan_id, c.status, c.repaid]),
      [...debitedLoans].sort((a, b) => (a < b ? -1 : 1)).map((id, n) => [id, 'paid', collected[n]?.amount]),
      "each debited loan's installment due today is paid by one repayment of the charge",
    );
    assert.deepEqual(
      [...shadowGateway.collected().values()].sort(),
      collected.map((c) => c.amount).sort(),
      'the shadow simulator took exactly those charges',
    );
    assert.equal(productionGateway.charges, 0, "production's gateway charged nothing");
    assert.ok((await count(sql, 'journal_entries')) > entriesBefore, 'the close and the debits posted');
    const books = await checkLedger(sql);
    assert.ok(books.ok, JSON.stringify(books));
    await assertProductionUnchanged();
  });

  test('clean empties the shadow schema and closes the rehearsal, keeps its record, and can run twice', async () => {
    const owner = connectPostgres(d.shadowOwnerUrl, 1);
    try {
      const first = await cleanRehearsal(owner, d.shadow.queue, 'spring-2027');
      assert.ok(first.tables > 10);
      for (const table of ['customers', 'orders', 'loans', 'journal_entries', 'credit_lines', 'goods']) {
        assert.equal(await count(d.shadow.db.sql, table), 0, table);
      }
      assert.equal(await count(d.shadow.db.sql, 'rehearsal_samples'), 7, 'the record stays for its report');
      const [r] = await d.shadow.db.sql<{ closed: boolean }[]>`
        select closed_at is not null as closed from rehearsals where id = 'spring-2027'`;
      assert.equal(r?.closed, true);
      await cleanRehearsal(owner, d.shadow.queue, 'spring-2027');
      await assert.rejects(
        cleanRehearsal(connectPostgres(servers.pg.urlFor('owner'), 1), undefined, 'x'),
        /only on the shadow schema/,
      );
    } finally {
      await owner.end();
    }
    await assertProductionUnchanged();
  });
});

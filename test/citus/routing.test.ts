/**
 * Customer-scoped hot paths route to one shard on Citus. Every statement the store issues on the
 * path (captured from the client) is EXPLAINed on the coordinator; a statement that reads or changes
 * a distributed table must plan as `Task Count: 1`. A query added later without its customer fans
 * out to every shard and fails this test (the control at the end shows the check catches one).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import postgres from 'postgres';
import { AuthThrottle } from '../../src/auth/throttle.ts';
import { CacheAside } from '../../src/cache/cache-aside.ts';
import { MemoryCache } from '../../src/cache/memory-cache.ts';
import { CURRENT_AGREEMENT_VERSION } from '../../src/domain/agreement.ts';
import { createLogger } from '../../src/logger.ts';
import { lookupOrderStatus } from '../../src/orders/status.ts';
import { DecisionService, deviceKeyOf } from '../../src/risk/service/decide.ts';
import { simulatedProviders } from '../../src/risk/service/providers.ts';
import { listAcceptances, markUsed, recordAcceptance, takeAcceptance } from '../../src/store/agreements.ts';
import { customerCollectionNotes, customerDecisions, customerLoans } from '../../src/store/back-office.ts';
import { getCreditLine } from '../../src/store/credit-lines.ts';
import { createFieldCrypto } from '../../src/store/crypto.ts';
import { CustomerRouting } from '../../src/store/customer-routing.ts';
import {
  createCustomer,
  findCustomerByPhone,
  nationalIdCheckChar,
  updateCustomerPasswordHash,
} from '../../src/store/customers.ts';
import { openPostgres, type Sql } from '../../src/store/db.ts';
import { type NewDecision, recordDecisions } from '../../src/store/decisions.ts';
import { claimIdGenerator } from '../../src/store/id-generator.ts';
import { getInstallments, getLoan, listLoans, loanDisplayNames } from '../../src/store/loans.ts';
import { migrate } from '../../src/store/migrate.ts';
import { settleOrder } from '../../src/store/orders.ts';
import { checkResetCode, revokeCredentials, storeResetCode } from '../../src/store/password-resets.ts';
import { ensureDefaultProducts } from '../../src/store/products.ts';
import { applyRepayment } from '../../src/store/repayments.ts';
import { type CitusCluster, citusUnavailableReason, startCitusCluster } from '../harness/citus.ts';
import { UNHURRIED_BUDGETS } from '../harness/risk.ts';

const BUSINESS_DATE = '2026-03-01';
/** Applicants registered for the decision case: enough that two of them share a shard. */
const APPLICANTS = 8;
const POOL_MAX = 4;

/** The entry-and-lines insert of postEntry(): one customer_id for the entry and all its lines. */
const LEDGER_WRITER =
  /^\s*with e as \(\s*insert into journal_entries[\s\S]*insert into journal_lines[\s\S]*select e\.id, l\.account_code, \$\d+::bigint/;
const skip = citusUnavailableReason() ?? false;

interface Captured {
  text: string;
  params: unknown[];
}

/** What EXPLAIN shows of a statement Citus runs in rounds through the coordinator. */
const THROUGH_COORDINATOR = /Distributed Subplan|INSERT\/SELECT method/;

/** Statements that are not about rows (transaction control, settings) plan nothing. */
const ROW_STATEMENT = /^\s*(with|select|insert|update|delete)\b/i;

describe('customer-scoped hot paths are single-shard on Citus', { skip }, () => {
  let cluster: CitusCluster;
  let sql: Sql;
  let captured: Captured[] = [];
  let customerId: bigint;
  let goodsId: bigint;
  let goodsProductId: bigint;

  before(async () => {
    cluster = await startCitusCluster();
    sql = openPostgres(cluster.url, {
      max: 4,
      onnotice: () => {},
      types: { bigint: postgres.BigInt } as never,
      debug: (_connection, text, params) => captured.push({ text, params: [...params] }),
    }) as unknown as Sql;
    await migrate(sql);
    goodsProductId = (await ensureDefaultProducts(sql)).get('GOODS-0DOWN')!;
    const [customer] = await sql<{ id: bigint }[]>`
      insert into customers (phone_enc, phone_bidx, national_id_enc, national_id_bidx, legal_name_enc, password_hash)
      values ('\\x00', '\\x01', '\\x00', '\\x02', '\\x00', 'x') returning id`;
    customerId = customer!.id;
    await sql`insert into credit_lines (customer_id, limit_minor) values (${customerId}, 1000000)`;
    const [merchant] = await sql<{ id: bigint }[]>`
      insert into merchants (name, api_key_hash) values ('Shop', '\\x03') returning id`;
    const [goods] = await sql<{ id: bigint }[]>`
      insert into goods (merchant_id, sku, name, price_minor) values (${merchant!.id}, 'SKU-1', 'Phone', 120000)
      returning id`;
    goodsId = goods!.id;
  });
  after(async () => {
    await sql?.end();
    await cluster?.destroy();
  });

  /**
   * Runs `path` and returns every row statement it sent that did not plan as one task. With
   * `throughCoordinator: 'refused'`, a statement Citus runs in several rounds through the coordinator
   * (a CTE or subquery planned apart, an INSERT ... SELECT whose rows are pulled to the coordinator
   * and sent on to the shards they belong to) counts too: each round may touch any shard. Paths
   * written since that rule (log-in, credit decisions) are held to it; the order and repayment
   * writers still have three such inserts of one customer's rows (docs/scaling.md).
   */
  async function fanOuts(
    path: () => Promise<unknown>,
    { throughCoordinator = 'allowed' }: { throughCoordinator?: 'allowed' | 'refused' } = {},
  ): Promise<string[]> {
    captured = [];
    await path();
    const statements = captured.filter((c) => ROW_STATEMENT.test(c.text));
    assert.ok(statements.length > 0, 'the path sent statements');
    const bad: string[] = [];
    for (const statement of statements) {
      const plan = await planOf(statement);
      const tasks = [...plan.matchAll(/Task Count: (\d+)/g)].map((m) => Number(m[1]));
      if (tasks.some((count) => count !== 1)) bad.push(`${tasks.join(',')} tasks: ${statement.text.trim()}`);
      else if (throughCoordinator === 'refused' && THROUGH_COORDINATOR.test(plan))
        bad.push(`through the coordinator: ${statement.text.trim()}`);
    }
    return bad;
  }

  async function planOf(statement: Captured): Promise<string> {
    const explain = async (db: Sql, how: string) => {
      const rows = await db.unsafe<{ 'QUERY PLAN': string }[]>(
        `${how} ${statement.text}`,
        statement.params as never[],
      );
      return rows.map((r) => r['QUERY PLAN']).join('\n');
    };
    try {
      return await explain(sql, 'explain');
    } catch (err) {
      if (!/could not create distributed plan/.test((err as Error).message)) throw err;
    }
    // Citus plans the ledger writer's INSERT ... SELECT (entry and lines in one statement) only
    // as it runs, pulling the rows to the coordinator and routing each by its customer_id, which
    // every line of the entry shares (src/store/ledger.ts). EXPLAIN cannot show it; it is the one
    // statement let through, by name, and it must still be the writer's own shape.
    assert.match(
      statement.text,
      LEDGER_WRITER,
      `only the ledger writer may be unplannable: ${statement.text}`,
    );
    return '';
  }

  test('order intake and settlement (one customer) is single-shard', async () => {
    const bad = await fanOuts(() =>
      sql.begin((tx) =>
        settleOrder(tx, {
          customerId,
          goodsId,
          productId: goodsProductId,
          tenor: 6,
          idempotencyKey: 'routing-1',
          businessDate: BUSINESS_DATE,
        }),
      ),
    );
    assert.deepEqual(bad, []);
  });

  test("reading a customer's loans and schedules is single-shard", async () => {
    const bad = await fanOuts(async () => {
      const loans = await listLoans(sql, customerId);
      assert.equal(loans.length, 1);
      await getLoan(sql, loans[0]!.id, false, customerId);
      await getInstallments(sql, loans[0]!.id, customerId);
      const names = await loanDisplayNames(
        sql,
        customerId,
        loans.map((l) => l.id),
      );
      assert.equal(names.get(loans[0]!.id), 'Phone · Shop');
    });
    assert.deepEqual(bad, []);
  });

  test("a customer's read of their order's status (cache missed) is single-shard", async () => {
    const [order] = await sql<
      { id: bigint }[]
    >`select id from orders where customer_id = ${customerId} limit 1`;
    const cache = new MemoryCache();
    const bad = await fanOuts(async () => {
      const found = await lookupOrderStatus(cache, new CacheAside(cache), sql, order!.id, { customerId });
      assert.equal(found.kind, 'found');
    });
    assert.deepEqual(bad, []);
    const fresh = new MemoryCache();
    const staff = await fanOuts(() => lookupOrderStatus(fresh, new CacheAside(fresh), sql, order!.id));
    assert.equal(staff.length, 1, 'a read by id alone (merchant, staff) asks every shard');
  });

  test("a customer's back-office page (line, loans with what they owe, decisions, notes) is single-shard", async () => {
    const bad = await fanOuts(async () => {
      await getCreditLine(sql, customerId);
      assert.equal((await customerLoans(sql, customerId)).length, 1);
      await customerDecisions(sql, customerId);
      await customerCollectionNotes(sql, customerId);
      await listAcceptances(sql, customerId);
    });
    assert.deepEqual(bad, []);
  });

  test('a repayment is single-shard', async () => {
    const [loan] = await listLoans(sql, customerId);
    const bad = await fanOuts(() =>
      sql.begin((tx) =>
        applyRepayment(tx, {
          loanId: loan!.id,
          customerId,
          amountMinor: 10_000n,
          businessDate: BUSINESS_DATE,
          overpayment: 'refuse',
        }),
      ),
    );
    assert.deepEqual(bad, []);
  });

  test('an order under an agreement acceptance, and a password reset code, are single-shard', async () => {
    const terms = { productId: goodsProductId, tenor: 3, goodsId, amountMinor: null };
    const bad = await fanOuts(async () => {
      const accepted = await recordAcceptance(sql, {
        customerId,
        version: CURRENT_AGREEMENT_VERSION,
        textSha256: 'ab'.repeat(32),
        ...terms,
      });
      await sql.begin(async (tx) => {
        const taken = await takeAcceptance(tx, customerId, accepted.id, terms);
        const outcome = await settleOrder(tx, {
          customerId,
          goodsId,
          productId: goodsProductId,
          tenor: 3,
          idempotencyKey: 'routing-agreement',
          businessDate: BUSINESS_DATE,
        });
        assert.equal(outcome.status, 'settled');
        if (outcome.status === 'settled') await markUsed(tx, taken, { orderId: outcome.order.id });
      });
      const code = Buffer.alloc(32, 7);
      await sql.begin((tx) => storeResetCode(tx, customerId, code, 60_000));
      assert.equal(await sql.begin((tx) => checkResetCode(tx, customerId, code, 5)), 'accepted');
      await sql.begin((tx) => revokeCredentials(tx, customerId, new Date(), 'password_reset'));
    });
    assert.deepEqual(bad, []);
  });

  test('log-in (the phone by its blind index, then the customer by id, the throttle) is single-shard', async () => {
    const crypto = createFieldCrypto({
      dataKeys: new Map([[1, randomBytes(32)]]),
      blindIndexKey: randomBytes(32),
    });
    const phone = '13800000001';
    const created = await register(crypto, phone, 1);
    const throttle = new AuthThrottle(sql, crypto.blindIndexKey);
    const bad = await fanOuts(
      async () => {
        assert.deepEqual(await throttle.admitLogin(`phone:${phone}`, '127.0.0.1'), { allowed: true });
        const found = await findCustomerByPhone(sql, crypto, phone);
        assert.equal(found?.id, created);
        await updateCustomerPasswordHash(sql, created, 'rehashed');
        await throttle.loginSucceeded(`phone:${phone}`, '127.0.0.1');
      },
      { throughCoordinator: 'refused' },
    );
    assert.deepEqual(bad, []);
  });

  test('credit decisions are single-shard, also when applicants of one shard share a statement', async () => {
    const crypto = createFieldCrypto({
      dataKeys: new Map([[1, randomBytes(32)]]),
      blindIndexKey: randomBytes(32),
    });
    const risk = new DecisionService({
      sql,
      cache: new MemoryCache(),
      crypto,
      logger: createLogger('silent'),
      poolMax: POOL_MAX,
      providers: simulatedProviders({ latencyMs: 0 }),
      today: async () => BUSINESS_DATE,
    });
    // the answers must not depend on how busy the machine is (test/harness/risk.ts)
    risk.configure({ budgets: UNHURRIED_BUDGETS });
    await risk.ensureChampion();
    const applicants: bigint[] = [];
    for (let i = 0; i < APPLICANTS; i++) applicants.push(await register(crypto, `1390000000${i}`, 10 + i));
    const keys = await new CustomerRouting(sql).keysOf(applicants);
    const pair = applicants
      .filter((id) => applicants.some((other) => other !== id && keys.get(other) === keys.get(id)))
      .filter((id, _, shared) => keys.get(id) === keys.get(shared[0]!))
      .slice(0, 2);
    const other = applicants.find((id) => keys.get(id) !== keys.get(pair[0]!))!;
    assert.ok(pair.length === 2 && other !== undefined, 'applicants on two shards, two of them on one');
    const application = {
      statedIncomeMinor: '1500000',
      purpose: 'goods' as const,
      requestedAmountMinor: '300000',
      tenorMonths: 6,
      deviceKey: deviceKeyOf('routing-device-1'),
    };
    const identities = { ...risk.identityRows.stats };
    const bad = await fanOuts(
      async () => {
        const decided = await Promise.all([...pair, other].map((id) => risk.decide(id, application)));
        for (const d of decided) assert.ok(d.id > 0n);
        // and again, with the identities cached: the history read and the decision log only
        await Promise.all([...pair, other].map((id) => risk.decide(id, application)));
      },
      { throughCoordinator: 'refused' },
    );
    assert.deepEqual(bad, []);
    // the pair's identities were read in one statement, the third applicant's in another
    assert.equal(risk.identityRows.stats.items - identities.items, 3);
    assert.equal(risk.identityRows.stats.batches - identities.batches, 2);
  });

  test("the decision log's statement writes each decision's line or review on the customers' shard", async () => {
    const crypto = createFieldCrypto({
      dataKeys: new Map([[1, randomBytes(32)]]),
      blindIndexKey: randomBytes(32),
    });
    const applicants: bigint[] = [];
    for (let i = 0; i < APPLICANTS; i++) applicants.push(await register(crypto, `1370000000${i}`, 30 + i));
    const keys = await new CustomerRouting(sql).keysOf(applicants);
    const shared = applicants.find((id) => applicants.some((o) => o !== id && keys.get(o) === keys.get(id)))!;
    const [approved, referred] = applicants.filter((id) => keys.get(id) === keys.get(shared));
    assert.ok(approved !== undefined && referred !== undefined, 'two applicants on one shard');
    const [policy] = await sql<
      { version: number }[]
    >`select max(version) as version from risk_policy_versions`;
    const decision = (customerId: bigint, outcome: NewDecision['outcome'], lineMinor: bigint | null) => ({
      customerId,
      outcome,
      grade: 'B',
      score: 600,
      lineMinor,
      modelId: null,
      policyVersion: policy!.version,
      inputs: {} as NewDecision['inputs'],
      result: {},
      reasons: [],
      latencyMs: 1,
    });
    const ids = await claimIdGenerator(sql);
    const bad = await fanOuts(
      () =>
        recordDecisions(
          sql,
          [
            decision(approved, 'approve', 400_000n),
            decision(referred, 'refer', null),
            decision(approved, 'approve', 500_000n),
          ],
          ids,
        ),
      { throughCoordinator: 'refused' },
    );
    assert.deepEqual(bad, []);
    const [line] = await sql<{ limit_minor: bigint }[]>`
      select limit_minor from credit_lines where customer_id = ${approved}`;
    assert.equal(line?.limit_minor, 500_000n, 'the later approval set the line');
    const reviews = await sql`select 1 from risk_reviews where customer_id = ${referred} and status = 'open'`;
    assert.equal(reviews.length, 1, 'the referral opened a review');
  });

  /** Registers a customer with a made-up (valid) national id; answers the id. */
  async function register(
    crypto: ReturnType<typeof createFieldCrypto>,
    phone: string,
    n: number,
  ): Promise<bigint> {
    const first17 = `11010119900101${String(n).padStart(3, '0')}`;
    const created = await createCustomer(sql, crypto, {
      phone,
      nationalId: first17 + nationalIdCheckChar(first17),
      legalName: `Routing ${n}`,
      passwordHash: 'not-a-login',
    });
    assert.ok(created.ok, 'registered');
    return created.id;
  }

  test('the check catches a statement that fans out (a loan by id alone)', async () => {
    const [loan] = await listLoans(sql, customerId);
    const bad = await fanOuts(() => getLoan(sql, loan!.id));
    assert.equal(bad.length, 1, 'a look-up without the customer reads every shard');
  });
});

/**
 * Customer-scoped hot paths route to one shard on Citus. Every statement the store issues on the
 * path (captured from the client) is EXPLAINed on the coordinator; a statement that reads or changes
 * a distributed table must plan as `Task Count: 1`. A query added later without its customer fans
 * out to every shard and fails this test (the control at the end shows the check catches one).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import postgres from 'postgres';
import { CURRENT_AGREEMENT_VERSION } from '../../src/domain/agreement.ts';
import { listAcceptances, markUsed, recordAcceptance, takeAcceptance } from '../../src/store/agreements.ts';
import { customerCollectionNotes, customerDecisions, customerLoans } from '../../src/store/back-office.ts';
import { getCreditLine } from '../../src/store/credit-lines.ts';
import { openPostgres, type Sql } from '../../src/store/db.ts';
import { getInstallments, getLoan, listLoans, loanDisplayNames } from '../../src/store/loans.ts';
import { migrate } from '../../src/store/migrate.ts';
import { settleOrder } from '../../src/store/orders.ts';
import { checkResetCode, revokeCredentials, storeResetCode } from '../../src/store/password-resets.ts';
import { ensureDefaultProducts } from '../../src/store/products.ts';
import { applyRepayment } from '../../src/store/repayments.ts';
import { type CitusCluster, citusUnavailableReason, startCitusCluster } from '../harness/citus.ts';

const BUSINESS_DATE = '2026-03-01';

/** The entry-and-lines insert of postEntry(): one customer_id for the entry and all its lines. */
const LEDGER_WRITER =
  /^\s*with e as \(\s*insert into journal_entries[\s\S]*insert into journal_lines[\s\S]*select e\.id, l\.account_code, \$\d+::bigint/;
const skip = citusUnavailableReason() ?? false;

interface Captured {
  text: string;
  params: unknown[];
}

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

  /** Runs `path` and returns every row statement it sent that did not plan as one task. */
  async function fanOuts(path: () => Promise<unknown>): Promise<string[]> {
    captured = [];
    await path();
    const statements = captured.filter((c) => ROW_STATEMENT.test(c.text));
    assert.ok(statements.length > 0, 'the path sent statements');
    const bad: string[] = [];
    for (const statement of statements) {
      const plan = await taskCounts(statement);
      if (plan.some((count) => count !== 1)) bad.push(`${plan.join(',')} tasks: ${statement.text.trim()}`);
    }
    return bad;
  }

  /** Task Count of each Citus scan in the statement's plan ([] when it touches no distributed table). */
  async function taskCounts(statement: Captured): Promise<number[]> {
    const plan = await planOf(statement);
    return [...plan.matchAll(/Task Count: (\d+)/g)].map((m) => Number(m[1]));
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

  test('the check catches a statement that fans out (a loan by id alone)', async () => {
    const [loan] = await listLoans(sql, customerId);
    const bad = await fanOuts(() => getLoan(sql, loan!.id));
    assert.equal(bad.length, 1, 'a look-up without the customer reads every shard');
  });
});

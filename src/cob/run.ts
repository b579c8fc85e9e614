/**
 * Close of business for one business date: the loop over keyset batches of loan ids, one
 * transaction per batch, each running these named steps over the store (store/cob.ts) and the
 * pure plans (domain/cob.ts):
 *   1. mark installments past their due date overdue,
 *   2. recognise interest: the ledger books a loan's scheduled interest as a receivable against
 *      unearned interest (2300) when the loan is created; an installment's interest is earned on
 *      its due date, and the close moves it to interest income (4100),
 *   3. charge late fees (incrementally up to what the product's rule owes as of the date),
 *   4. recompute days past due and the bucket,
 *   5. write off loans at the threshold (the loan's receivables go to credit losses),
 *   6. stamp each loan's last closed date and advance the run's cursor.
 * Once the date is closed, housekeeping: the log-in throttle's rows past their longest window are
 * purged (auth/throttle.ts). Close of business is the one job every deployment runs daily, in both
 * clock modes (the scheduler, or an operator through the CLI or the API), so the table stays
 * bounded everywhere; a day between purges is well inside what the rows cost.
 *
 * Safe to rerun: a loan stamped for the date is skipped, every journal entry has a unique event key
 * (`cob:<date>:accrual:<loan>`, `cob:<date>:latefee:<loan>:<n>`, `cob:<date>:writeoff:<loan>`), the
 * amounts are "owed as of the date minus already booked", and the cursor in cob_runs moves in the
 * same transaction as the batch, so a run killed at any point continues from its last commit.
 */

import { purgeExpiredThrottles } from '../auth/throttle.ts';
import {
  cobSettings,
  type ProductRules,
  planAccruals,
  planDelinquency,
  planWriteOffs,
} from '../domain/cob.ts';
import type { Bucket } from '../domain/delinquency.ts';
import { DomainError } from '../domain/index.ts';
import {
  activeBuckets,
  addPenalties,
  advanceRun,
  type BatchTally,
  type CobBatch,
  CobRefusedError,
  closeWrittenOff,
  completeRun,
  getRun,
  loadProductRules,
  markOverdue,
  postPlanned,
  readBatch,
  readInterestFacts,
  readWriteOffFacts,
  stampClosed,
  startRun,
  updateStandings,
} from '../store/cob.ts';
import type { Sql, TransactionSql } from '../store/db.ts';
import { emitReminders } from '../store/reminders.ts';
import type { CobStep, CobStepResult } from './steps.ts';

export interface CobProgress {
  date: string;
  loansDone: number;
  loansTotal: number;
  elapsedMs: number;
  loansPerS: number;
  /** Seconds left at the rate of this process so far; null before the first batch. */
  etaS: number | null;
}

export interface CobOptions {
  /** The business date to close, YYYY-MM-DD. */
  date: string;
  batchSize?: number;
  /** Days past due at which loans are written off, unless their product sets `writeOffDpd`. */
  writeOffDpd?: number;
  /** Close a date earlier than the last closed one, or while another date's run is unfinished. */
  force?: boolean;
  onProgress?: (progress: CobProgress) => void;
  /**
   * Steps after the loans (src/cob/steps.ts: merchant settlement, statements), run in order, also
   * when the date was already closed (each is idempotent and resumable on its own).
   */
  steps?: readonly CobStep[];
}

/** What the close did: the batches' tallies summed (BatchTally), with the run's own facts. */
export interface CobSummary extends BatchTally {
  date: string;
  /** false when the date was already closed and nothing was done. */
  ran: boolean;
  /** true when this call continued a run that had stopped part-way. */
  resumed: boolean;
  attempts: number;
  loansTotal: number;
  loansDone: number;
  /** Active loans per bucket after the close (written-off loans are no longer active). */
  buckets: Record<Bucket, number>;
  seconds: number;
  loansPerS: number;
  /** What each step after the loans did, in order. */
  steps: { name: string; result: CobStepResult }[];
}

interface BatchResult {
  finished: boolean;
  loansDone: number;
}

function checkOptions(options: CobOptions): { date: string; batchSize: number; writeOffDpd: number } {
  try {
    return cobSettings(options);
  } catch (err) {
    if (err instanceof DomainError) throw new CobRefusedError('INVALID_COB_OPTIONS', err.message);
    throw err;
  }
}

/** Closes `options.date`; see the module comment for what that means. */
export async function runCob(sql: Sql, options: CobOptions): Promise<CobSummary> {
  const { date, batchSize, writeOffDpd } = checkOptions(options);
  const startedMs = Date.now();
  const start = await sql.begin((tx) => startRun(tx, date, batchSize, writeOffDpd, options.force === true));
  if (start.alreadyClosed) return withSteps(await summarise(sql, date, false, false, startedMs, 0), options);

  const products = await loadProductRules(sql, writeOffDpd);
  let loansTotal = start.loansTotal;
  let doneThisCall = 0;
  for (;;) {
    const result = await sql.begin((tx) => closeBatch(tx, date, batchSize, products));
    doneThisCall = result.loansDone - start.loansDone;
    // loans booked during the run land after the cursor and are closed too
    loansTotal = Math.max(loansTotal, result.loansDone);
    const elapsedMs = Date.now() - startedMs;
    const loansPerS = elapsedMs > 0 ? (doneThisCall * 1000) / elapsedMs : 0;
    options.onProgress?.({
      date,
      loansDone: result.loansDone,
      loansTotal,
      elapsedMs,
      loansPerS,
      etaS: loansPerS > 0 ? Math.max(0, loansTotal - result.loansDone) / loansPerS : null,
    });
    if (result.finished) break;
  }
  await purgeExpiredThrottles(sql);
  return withSteps(await summarise(sql, date, true, start.resumed, startedMs, doneThisCall), options);
}

async function withSteps(summary: CobSummary, options: CobOptions): Promise<CobSummary> {
  for (const step of options.steps ?? []) {
    summary.steps.push({ name: step.name, result: await step.run(summary.date) });
  }
  return summary;
}

/** One batch of loans, steps 1 to 6 of the module comment, in one transaction. */
async function closeBatch(
  tx: TransactionSql,
  date: string,
  batchSize: number,
  products: Map<string, ProductRules>,
): Promise<BatchResult> {
  const batch = await readBatch(tx, date, batchSize, products);
  if (batch.run.status === 'completed') return { finished: true, loansDone: batch.run.loans_done };
  if (batch.cursorLoans.length === 0) {
    await completeRun(tx, date);
    return { finished: true, loansDone: batch.run.loans_done };
  }
  const tally = await closeLoans(tx, date, batch);
  // 6. stamp the loans and move the cursor, in this same transaction
  await stampClosed(tx, date, batch.todo);
  const loansDone = batch.run.loans_done + batch.cursorLoans.length;
  await advanceRun(tx, date, batch.cursorLoans[batch.cursorLoans.length - 1]!, loansDone, tally);
  return { finished: false, loansDone };
}

/** Steps 1 to 5 for the loans of a batch not yet closed for the date. */
async function closeLoans(tx: TransactionSql, date: string, batch: CobBatch): Promise<BatchTally> {
  const todo = batch.todo;
  // 1. overdue
  const installmentsOverdue = await markOverdue(
    tx,
    date,
    todo.map((l) => l.id),
  );
  // 2. interest earned
  const accrued = await postPlanned(tx, date, planAccruals(date, await readInterestFacts(tx, date, todo)));
  // 3. late fees, 4. days past due and bucket, and who reaches the write-off threshold
  const delinquency = planDelinquency(date, todo);
  const charged = await postPlanned(tx, date, delinquency.fees);
  await addPenalties(tx, charged);
  await updateStandings(tx, delinquency.standings);
  // 5. write-offs, after today's interest and late fees so they are written off too
  const writtenOff = await writeOff(
    tx,
    date,
    todo.filter((l) => delinquency.writeOffs.has(l.id)),
  );
  // 6. reminders and overdue notices for the day that opens (outbox events)
  await emitReminders(
    tx,
    date,
    todo.filter((l) => !delinquency.writeOffs.has(l.id)),
  );
  return {
    installmentsOverdue,
    accrualEntries: accrued.length,
    interestAccruedMinor: accrued.reduce((sum, a) => sum + a.minor, 0n),
    lateFeeEntries: charged.length,
    lateFeesMinor: charged.reduce((sum, c) => sum + c.feeMinor, 0n),
    loansWrittenOff: writtenOff.loans,
    writtenOffMinor: writtenOff.minor,
  };
}

/** What the ledger holds for each loan moves to credit losses; the loans close as written off. */
async function writeOff(
  tx: TransactionSql,
  date: string,
  loans: readonly { id: bigint; customerId: bigint }[],
): Promise<{ loans: number; minor: bigint }> {
  if (loans.length === 0) return { loans: 0, minor: 0n };
  const posted = await postPlanned(tx, date, planWriteOffs(date, await readWriteOffFacts(tx, loans)));
  await closeWrittenOff(
    tx,
    loans.map((l) => l.id),
    date,
  );
  return { loans: loans.length, minor: posted.reduce((sum, p) => sum + p.lossMinor, 0n) };
}

async function summarise(
  sql: Sql,
  date: string,
  ran: boolean,
  resumed: boolean,
  startedMs: number,
  doneThisCall: number,
): Promise<CobSummary> {
  const run = await getRun(sql, date);
  const buckets = await activeBuckets(sql);
  const seconds = (Date.now() - startedMs) / 1000;
  return {
    date,
    ran,
    resumed,
    attempts: run.attempts,
    loansTotal: run.loans_total,
    loansDone: run.loans_done,
    installmentsOverdue: run.installments_overdue,
    accrualEntries: run.accrual_entries,
    interestAccruedMinor: run.interest_accrued_minor,
    lateFeeEntries: run.late_fee_entries,
    lateFeesMinor: run.late_fees_minor,
    loansWrittenOff: run.loans_written_off,
    writtenOffMinor: run.written_off_minor,
    buckets,
    seconds,
    loansPerS: seconds > 0 ? doneThisCall / seconds : 0,
    steps: [],
  };
}

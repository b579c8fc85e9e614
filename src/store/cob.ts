/**
 * Close of business in the database: the run row (cob_runs) with its cursor, the batch of loans
 * and the facts the plans need (domain/cob.ts), and the statements that apply those plans. Every
 * function runs in the caller's transaction; cob/run.ts runs them in order, one transaction
 * per batch.
 */

import type {
  CobLoan,
  InterestFacts,
  LateFeeCharge,
  PlannedEntry,
  ProductRules,
  WriteOffFacts,
} from '../domain/cob.ts';
import {
  BUCKETS,
  type Bucket,
  type InstallmentState,
  type InstallmentStatus,
  standingDateAfterClose,
  writeOffDpdOf,
} from '../domain/delinquency.ts';
import { loanClosedEvent } from '../domain/events.ts';
import { addDays, invariant } from '../domain/index.ts';
import { ACCOUNTS, RECEIVABLE_ACCOUNTS } from '../domain/postings.ts';
import { advanceAfterClose } from './business-clock.ts';
import type { Sql, TransactionSql } from './db.ts';
import { postEntries } from './ledger.ts';
import type { InstallmentAmountColumns } from './loans.ts';
import { emitEvents } from './outbox.ts';
import { type ProductRow, productFromRow } from './products.ts';

/** What a write-off clears of a loan: its receivables, and the interest it had not yet earned. */
const WRITE_OFF_ACCOUNTS: readonly string[] = [...RECEIVABLE_ACCOUNTS, ACCOUNTS.unearnedInterest];
/** Stands for "never closed" in a date array (postgres arrays of dates with nulls are awkward). */
const NEVER_CLOSED_DATE = '1900-01-01';

export type CobRefusalCode = 'DATE_BEFORE_LAST_CLOSE' | 'OTHER_RUN_INCOMPLETE' | 'INVALID_COB_OPTIONS';

/** The close will not run as asked; nothing was changed. */
export class CobRefusedError extends Error {
  override name = 'CobRefusedError';
  constructor(
    readonly code: CobRefusalCode,
    message: string,
  ) {
    super(message);
  }
}

export interface RunRow {
  status: 'running' | 'completed';
  cursor_loan_id: bigint;
  loans_total: number;
  loans_done: number;
  attempts: number;
  installments_overdue: number;
  accrual_entries: number;
  interest_accrued_minor: bigint;
  late_fee_entries: number;
  late_fees_minor: bigint;
  loans_written_off: number;
  written_off_minor: bigint;
}

interface LoanRow {
  id: bigint;
  customer_id: bigint;
  product_id: bigint;
  days_past_due: number;
  bucket: Bucket;
  last_closed_date: string | null;
  paused_until: string | null;
}

interface InstallmentRow extends InstallmentAmountColumns {
  loan_id: bigint;
  number: number;
  due_date: string;
  status: InstallmentStatus;
}

const ids = (values: readonly bigint[]): string[] => values.map(String);

export interface StartResult {
  alreadyClosed: boolean;
  resumed: boolean;
  loansTotal: number;
  loansDone: number;
}

/** Refuses a close out of order (another date unfinished, or before the last closed one). */
async function checkRunOrder(tx: TransactionSql, date: string, force: boolean): Promise<void> {
  const unfinished = await tx<{ d: string }[]>`
    select business_date::text as d from cob_runs
    where status = 'running' and business_date <> ${date}::date order by business_date limit 1`;
  if (unfinished[0] && !force) {
    throw new CobRefusedError(
      'OTHER_RUN_INCOMPLETE',
      `the close of ${unfinished[0].d} did not finish: rerun it first (or pass --force)`,
    );
  }
  const [last] = await tx<{ d: string | null }[]>`
    select max(business_date)::text as d from cob_runs where status = 'completed'`;
  if (last?.d && date < last.d && !force) {
    throw new CobRefusedError(
      'DATE_BEFORE_LAST_CLOSE',
      `${date} is before the last closed date ${last.d}; closing it would report a stale state (or pass --force)`,
    );
  }
}

/** Starts, resumes or (forced) restarts the run of `date`; says when it is already closed. */
export async function startRun(
  tx: TransactionSql,
  date: string,
  batchSize: number,
  writeOffDpd: number,
  force: boolean,
): Promise<StartResult> {
  // one starter at a time; batches serialise on the run row itself
  await tx`lock table cob_runs in share row exclusive mode`;
  await checkRunOrder(tx, date, force);
  const [run] = await tx<RunRow[]>`select * from cob_runs where business_date = ${date}::date`;
  if (run?.status === 'completed' && !force) {
    return { alreadyClosed: true, resumed: false, loansTotal: run.loans_total, loansDone: run.loans_done };
  }
  if (run) {
    // resuming after a crash keeps the cursor; forcing a completed date walks every loan again
    // (loans already stamped for the date are skipped, so it only closes loans it missed)
    const restart = run.status === 'completed';
    const cursor = restart ? 0n : run.cursor_loan_id;
    const done = restart ? 0 : run.loans_done;
    const [{ n } = { n: 0 }] = await tx<{ n: number }[]>`
      select count(*)::int as n from loans where status = 'active' and id > ${cursor.toString()}::bigint`;
    await tx`
      update cob_runs set status = 'running', cursor_loan_id = ${cursor.toString()}::bigint,
        loans_done = ${done}, loans_total = ${done + n}, batch_size = ${batchSize},
        write_off_dpd = ${writeOffDpd}, attempts = attempts + 1, finished_at = null
      where business_date = ${date}::date`;
    return { alreadyClosed: false, resumed: !restart, loansTotal: done + n, loansDone: done };
  }
  const [{ n } = { n: 0 }] = await tx<{ n: number }[]>`
    select count(*)::int as n from loans where status = 'active'`;
  await tx`
    insert into cob_runs (business_date, status, loans_total, batch_size, write_off_dpd)
    values (${date}::date, 'running', ${n}, ${batchSize}, ${writeOffDpd})`;
  return { alreadyClosed: false, resumed: false, loansTotal: n, loansDone: 0 };
}

/** Every product's rules for the close, by product id. */
export async function loadProductRules(
  sql: Sql,
  defaultWriteOffDpd: number,
): Promise<Map<string, ProductRules>> {
  const rows = await sql<ProductRow[]>`
    select id, code, kind, active, apr_cap_bp, terms, version from loan_products`;
  const products = new Map<string, ProductRules>();
  for (const row of rows) {
    const product = productFromRow(row);
    products.set(String(row.id), {
      product,
      writeOffDpd: product.writeOffDpd ?? writeOffDpdOf(row.terms, defaultWriteOffDpd),
    });
  }
  return products;
}

function toState(row: InstallmentRow): InstallmentState {
  return {
    number: row.number,
    dueDate: row.due_date,
    status: row.status,
    principalMinor: row.principal_minor,
    interestMinor: row.interest_minor,
    feeMinor: row.fee_minor,
    penaltyMinor: row.penalty_minor,
    paidPrincipalMinor: row.paid_principal_minor,
    paidInterestMinor: row.paid_interest_minor,
    paidFeeMinor: row.paid_fee_minor,
    paidPenaltyMinor: row.paid_penalty_minor,
  };
}

/** The next batch of a run: the run row locked, its loans after the cursor, and those still to close. */
export interface CobBatch {
  run: RunRow;
  /** Active loans after the cursor, in id order (empty: the run is at its end). */
  cursorLoans: bigint[];
  /** Those not yet stamped for the date, with what the plans need. */
  todo: (CobLoan & { lastClosedDate: string | null })[];
}

/**
 * Locks the run row (concurrent runners of one date take turns, each continuing the cursor) and
 * reads the batch; only installments already past due decide anything today (the rest matter
 * only to a write-off, which reads the ledger).
 */
export async function readBatch(
  tx: TransactionSql,
  date: string,
  batchSize: number,
  products: Map<string, ProductRules>,
): Promise<CobBatch> {
  // short index-driven statements: compiling them (JIT) costs more than running them
  await tx`set local jit = off`;
  const [run] = await tx<RunRow[]>`select * from cob_runs where business_date = ${date}::date for update`;
  invariant(run !== undefined, `cob run for ${date} exists`);
  if (run.status === 'completed') return { run, cursorLoans: [], todo: [] };
  const loans = await tx<LoanRow[]>`
    select l.id, l.customer_id, l.product_id, l.days_past_due, l.bucket,
      m.last_closed_date::text as last_closed_date, c.paused_until::text as paused_until
    from loans l left join loan_cob_marks m on m.customer_id = l.customer_id and m.loan_id = l.id
      left join collection_cases c on c.customer_id = l.customer_id and c.loan_id = l.id
    where l.status = 'active' and l.id > ${run.cursor_loan_id.toString()}::bigint
    order by l.id limit ${batchSize}`;
  const todo = loans.filter((l) => l.last_closed_date === null || l.last_closed_date < date);
  const pastDue = await tx<InstallmentRow[]>`
    select loan_id, number, due_date::text as due_date, status, principal_minor, interest_minor, fee_minor,
      -- what the late fee rule has charged so far: a waived penalty is not charged again
      penalty_minor + waived_penalty_minor as penalty_minor, paid_principal_minor, paid_interest_minor, paid_fee_minor, paid_penalty_minor
    from installments
    where loan_id = any(${ids(todo.map((l) => l.id))}::bigint[]) and status in ('due', 'overdue')
      and due_date < ${standingDateAfterClose(date)}::date`;
  const byLoan = new Map<string, InstallmentState[]>();
  for (const row of pastDue) {
    const list = byLoan.get(String(row.loan_id)) ?? [];
    list.push(toState(row));
    byLoan.set(String(row.loan_id), list);
  }
  return {
    run,
    cursorLoans: loans.map((l) => l.id),
    todo: todo.map((l) => {
      const rules = products.get(String(l.product_id));
      invariant(rules !== undefined, `product ${l.product_id} of loan ${l.id} exists`);
      return {
        id: l.id,
        customerId: l.customer_id,
        daysPastDue: l.days_past_due,
        bucket: l.bucket,
        rules,
        pastDue: byLoan.get(String(l.id)) ?? [],
        lastClosedDate: l.last_closed_date,
        pausedThrough: l.paused_until,
      };
    }),
  };
}

/** The run is done; a manual business clock moves on to the next day (store/business-clock.ts). */
export async function completeRun(tx: TransactionSql, date: string): Promise<void> {
  await tx`update cob_runs set status = 'completed', finished_at = now() where business_date = ${date}::date`;
  await advanceAfterClose(tx, date);
}

/** Installments unpaid at the end of their due date become overdue (standingDateAfterClose); how many did. */
export async function markOverdue(
  tx: TransactionSql,
  date: string,
  loanIds: readonly bigint[],
): Promise<number> {
  const overdue = await tx`
    update installments set status = 'overdue'
    where loan_id = any(${ids(loanIds)}::bigint[]) and status = 'due'
      and due_date < ${standingDateAfterClose(date)}::date`;
  return overdue.count;
}

/**
 * The accrual's facts of the loans with an installment that fell due since their last close (only
 * those can have anything new). Every look-up goes by loan id (an index) for the batch's loans
 * only: the batch drives, not the tables. Grouped joins, not lateral ones, so a sharded database
 * (Citus) runs them on every shard in parallel; a loan with nothing due by the date has no row in
 * x and nothing to accrue.
 */
export async function readInterestFacts(
  tx: TransactionSql,
  date: string,
  loans: readonly { id: bigint; customerId: bigint; lastClosedDate: string | null }[],
): Promise<InterestFacts[]> {
  if (loans.length === 0) return [];
  const loanIds = ids(loans.map((l) => l.id));
  const rows = await tx<
    { loan_id: bigint; earned_minor: bigint; income_minor: bigint; unearned_minor: bigint }[]
  >`
    with x as (
      select i.loan_id,
        coalesce(sum(i.interest_minor) filter (where i.status <> 'written_off'), 0)::bigint as earned_minor,
        coalesce(bool_or(i.due_date > b.last_closed_date), false) as fell_due
      from installments i
      join unnest(${loanIds}::bigint[],
        ${loans.map((l) => l.lastClosedDate ?? NEVER_CLOSED_DATE)}::date[]) as b(loan_id, last_closed_date)
        on b.loan_id = i.loan_id
      where i.loan_id = any(${loanIds}::bigint[]) and i.due_date <= ${date}::date
      group by i.loan_id
    ), y as (
      select jl.loan_id,
        coalesce(sum(jl.credit_minor - jl.debit_minor)
          filter (where jl.account_code = ${ACCOUNTS.interestIncome}), 0)::bigint as income_minor,
        coalesce(sum(jl.credit_minor - jl.debit_minor)
          filter (where jl.account_code = ${ACCOUNTS.unearnedInterest}), 0)::bigint as unearned_minor
      from journal_lines jl where jl.loan_id = any(${loanIds}::bigint[])
      group by jl.loan_id
    )
    select x.loan_id, x.earned_minor, coalesce(y.income_minor, 0)::bigint as income_minor,
      coalesce(y.unearned_minor, 0)::bigint as unearned_minor
    from x left join y on y.loan_id = x.loan_id
    where x.fell_due`;
  const customerOf = new Map(loans.map((l) => [String(l.id), l.customerId]));
  return rows.map((r) => ({
    loanId: r.loan_id,
    customerId: customerOf.get(String(r.loan_id))!,
    earnedMinor: r.earned_minor,
    incomeMinor: r.income_minor,
    unearnedMinor: r.unearned_minor,
  }));
}

/** Posts planned entries on the date; returns the amounts of those actually posted (a rerun posts none). */
export async function postPlanned<T extends { entry: PlannedEntry }>(
  tx: TransactionSql,
  date: string,
  plan: readonly T[],
): Promise<T[]> {
  const posted = await postEntries(
    tx,
    plan.map((p) => ({ ...p.entry, businessDate: date })),
  );
  return plan.filter((p) => posted.has(p.entry.eventKey));
}

/** Adds the charged late fees to their installments' penalties. */
export async function addPenalties(tx: TransactionSql, charged: readonly LateFeeCharge[]): Promise<void> {
  if (charged.length === 0) return;
  await tx`
    update installments i set penalty_minor = i.penalty_minor + f.fee_minor
    from unnest(${ids(charged.map((c) => c.loanId))}::bigint[], ${charged.map((c) => c.number)}::int[],
      ${charged.map((c) => c.feeMinor.toString())}::bigint[]) as f(loan_id, number, fee_minor)
    where i.loan_id = f.loan_id and i.number = f.number`;
}

export async function updateStandings(
  tx: TransactionSql,
  changes: readonly { id: bigint; dpd: number; bucket: Bucket }[],
): Promise<void> {
  if (changes.length === 0) return;
  await tx`
    update loans l set days_past_due = c.dpd, bucket = c.bucket
    from unnest(${ids(changes.map((c) => c.id))}::bigint[], ${changes.map((c) => c.dpd)}::int[],
      ${changes.map((c) => c.bucket)}::text[]) as c(id, dpd, bucket)
    where l.id = c.id`;
}

/** The ledger balances a write-off clears, per loan. */
export async function readWriteOffFacts(
  tx: TransactionSql,
  loans: readonly { id: bigint; customerId: bigint }[],
): Promise<WriteOffFacts[]> {
  const balances = await tx<{ loan_id: bigint; account_code: string; balance_minor: bigint }[]>`
    select jl.loan_id, jl.account_code, sum(jl.debit_minor - jl.credit_minor)::bigint as balance_minor
    from journal_lines jl
    where jl.loan_id = any(${ids(loans.map((l) => l.id))}::bigint[])
      and jl.account_code = any(${WRITE_OFF_ACCOUNTS}::text[])
    group by jl.loan_id, jl.account_code`;
  const balanceOf = new Map<string, bigint>();
  for (const b of balances) balanceOf.set(`${b.loan_id}:${b.account_code}`, b.balance_minor);
  return loans.map((l) => ({
    loanId: l.id,
    customerId: l.customerId,
    balanceMinor: (account: string) => balanceOf.get(`${l.id}:${account}`) ?? 0n,
  }));
}

/**
 * The loans and their unpaid installments become written_off; the principal they held on the
 * customer's line is released and the line frozen (docs/cob.md).
 */
export async function closeWrittenOff(
  tx: TransactionSql,
  loanIds: readonly bigint[],
  date: string,
): Promise<void> {
  const loanText = ids(loanIds);
  await tx`
    with held as (
      select l.customer_id, sum(i.principal_minor - i.paid_principal_minor)::bigint as principal_minor
      from installments i join loans l on l.customer_id = i.customer_id and l.id = i.loan_id
      where i.loan_id = any(${loanText}::bigint[]) and i.status in ('due', 'overdue')
      group by l.customer_id)
    update credit_lines c set used_minor = greatest(0, c.used_minor - held.principal_minor),
      status = 'frozen', updated_at = now()
    from held where c.customer_id = held.customer_id`;
  await tx`
    update installments set status = 'written_off'
    where loan_id = any(${loanText}::bigint[]) and status in ('due', 'overdue')`;
  const closed = await tx<{ id: bigint; customer_id: bigint }[]>`
    update loans set status = 'written_off', closed_at = now()
    where id = any(${loanText}::bigint[]) and status = 'active'
    returning id, customer_id`;
  await emitEvents(
    tx,
    closed.map((l) => loanClosedEvent('loan.written_off', l.customer_id, l.id, date, 'write-off')),
  );
}

/** Stamps the closed loans for the date (a rerun skips them). */
export async function stampClosed(
  tx: TransactionSql,
  date: string,
  loans: readonly { id: bigint; customerId: bigint }[],
): Promise<void> {
  if (loans.length === 0) return;
  await tx`
    insert into loan_cob_marks (loan_id, customer_id, last_closed_date)
    select m.loan_id, m.customer_id, ${date}::date
    from unnest(${ids(loans.map((l) => l.id))}::bigint[], ${ids(loans.map((l) => l.customerId))}::bigint[])
      as m(loan_id, customer_id)
    on conflict (customer_id, loan_id) do update set last_closed_date = excluded.last_closed_date,
      updated_at = excluded.updated_at
    where loan_cob_marks.last_closed_date < excluded.last_closed_date`;
}

/** What one batch did, added to the run's counters. */
export interface BatchTally {
  installmentsOverdue: number;
  accrualEntries: number;
  interestAccruedMinor: bigint;
  lateFeeEntries: number;
  lateFeesMinor: bigint;
  loansWrittenOff: number;
  writtenOffMinor: bigint;
}

/** Moves the cursor past the batch and adds its tally, in the batch's own transaction. */
export async function advanceRun(
  tx: TransactionSql,
  date: string,
  cursor: bigint,
  loansDone: number,
  t: BatchTally,
): Promise<void> {
  await tx`
    update cob_runs set cursor_loan_id = ${cursor.toString()}::bigint, loans_done = ${loansDone},
      installments_overdue = installments_overdue + ${t.installmentsOverdue},
      accrual_entries = accrual_entries + ${t.accrualEntries},
      interest_accrued_minor = interest_accrued_minor + ${t.interestAccruedMinor.toString()}::bigint,
      late_fee_entries = late_fee_entries + ${t.lateFeeEntries},
      late_fees_minor = late_fees_minor + ${t.lateFeesMinor.toString()}::bigint,
      loans_written_off = loans_written_off + ${t.loansWrittenOff},
      written_off_minor = written_off_minor + ${t.writtenOffMinor.toString()}::bigint
    where business_date = ${date}::date`;
}

export async function getRun(sql: Sql, date: string): Promise<RunRow> {
  const [run] = await sql<RunRow[]>`select * from cob_runs where business_date = ${date}::date`;
  invariant(run !== undefined, `cob run for ${date} exists`);
  return run;
}

/** Active loans per bucket. */
export async function activeBuckets(sql: Sql): Promise<Record<Bucket, number>> {
  const rows = await sql<{ bucket: Bucket; n: number }[]>`
    select bucket, count(*)::int as n from loans where status = 'active' group by bucket`;
  const buckets = Object.fromEntries(BUCKETS.map((b) => [b, 0])) as Record<Bucket, number>;
  for (const row of rows) buckets[row.bucket] = row.n;
  return buckets;
}

/** The day after the last closed date, for a scheduler that closes "the next day". */
export async function nextDateToClose(sql: Sql): Promise<string | null> {
  const [row] = await sql<{ d: string | null }[]>`
    select max(business_date)::text as d from cob_runs where status = 'completed'`;
  return row?.d ? addDays(row.d, 1) : null;
}

/** The run recorded for a date, if the date was ever started. */
export async function findRun(
  sql: Sql,
  date: string,
): Promise<(RunRow & { finished_at: Date | null }) | undefined> {
  const [run] = await sql<(RunRow & { finished_at: Date | null })[]>`
    select * from cob_runs where business_date = ${date}::date`;
  return run;
}

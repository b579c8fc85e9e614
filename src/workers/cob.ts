/**
 * Close of business for one business date: for every active loan, in keyset batches of loan ids,
 * one transaction per batch,
 *   1. mark installments past their due date overdue,
 *   2. recognise interest: the ledger books a loan's scheduled interest as a receivable against
 *      unearned interest (2300) when the loan is created; an installment's interest is earned on
 *      its due date, and the close moves it to interest income (4100),
 *   3. charge late fees (incrementally up to what the product's rule owes as of the date),
 *   4. recompute days past due and the bucket,
 *   5. write off loans at the threshold (the loan's receivables go to credit losses),
 *   6. stamp each loan's last closed date and advance the run's cursor.
 *
 * Safe to rerun: a loan stamped for the date is skipped, every journal entry has a unique event key
 * (`cob:<date>:accrual:<loan>`, `cob:<date>:latefee:<loan>:<n>`, `cob:<date>:writeoff:<loan>`), the
 * amounts are "owed as of the date minus already booked", and the cursor in cob_runs moves in the
 * same transaction as the batch, so a run killed at any point continues from its last commit.
 */

import {
  BUCKETS,
  type Bucket,
  bucketFor,
  DEFAULT_WRITE_OFF_DPD,
  daysPastDue,
  type InstallmentState,
  type InstallmentStatus,
  isOverdue,
  lateFeeDueMinor,
  MAX_WRITE_OFF_DPD,
  reachesWriteOff,
  writeOffDpdOf,
} from '../domain/delinquency.ts';
import { addDays, DomainError, invariant, type LoanProduct, parseDate } from '../domain/index.ts';
import {
  ACCOUNTS,
  accrualPostings,
  lateFeePostings,
  type Posting,
  RECEIVABLE_ACCOUNTS,
  type WriteOff as WriteOffAmounts,
  writeOffPostings,
} from '../domain/postings.ts';
import type { Sql, TransactionSql } from '../store/db.ts';
import type { InstallmentAmountColumns } from '../store/loans.ts';
import { type ProductRow, productFromRow } from '../store/products.ts';

export const DEFAULT_COB_BATCH_SIZE = 2000;
export const MAX_COB_BATCH_SIZE = 50_000;

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
}

export interface CobSummary {
  date: string;
  /** false when the date was already closed and nothing was done. */
  ran: boolean;
  /** true when this call continued a run that had stopped part-way. */
  resumed: boolean;
  attempts: number;
  loansTotal: number;
  loansDone: number;
  installmentsOverdue: number;
  accrualEntries: number;
  interestAccruedMinor: bigint;
  lateFeeEntries: number;
  lateFeesMinor: bigint;
  loansWrittenOff: number;
  writtenOffMinor: bigint;
  /** Active loans per bucket after the close (written-off loans are no longer active). */
  buckets: Record<Bucket, number>;
  seconds: number;
  loansPerS: number;
}

interface RunRow {
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
}

interface InstallmentRow extends InstallmentAmountColumns {
  loan_id: bigint;
  number: number;
  due_date: string;
  status: InstallmentStatus;
}

interface ProductRules {
  product: LoanProduct;
  writeOffDpd: number;
}

interface Entry {
  eventKey: string;
  customerId: bigint;
  loanId: bigint;
  posting: Posting;
}

interface BatchResult {
  finished: boolean;
  loansDone: number;
}

function checkOptions(options: CobOptions): { date: string; batchSize: number; writeOffDpd: number } {
  let date: string;
  try {
    date = parseDate(options.date);
  } catch (err) {
    if (err instanceof DomainError) throw new CobRefusedError('INVALID_COB_OPTIONS', err.message);
    throw err;
  }
  const batchSize = options.batchSize ?? DEFAULT_COB_BATCH_SIZE;
  const writeOffDpd = options.writeOffDpd ?? DEFAULT_WRITE_OFF_DPD;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > MAX_COB_BATCH_SIZE) {
    throw new CobRefusedError('INVALID_COB_OPTIONS', `batch size must be from 1 to ${MAX_COB_BATCH_SIZE}`);
  }
  if (!Number.isInteger(writeOffDpd) || writeOffDpd < 1 || writeOffDpd > MAX_WRITE_OFF_DPD) {
    throw new CobRefusedError(
      'INVALID_COB_OPTIONS',
      `write-off days past due must be from 1 to ${MAX_WRITE_OFF_DPD}`,
    );
  }
  return { date, batchSize, writeOffDpd };
}

const ids = (values: readonly bigint[]): string[] => values.map(String);

/** Closes `options.date`; see the module comment for what that means. */
export async function runCob(sql: Sql, options: CobOptions): Promise<CobSummary> {
  const { date, batchSize, writeOffDpd } = checkOptions(options);
  const startedMs = Date.now();
  const start = await sql.begin((tx) => startRun(tx, date, batchSize, writeOffDpd, options.force === true));
  if (start.alreadyClosed) return summarise(sql, date, false, false, startedMs, 0);

  const products = await loadProducts(sql, writeOffDpd);
  let loansTotal = start.loansTotal;
  let doneThisCall = 0;
  const doneAtStart = start.loansDone;
  for (;;) {
    const result = await sql.begin((tx) => closeBatch(tx, date, batchSize, products));
    doneThisCall = result.loansDone - doneAtStart;
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
  return summarise(sql, date, true, start.resumed, startedMs, doneThisCall);
}

interface StartResult {
  alreadyClosed: boolean;
  resumed: boolean;
  loansTotal: number;
  loansDone: number;
}

async function startRun(
  tx: TransactionSql,
  date: string,
  batchSize: number,
  writeOffDpd: number,
  force: boolean,
): Promise<StartResult> {
  // one starter at a time; batches serialise on the run row itself
  await tx`lock table cob_runs in share row exclusive mode`;
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

async function loadProducts(sql: Sql, defaultWriteOffDpd: number): Promise<Map<string, ProductRules>> {
  const rows = await sql<ProductRow[]>`
    select id, code, kind, active, apr_cap_bp, terms, version from loan_products`;
  const products = new Map<string, ProductRules>();
  for (const row of rows) {
    products.set(String(row.id), {
      product: productFromRow(row),
      writeOffDpd: writeOffDpdOf(row.terms, defaultWriteOffDpd),
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

async function closeBatch(
  tx: TransactionSql,
  date: string,
  batchSize: number,
  products: Map<string, ProductRules>,
): Promise<BatchResult> {
  // the row lock makes concurrent runners of one date take turns, each continuing the cursor
  // short index-driven statements: compiling them (JIT) costs more than running them
  await tx`set local jit = off`;
  const [run] = await tx<RunRow[]>`select * from cob_runs where business_date = ${date}::date for update`;
  invariant(run !== undefined, `cob run for ${date} exists`);
  if (run.status === 'completed') return { finished: true, loansDone: run.loans_done };

  const loans = await tx<LoanRow[]>`
    select l.id, l.customer_id, l.product_id, l.days_past_due, l.bucket,
      m.last_closed_date::text as last_closed_date
    from loans l left join loan_cob_marks m on m.customer_id = l.customer_id and m.loan_id = l.id
    where l.status = 'active' and l.id > ${run.cursor_loan_id.toString()}::bigint
    order by l.id limit ${batchSize}`;
  if (loans.length === 0) {
    await tx`update cob_runs set status = 'completed', finished_at = now() where business_date = ${date}::date`;
    return { finished: true, loansDone: run.loans_done };
  }
  const todo = loans.filter((l) => l.last_closed_date === null || l.last_closed_date < date);
  const todoIds = ids(todo.map((l) => l.id));

  // only installments already past due decide anything today; the rest matter only to a write-off
  const pastDue = await tx<InstallmentRow[]>`
    select loan_id, number, due_date::text as due_date, status, principal_minor, interest_minor, fee_minor,
      penalty_minor, paid_principal_minor, paid_interest_minor, paid_fee_minor, paid_penalty_minor
    from installments
    where loan_id = any(${todoIds}::bigint[]) and status in ('due', 'overdue') and due_date < ${date}::date`;
  const byLoan = new Map<string, InstallmentState[]>();
  for (const row of pastDue) {
    const key = String(row.loan_id);
    const list = byLoan.get(key) ?? [];
    list.push(toState(row));
    byLoan.set(key, list);
  }

  // 1. overdue
  const overdue = await tx`
    update installments set status = 'overdue'
    where loan_id = any(${todoIds}::bigint[]) and status = 'due' and due_date < ${date}::date`;

  // 2. interest earned
  const accrued = await accrueInterest(tx, date, todo);

  // 3. late fees, 4. days past due and bucket, and who reaches the write-off threshold
  const feeEntries: Entry[] = [];
  const feeByKey = new Map<string, { loanId: bigint; number: number; feeMinor: bigint }>();
  const dpdChanges: { id: bigint; dpd: number; bucket: Bucket }[] = [];
  const writeOffs: LoanRow[] = [];
  for (const loan of todo) {
    const rules = products.get(String(loan.product_id));
    invariant(rules !== undefined, `product ${loan.product_id} of loan ${loan.id} exists`);
    const installments = byLoan.get(String(loan.id)) ?? [];
    for (const installment of installments) {
      const feeMinor = lateFeeDueMinor(rules.product, installment, date);
      if (feeMinor === 0n) continue;
      const eventKey = `cob:${date}:latefee:${loan.id}:${installment.number}`;
      feeByKey.set(eventKey, { loanId: loan.id, number: installment.number, feeMinor });
      const ref = { customerId: loan.customer_id, loanId: loan.id };
      feeEntries.push({ eventKey, ...ref, posting: lateFeePostings(ref, feeMinor) });
    }
    const dpd = daysPastDue(installments, date);
    invariant(
      installments.every((i) => isOverdue(i, date)),
      'every fetched installment is past due',
    );
    const bucket = bucketFor(dpd);
    if (dpd !== loan.days_past_due || bucket !== loan.bucket) dpdChanges.push({ id: loan.id, dpd, bucket });
    if (reachesWriteOff(dpd, rules.writeOffDpd)) writeOffs.push(loan);
  }

  const posted = await postEntries(tx, date, feeEntries);
  let lateFeesMinor = 0n;
  const charged = [...posted].map((key) => feeByKey.get(key)!);
  for (const c of charged) lateFeesMinor += c.feeMinor;
  if (charged.length > 0) {
    await tx`
      update installments i set penalty_minor = i.penalty_minor + f.fee_minor
      from unnest(${ids(charged.map((c) => c.loanId))}::bigint[], ${charged.map((c) => c.number)}::int[],
        ${charged.map((c) => c.feeMinor.toString())}::bigint[]) as f(loan_id, number, fee_minor)
      where i.loan_id = f.loan_id and i.number = f.number`;
  }

  if (dpdChanges.length > 0) {
    await tx`
      update loans l set days_past_due = c.dpd, bucket = c.bucket
      from unnest(${ids(dpdChanges.map((c) => c.id))}::bigint[], ${dpdChanges.map((c) => c.dpd)}::int[],
        ${dpdChanges.map((c) => c.bucket)}::text[]) as c(id, dpd, bucket)
      where l.id = c.id`;
  }

  // 5. write-offs, after today's interest and late fees so they are written off too
  const writtenOff = writeOffs.length > 0 ? await writeOff(tx, date, writeOffs) : { loans: 0, minor: 0n };

  // 6. stamp the loans and move the cursor, in this same transaction
  if (todo.length > 0) {
    await tx`
      insert into loan_cob_marks (loan_id, customer_id, last_closed_date)
      select m.loan_id, m.customer_id, ${date}::date
      from unnest(${todoIds}::bigint[], ${ids(todo.map((l) => l.customer_id))}::bigint[]) as m(loan_id, customer_id)
      on conflict (customer_id, loan_id) do update set last_closed_date = excluded.last_closed_date,
        updated_at = excluded.updated_at
      where loan_cob_marks.last_closed_date < excluded.last_closed_date`;
  }
  const cursor = loans[loans.length - 1]!.id;
  const loansDone = run.loans_done + loans.length;
  await tx`
    update cob_runs set cursor_loan_id = ${cursor.toString()}::bigint, loans_done = ${loansDone},
      installments_overdue = installments_overdue + ${overdue.count},
      accrual_entries = accrual_entries + ${accrued.entries},
      interest_accrued_minor = interest_accrued_minor + ${accrued.minor.toString()}::bigint,
      late_fee_entries = late_fee_entries + ${charged.length},
      late_fees_minor = late_fees_minor + ${lateFeesMinor.toString()}::bigint,
      loans_written_off = loans_written_off + ${writtenOff.loans},
      written_off_minor = written_off_minor + ${writtenOff.minor.toString()}::bigint
    where business_date = ${date}::date`;
  return { finished: false, loansDone };
}

/**
 * Interest of every installment due by `date` is earned. Only loans with an installment that fell
 * due since their last close can have anything new; for those, what should be in income by now is
 * compared with what the ledger already holds for the loan, so a skipped day, a rerun, or interest
 * the repayment code recognised itself (an early payoff) never books a fen twice. Never more than
 * the loan still holds as unearned.
 */
async function accrueInterest(
  tx: TransactionSql,
  date: string,
  loans: LoanRow[],
): Promise<{ entries: number; minor: bigint }> {
  if (loans.length === 0) return { entries: 0, minor: 0n };
  // Every look-up goes by loan id (an index) for the batch's loans only: the batch drives, not the
  // tables. Grouped joins, not lateral ones, so a sharded database (Citus) runs them on every shard
  // in parallel; a loan with nothing due by the date has no row in x and nothing to accrue.
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
        ${loans.map((l) => l.last_closed_date ?? NEVER_CLOSED_DATE)}::date[]) as b(loan_id, last_closed_date)
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
  const customerOf = new Map(loans.map((l) => [String(l.id), l.customer_id]));
  const entries: Entry[] = [];
  const amounts = new Map<string, bigint>();
  for (const row of rows) {
    let minor = row.earned_minor - row.income_minor;
    if (minor > row.unearned_minor) minor = row.unearned_minor;
    if (minor <= 0n) continue;
    const eventKey = `cob:${date}:accrual:${row.loan_id}`;
    amounts.set(eventKey, minor);
    const ref = { customerId: customerOf.get(String(row.loan_id))!, loanId: row.loan_id };
    entries.push({ eventKey, ...ref, posting: accrualPostings(ref, minor) });
  }
  const posted = await postEntries(tx, date, entries);
  let minor = 0n;
  for (const key of posted) minor += amounts.get(key)!;
  return { entries: posted.size, minor };
}

/**
 * Writes journal entries in two set-based statements. An entry whose event key is already in the
 * ledger is skipped with its lines; the keys actually written come back, so the caller changes
 * balances only for those.
 */
async function postEntries(tx: TransactionSql, date: string, entries: Entry[]): Promise<Set<string>> {
  if (entries.length === 0) return new Set();
  const inserted = await tx<{ id: bigint; event_key: string }[]>`
    insert into journal_entries (kind, business_date, customer_id, loan_id, event_key)
    select e.kind, ${date}::date, e.customer_id, e.loan_id, e.event_key
    from unnest(${entries.map((e) => e.posting.kind)}::text[], ${ids(entries.map((e) => e.customerId))}::bigint[],
      ${ids(entries.map((e) => e.loanId))}::bigint[], ${entries.map((e) => e.eventKey)}::text[])
      as e(kind, customer_id, loan_id, event_key)
    on conflict (customer_id, event_key) do nothing
    returning id, event_key`;
  const idByKey = new Map(inserted.map((r) => [r.event_key, r.id]));
  const entryIds: string[] = [];
  const accounts: string[] = [];
  const customers: string[] = [];
  const loans: string[] = [];
  const debits: string[] = [];
  const credits: string[] = [];
  for (const entry of entries) {
    const id = idByKey.get(entry.eventKey);
    if (id === undefined) continue;
    let balance = 0n;
    for (const line of entry.posting.lines) {
      balance += line.debitMinor - line.creditMinor;
      entryIds.push(String(id));
      accounts.push(line.account);
      customers.push(String(entry.customerId));
      loans.push(String(entry.loanId));
      debits.push(line.debitMinor.toString());
      credits.push(line.creditMinor.toString());
    }
    invariant(balance === 0n, `journal entry ${entry.eventKey} balances`);
  }
  if (entryIds.length > 0) {
    await tx`
      insert into journal_lines (entry_id, account_code, customer_id, loan_id, debit_minor, credit_minor)
      select * from unnest(${entryIds}::bigint[], ${accounts}::text[], ${customers}::bigint[],
        ${loans}::bigint[], ${debits}::bigint[], ${credits}::bigint[])`;
  }
  return new Set(idByKey.keys());
}

/**
 * A written-off loan's receivables, whatever the ledger holds for it in principal, interest, fees
 * and penalties, move to credit losses; the loan and its unpaid installments become written_off;
 * the principal it held on the credit line is released and the line frozen (docs/cob.md).
 */
async function writeOff(
  tx: TransactionSql,
  date: string,
  loans: LoanRow[],
): Promise<{ loans: number; minor: bigint }> {
  const loanIds = ids(loans.map((l) => l.id));
  const balances = await tx<{ loan_id: bigint; account_code: string; balance_minor: bigint }[]>`
    select jl.loan_id, jl.account_code, sum(jl.debit_minor - jl.credit_minor)::bigint as balance_minor
    from journal_lines jl
    where jl.loan_id = any(${loanIds}::bigint[]) and jl.account_code = any(${WRITE_OFF_ACCOUNTS}::text[])
    group by jl.loan_id, jl.account_code`;
  const balanceOf = new Map<string, bigint>();
  for (const b of balances) balanceOf.set(`${b.loan_id}:${b.account_code}`, b.balance_minor);
  const entries: Entry[] = [];
  const lossByKey = new Map<string, bigint>();
  for (const loan of loans) {
    const debitBalance = (account: string) => balanceOf.get(`${loan.id}:${account}`) ?? 0n;
    // what the ledger holds for the loan is what leaves it: its sub-ledger ends at zero
    const w: WriteOffAmounts = {
      principalMinor: debitBalance(ACCOUNTS.receivablePrincipal),
      interestMinor: debitBalance(ACCOUNTS.receivableInterest),
      feeMinor: debitBalance(ACCOUNTS.receivableFees),
      penaltyMinor: debitBalance(ACCOUNTS.receivablePenalties),
      unearnedInterestMinor: -debitBalance(ACCOUNTS.unearnedInterest),
    };
    const receivableMinor = w.principalMinor + w.interestMinor + w.feeMinor + w.penaltyMinor;
    if (receivableMinor === 0n && w.unearnedInterestMinor === 0n) continue;
    const eventKey = `cob:${date}:writeoff:${loan.id}`;
    const ref = { customerId: loan.customer_id, loanId: loan.id };
    lossByKey.set(eventKey, receivableMinor - w.unearnedInterestMinor);
    entries.push({ eventKey, ...ref, posting: writeOffPostings(ref, w) });
  }
  let minor = 0n;
  for (const key of await postEntries(tx, date, entries)) minor += lossByKey.get(key)!;

  // the principal still owed is what the loan holds of the customer's line
  await tx`
    with held as (
      select l.customer_id, sum(i.principal_minor - i.paid_principal_minor)::bigint as principal_minor
      from installments i join loans l on l.customer_id = i.customer_id and l.id = i.loan_id
      where i.loan_id = any(${loanIds}::bigint[]) and i.status in ('due', 'overdue')
      group by l.customer_id)
    update credit_lines c set used_minor = greatest(0, c.used_minor - held.principal_minor),
      status = 'frozen', updated_at = now()
    from held where c.customer_id = held.customer_id`;
  await tx`
    update installments set status = 'written_off'
    where loan_id = any(${loanIds}::bigint[]) and status in ('due', 'overdue')`;
  await tx`
    update loans set status = 'written_off', closed_at = now()
    where id = any(${loanIds}::bigint[]) and status = 'active'`;
  return { loans: loans.length, minor };
}

async function summarise(
  sql: Sql,
  date: string,
  ran: boolean,
  resumed: boolean,
  startedMs: number,
  doneThisCall: number,
): Promise<CobSummary> {
  const [run] = await sql<RunRow[]>`select * from cob_runs where business_date = ${date}::date`;
  invariant(run !== undefined, `cob run for ${date} exists`);
  const rows = await sql<{ bucket: Bucket; n: number }[]>`
    select bucket, count(*)::int as n from loans where status = 'active' group by bucket`;
  const buckets = Object.fromEntries(BUCKETS.map((b) => [b, 0])) as Record<Bucket, number>;
  for (const row of rows) buckets[row.bucket] = row.n;
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
  };
}

/** The day after the last closed date, for a scheduler that closes "the next day". */
export async function nextDateToClose(sql: Sql): Promise<string | null> {
  const [row] = await sql<{ d: string | null }[]>`
    select max(business_date)::text as d from cob_runs where status = 'completed'`;
  return row?.d ? addDays(row.d, 1) : null;
}

/**
 * Reprocessing one loan after its payment history changed (a backdated payment, a reversal): the
 * loan is replayed from its schedule (domain/replay.ts) and the difference from what the store
 * holds is written as entries, never by editing the past:
 *   - a loan closed by a payoff the replay no longer has is reopened (its closing entries reversed);
 *   - each live payment whose allocation changed gets a reallocation entry;
 *   - penalties charged differently get one adjustment entry (1130 against 4300);
 *   - the credit line follows the principal repaid; a loan the replay pays off is closed.
 * Every entry's key names the servicing event (`eventId`), so a retried event posts nothing twice.
 * Runs in the caller's transaction with the loan row locked.
 */
import type { Components } from '../../domain/allocation.ts';
import { addDays } from '../../domain/dates.ts';
import { invariant } from '../../domain/index.ts';
import { ACCOUNTS } from '../../domain/postings.ts';

const RECEIVABLE_INTEREST = ACCOUNTS.receivableInterest;

import {
  type ReplayPayment,
  type ReplayResult,
  replayLoan,
  type ScheduledInstallment,
} from '../../domain/replay.ts';
import {
  interestRecalculationPostings,
  netted,
  penaltyAdjustmentPostings,
  reallocationPostings,
} from '../../domain/servicing-postings.ts';
import type { TransactionSql } from '../db.ts';
import { type EntryInput, postEntries } from '../ledger.ts';
import { type Loan, lockLoan } from '../loans.ts';
import { getProduct } from '../products.ts';
import { Refusal } from '../refusal.ts';
import { closePaidOffLoan, refreshStanding } from '../repayments.ts';

interface InstallmentRow {
  number: number;
  due_date: string;
  principal_minor: bigint;
  interest_minor: bigint;
  scheduled_interest_minor: bigint;
  fee_minor: bigint;
  penalty_minor: bigint;
  paid_principal_minor: bigint;
}

interface RepaymentRow {
  id: bigint;
  value_date: string;
  amount_minor: bigint;
  principal_minor: bigint;
  interest_minor: bigint;
  fee_minor: bigint;
  penalty_minor: bigint;
  excess_minor: bigint;
}

interface Facts {
  installments: InstallmentRow[];
  repayments: RepaymentRow[];
  penaltyWaivers: { date: string; number: number; amountMinor: bigint }[];
  closedThrough: string | null;
}

async function readFacts(tx: TransactionSql, loan: Loan): Promise<Facts> {
  const installments = await tx<InstallmentRow[]>`
    select number, due_date::text as due_date, principal_minor, interest_minor,
      coalesce(scheduled_interest_minor, interest_minor) as scheduled_interest_minor, fee_minor, penalty_minor,
      paid_principal_minor
    from installments where customer_id = ${loan.customerId} and loan_id = ${loan.id} order by number`;
  const repayments = await tx<RepaymentRow[]>`
    select id, coalesce(value_date, business_date)::text as value_date, amount_minor, principal_minor,
      interest_minor, fee_minor, penalty_minor, excess_minor
    from repayments where customer_id = ${loan.customerId} and loan_id = ${loan.id} and status = 'posted'
    order by created_at, id`;
  const [mark] = await tx<{ d: string }[]>`
    select last_closed_date::text as d from loan_cob_marks
    where customer_id = ${loan.customerId} and loan_id = ${loan.id}`;
  const waivers = await tx<{ d: string; number: number; amount_minor: bigint }[]>`
    select business_date::text as d, installment_number::integer as number, amount_minor from loan_adjustments
    where customer_id = ${loan.customerId} and loan_id = ${loan.id} and kind = 'waiver' and component = 'penalty'
    order by created_at, id`;
  const penaltyWaivers = waivers.map((w) => ({ date: w.d, number: w.number, amountMinor: w.amount_minor }));
  return { installments, repayments, penaltyWaivers, closedThrough: mark?.d ?? null };
}

/** Replays the loan as it should stand from its schedule and its live payments. */
export async function replayStoredLoan(tx: TransactionSql, loan: Loan, facts: Facts): Promise<ReplayResult> {
  const stored = await getProduct(tx, loan.productId);
  invariant(stored !== null, 'a loan has its product');
  const installments: ScheduledInstallment[] = facts.installments.map((i) => ({
    number: i.number,
    dueDate: i.due_date,
    principalMinor: i.principal_minor,
    interestMinor: i.scheduled_interest_minor,
    feeMinor: i.fee_minor,
  }));
  const payments: ReplayPayment[] = facts.repayments.map((r) => ({
    id: r.id.toString(),
    valueDate: r.value_date,
    amountMinor: r.amount_minor,
  }));
  return replayLoan({
    startDate: loan.startDate,
    loanPrincipalMinor: loan.principalMinor,
    installments,
    payments,
    penaltyWaivers: facts.penaltyWaivers,
    closedThrough: facts.closedThrough,
    product: stored.product,
  });
}

/** Reverses the interest closing entries of a paid-off loan; the loan is active again. */
async function reopen(tx: TransactionSql, loan: Loan, eventKey: string, date: string): Promise<void> {
  const lines = await tx<{ account_code: string; debit_minor: bigint; credit_minor: bigint }[]>`
    select jl.account_code, jl.debit_minor, jl.credit_minor
    from journal_entries je join journal_lines jl on jl.customer_id = je.customer_id and jl.entry_id = je.id
    where je.customer_id = ${loan.customerId} and je.loan_id = ${loan.id}
      and je.kind in ('interest_closing', 'interest_closing_reversal')`;
  const ref = { customerId: loan.customerId, loanId: loan.id };
  const posting = netted(
    'interest_closing_reversal',
    ref,
    lines.map((l) => ({
      ...ref,
      account: l.account_code as (typeof ACCOUNTS)[keyof typeof ACCOUNTS],
      debitMinor: l.credit_minor,
      creditMinor: l.debit_minor,
    })),
  );
  if (posting) await postEntries(tx, [{ eventKey, businessDate: date, ...ref, posting }]);
  await tx`
    update installments set interest_minor = coalesce(scheduled_interest_minor, interest_minor)
    where customer_id = ${loan.customerId} and loan_id = ${loan.id}`;
  await tx`
    update loans set status = 'active', closed_at = null
    where customer_id = ${loan.customerId} and id = ${loan.id}`;
}

const splitOf = (r: RepaymentRow): Components => ({
  principal: r.principal_minor,
  interest: r.interest_minor,
  fee: r.fee_minor,
  penalty: r.penalty_minor,
});

/** Reallocation entries for the payments whose split changed, and their rows brought up to date. */
async function reallocate(
  tx: TransactionSql,
  loan: Loan,
  facts: Facts,
  result: ReplayResult,
  eventId: bigint,
  date: string,
): Promise<void> {
  const ref = { customerId: loan.customerId, loanId: loan.id };
  const entries: EntryInput[] = [];
  for (const r of facts.repayments) {
    const next = result.splits.get(r.id.toString());
    invariant(next !== undefined, 'the replay allocates every live payment');
    const posting = reallocationPostings(ref, {
      before: splitOf(r),
      beforeExcessMinor: r.excess_minor,
      after: next.split,
      afterExcessMinor: next.excessMinor,
    });
    if (!posting) continue;
    entries.push({ eventKey: `repayment:${r.id}:realloc:${eventId}`, businessDate: date, ...ref, posting });
    await tx`
      update repayments set principal_minor = ${next.split.principal}, interest_minor = ${next.split.interest},
        fee_minor = ${next.split.fee}, penalty_minor = ${next.split.penalty}, excess_minor = ${next.excessMinor}
      where customer_id = ${loan.customerId} and id = ${r.id}`;
  }
  const penaltyBefore = facts.installments.reduce((s, i) => s + i.penalty_minor, 0n);
  const penaltyAfter = result.installments.reduce((s, i) => s + i.scheduled.penalty, 0n);
  const penalty = penaltyAdjustmentPostings(ref, penaltyAfter - penaltyBefore);
  if (penalty)
    entries.push({
      eventKey: `loan:${loan.id}:penalties:${eventId}`,
      businessDate: date,
      ...ref,
      posting: penalty,
    });
  await postEntries(tx, entries);
}

/** The installments as the replay says they stand; overdue when unpaid at the end of a closed due date. */
async function writeInstallments(
  tx: TransactionSql,
  loan: Loan,
  result: ReplayResult,
  closedThrough: string | null,
) {
  const list = result.installments;
  const overdueBefore = closedThrough === null ? loan.startDate : addDays(closedThrough, 1);
  await tx`
    update installments i set
      interest_minor = u.interest, penalty_minor = u.penalty, waived_penalty_minor = u.waived,
      paid_principal_minor = u.pp, paid_interest_minor = u.pi, paid_fee_minor = u.pf, paid_penalty_minor = u.ppen,
      status = case when u.pp = i.principal_minor and u.pi = u.interest and u.pf = i.fee_minor and u.ppen = u.penalty
                    then 'paid' when i.due_date < ${overdueBefore}::date then 'overdue' else 'due' end,
      paid_at = case when u.pp = i.principal_minor and u.pi = u.interest and u.pf = i.fee_minor
                      and u.ppen = u.penalty then coalesce(i.paid_at, ${new Date()}) end
    from unnest(${list.map((i) => i.number)}::int[], ${list.map((i) => i.scheduled.interest.toString())}::bigint[],
      ${list.map((i) => i.scheduled.penalty.toString())}::bigint[], ${list.map((i) => i.paid.principal.toString())}::bigint[],
      ${list.map((i) => i.paid.interest.toString())}::bigint[], ${list.map((i) => i.paid.fee.toString())}::bigint[],
      ${list.map((i) => i.paid.penalty.toString())}::bigint[],
      ${list.map((i) => (result.waived.get(i.number) ?? 0n).toString())}::bigint[])
      as u(number, interest, penalty, pp, pi, pf, ppen, waived)
    where i.customer_id = ${loan.customerId} and i.loan_id = ${loan.id} and i.number = u.number`;
}

/** The line follows the principal repaid; a reversal that would overdraw it is refused. */
async function adjustCredit(tx: TransactionSql, loan: Loan, facts: Facts, result: ReplayResult) {
  const before = facts.installments.reduce((s, i) => s + i.paid_principal_minor, 0n);
  const after = result.installments.reduce((s, i) => s + i.paid.principal, 0n);
  const releasedMinor = after - before;
  if (releasedMinor === 0n) return;
  const rows = await tx`
    update credit_lines set used_minor = used_minor - ${releasedMinor}, updated_at = now()
    where customer_id = ${loan.customerId} and used_minor - ${releasedMinor} between 0 and limit_minor`;
  if (rows.count !== 1) {
    throw new Refusal(
      'CORRECTION_EXCEEDS_LINE',
      'undoing the repaid principal would overdraw the credit line',
      {
        principal_minor: (-releasedMinor).toString(),
      },
    );
  }
}

/** Each installment's interest as stored, before a reopen puts the scheduled interest back. */
async function storedInterest(tx: TransactionSql, loan: Loan): Promise<Map<number, bigint>> {
  const rows = await tx<{ number: number; interest_minor: bigint }[]>`
    select number, interest_minor from installments
    where customer_id = ${loan.customerId} and loan_id = ${loan.id}`;
  return new Map(rows.map((r) => [r.number, r.interest_minor]));
}

/** Interest earlier recalculations took off the loan's receivable (net of any put back). */
async function recalculatedBefore(tx: TransactionSql, loan: Loan): Promise<bigint> {
  const [row] = await tx<{ minor: bigint }[]>`
    select coalesce(sum(jl.credit_minor - jl.debit_minor), 0)::bigint as minor
    from journal_entries je join journal_lines jl on jl.customer_id = je.customer_id and jl.entry_id = je.id
    where je.customer_id = ${loan.customerId} and je.loan_id = ${loan.id} and je.kind = 'interest_recalculation'
      and jl.account_code = ${RECEIVABLE_INTEREST}`;
  return row?.minor ?? 0n;
}

/**
 * Interest recalculation moved interest off (or back onto) the installments: the receivable the
 * ledger holds is the scheduled interest less what earlier recalculations took off; it must become
 * what the replay holds plus what its payoff waives (the closing books that part). Interest of
 * installments due by the last closed date was earned, so that part comes back out of income.
 */
async function bookRecalculation(
  tx: TransactionSql,
  loan: Loan,
  before: ReadonlyMap<number, bigint>,
  facts: Facts,
  result: ReplayResult,
  eventId: bigint,
  date: string,
): Promise<void> {
  const earlierMinor = await recalculatedBefore(tx, loan);
  const scheduledMinor = facts.installments.reduce((s, i) => s + i.scheduled_interest_minor, 0n);
  const replayedMinor = result.installments.reduce((s, i) => s + i.scheduled.interest, 0n);
  const totalMinor = scheduledMinor - earlierMinor - replayedMinor - result.waivedInterestMinor;
  let earnedMinor = 0n;
  for (const i of result.installments) {
    if (facts.closedThrough === null || i.dueDate > facts.closedThrough) continue;
    earnedMinor += (before.get(i.number) ?? i.scheduled.interest) - i.scheduled.interest;
  }
  const lo = totalMinor < 0n ? totalMinor : 0n;
  const hi = totalMinor > 0n ? totalMinor : 0n;
  earnedMinor = earnedMinor < lo ? lo : earnedMinor > hi ? hi : earnedMinor;
  const ref = { customerId: loan.customerId, loanId: loan.id };
  const posting = interestRecalculationPostings(ref, {
    unearnedMinor: totalMinor - earnedMinor,
    earnedMinor,
  });
  if (posting) {
    const eventKey = `loan:${loan.id}:recalculation:${eventId}`;
    await postEntries(tx, [{ eventKey, businessDate: date, ...ref, posting }]);
  }
}

/**
 * Replays the loan (locked by the caller) and books the difference; `eventId` names the servicing
 * event in every entry key, `date` is the business date the entries carry.
 */
export async function reprocessLoan(
  tx: TransactionSql,
  loanId: bigint,
  eventId: bigint,
  date: string,
): Promise<{ loan: Loan; waivedInterestMinor: bigint }> {
  let loan = await lockLoan(tx, loanId);
  invariant(loan !== null, 'the loan to reprocess exists');
  if (loan.status !== 'active' && loan.status !== 'paid_off') {
    throw new Refusal('LOAN_NOT_ACTIVE', `the loan is ${loan.status}`, { status: loan.status });
  }
  const stored = await getProduct(tx, loan.productId);
  const recalculates = stored?.product.interestRecalculation === 'progressive';
  const interestBefore = recalculates ? await storedInterest(tx, loan) : null;
  if (loan.status === 'paid_off') {
    await reopen(tx, loan, `loan:${loan.id}:reopen:${eventId}`, date);
    loan = { ...loan, status: 'active' };
  }
  const facts = await readFacts(tx, loan);
  const result = await replayStoredLoan(tx, loan, facts);
  await reallocate(tx, loan, facts, result, eventId, date);
  if (interestBefore) await bookRecalculation(tx, loan, interestBefore, facts, result, eventId, date);
  await writeInstallments(tx, loan, result, facts.closedThrough);
  await adjustCredit(tx, loan, facts, result);
  if (result.paidOffOn !== null) {
    await closePaidOffLoan(tx, loan, { waivedInterestMinor: result.waivedInterestMinor }, date, eventId);
    const closed: Loan = { ...loan, status: 'paid_off', daysPastDue: 0, bucket: 'current' };
    return { loan: closed, waivedInterestMinor: result.waivedInterestMinor };
  }
  await refreshStanding(tx, loan, date);
  return { loan, waivedInterestMinor: 0n };
}

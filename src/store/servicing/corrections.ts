/**
 * Corrections of a loan's payment history, each one transaction with the loan locked:
 *   - a repayment with an earlier transaction (value) date: received now as the customer's credit
 *     balance, then the loan is reprocessed from that date (allocation, late fees, days past due);
 *   - a reversal of a repayment (bounced, misapplied): the row is kept and marked, a reversal entry
 *     undoes its allocation, and the loan is reprocessed so later payments move where they belong.
 * Never a delete and never an edited entry: the journal shows what happened and what corrected it.
 */
import { repaymentPostings } from '../../domain/postings.ts';
import { reversalOf } from '../../domain/servicing-postings.ts';
import type { Queryable, TransactionSql } from '../db.ts';
import { postEntries } from '../ledger.ts';
import { type Loan, lockLoan, nextIds } from '../loans.ts';
import { Refusal } from '../refusal.ts';
import { lastScheduleChange } from './hardship.ts';
import { reprocessLoan } from './reprocess.ts';

/**
 * A re-age or reschedule made the schedule the loan is replayed from: history before it cannot be
 * replayed against it, so a correction dated before it (or a reversal of a payment it took into
 * account) is refused.
 */
async function refuseBeforeScheduleChange(
  tx: TransactionSql,
  loan: Loan,
  valueDate: string,
  inclusive: boolean,
) {
  const changed = await lastScheduleChange(tx, loan);
  if (changed !== null && (valueDate < changed || (inclusive && valueDate === changed))) {
    throw new Refusal('SCHEDULE_CHANGED', 'the schedule was re-aged or rescheduled after this date', {
      schedule_changed_on: changed,
    });
  }
}

export interface CorrectedRepayment {
  id: bigint;
  loanId: bigint;
  amountMinor: bigint;
  split: { principal: bigint; interest: bigint; fee: bigint; penalty: bigint };
  excessMinor: bigint;
  businessDate: string;
  valueDate: string;
  status: 'posted' | 'reversed';
  loanStatus: Loan['status'];
  /** Interest the loan's payoff forgave, when the reprocessing ended in one. */
  waivedInterestMinor: bigint;
}

interface Row {
  id: bigint;
  loan_id: bigint;
  amount_minor: bigint;
  principal_minor: bigint;
  interest_minor: bigint;
  fee_minor: bigint;
  penalty_minor: bigint;
  excess_minor: bigint;
  business_date: string;
  value_date: string;
  status: 'posted' | 'reversed';
}

async function readRepayment(tx: TransactionSql, customerId: bigint, id: bigint): Promise<Row | undefined> {
  const [row] = await tx<Row[]>`
    select id, loan_id, amount_minor, principal_minor, interest_minor, fee_minor, penalty_minor, excess_minor,
      business_date::text as business_date, coalesce(value_date, business_date)::text as value_date, status
    from repayments where customer_id = ${customerId} and id = ${id}`;
  return row;
}

function view(row: Row, after: { loan: Loan; waivedInterestMinor: bigint }): CorrectedRepayment {
  return {
    id: row.id,
    loanId: row.loan_id,
    amountMinor: row.amount_minor,
    split: {
      principal: row.principal_minor,
      interest: row.interest_minor,
      fee: row.fee_minor,
      penalty: row.penalty_minor,
    },
    excessMinor: row.excess_minor,
    businessDate: row.business_date,
    valueDate: row.value_date,
    status: row.status,
    loanStatus: after.loan.status,
    waivedInterestMinor: after.waivedInterestMinor,
  };
}

async function lockActive(tx: TransactionSql, loanId: bigint, allowPaidOff: boolean): Promise<Loan> {
  const loan = await lockLoan(tx, loanId);
  if (!loan) throw new Refusal('LOAN_NOT_FOUND', 'no such loan');
  if (loan.status !== 'active' && !(allowPaidOff && loan.status === 'paid_off')) {
    throw new Refusal('LOAN_NOT_ACTIVE', `the loan is ${loan.status}`, { status: loan.status });
  }
  return loan;
}

/** A repayment dated `valueDate` (checked by the caller against the window), booked on `businessDate`. */
export async function applyDatedRepayment(
  tx: TransactionSql,
  input: { loanId: bigint; amountMinor: bigint; valueDate: string; businessDate: string },
): Promise<CorrectedRepayment> {
  const loan = await lockActive(tx, input.loanId, false);
  await refuseBeforeScheduleChange(tx, loan, input.valueDate, false);
  const [row] = await tx<{ id: bigint }[]>`
    insert into repayments (loan_id, customer_id, amount_minor, excess_minor, business_date, value_date)
    values (${loan.id}, ${loan.customerId}, ${input.amountMinor}, ${input.amountMinor}, ${input.businessDate},
      ${input.valueDate})
    returning id`;
  const id = (row as { id: bigint }).id;
  const ref = { customerId: loan.customerId, loanId: loan.id };
  // received as the customer's money first; the reprocessing allocates it as of its value date
  const posting = repaymentPostings(ref, {
    principalMinor: 0n,
    interestMinor: 0n,
    feeMinor: 0n,
    penaltyMinor: 0n,
    excessMinor: input.amountMinor,
  });
  await postEntries(tx, [{ eventKey: `repayment:${id}`, businessDate: input.businessDate, ...ref, posting }]);
  const [eventId] = (await nextIds(tx, 1)) as [bigint];
  const after = await reprocessLoan(tx, loan.id, eventId, input.businessDate);
  return view((await readRepayment(tx, loan.customerId, id)) as Row, after);
}

/** Reverses a repayment of the loan (bounced or misapplied) and replays the rest. */
export async function reverseRepayment(
  tx: TransactionSql,
  input: { loanId: bigint; repaymentId: bigint; reason: 'bounced' | 'misapplied'; businessDate: string },
): Promise<CorrectedRepayment> {
  const loan = await lockActive(tx, input.loanId, true);
  const row = await readRepayment(tx, loan.customerId, input.repaymentId);
  if (!row || row.loan_id !== loan.id)
    throw new Refusal('REPAYMENT_NOT_FOUND', 'no such repayment on this loan');
  if (row.status === 'reversed')
    throw new Refusal('REPAYMENT_ALREADY_REVERSED', 'the repayment is already reversed');
  await refuseBeforeScheduleChange(tx, loan, row.value_date, true);
  await tx`
    update repayments set status = 'reversed', reversed_on = ${input.businessDate}, reversal_reason = ${input.reason}
    where customer_id = ${loan.customerId} and id = ${row.id}`;
  const ref = { customerId: loan.customerId, loanId: loan.id };
  const posting = reversalOf(
    repaymentPostings(ref, {
      principalMinor: row.principal_minor,
      interestMinor: row.interest_minor,
      feeMinor: row.fee_minor,
      penaltyMinor: row.penalty_minor,
      excessMinor: row.excess_minor,
    }),
  );
  await postEntries(tx, [
    { eventKey: `repayment:${row.id}:reversal`, businessDate: input.businessDate, ...ref, posting },
  ]);
  const [eventId] = (await nextIds(tx, 1)) as [bigint];
  const after = await reprocessLoan(tx, loan.id, eventId, input.businessDate);
  return view((await readRepayment(tx, loan.customerId, row.id)) as Row, after);
}

/** One row of a loan's repayment history, as stored: posted and reversed alike. */
export interface RepaymentHistoryRow {
  id: bigint;
  amount_minor: bigint;
  principal_minor: bigint;
  interest_minor: bigint;
  fee_minor: bigint;
  penalty_minor: bigint;
  excess_minor: bigint;
  business_date: string;
  /** The transaction date: the value date when staff dated it back, else the business date. */
  value_date: string;
  status: string;
  reversal_reason: string | null;
}

/** A loan's repayments in the order they were received, at most `limit`. */
export async function repaymentHistory(
  sql: Queryable,
  loan: Pick<Loan, 'id' | 'customerId'>,
  limit: number,
): Promise<RepaymentHistoryRow[]> {
  return sql<RepaymentHistoryRow[]>`
    select id, amount_minor, principal_minor, interest_minor, fee_minor, penalty_minor, excess_minor,
      business_date::text as business_date, coalesce(value_date, business_date)::text as value_date,
      status, reversal_reason
    from repayments where customer_id = ${loan.customerId} and loan_id = ${loan.id}
    order by created_at, id limit ${limit}`;
}

/**
 * Ad-hoc charges (fees) and waivers (fee, interest, penalty) by staff on one loan, each in the
 * caller's transaction with the loan locked: the installment changes, one balanced entry, a row in
 * loan_adjustments. Plans: domain/adjustments.ts; postings: domain/servicing-postings.ts.
 */
import {
  type AdjustmentRefusal,
  chargeTarget,
  planWaiver,
  type WaivableComponent,
} from '../../domain/adjustments.ts';
import { chargePostings, waiverPostings } from '../../domain/servicing-postings.ts';
import type { TransactionSql } from '../db.ts';
import { type EntryInput, postEntries } from '../ledger.ts';
import { getInstallments, type Loan, lockLoan, nextIds } from '../loans.ts';
import { Refusal } from '../refusal.ts';
import { closePaidOffLoan, refreshStanding } from '../repayments.ts';

export interface AdjustmentInput {
  loanId: bigint;
  amountMinor: bigint;
  /** null: the oldest open installment (charge), oldest first (waiver). */
  installment: number | null;
  reason: string;
  requestedBy: string;
  businessDate: string;
}

export interface AppliedAdjustment {
  ids: bigint[];
  loan: Loan;
  parts: { number: number; amountMinor: bigint }[];
}

function refused(code: AdjustmentRefusal): never {
  throw new Refusal(
    code,
    {
      INSTALLMENT_NOT_FOUND: 'the loan has no such installment',
      WAIVER_EXCEEDS_OUTSTANDING: 'the waiver is more than is owed',
      NOTHING_TO_CHARGE: 'every installment is paid',
    }[code],
  );
}

export async function lockActiveLoan(tx: TransactionSql, loanId: bigint): Promise<Loan> {
  const loan = await lockLoan(tx, loanId);
  if (!loan) throw new Refusal('LOAN_NOT_FOUND', 'no such loan');
  if (loan.status !== 'active')
    throw new Refusal('LOAN_NOT_ACTIVE', `the loan is ${loan.status}`, { status: loan.status });
  return loan;
}

async function record(
  tx: TransactionSql,
  loan: Loan,
  input: AdjustmentInput,
  kind: 'charge' | 'waiver',
  component: WaivableComponent,
  parts: { number: number; amountMinor: bigint }[],
): Promise<bigint[]> {
  const ids = await nextIds(tx, parts.length);
  await tx`
    insert into loan_adjustments (customer_id, id, loan_id, installment_number, kind, component, amount_minor,
      reason, requested_by, business_date)
    select ${loan.customerId}, x.id, ${loan.id}, x.n, ${kind}, ${component}, x.a, ${input.reason},
      ${input.requestedBy}, ${input.businessDate}
    from unnest(${ids.map(String)}::bigint[], ${parts.map((p) => p.number)}::int[],
      ${parts.map((p) => p.amountMinor.toString())}::bigint[]) as x(id, n, a)`;
  return ids;
}

/** Installments settled by the change become paid; a loan with nothing left owed is paid off. */
async function settle(
  tx: TransactionSql,
  loan: Loan,
  input: AdjustmentInput,
  eventId: bigint,
): Promise<Loan> {
  await tx`
    update installments set status = 'paid', paid_at = coalesce(paid_at, ${new Date()})
    where customer_id = ${loan.customerId} and loan_id = ${loan.id} and status in ('due', 'overdue')
      and principal_minor = paid_principal_minor and interest_minor = paid_interest_minor
      and fee_minor = paid_fee_minor and penalty_minor = paid_penalty_minor`;
  const [open] = await tx<{ n: number }[]>`
    select count(*)::int as n from installments
    where customer_id = ${loan.customerId} and loan_id = ${loan.id} and status in ('due', 'overdue')`;
  if ((open?.n ?? 0) === 0) {
    await closePaidOffLoan(tx, loan, { waivedInterestMinor: 0n }, input.businessDate, eventId);
    return { ...loan, status: 'paid_off', daysPastDue: 0, bucket: 'current' };
  }
  await refreshStanding(tx, loan, input.businessDate);
  return loan;
}

/** A fee charged on one installment (a returned-payment fee, say). */
export async function applyCharge(tx: TransactionSql, input: AdjustmentInput): Promise<AppliedAdjustment> {
  const loan = await lockActiveLoan(tx, input.loanId);
  const target = chargeTarget(await getInstallments(tx, loan.id, loan.customerId), input.installment);
  if (typeof target !== 'number') refused(target.refused);
  const parts = [{ number: target, amountMinor: input.amountMinor }];
  const [id] = (await record(tx, loan, input, 'charge', 'fee', parts)) as [bigint];
  await tx`
    update installments set fee_minor = fee_minor + ${input.amountMinor},
      status = case when status = 'paid' then 'due' else status end, paid_at = null
    where customer_id = ${loan.customerId} and loan_id = ${loan.id} and number = ${target}`;
  const ref = { customerId: loan.customerId, loanId: loan.id };
  await postEntries(tx, [
    {
      eventKey: `loan:${loan.id}:charge:${id}`,
      businessDate: input.businessDate,
      ...ref,
      posting: chargePostings(ref, input.amountMinor),
    },
  ]);
  await refreshStanding(tx, loan, input.businessDate);
  return { ids: [id], loan, parts };
}

/** A waiver of fee, interest or penalty, spread oldest installment first unless one is named. */
export async function applyWaiver(
  tx: TransactionSql,
  input: AdjustmentInput & { component: WaivableComponent },
): Promise<AppliedAdjustment> {
  const loan = await lockActiveLoan(tx, input.loanId);
  const installments = (await getInstallments(tx, loan.id, loan.customerId)).filter(
    (i) => i.status !== 'written_off',
  );
  const parts = planWaiver(installments, input.component, input.amountMinor, input.installment);
  if (!Array.isArray(parts)) refused(parts.refused);
  const ids = await record(tx, loan, input, 'waiver', input.component, parts);
  const [mark] = await tx<{ d: string }[]>`
    select last_closed_date::text as d from loan_cob_marks where customer_id = ${loan.customerId} and loan_id = ${loan.id}`;
  const ref = { customerId: loan.customerId, loanId: loan.id };
  const entries: EntryInput[] = [];
  for (const [k, part] of parts.entries()) {
    const due = installments.find((i) => i.number === part.number)?.dueDate ?? '';
    const posting = waiverPostings(ref, {
      component: input.component,
      amountMinor: part.amountMinor,
      interestEarned: mark !== undefined && due <= mark.d,
    });
    entries.push({
      eventKey: `loan:${loan.id}:waiver:${ids[k]}`,
      businessDate: input.businessDate,
      ...ref,
      posting,
    });
  }
  await postEntries(tx, entries);
  await lowerComponent(tx, loan, input.component, parts);
  return { ids, loan: await settle(tx, loan, input, ids[0] as bigint), parts };
}

async function lowerComponent(
  tx: TransactionSql,
  loan: Loan,
  component: WaivableComponent,
  parts: { number: number; amountMinor: bigint }[],
): Promise<void> {
  const numbers = parts.map((p) => p.number);
  const amounts = parts.map((p) => p.amountMinor.toString());
  await tx`
    update installments i set
      fee_minor = fee_minor - case when ${component} = 'fee' then w.a else 0 end,
      interest_minor = interest_minor - case when ${component} = 'interest' then w.a else 0 end,
      scheduled_interest_minor = coalesce(scheduled_interest_minor, interest_minor)
        - case when ${component} = 'interest' then w.a else 0 end,
      penalty_minor = penalty_minor - case when ${component} = 'penalty' then w.a else 0 end,
      waived_penalty_minor = waived_penalty_minor + case when ${component} = 'penalty' then w.a else 0 end
    from unnest(${numbers}::int[], ${amounts}::bigint[]) as w(n, a)
    where i.customer_id = ${loan.customerId} and i.loan_id = ${loan.id} and i.number = w.n`;
}

/**
 * Hardship schedule changes in the database (domain/hardship.ts says what changes): the schedule as
 * it stood is kept whole in `schedule_versions` with the consent reference, the cut installments
 * keep what was paid, the new ones are appended after the last, and a reschedule's interest
 * difference is one balanced entry. One transaction with the loan row locked; days past due are
 * refreshed as of the business date. Every statement names the customer (Citus).
 */
import { needsSecondApproval } from '../../domain/adjustments.ts';
import { planReAge, planReschedule, type ScheduleChange } from '../../domain/hardship.ts';
import { invariant, termsOf } from '../../domain/index.ts';
import { rescheduleInterestPostings } from '../../domain/servicing-postings.ts';
import type { Queryable, TransactionSql } from '../db.ts';
import { postEntries } from '../ledger.ts';
import { getInstallments, type Loan, lockLoan, type StoredInstallment } from '../loans.ts';
import { getProduct } from '../products.ts';
import { Refusal } from '../refusal.ts';
import { refreshStanding } from '../repayments.ts';

export type ScheduleChangeKind = 're_age' | 'reschedule';

export interface ScheduleChangeInput {
  loanId: bigint;
  businessDate: string;
  consentRef: string;
  staffId: bigint;
}

export interface RescheduleTerms {
  tenor: number;
  startDate: string;
}

export interface ScheduleChangeResult {
  loan: Loan;
  version: number;
  kind: ScheduleChangeKind;
  change: ScheduleChange;
}

export interface ScheduleChangeProposal {
  id: bigint;
  loanId: bigint;
  interestDeltaMinor: bigint;
  proposedBy: bigint;
}

async function lockForChange(tx: TransactionSql, loanId: bigint) {
  const loan = await lockLoan(tx, loanId);
  if (!loan) throw new Refusal('LOAN_NOT_FOUND', 'no such loan');
  if (loan.status !== 'active') {
    throw new Refusal('LOAN_NOT_ACTIVE', `the loan is ${loan.status}`, { status: loan.status });
  }
  const stored = await getProduct(tx, loan.productId);
  invariant(stored !== null, 'a loan has its product');
  if (stored.product.interestRecalculation !== 'none') {
    throw new Refusal(
      'SCHEDULE_CHANGE_NOT_SUPPORTED',
      'a loan whose interest is recalculated on its actual balance cannot be re-aged or rescheduled',
    );
  }
  const installments = (await getInstallments(tx, loan.id, loan.customerId)).filter(
    (i) => i.status !== 'written_off',
  );
  return { loan, product: stored.product, installments };
}

const json = (i: StoredInstallment) => ({
  number: i.number,
  due_date: i.dueDate,
  status: i.status,
  principal_minor: i.scheduled.principal.toString(),
  interest_minor: i.scheduled.interest.toString(),
  fee_minor: i.scheduled.fee.toString(),
  penalty_minor: i.scheduled.penalty.toString(),
  paid_principal_minor: i.paid.principal.toString(),
  paid_interest_minor: i.paid.interest.toString(),
  paid_fee_minor: i.paid.fee.toString(),
  paid_penalty_minor: i.paid.penalty.toString(),
});

/** Keeps the schedule as it stood, then cuts and appends installments as the plan says. */
async function applyChange(
  tx: TransactionSql,
  loan: Loan,
  before: readonly StoredInstallment[],
  kind: ScheduleChangeKind,
  change: ScheduleChange,
  input: ScheduleChangeInput,
): Promise<number> {
  const [row] = await tx<{ version: bigint }[]>`
    insert into schedule_versions (customer_id, loan_id, version, kind, consent_ref, changed_by, business_date,
      installments, interest_delta_minor)
    select ${loan.customerId}, ${loan.id}, coalesce(max(version), 0) + 1, ${kind}, ${input.consentRef},
      ${input.staffId}, ${input.businessDate}, ${tx.json(before.map(json) as never)}, ${change.interestDeltaMinor}
    from schedule_versions where customer_id = ${loan.customerId} and loan_id = ${loan.id}
    returning version`;
  const cuts = change.cuts;
  await tx`
    update installments i set principal_minor = u.p, interest_minor = u.i, scheduled_interest_minor = u.i,
      fee_minor = u.f, penalty_minor = u.pen, status = 'paid', paid_at = coalesce(i.paid_at, ${new Date()})
    from unnest(${cuts.map((c) => c.number)}::int[], ${cuts.map((c) => c.scheduled.principal.toString())}::bigint[],
      ${cuts.map((c) => c.scheduled.interest.toString())}::bigint[], ${cuts.map((c) => c.scheduled.fee.toString())}::bigint[],
      ${cuts.map((c) => c.scheduled.penalty.toString())}::bigint[]) as u(number, p, i, f, pen)
    where i.customer_id = ${loan.customerId} and i.loan_id = ${loan.id} and i.number = u.number`;
  const added = change.added;
  await tx`
    insert into installments (loan_id, number, customer_id, due_date, principal_minor, interest_minor,
      scheduled_interest_minor, fee_minor)
    select ${loan.id}, a.number, ${loan.customerId}, a.due_date, a.p, a.i, a.i, a.f
    from unnest(${added.map((a) => a.number)}::int[], ${added.map((a) => a.dueDate)}::date[],
      ${added.map((a) => a.principalMinor.toString())}::bigint[], ${added.map((a) => a.interestMinor.toString())}::bigint[],
      ${added.map((a) => a.feeMinor.toString())}::bigint[]) as a(number, due_date, p, i, f)`;
  return Number((row as { version: bigint }).version);
}

/** Re-age: the past-due amounts move after the last installment; the loan is current again. */
export async function reAgeLoan(
  tx: TransactionSql,
  input: ScheduleChangeInput,
): Promise<ScheduleChangeResult> {
  const { loan, product, installments } = await lockForChange(tx, input.loanId);
  const change = planReAge(installments, input.businessDate, { every: product.every, unit: product.unit });
  const version = await applyChange(tx, loan, installments, 're_age', change, input);
  await refreshStanding(tx, loan, input.businessDate);
  return { loan, version, kind: 're_age', change };
}

async function lastClosedDate(sql: Queryable, loan: Loan): Promise<string | null> {
  const [mark] = await sql<{ d: string }[]>`
    select last_closed_date::text as d from loan_cob_marks
    where customer_id = ${loan.customerId} and loan_id = ${loan.id}`;
  return mark?.d ?? null;
}

/**
 * Reschedule: the outstanding principal gets a new schedule. One that lowers what is owed by more
 * than the staff limit is not applied but proposed, unless `approved` (a second person's approval).
 */
export async function rescheduleLoan(
  tx: TransactionSql,
  input: ScheduleChangeInput & RescheduleTerms,
  approved = false,
): Promise<ScheduleChangeResult | { proposal: ScheduleChangeProposal }> {
  const { loan, product, installments } = await lockForChange(tx, input.loanId);
  const base = termsOf(product, { principalMinor: 1n, tenor: 1, startDate: input.startDate });
  const change = planReschedule({
    installments,
    today: input.businessDate,
    startDate: input.startDate,
    tenor: input.tenor,
    earnedThrough: await lastClosedDate(tx, loan),
    terms: {
      rate: base.rate,
      method: base.method,
      frequency: base.frequency,
      basis: base.basis,
      rounding: base.rounding,
    },
  });
  if (!approved && change.interestDeltaMinor < 0n && needsSecondApproval(-change.interestDeltaMinor)) {
    const [row] = await tx<{ id: bigint }[]>`
      insert into schedule_change_proposals (customer_id, loan_id, kind, consent_ref, tenor, start_date,
        interest_delta_minor, proposed_by)
      values (${loan.customerId}, ${loan.id}, 'reschedule', ${input.consentRef}, ${input.tenor}, ${input.startDate},
        ${change.interestDeltaMinor}, ${input.staffId})
      returning id`;
    const id = (row as { id: bigint }).id;
    return {
      proposal: {
        id,
        loanId: loan.id,
        interestDeltaMinor: change.interestDeltaMinor,
        proposedBy: input.staffId,
      },
    };
  }
  const version = await applyChange(tx, loan, installments, 'reschedule', change, input);
  const ref = { customerId: loan.customerId, loanId: loan.id };
  const posting = rescheduleInterestPostings(ref, change.interestDeltaMinor);
  if (posting) {
    const eventKey = `loan:${loan.id}:schedule:${version}`;
    await postEntries(tx, [{ eventKey, businessDate: input.businessDate, ...ref, posting }]);
  }
  await refreshStanding(tx, loan, input.businessDate);
  return { loan, version, kind: 'reschedule', change };
}

interface ProposalRow {
  id: bigint;
  loan_id: bigint;
  consent_ref: string;
  tenor: bigint;
  start_date: string;
  status: string;
  proposed_by: bigint;
}

/**
 * A second staff member decides a reschedule proposal of the loan: approving applies it (planned
 * again on the approval's business date), rejecting closes it. Nobody decides their own.
 */
export async function decideScheduleProposal(
  tx: TransactionSql,
  loan: Pick<Loan, 'id' | 'customerId'>,
  proposalId: bigint,
  decision: { approve: boolean; staffId: bigint; businessDate: string },
): Promise<{ proposal: ProposalRow; result: ScheduleChangeResult | null }> {
  const [p] = await tx<ProposalRow[]>`
    select id, loan_id, consent_ref, tenor, start_date::text as start_date, status, proposed_by
    from schedule_change_proposals
    where customer_id = ${loan.customerId} and id = ${proposalId} and loan_id = ${loan.id} for update`;
  if (!p) throw new Refusal('PROPOSAL_NOT_FOUND', 'no such proposal on this loan');
  if (p.status !== 'open') throw new Refusal('PROPOSAL_ALREADY_DECIDED', `the proposal is ${p.status}`);
  if (p.proposed_by === decision.staffId)
    throw new Refusal('OWN_PROPOSAL', 'a proposal is decided by someone else');
  let result: ScheduleChangeResult | null = null;
  if (decision.approve) {
    const applied = await rescheduleLoan(
      tx,
      {
        loanId: loan.id,
        businessDate: decision.businessDate,
        consentRef: p.consent_ref,
        staffId: p.proposed_by,
        tenor: Number(p.tenor),
        startDate: p.start_date < decision.businessDate ? decision.businessDate : p.start_date,
      },
      true,
    );
    invariant(!('proposal' in applied), 'an approved reschedule is applied');
    result = applied;
  }
  await tx`
    update schedule_change_proposals
    set status = ${decision.approve ? 'approved' : 'rejected'}, decided_by = ${decision.staffId}, decided_at = now()
    where customer_id = ${loan.customerId} and id = ${p.id}`;
  return { proposal: { ...p, status: decision.approve ? 'approved' : 'rejected' }, result };
}

export interface ScheduleVersionRow {
  version: bigint;
  kind: ScheduleChangeKind;
  consent_ref: string;
  changed_by: bigint;
  business_date: string;
  interest_delta_minor: bigint;
  installments: ReturnType<typeof json>[];
}

/** The schedules a loan had before each change, oldest first (the current one is its installments). */
export async function scheduleVersions(
  sql: Queryable,
  loan: Pick<Loan, 'id' | 'customerId'>,
): Promise<ScheduleVersionRow[]> {
  return sql<ScheduleVersionRow[]>`
    select version, kind, consent_ref, changed_by, business_date::text as business_date, interest_delta_minor,
      installments
    from schedule_versions where customer_id = ${loan.customerId} and loan_id = ${loan.id} order by version`;
}

/** The business date of the loan's last schedule change; corrections dated before it are refused. */
export async function lastScheduleChange(sql: Queryable, loan: Pick<Loan, 'id' | 'customerId'>) {
  const [row] = await sql<{ d: string | null }[]>`
    select max(business_date)::text as d from schedule_versions
    where customer_id = ${loan.customerId} and loan_id = ${loan.id}`;
  return row?.d ?? null;
}

/**
 * Repayments: allocated by the product's order, oldest installment first; a payment of at least
 * the payoff amount for the date closes the loan and waives interest not yet accrued (the plan is
 * domain/allocation.ts `planRepayment`; this applies it). Repaid
 * principal goes back to the credit line. The loan row is locked for the whole transaction, so
 * repayments of one loan apply one after another.
 */
import {
  type Components,
  type InstallmentPayment,
  type OverpaymentPolicy,
  type PayoffQuote,
  payoffQuote,
  planRepayment,
  type RepaymentPlan,
} from '../domain/allocation.ts';
import { standingOn } from '../domain/delinquency.ts';
import { repaymentEvents } from '../domain/events.ts';
import { invariant } from '../domain/index.ts';
import { ACCOUNTS, loanClosingInterestPostings, repaymentPostings } from '../domain/postings.ts';
import { planProgressiveRepayment, progressivePayoffQuote } from '../domain/recalculation.ts';
import { interestRecalculationPostings } from '../domain/servicing-postings.ts';
import { releaseCredit } from './credit-lines.ts';
import type { Queryable, TransactionSql } from './db.ts';
import { loanAccountBalance, postEntries } from './ledger.ts';
import { getInstallments, getLoan, type Loan } from './loans.ts';
import { emitEvents } from './outbox.ts';
import { getProduct } from './products.ts';
import { Refusal } from './refusal.ts';
import { readRecalculationBasis } from './servicing/recalculation.ts';

export interface RepaymentInput {
  loanId: bigint;
  /** The loan's customer, when the caller knows it: every statement then stays on one shard. */
  customerId?: bigint;
  amountMinor: bigint;
  businessDate: string;
  overpayment: OverpaymentPolicy;
}

export interface Repayment {
  id: bigint;
  loanId: bigint;
  customerId: bigint;
  amountMinor: bigint;
  split: Components;
  excessMinor: bigint;
  waivedInterestMinor: bigint;
  businessDate: string;
  loanStatus: Loan['status'];
}

export async function quotePayoff(sql: Queryable, loan: Loan, date: string): Promise<PayoffQuote> {
  const installments = (await getInstallments(sql, loan.id, loan.customerId)).filter(
    (i) => i.status !== 'written_off',
  );
  const stored = await getProduct(sql, loan.productId);
  if (stored?.product.interestRecalculation === 'progressive') {
    return progressivePayoffQuote(
      await readRecalculationBasis(sql, loan, stored.product),
      installments,
      date,
    );
  }
  return payoffQuote(loan.startDate, installments, date);
}

/** Writes the installments' new paid amounts (and a payoff's lowered interest) in one statement. */
async function payInstallments(
  tx: TransactionSql,
  loan: Loan,
  updates: readonly InstallmentPayment[],
): Promise<void> {
  if (updates.length === 0) return;
  // the transaction's now(), read first: Citus evaluates no volatile function inside a CASE of an
  // UPDATE it routes to a shard
  const [clock] = await tx<{ now: Date }[]>`select now() as now`;
  await tx`
    update installments i set
      scheduled_interest_minor = coalesce(i.scheduled_interest_minor, i.interest_minor),
      interest_minor = u.interest::bigint,
      paid_principal_minor = u.pp::bigint, paid_interest_minor = u.pi::bigint,
      paid_fee_minor = u.pf::bigint, paid_penalty_minor = u.ppen::bigint,
      status = case when u.pp::bigint = i.principal_minor and u.pi::bigint = u.interest::bigint
                     and u.pf::bigint = i.fee_minor and u.ppen::bigint = i.penalty_minor
                then 'paid' else i.status end,
      paid_at = case when u.pp::bigint = i.principal_minor and u.pi::bigint = u.interest::bigint
                      and u.pf::bigint = i.fee_minor and u.ppen::bigint = i.penalty_minor
                 then ${(clock as { now: Date }).now}::timestamptz else i.paid_at end
    from unnest(${updates.map((u) => u.number)}::int[], ${updates.map((u) => u.interest.toString())}::text[],
      ${updates.map((u) => u.paid.principal.toString())}::text[], ${updates.map((u) => u.paid.interest.toString())}::text[],
      ${updates.map((u) => u.paid.fee.toString())}::text[], ${updates.map((u) => u.paid.penalty.toString())}::text[])
      as u(number, interest, pp, pi, pf, ppen)
    where i.customer_id = ${loan.customerId} and i.loan_id = ${loan.id} and i.number = u.number`;
}

/**
 * Days past due and bucket as the loan stands on the business date after a payment: a payment that
 * clears the oldest overdue installment (or the whole loan) clears the delinquency at once, not at
 * the next close (which skips loans no longer active).
 */
export async function refreshStanding(tx: TransactionSql, loan: Loan, businessDate: string): Promise<void> {
  const [row] = await tx<{ oldest: string | null }[]>`
    select min(due_date)::text as oldest from installments
    where customer_id = ${loan.customerId} and loan_id = ${loan.id} and status in ('due', 'overdue')
      and due_date < ${businessDate}::date`;
  const stored = await getProduct(tx, loan.productId);
  const standing = standingOn(row?.oldest ?? null, businessDate, stored?.product.bucketMaxDpd);
  await tx`
    update loans set days_past_due = ${standing.dpd}, bucket = ${standing.bucket}
    where customer_id = ${loan.customerId} and id = ${loan.id}`;
}

/** Closes a paid-off loan and books the interest its payoff waived or that is still unearned. */
export async function closePaidOffLoan(
  tx: TransactionSql,
  loan: Loan,
  plan: Pick<RepaymentPlan, 'waivedInterestMinor'>,
  businessDate: string,
  eventId: bigint,
) {
  await tx`
    update loans set status = 'paid_off', closed_at = now(), days_past_due = 0, bucket = 'current'
    where customer_id = ${loan.customerId} and id = ${loan.id}`;
  const ref = { customerId: loan.customerId, loanId: loan.id };
  const unearned = -(await loanAccountBalance(tx, loan.customerId, loan.id, ACCOUNTS.unearnedInterest));
  const closing = loanClosingInterestPostings(ref, {
    waivedInterestMinor: plan.waivedInterestMinor,
    unearnedInterestMinor: unearned,
  });
  if (closing) {
    // keyed by the event that closed it: a loan reopened by a reversal may close again
    const eventKey = `loan:${loan.id}:closing:${eventId}`;
    await postEntries(tx, [{ eventKey, businessDate, ...ref, posting: closing }]);
  }
}

/** The loan to repay, locked through its customer; only an active loan takes a repayment. */
async function lockActiveLoan(tx: TransactionSql, input: RepaymentInput): Promise<Loan> {
  const customerId = input.customerId ?? (await getLoan(tx, input.loanId))?.customerId;
  const loan = customerId === undefined ? null : await getLoan(tx, input.loanId, true, customerId);
  if (!loan) throw new Refusal('LOAN_NOT_FOUND', 'no such loan');
  if (loan.status !== 'active') {
    throw new Refusal('LOAN_NOT_ACTIVE', `the loan is ${loan.status}`, { status: loan.status });
  }
  return loan;
}

/** How the amount splits over the installments, by the product's allocation and interest rules. */
async function planFor(
  tx: TransactionSql,
  loan: Loan,
  input: RepaymentInput,
): Promise<RepaymentPlan & { recalculatedInterestMinor?: bigint }> {
  const stored = await getProduct(tx, loan.productId);
  invariant(stored !== null, 'a loan has its product');
  const installments = (await getInstallments(tx, loan.id, loan.customerId)).filter(
    (i) => i.status !== 'written_off',
  );
  const facts = {
    amountMinor: input.amountMinor,
    overpayment: input.overpayment,
    loanPrincipalMinor: loan.principalMinor,
    installments,
    order: stored.product.allocationOrder,
  };
  const plan =
    stored.product.interestRecalculation === 'progressive'
      ? planProgressiveRepayment(
          await readRecalculationBasis(tx, loan, stored.product),
          facts,
          input.businessDate,
        )
      : planRepayment({ ...facts, payoff: payoffQuote(loan.startDate, installments, input.businessDate) });
  if (!plan.ok) throw new Refusal(plan.code, plan.message, { ...plan.details });
  return plan;
}

/** The repayment row and its journal entries (and the recalculation's, when interest was taken off). */
async function recordRepayment(
  tx: TransactionSql,
  loan: Loan,
  input: RepaymentInput,
  plan: RepaymentPlan & { recalculatedInterestMinor?: bigint },
): Promise<bigint> {
  const { split, excessMinor } = plan;
  const [row] = await tx<{ id: bigint }[]>`
    insert into repayments (loan_id, customer_id, amount_minor, principal_minor, interest_minor, fee_minor,
      penalty_minor, excess_minor, waived_interest_minor, business_date)
    values (${loan.id}, ${loan.customerId}, ${input.amountMinor}, ${split.principal}, ${split.interest},
      ${split.fee}, ${split.penalty}, ${excessMinor}, ${plan.waivedInterestMinor}, ${input.businessDate})
    returning id`;
  const repaymentId = (row as { id: bigint }).id;
  const ref = { customerId: loan.customerId, loanId: loan.id };
  const entry = { businessDate: input.businessDate, ...ref };
  const posting = repaymentPostings(ref, {
    principalMinor: split.principal,
    interestMinor: split.interest,
    feeMinor: split.fee,
    penaltyMinor: split.penalty,
    excessMinor,
  });
  // interest taken off installments not yet due, so never earned yet (see domain/recalculation.ts)
  const recalculation = interestRecalculationPostings(ref, {
    unearnedMinor: plan.recalculatedInterestMinor ?? 0n,
    earnedMinor: 0n,
  });
  await postEntries(tx, [
    { eventKey: `repayment:${repaymentId}`, ...entry, posting },
    ...(recalculation
      ? [{ eventKey: `repayment:${repaymentId}:recalculation`, ...entry, posting: recalculation }]
      : []),
  ]);
  return repaymentId;
}

export async function applyRepayment(tx: TransactionSql, input: RepaymentInput): Promise<Repayment> {
  const loan = await lockActiveLoan(tx, input);
  const plan = await planFor(tx, loan, input);
  const { split, excessMinor } = plan;
  await payInstallments(tx, loan, plan.updates);
  const repaymentId = await recordRepayment(tx, loan, input, plan);
  await releaseCredit(tx, loan.customerId, split.principal);
  if (plan.paysOff) await closePaidOffLoan(tx, loan, plan, input.businessDate, repaymentId);
  else await refreshStanding(tx, loan, input.businessDate);
  await emitEvents(
    tx,
    repaymentEvents({
      id: repaymentId,
      customerId: loan.customerId,
      loanId: loan.id,
      amountMinor: input.amountMinor,
      businessDate: input.businessDate,
      paysOff: plan.paysOff,
    }),
  );
  return {
    id: repaymentId,
    loanId: loan.id,
    customerId: loan.customerId,
    amountMinor: input.amountMinor,
    split: { ...split },
    excessMinor,
    waivedInterestMinor: plan.waivedInterestMinor,
    businessDate: input.businessDate,
    loanStatus: plan.paysOff ? 'paid_off' : loan.status,
  };
}

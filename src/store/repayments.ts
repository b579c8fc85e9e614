/**
 * Repayments: allocated by the product's order, oldest installment first; a payment of at least
 * the payoff amount for the date closes the loan and waives interest not yet accrued. Repaid
 * principal goes back to the credit line. The loan row is locked for the whole transaction, so
 * repayments of one loan apply one after another.
 */
import {
  allocate,
  type Components,
  type InstallmentDue,
  outstandingOf,
  type PayoffQuote,
  payoffQuote,
} from '../domain/allocation.ts';
import { invariant } from '../domain/index.ts';
import { ACCOUNTS, loanClosingInterestPostings, repaymentPostings } from '../domain/postings.ts';
import { releaseCredit } from './credit-lines.ts';
import type { Queryable, TransactionSql } from './db.ts';
import { loanAccountBalance, postEntry } from './ledger.ts';
import { getInstallments, getLoan, type Loan } from './loans.ts';
import { getProduct } from './products.ts';
import { Refusal } from './refusal.ts';

/** What to do with money beyond the payoff amount: refuse the payment, or keep it for the customer. */
export type OverpaymentPolicy = 'refuse' | 'credit_balance';

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
  const installments = await getInstallments(sql, loan.id, loan.customerId);
  return payoffQuote(
    loan.startDate,
    installments.filter((i) => i.status !== 'written_off'),
    date,
  );
}

export async function applyRepayment(tx: TransactionSql, input: RepaymentInput): Promise<Repayment> {
  const customerId = input.customerId ?? (await getLoan(tx, input.loanId))?.customerId;
  const loan = customerId === undefined ? null : await getLoan(tx, input.loanId, true, customerId);
  if (!loan) throw new Refusal('LOAN_NOT_FOUND', 'no such loan');
  if (loan.status !== 'active') {
    throw new Refusal('LOAN_NOT_ACTIVE', `the loan is ${loan.status}`, { status: loan.status });
  }
  const stored = await getProduct(tx, loan.productId);
  invariant(stored !== null, 'a loan has its product');
  const installments = (await getInstallments(tx, loan.id, loan.customerId)).filter(
    (i) => i.status !== 'written_off',
  );
  const payoff = payoffQuote(loan.startDate, installments, input.businessDate);
  const paysOff = input.amountMinor >= payoff.totalMinor;

  let split: Components;
  let excessMinor = 0n;
  /** New paid amounts (and, on payoff, interest after the waiver) per installment number. */
  const updates: { number: number; interest: bigint; paid: Components }[] = [];
  if (paysOff) {
    excessMinor = input.amountMinor - payoff.totalMinor;
    if (excessMinor > 0n && input.overpayment === 'refuse') {
      throw new Refusal('OVERPAYMENT', 'the payment is more than the payoff amount', {
        payoff_minor: payoff.totalMinor.toString(),
      });
    }
    // A credit balance is for small overpayments (a rounded-up transfer), not a deposit account:
    // more than the loan's own principal is almost certainly a mistake in the amount.
    if (excessMinor > loan.principalMinor) {
      throw new Refusal(
        'OVERPAYMENT_TOO_LARGE',
        'the payment exceeds the payoff by more than the loan principal',
        {
          payoff_minor: payoff.totalMinor.toString(),
          max_excess_minor: loan.principalMinor.toString(),
        },
      );
    }
    split = { ...payoff.owed };
    for (const i of installments) {
      const interest = payoff.interestAfterWaiver.get(i.number) ?? i.scheduled.interest;
      updates.push({
        number: i.number,
        interest,
        paid: {
          principal: i.scheduled.principal,
          interest,
          fee: i.scheduled.fee,
          penalty: i.scheduled.penalty,
        },
      });
    }
  } else {
    const dues: InstallmentDue[] = installments.map((i) => ({
      number: i.number,
      dueDate: i.dueDate,
      due: outstandingOf(i),
    }));
    const allocation = allocate(dues, input.amountMinor, stored.product.allocationOrder);
    invariant(allocation.excessMinor === 0n, 'a payment below the payoff leaves no excess');
    split = { ...allocation.totals };
    const byNumber = new Map(installments.map((i) => [i.number, i]));
    for (const a of allocation.installments) {
      const i = byNumber.get(a.number);
      invariant(i !== undefined, 'allocation names installments of the loan');
      updates.push({
        number: i.number,
        interest: i.scheduled.interest,
        paid: {
          principal: i.paid.principal + a.paid.principal,
          interest: i.paid.interest + a.paid.interest,
          fee: i.paid.fee + a.paid.fee,
          penalty: i.paid.penalty + a.paid.penalty,
        },
      });
    }
  }

  if (updates.length > 0) {
    // the transaction's now(), read first: Citus evaluates no volatile function inside a CASE of
    // an UPDATE it routes to a shard
    const [clock] = await tx<{ now: Date }[]>`select now() as now`;
    await tx`
      update installments i set
        interest_minor = u.interest::bigint,
        paid_principal_minor = u.pp::bigint, paid_interest_minor = u.pi::bigint,
        paid_fee_minor = u.pf::bigint, paid_penalty_minor = u.ppen::bigint,
        status = case when u.pp::bigint = i.principal_minor and u.pi::bigint = u.interest::bigint
                       and u.pf::bigint = i.fee_minor and u.ppen::bigint = i.penalty_minor
                  then 'paid' else i.status end,
        paid_at = case when u.pp::bigint = i.principal_minor and u.pi::bigint = u.interest::bigint
                        and u.pf::bigint = i.fee_minor and u.ppen::bigint = i.penalty_minor
                   then ${clock!.now}::timestamptz else i.paid_at end
      from unnest(${updates.map((u) => u.number)}::int[], ${updates.map((u) => u.interest.toString())}::text[],
        ${updates.map((u) => u.paid.principal.toString())}::text[], ${updates.map((u) => u.paid.interest.toString())}::text[],
        ${updates.map((u) => u.paid.fee.toString())}::text[], ${updates.map((u) => u.paid.penalty.toString())}::text[])
        as u(number, interest, pp, pi, pf, ppen)
      where i.customer_id = ${loan.customerId} and i.loan_id = ${loan.id} and i.number = u.number`;
  }

  const [row] = await tx<{ id: bigint }[]>`
    insert into repayments (loan_id, customer_id, amount_minor, principal_minor, interest_minor, fee_minor,
      penalty_minor, excess_minor, waived_interest_minor, business_date)
    values (${loan.id}, ${loan.customerId}, ${input.amountMinor}, ${split.principal}, ${split.interest},
      ${split.fee}, ${split.penalty}, ${excessMinor}, ${paysOff ? payoff.waivedInterestMinor : 0n},
      ${input.businessDate})
    returning id`;
  const repaymentId = (row as { id: bigint }).id;
  const ref = { customerId: loan.customerId, loanId: loan.id };
  await postEntry(tx, {
    eventKey: `repayment:${repaymentId}`,
    businessDate: input.businessDate,
    ...ref,
    posting: repaymentPostings(ref, {
      principalMinor: split.principal,
      interestMinor: split.interest,
      feeMinor: split.fee,
      penaltyMinor: split.penalty,
      excessMinor,
    }),
  });
  await releaseCredit(tx, loan.customerId, split.principal);

  let loanStatus: Loan['status'] = loan.status;
  if (paysOff) {
    await tx`update loans set status = 'paid_off', closed_at = now()
      where customer_id = ${loan.customerId} and id = ${loan.id}`;
    loanStatus = 'paid_off';
    const unearned = -(await loanAccountBalance(tx, loan.customerId, loan.id, ACCOUNTS.unearnedInterest));
    const closing = loanClosingInterestPostings(ref, {
      waivedInterestMinor: payoff.waivedInterestMinor,
      unearnedInterestMinor: unearned,
    });
    if (closing) {
      await postEntry(tx, {
        eventKey: `loan:${loan.id}:closing`,
        businessDate: input.businessDate,
        ...ref,
        posting: closing,
      });
    }
  }
  return {
    id: repaymentId,
    loanId: loan.id,
    customerId: loan.customerId,
    amountMinor: input.amountMinor,
    split,
    excessMinor,
    waivedInterestMinor: paysOff ? payoff.waivedInterestMinor : 0n,
    businessDate: input.businessDate,
    loanStatus,
  };
}

/**
 * Goods returns in the database: the merchant's return window, and one return applied in the
 * caller's transaction with the loan locked (plan: domain/returns.ts; posting:
 * domain/servicing-postings.ts goodsReturnPostings). The installments are cut, the receivables
 * cancelled, the customer refunded, the credit line released and the merchant payable reversed,
 * in one balanced entry; a return that leaves nothing owed closes the loan.
 */

import { domainEvent } from '../../domain/events.ts';
import {
  DEFAULT_RETURN_WINDOW_DAYS,
  planReturn,
  type ReturnPlan,
  returnWindowOpen,
} from '../../domain/returns.ts';
import { goodsReturnPostings, type RefundTo } from '../../domain/servicing-postings.ts';
import { releaseCredit } from '../credit-lines.ts';
import type { Queryable, TransactionSql } from '../db.ts';
import { postEntries } from '../ledger.ts';
import { getInstallments, getLoan, type Loan, nextIds } from '../loans.ts';
import type { Order } from '../orders.ts';
import { emitEvents } from '../outbox.ts';
import { Refusal } from '../refusal.ts';
import { closePaidOffLoan } from '../repayments.ts';

export async function returnWindowDays(sql: Queryable, merchantId: bigint): Promise<number> {
  const [row] = await sql<{ days: number }[]>`
    select return_window_days::integer as days from merchant_return_policies where merchant_id = ${merchantId}`;
  return row?.days ?? DEFAULT_RETURN_WINDOW_DAYS;
}

export async function setReturnWindowDays(sql: Queryable, merchantId: bigint, days: number): Promise<void> {
  await sql`
    insert into merchant_return_policies (merchant_id, return_window_days) values (${merchantId}, ${days})
    on conflict (merchant_id) do update set return_window_days = excluded.return_window_days,
      updated_at = excluded.updated_at`;
}

export interface ReturnInput {
  order: Order;
  /** null: everything not yet returned. */
  returnedMinor: bigint | null;
  refundTo: RefundTo;
  requestedBy: string;
  businessDate: string;
}

export interface AppliedReturn {
  id: bigint;
  plan: ReturnPlan;
  refundTo: RefundTo;
  loanStatus: Loan['status'];
  businessDate: string;
}

async function facts(tx: TransactionSql, order: Order, loan: Loan) {
  const [returned] = await tx<{ minor: bigint }[]>`
    select coalesce(sum(returned_minor), 0)::bigint as minor from order_returns
    where customer_id = ${order.customerId} and order_id = ${order.id}`;
  const [mark] = await tx<{ d: string }[]>`
    select last_closed_date::text as d from loan_cob_marks where customer_id = ${loan.customerId} and loan_id = ${loan.id}`;
  const installments = (await getInstallments(tx, loan.id, loan.customerId)).filter(
    (i) => i.status !== 'written_off',
  );
  return { alreadyReturnedMinor: returned?.minor ?? 0n, accruedThrough: mark?.d ?? null, installments };
}

async function lockedLoan(tx: TransactionSql, order: Order): Promise<Loan> {
  if (order.status !== 'settled' || order.loanId === null) {
    throw new Refusal('ORDER_NOT_RETURNABLE', `the order is ${order.status}`, { status: order.status });
  }
  const loan = await getLoan(tx, order.loanId, true, order.customerId);
  if (!loan) throw new Refusal('LOAN_NOT_FOUND', 'the order has no loan');
  if (loan.status !== 'active')
    throw new Refusal('LOAN_NOT_ACTIVE', `the loan is ${loan.status}`, { status: loan.status });
  return loan;
}

async function writeCuts(tx: TransactionSql, loan: Loan, plan: ReturnPlan): Promise<void> {
  const cuts = plan.cuts;
  if (cuts.length === 0) return;
  await tx`
    update installments i set
      scheduled_interest_minor = coalesce(i.scheduled_interest_minor, i.interest_minor) - (i.interest_minor - c.interest),
      principal_minor = c.principal, interest_minor = c.interest, fee_minor = c.fee, penalty_minor = c.penalty,
      status = case when c.principal = i.paid_principal_minor and c.interest = i.paid_interest_minor
                     and c.fee = i.paid_fee_minor and c.penalty = i.paid_penalty_minor then 'paid' else i.status end,
      paid_at = case when c.principal = i.paid_principal_minor and c.interest = i.paid_interest_minor
                      and c.fee = i.paid_fee_minor and c.penalty = i.paid_penalty_minor
                 then coalesce(i.paid_at, ${new Date()}) else i.paid_at end
    from unnest(${cuts.map((c) => c.number)}::int[], ${cuts.map((c) => c.scheduled.principal.toString())}::bigint[],
      ${cuts.map((c) => c.scheduled.interest.toString())}::bigint[], ${cuts.map((c) => c.scheduled.fee.toString())}::bigint[],
      ${cuts.map((c) => c.scheduled.penalty.toString())}::bigint[]) as c(number, principal, interest, fee, penalty)
    where i.customer_id = ${loan.customerId} and i.loan_id = ${loan.id} and i.number = c.number`;
}

async function record(tx: TransactionSql, input: ReturnInput, loan: Loan, plan: ReturnPlan, id: bigint) {
  const c = plan.cancelled;
  await tx`
    insert into order_returns (customer_id, id, order_id, loan_id, merchant_id, kind, returned_minor,
      principal_cancelled_minor, interest_cancelled_minor, fee_cancelled_minor, penalty_cancelled_minor,
      refund_minor, refund_to, requested_by, business_date)
    values (${loan.customerId}, ${id}, ${input.order.id}, ${loan.id}, ${input.order.merchantId}, ${plan.kind},
      ${plan.returnedMinor}, ${c.principal}, ${c.interest}, ${c.fee}, ${c.penalty}, ${plan.refundMinor},
      ${input.refundTo}, ${input.requestedBy}, ${input.businessDate})`;
}

/** Applies a return of the order's goods (the window is checked here, against the sale date). */
export async function applyReturn(tx: TransactionSql, input: ReturnInput): Promise<AppliedReturn> {
  const loan = await lockedLoan(tx, input.order);
  const windowDays = await returnWindowDays(tx, input.order.merchantId);
  if (!returnWindowOpen(loan.startDate, input.businessDate, windowDays)) {
    throw new Refusal(
      'RETURN_WINDOW_CLOSED',
      `the merchant accepts returns for ${windowDays} days after the sale`,
      {
        sale_date: loan.startDate,
        window_days: String(windowDays),
      },
    );
  }
  const f = await facts(tx, input.order, loan);
  const planned = planReturn({
    priceMinor: input.order.priceMinor,
    alreadyReturnedMinor: f.alreadyReturnedMinor,
    returnedMinor: input.returnedMinor ?? input.order.priceMinor - f.alreadyReturnedMinor,
    installments: f.installments,
    accruedThrough: f.accruedThrough,
  });
  if ('refused' in planned) throw new Refusal(planned.refused, 'the return is not possible as asked');
  const plan = planned;
  const [id] = (await nextIds(tx, 1)) as [bigint];
  await record(tx, input, loan, plan, id);
  await writeCuts(tx, loan, plan);
  const ref = { customerId: loan.customerId, loanId: loan.id };
  const posting = goodsReturnPostings(ref, plan, input.refundTo);
  await postEntries(tx, [
    { eventKey: `order:${input.order.id}:return:${id}`, businessDate: input.businessDate, ...ref, posting },
  ]);
  await releaseCredit(tx, loan.customerId, plan.cancelled.principal);
  let loanStatus: Loan['status'] = loan.status;
  if (plan.closesLoan) {
    await closePaidOffLoan(tx, loan, { waivedInterestMinor: 0n }, input.businessDate, id);
    loanStatus = plan.kind === 'full' ? 'cancelled' : 'paid_off';
    await tx`update loans set status = ${loanStatus} where customer_id = ${loan.customerId} and id = ${loan.id}`;
  }
  await emitEvents(tx, [
    domainEvent('goods.returned', loan.customerId, `return:${id}`, {
      return_id: id.toString(),
      order_id: input.order.id.toString(),
      loan_id: loan.id.toString(),
      returned_minor: plan.returnedMinor.toString(),
    }),
  ]);
  return { id, plan, refundTo: input.refundTo, loanStatus, businessDate: input.businessDate };
}

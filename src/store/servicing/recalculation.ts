/**
 * What interest recalculation (domain/recalculation.ts) reads of a stored loan: its schedule with
 * the interest it was booked with, and the principal each live payment repaid on its value date.
 */
import type { LoanProduct } from '../../domain/product.ts';
import type { RecalculationBasis } from '../../domain/recalculation.ts';
import type { Queryable } from '../db.ts';
import type { Loan } from '../loans.ts';

export async function readRecalculationBasis(
  sql: Queryable,
  loan: Pick<Loan, 'id' | 'customerId' | 'startDate'>,
  product: Pick<LoanProduct, 'roundingMode' | 'multipleMinor'>,
): Promise<RecalculationBasis> {
  const schedule = await sql<
    { number: number; due_date: string; principal_minor: bigint; scheduled_interest_minor: bigint }[]
  >`
    select number, due_date::text as due_date, principal_minor,
      coalesce(scheduled_interest_minor, interest_minor) as scheduled_interest_minor
    from installments where customer_id = ${loan.customerId} and loan_id = ${loan.id} order by number`;
  const paid = await sql<{ d: string; principal_minor: bigint }[]>`
    select coalesce(value_date, business_date)::text as d, principal_minor
    from repayments
    where customer_id = ${loan.customerId} and loan_id = ${loan.id} and status = 'posted' and principal_minor > 0`;
  return {
    startDate: loan.startDate,
    schedule: schedule.map((r) => ({
      number: r.number,
      dueDate: r.due_date,
      principalMinor: r.principal_minor,
      scheduledInterestMinor: r.scheduled_interest_minor,
    })),
    principalPaid: paid.map((r) => ({ date: r.d, amountMinor: r.principal_minor })),
    rounding: { roundingMode: product.roundingMode, multipleMinor: product.multipleMinor },
  };
}

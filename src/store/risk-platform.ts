/**
 * What the risk tools read from the platform's own history: matured loans with the decision that
 * granted them (training), and the inputs of recent decisions (monitoring). The features and the
 * statistics over them are the risk model's (risk/model/monitor.ts).
 */
import type { DecisionInputs } from '../risk/model/features.ts';
import type { MaturedLoan } from '../risk/model/monitor.ts';
import type { Queryable } from './db.ts';

/** Most rows read for training or monitoring in one process; beyond it, sample in SQL first. */
export const MAX_PLATFORM_ROWS = 500_000;

/**
 * Loans started at least windowDays before asOf, each with the last decision that gave its
 * customer credit before the loan was made. Worst DPD counts installments due inside the window,
 * measured at the earlier of payment and asOf.
 */
export async function maturedLoans(
  sql: Queryable,
  options: { badDpd: number; windowDays: number; asOf: string },
): Promise<MaturedLoan[]> {
  const rows = await sql<{ id: bigint; worst_dpd: number; inputs: DecisionInputs }[]>`
    select l.id, d.inputs,
      coalesce((select max(greatest(0, least(coalesce(i.paid_at::date, ${options.asOf}::date), ${options.asOf}::date)
                                      - i.due_date))
                from installments i
                where i.loan_id = l.id and i.due_date <= l.start_date + ${options.windowDays}::int), 0)::int as worst_dpd
    from loans l
    join lateral (
      select inputs from credit_decisions d
      where d.customer_id = l.customer_id and d.created_at <= l.created_at and d.outcome in ('approve', 'refer')
      order by d.created_at desc limit 1) d on true
    where l.status <> 'cancelled' and l.start_date + ${options.windowDays}::int <= ${options.asOf}::date
    order by l.id
    limit ${MAX_PLATFORM_ROWS}`;
  return rows.map((r) => ({
    loanId: r.id,
    worstDpd: r.worst_dpd,
    bad: r.worst_dpd >= options.badDpd,
    inputs: r.inputs,
  }));
}

/** Inputs of the decisions made since a moment, newest first. */
export async function recentInputs(sql: Queryable, since: Date): Promise<DecisionInputs[]> {
  const rows = await sql<{ inputs: DecisionInputs }[]>`
    select inputs from credit_decisions where created_at >= ${since}
    order by created_at desc limit ${MAX_PLATFORM_ROWS}`;
  return rows.map((r) => r.inputs);
}

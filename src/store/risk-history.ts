/**
 * What a credit decision reads about applicants from the platform itself (their identity keys, then
 * their history), for many applicants in one statement (decisions arriving together share it: src/store/micro-batch.ts): account status,
 * a deny-list hit on phone or national id, loans and their worst and current days past due, the
 * on-time ratio of installments due so far, and the largest principal an active product lends.
 * "So far" is the business date, so a decision and close of business agree on what is past due.
 * Callers on Citus batch customers of one shard together (src/store/customer-routing.ts), so each
 * statement here runs on one shard.
 */
import type { Queryable } from './db.ts';

/** Applicants per statement at most. */
export const HISTORY_BATCH_MAX = 64;

export interface HistoryFacts {
  status: string;
  denyListed: boolean;
  loans: number;
  openLoans: number;
  dueCount: number;
  onTimeCount: number;
  worstDpd: number;
  currentDpd: number;
  productCapMinor: string | null;
}

interface Row {
  id: bigint;
  status: string;
  deny_listed: boolean;
  loans: bigint;
  open_loans: bigint;
  due_count: bigint;
  on_time_count: bigint;
  worst_dpd: number;
  current_dpd: number;
  product_cap: string | null;
}

/** What identifies an applicant to the providers and counters: blind indexes, sealed national id. */
export interface IdentityRow {
  phoneBidx: Buffer;
  nationalIdBidx: Buffer;
  nationalIdEnc: Buffer;
  createdAt: Date;
}

/** Identity rows per customer id; an id with no customer is absent from the map. */
export async function readIdentityRows(
  sql: Queryable,
  customerIds: readonly bigint[],
): Promise<Map<bigint, IdentityRow>> {
  const ids = [...new Set(customerIds.map(String))];
  const rows = await sql<
    { id: bigint; phone_bidx: Buffer; national_id_bidx: Buffer; national_id_enc: Buffer; created_at: Date }[]
  >`select id, phone_bidx, national_id_bidx, national_id_enc, created_at from customers
    where id = any(${ids}::bigint[])`;
  return new Map(
    rows.map((r) => [
      r.id,
      {
        phoneBidx: r.phone_bidx,
        nationalIdBidx: r.national_id_bidx,
        nationalIdEnc: r.national_id_enc,
        createdAt: r.created_at,
      },
    ]),
  );
}

/** Facts per customer id; an id with no customer is absent from the map. */
export async function readHistoryFacts(
  sql: Queryable,
  customerIds: readonly bigint[],
  /** The business date (src/clock.ts): days past due count to it, not to the database's own date. */
  today: string,
): Promise<Map<bigint, HistoryFacts>> {
  if (customerIds.length === 0) return new Map();
  const ids = [...new Set(customerIds.map(String))];
  const rows = await sql<Row[]>`
    select c.id, c.status,
      -- two probes of the primary key (bidx, kind), not one OR the planner may not split
      exists (select 1 from risk_deny_list d where d.bidx = c.phone_bidx and d.kind = 'phone')
        or exists (select 1 from risk_deny_list d where d.bidx = c.national_id_bidx and d.kind = 'national_id')
        as deny_listed,
      l.loans, l.open_loans,
      i.due_count, i.on_time_count, i.worst_dpd,
      greatest(i.current_dpd, l.active_dpd) as current_dpd,
      -- uncorrelated: evaluated once per statement, whatever the number of applicants
      (select max((p.terms->>'maxPrincipalMinor')::bigint)::text from loan_products p
       where p.active and p.terms->>'maxPrincipalMinor' ~ '^[0-9]{1,18}$') as product_cap
    from customers c
    -- one pass over the customer's loans (loans_customer_id_idx) for all three figures; the list of
    -- customers again in each lateral so that Citus prunes every table to the customers' shard
    -- (a batch of customers who share a shard is then one task: src/store/customer-routing.ts)
    left join lateral (
      select count(*) filter (where status <> 'cancelled') as loans,
             count(*) filter (where status = 'active') as open_loans,
             coalesce(max(days_past_due) filter (where status = 'active'), 0) as active_dpd
      from loans where customer_id = c.id and customer_id = any(${ids}::bigint[])) l on true
    left join lateral (
      select count(*) filter (where due_date < ${today}::date) as due_count,
             count(*) filter (where due_date < ${today}::date and paid_at is not null
                              and paid_at::date <= due_date) as on_time_count,
             coalesce(max(greatest(0, coalesce(paid_at::date, ${today}::date) - due_date))
                      filter (where due_date < ${today}::date), 0)::int as worst_dpd,
             coalesce(max(${today}::date - due_date)
                      filter (where paid_at is null and status in ('due', 'overdue') and due_date < ${today}::date),
                      0)::int as current_dpd
      from installments where customer_id = c.id and customer_id = any(${ids}::bigint[])) i on true
    where c.id = any(${ids}::bigint[])`;
  const out = new Map<bigint, HistoryFacts>();
  for (const r of rows) {
    out.set(r.id, {
      status: r.status,
      denyListed: r.deny_listed,
      loans: Number(r.loans),
      openLoans: Number(r.open_loans),
      dueCount: Number(r.due_count),
      onTimeCount: Number(r.on_time_count),
      worstDpd: r.worst_dpd,
      currentDpd: r.current_dpd,
      productCapMinor: r.product_cap,
    });
  }
  return out;
}

export async function customerExists(sql: Queryable, customerId: bigint): Promise<boolean> {
  const [row] = await sql`select 1 from customers where id = ${customerId.toString()}::bigint`;
  return row !== undefined;
}

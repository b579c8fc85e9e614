/**
 * Reads behind the operations console's back-office pages (issue 17 item 4): the decision list
 * with filters, a customer's page (lines, loans with what they still owe, decisions, collections
 * notes), the loans of one delinquency bucket with what they owe, and who works each review.
 * Every customer-scoped read filters by customer_id, so on Citus it goes to one shard; the lists
 * across customers are bounded by a page size and a statement timeout.
 */

import type { Queryable, Sql } from './db.ts';
import { INSTALLMENT_OWED_SQL } from './loans.ts';

export const DECISION_LIST_MAX = 100;
export const BUCKET_LOANS_MAX = 100;
/** A customer page shows at most this many of each: loans, decisions, collections notes. */
export const CUSTOMER_PAGE_ROWS = 50;
/** A back-office list must read within this; past it the caller gets a retryable refusal. */
export const BACK_OFFICE_STATEMENT_TIMEOUT_MS = 3_000;

/** Runs a read with the back-office statement timeout (read-only transaction). */
export async function boundedRead<T>(sql: Sql, read: (tx: Queryable) => Promise<T>): Promise<T> {
  return sql.begin(async (tx) => {
    await tx.unsafe(`set local statement_timeout = ${BACK_OFFICE_STATEMENT_TIMEOUT_MS}`);
    await tx.unsafe('set transaction read only');
    return read(tx);
  }) as Promise<T>;
}

export interface DecisionFilter {
  outcome?: 'approve' | 'decline' | 'refer';
  grade?: string;
  purpose?: string;
  /** Business dates, inclusive, in `timeZone`. */
  fromDate?: string;
  toDate?: string;
  timeZone: string;
  /** Newest first: only decisions with an id below this. */
  beforeId?: bigint;
  limit: number;
}

export interface DecisionRow {
  id: bigint;
  customerId: bigint;
  outcome: string;
  grade: string | null;
  score: number | null;
  lineMinor: bigint | null;
  reasons: string[];
  purpose: string | null;
  reviewStatus: string | null;
  createdAt: Date;
}

type DecisionSqlRow = {
  id: bigint;
  customer_id: bigint;
  outcome: string;
  grade: string | null;
  score: number | null;
  line_minor: bigint | null;
  reasons: string[];
  purpose: string | null;
  review_status: string | null;
  created_at: Date;
};

const decisionRow = (r: DecisionSqlRow): DecisionRow => ({
  id: r.id,
  customerId: r.customer_id,
  outcome: r.outcome,
  grade: r.grade,
  score: r.score,
  lineMinor: r.line_minor,
  reasons: r.reasons,
  purpose: r.purpose,
  reviewStatus: r.review_status,
  createdAt: r.created_at,
});

/** Decisions newest first, filtered; a null filter field matches everything. */
export async function listDecisions(sql: Queryable, f: DecisionFilter): Promise<DecisionRow[]> {
  const from = f.fromDate ?? null;
  const to = f.toDate ?? null;
  const rows = await sql<DecisionSqlRow[]>`
    select d.id, d.customer_id, d.outcome, d.grade, d.score, d.line_minor, d.reasons,
           d.inputs->'application'->>'purpose' as purpose, r.status as review_status, d.created_at
    from credit_decisions d
    left join risk_reviews r on r.customer_id = d.customer_id and r.decision_id = d.id
    where (${f.outcome ?? null}::text is null or d.outcome = ${f.outcome ?? null})
      and (${f.grade ?? null}::text is null or d.grade = ${f.grade ?? null})
      and (${f.purpose ?? null}::text is null or d.inputs->'application'->>'purpose' = ${f.purpose ?? null})
      and (${from}::date is null or d.created_at >= (${from}::date)::timestamp at time zone ${f.timeZone})
      and (${to}::date is null or d.created_at < (${to}::date + 1)::timestamp at time zone ${f.timeZone})
      and d.id < ${(f.beforeId ?? 2n ** 63n - 1n).toString()}::bigint
    order by d.id desc limit ${Math.min(f.limit, DECISION_LIST_MAX)}`;
  return rows.map(decisionRow);
}

/** One customer's decisions, newest first. */
export async function customerDecisions(sql: Queryable, customerId: bigint): Promise<DecisionRow[]> {
  const rows = await sql<DecisionSqlRow[]>`
    select d.id, d.customer_id, d.outcome, d.grade, d.score, d.line_minor, d.reasons,
           d.inputs->'application'->>'purpose' as purpose, r.status as review_status, d.created_at
    from credit_decisions d
    left join risk_reviews r on r.customer_id = d.customer_id and r.decision_id = d.id
    where d.customer_id = ${customerId.toString()}::bigint
    order by d.created_at desc, d.id desc limit ${CUSTOMER_PAGE_ROWS}`;
  return rows.map(decisionRow);
}

export interface OwedLoan {
  id: bigint;
  customerId: bigint;
  kind: string;
  status: string;
  principalMinor: bigint;
  owedMinor: bigint;
  daysPastDue: number;
  bucket: string;
  startDate: string;
}

type LoanSqlRow = {
  id: bigint;
  customer_id: bigint;
  kind: string;
  status: string;
  principal_minor: bigint;
  owed: bigint;
  days_past_due: number;
  bucket: string;
  start_date: string;
};

const owedLoan = (r: LoanSqlRow): OwedLoan => ({
  id: r.id,
  customerId: r.customer_id,
  kind: r.kind,
  status: r.status,
  principalMinor: r.principal_minor,
  owedMinor: r.owed,
  daysPastDue: r.days_past_due,
  bucket: r.bucket,
  startDate: r.start_date,
});

/** One customer's loans, newest first, with what each still owes. */
export async function customerLoans(sql: Queryable, customerId: bigint): Promise<OwedLoan[]> {
  const rows = await sql<LoanSqlRow[]>`
    select l.id, l.customer_id, l.kind, l.status, l.principal_minor, l.days_past_due, l.bucket,
           l.start_date::text as start_date,
           coalesce(sum(${sql.unsafe(INSTALLMENT_OWED_SQL)}) filter (where i.status in ('due', 'overdue')), 0)::bigint as owed
    from loans l
    left join installments i on i.customer_id = l.customer_id and i.loan_id = l.id
    where l.customer_id = ${customerId.toString()}::bigint
    group by l.customer_id, l.id
    order by l.id desc limit ${CUSTOMER_PAGE_ROWS}`;
  return rows.map(owedLoan);
}

/** Active loans in one bucket, most days past due first, then by id; `afterId` pages by id. */
export async function bucketLoans(
  sql: Queryable,
  bucket: string,
  limit: number,
  afterId: bigint | null,
): Promise<OwedLoan[]> {
  const rows = await sql<LoanSqlRow[]>`
    select l.id, l.customer_id, l.kind, l.status, l.principal_minor, l.days_past_due, l.bucket,
           l.start_date::text as start_date,
           coalesce(sum(${sql.unsafe(INSTALLMENT_OWED_SQL)}) filter (where i.status in ('due', 'overdue')), 0)::bigint as owed
    from loans l
    left join installments i on i.customer_id = l.customer_id and i.loan_id = l.id
    where l.status = 'active' and l.bucket = ${bucket} and l.id > ${(afterId ?? 0n).toString()}::bigint
    group by l.customer_id, l.id
    order by l.id limit ${Math.min(limit, BUCKET_LOANS_MAX)}`;
  return rows.map(owedLoan);
}

/** What the active loans of each bucket still owe (every unpaid component). */
export async function owedByBucket(sql: Queryable): Promise<Map<string, bigint>> {
  const rows = await sql<{ bucket: string; owed: bigint }[]>`
    select l.bucket, coalesce(sum(${sql.unsafe(INSTALLMENT_OWED_SQL)}), 0)::bigint as owed
    from loans l
    join installments i on i.customer_id = l.customer_id and i.loan_id = l.id
    where l.status = 'active' and i.status in ('due', 'overdue')
    group by l.bucket`;
  return new Map(rows.map((r) => [r.bucket, r.owed]));
}

export interface CollectionNote {
  loanId: bigint;
  channel: string;
  outcome: string;
  collectorName: string | null;
  promiseDate: string | null;
  promiseAmountMinor: bigint | null;
  businessDate: string;
}

/** One customer's collections contact log, newest first. */
export async function customerCollectionNotes(sql: Queryable, customerId: bigint): Promise<CollectionNote[]> {
  const rows = await sql<
    {
      loan_id: bigint;
      channel: string;
      outcome: string;
      username: string | null;
      promise_date: string | null;
      promise_amount_minor: bigint | null;
      business_date: string;
    }[]
  >`
    select c.loan_id, c.channel, c.outcome, s.username, c.promise_date::text as promise_date,
           c.promise_amount_minor, c.business_date::text as business_date
    from collection_contacts c left join staff s on s.id = c.collector_id
    where c.customer_id = ${customerId.toString()}::bigint
    order by c.id desc limit ${CUSTOMER_PAGE_ROWS}`;
  return rows.map((r) => ({
    loanId: r.loan_id,
    channel: r.channel,
    outcome: r.outcome,
    collectorName: r.username,
    promiseDate: r.promise_date,
    promiseAmountMinor: r.promise_amount_minor,
    businessDate: r.business_date,
  }));
}

/** Staff usernames by id: the console shows people by name. */
export async function staffNames(sql: Queryable, ids: readonly bigint[]): Promise<Map<string, string>> {
  if (ids.length === 0) return new Map();
  const rows = await sql<{ id: bigint; username: string }[]>`
    select id, username from staff where id = any(${ids.map(String)}::bigint[])`;
  return new Map(rows.map((r) => [r.id.toString(), r.username]));
}

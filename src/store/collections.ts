/**
 * Collections in the database: the work queue of delinquent loans with their case (assignee,
 * promise to pay, follow-up, pause), assignment, the contact log and the hardship pause. Every
 * statement on a case or contact names the customer (Citus distribution column).
 */
import { MAX_QUEUE_ITEMS } from '../domain/collections.ts';
import type { Queryable, TransactionSql } from './db.ts';
import type { Loan } from './loans.ts';
import { INSTALLMENT_OWED_SQL, nextIds } from './loans.ts';

export interface QueueItem {
  loan_id: bigint;
  customer_id: bigint;
  days_past_due: number;
  bucket: string;
  overdue_minor: bigint;
  assigned_to: bigint | null;
  /** The assignee's staff username (staff are named, not numbered, on a work list). */
  assignee_username: string | null;
  promise_date: string | null;
  promise_amount_minor: bigint | null;
  next_follow_up: string | null;
  paused_until: string | null;
}

/**
 * Delinquent active loans, most days past due first; with `assignedTo`, only that collector's.
 * The queue reads across customers (a work list, not a hot path).
 */
export async function collectionsQueue(
  sql: Queryable,
  assignedTo: bigint | null,
  limit = MAX_QUEUE_ITEMS,
): Promise<QueueItem[]> {
  return sql<QueueItem[]>`
    select l.id as loan_id, l.customer_id, l.days_past_due, l.bucket,
      (select coalesce(sum(${sql.unsafe(INSTALLMENT_OWED_SQL)}), 0)
       from installments i where i.customer_id = l.customer_id and i.loan_id = l.id and i.status = 'overdue')::bigint
        as overdue_minor,
      c.assigned_to, s.username as assignee_username, c.promise_date::text as promise_date, c.promise_amount_minor,
      c.next_follow_up::text as next_follow_up, c.paused_until::text as paused_until
    from loans l left join collection_cases c on c.customer_id = l.customer_id and c.loan_id = l.id
      left join staff s on s.id = c.assigned_to
    where l.status = 'active' and l.days_past_due > 0
      and (${assignedTo === null ? null : assignedTo.toString()}::bigint is null or c.assigned_to = ${assignedTo === null ? null : assignedTo.toString()}::bigint)
    order by l.days_past_due desc, l.id limit ${Math.min(limit, MAX_QUEUE_ITEMS)}`;
}

async function ensureCase(tx: Queryable, loan: Loan): Promise<void> {
  await tx`
    insert into collection_cases (customer_id, loan_id) values (${loan.customerId}, ${loan.id})
    on conflict (customer_id, loan_id) do nothing`;
}

export async function caseAssignee(sql: Queryable, loan: Loan): Promise<bigint | null> {
  const [row] = await sql<{ assigned_to: bigint | null }[]>`
    select assigned_to from collection_cases where customer_id = ${loan.customerId} and loan_id = ${loan.id}`;
  return row?.assigned_to ?? null;
}

export async function assignCase(tx: TransactionSql, loan: Loan, collectorId: bigint): Promise<void> {
  await ensureCase(tx, loan);
  await tx`
    update collection_cases set assigned_to = ${collectorId}, updated_at = now()
    where customer_id = ${loan.customerId} and loan_id = ${loan.id}`;
}

export interface ContactInput {
  collectorId: bigint;
  channel: string;
  outcome: string;
  promiseDate: string | null;
  promiseAmountMinor: bigint | null;
  businessDate: string;
}

/** Logs a contact; a promise to pay becomes the case's promise and its next follow-up. */
export async function logContact(tx: TransactionSql, loan: Loan, c: ContactInput): Promise<bigint> {
  const [id] = (await nextIds(tx, 1)) as [bigint];
  await tx`
    insert into collection_contacts (customer_id, id, loan_id, collector_id, channel, outcome, promise_date,
      promise_amount_minor, business_date)
    values (${loan.customerId}, ${id}, ${loan.id}, ${c.collectorId}, ${c.channel}, ${c.outcome}, ${c.promiseDate},
      ${c.promiseAmountMinor}, ${c.businessDate})`;
  await ensureCase(tx, loan);
  if (c.promiseDate !== null) {
    await tx`
      update collection_cases set promise_date = ${c.promiseDate}, promise_amount_minor = ${c.promiseAmountMinor},
        next_follow_up = ${c.promiseDate}, updated_at = now()
      where customer_id = ${loan.customerId} and loan_id = ${loan.id}`;
  }
  return id;
}

/** Hardship: no late fees and no growth of days past due through `until`, with the consent recorded. */
export async function pauseDelinquency(
  tx: TransactionSql,
  loan: Loan,
  until: string,
  consentRef: string,
): Promise<void> {
  await ensureCase(tx, loan);
  await tx`
    update collection_cases set paused_until = ${until}, pause_consent_ref = ${consentRef}, updated_at = now()
    where customer_id = ${loan.customerId} and loan_id = ${loan.id}`;
}

/** Collectors by username, for assigning cases. */
export async function collectors(sql: Queryable): Promise<{ id: bigint; username: string }[]> {
  return sql<{ id: bigint; username: string }[]>`
    select id, username from staff where role = 'collector' order by username limit ${MAX_QUEUE_ITEMS}`;
}

export interface CaseContact {
  id: bigint;
  channel: string;
  outcome: string;
  promise_date: string | null;
  promise_amount_minor: bigint | null;
  business_date: string;
  collector_username: string;
}

/** A loan's contact log, newest first, at most `limit`. */
export async function caseContacts(
  sql: Queryable,
  loan: Loan,
  limit = MAX_QUEUE_ITEMS,
): Promise<CaseContact[]> {
  return sql<CaseContact[]>`
    select k.id, k.channel, k.outcome, k.promise_date::text as promise_date, k.promise_amount_minor,
      k.business_date::text as business_date, s.username as collector_username
    from collection_contacts k join staff s on s.id = k.collector_id
    where k.customer_id = ${loan.customerId} and k.loan_id = ${loan.id}
    order by k.created_at desc, k.id desc limit ${limit}`;
}

export interface CaseRow {
  assignee_username: string | null;
  promise_date: string | null;
  promise_amount_minor: bigint | null;
  next_follow_up: string | null;
  paused_until: string | null;
}

export async function caseOf(sql: Queryable, loan: Loan): Promise<CaseRow | null> {
  const [row] = await sql<CaseRow[]>`
    select s.username as assignee_username, c.promise_date::text as promise_date, c.promise_amount_minor,
      c.next_follow_up::text as next_follow_up, c.paused_until::text as paused_until
    from collection_cases c left join staff s on s.id = c.assigned_to
    where c.customer_id = ${loan.customerId} and c.loan_id = ${loan.id}`;
  return row ?? null;
}

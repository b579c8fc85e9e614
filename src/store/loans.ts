/**
 * Loans and their installments: created from a domain schedule, read back with what is still
 * owed. `insertLoans` is the only writer of loans and installments (orders.ts, order-batch.ts,
 * disbursements.ts); the loan is booked in the ledger by the caller in the same transaction.
 */
import type { Components, InstallmentState } from '../domain/allocation.ts';
import { invariant } from '../domain/errors.ts';
import type { LoanProduct, Schedule } from '../domain/index.ts';
import { bookingOf, loanBookingPostings } from '../domain/postings.ts';
import type { Queryable, TransactionSql } from './db.ts';
import type { EntryInput } from './ledger.ts';

/**
 * What an installment still owes, every component, as SQL over the alias `i` (installments i).
 * A constant with no input in it, so stores splice it with sql.unsafe().
 */
export const INSTALLMENT_OWED_SQL = `(i.principal_minor + i.interest_minor + i.fee_minor + i.penalty_minor
  - i.paid_principal_minor - i.paid_interest_minor - i.paid_fee_minor - i.paid_penalty_minor)`;

export type LoanStatus = 'pending_disbursement' | 'active' | 'paid_off' | 'written_off' | 'cancelled';
export const MAX_LOANS_LISTED = 200;

export interface Loan {
  id: bigint;
  customerId: bigint;
  productId: bigint;
  kind: 'cash' | 'goods';
  orderId: bigint | null;
  principalMinor: bigint;
  tenor: number;
  startDate: string;
  currency: string;
  aprPercent: string;
  status: LoanStatus;
  daysPastDue: number;
  bucket: string;
  createdAt: Date;
  closedAt: Date | null;
}

/** An installment's amount columns as postgres.js reads them (bigint minor units). */
export interface InstallmentAmountColumns {
  principal_minor: bigint;
  interest_minor: bigint;
  fee_minor: bigint;
  penalty_minor: bigint;
  paid_principal_minor: bigint;
  paid_interest_minor: bigint;
  paid_fee_minor: bigint;
  paid_penalty_minor: bigint;
}

export interface StoredInstallment extends InstallmentState {
  status: string;
  paidAt: Date | null;
}

interface LoanRow {
  id: bigint;
  customer_id: bigint;
  product_id: bigint;
  kind: 'cash' | 'goods';
  order_id: bigint | null;
  principal_minor: bigint;
  tenor: number;
  start_date: string;
  currency: string;
  apr_percent: string;
  status: LoanStatus;
  days_past_due: number;
  bucket: string;
  created_at: Date;
  closed_at: Date | null;
}

const LOAN_COLUMNS = `id, customer_id, product_id, kind, order_id, principal_minor, tenor,
  to_char(start_date, 'YYYY-MM-DD') as start_date, currency, apr_percent, status, days_past_due, bucket,
  created_at, closed_at`;

function loanFromRow(r: LoanRow): Loan {
  return {
    id: r.id,
    customerId: r.customer_id,
    productId: r.product_id,
    kind: r.kind,
    orderId: r.order_id,
    principalMinor: r.principal_minor,
    tenor: r.tenor,
    startDate: r.start_date,
    currency: r.currency,
    aprPercent: r.apr_percent,
    status: r.status,
    daysPastDue: r.days_past_due,
    bucket: r.bucket,
    createdAt: r.created_at,
    closedAt: r.closed_at,
  };
}

/**
 * A loan by id. Given its customer too, the look-up reads one shard on a sharded database (and
 * only then can it lock the row there: `forUpdate` needs `customerId`).
 */
export async function getLoan(
  sql: Queryable,
  id: bigint,
  forUpdate = false,
  customerId?: bigint,
): Promise<Loan | null> {
  invariant(!forUpdate || customerId !== undefined, 'a loan is locked through its customer');
  const ofCustomer = customerId === undefined ? '' : ' and customer_id = $2';
  const params = customerId === undefined ? [id.toString()] : [id.toString(), customerId.toString()];
  const rows = await sql.unsafe<LoanRow[]>(
    `select ${LOAN_COLUMNS} from loans where id = $1${ofCustomer}${forUpdate ? ' for update' : ''}`,
    params,
  );
  return rows[0] ? loanFromRow(rows[0]) : null;
}

/**
 * A loan locked for update through its customer. Staff routes name a loan by id alone: its customer
 * is read first (on a sharded database a look-up across shards, off the hot path), then the row is
 * locked on its customer's shard.
 */
export async function lockLoan(sql: Queryable, id: bigint, customerId?: bigint): Promise<Loan | null> {
  const owner = customerId ?? (await getLoan(sql, id))?.customerId;
  return owner === undefined ? null : getLoan(sql, id, true, owner);
}

export async function listLoans(sql: Queryable, customerId: bigint): Promise<Loan[]> {
  const rows = await sql.unsafe<LoanRow[]>(
    `select ${LOAN_COLUMNS} from loans where customer_id = $1 order by id desc limit ${MAX_LOANS_LISTED}`,
    [customerId.toString()],
  );
  return rows.map(loanFromRow);
}

/**
 * What each of a customer's loans is called for people, in one read: the goods and their merchant
 * for a goods loan ("iPhone 16 · Apple Store"), the product's name for a cash loan. Keyed by loan id.
 */
export async function loanDisplayNames(
  sql: Queryable,
  customerId: bigint,
  loanIds: readonly bigint[],
): Promise<Map<bigint, string>> {
  if (loanIds.length === 0) return new Map();
  const rows = await sql<{ id: bigint; goods: string | null; merchant: string | null; product: string }[]>`
    select l.id, g.name as goods, m.name as merchant, coalesce(p.terms->>'name', p.code) as product
    from loans l
    join loan_products p on p.id = l.product_id
    left join orders o on o.customer_id = l.customer_id and o.id = l.order_id
    left join goods g on g.id = o.goods_id
    left join merchants m on m.id = o.merchant_id
    where l.customer_id = ${customerId} and l.id = any(${loanIds.map(String)}::bigint[])`;
  return new Map(
    rows.map((r) => [BigInt(r.id), r.goods ? [r.goods, r.merchant].filter(Boolean).join(' · ') : r.product]),
  );
}

/** A loan's installments; given the loan's customer, from one shard. */
export async function getInstallments(
  sql: Queryable,
  loanId: bigint,
  customerId?: bigint,
): Promise<StoredInstallment[]> {
  const ofCustomer = customerId === undefined ? sql`` : sql`and customer_id = ${customerId}`;
  const rows = await sql<
    (InstallmentAmountColumns & { number: number; due_date: string; status: string; paid_at: Date | null })[]
  >`
    select number, to_char(due_date, 'YYYY-MM-DD') as due_date, principal_minor, interest_minor, fee_minor,
      penalty_minor, paid_principal_minor, paid_interest_minor, paid_fee_minor, paid_penalty_minor, status, paid_at
    from installments where loan_id = ${loanId} ${ofCustomer} order by number`;
  return rows.map((r) => ({
    number: r.number,
    dueDate: r.due_date,
    scheduled: {
      principal: r.principal_minor,
      interest: r.interest_minor,
      fee: r.fee_minor,
      penalty: r.penalty_minor,
    },
    paid: {
      principal: r.paid_principal_minor,
      interest: r.paid_interest_minor,
      fee: r.paid_fee_minor,
      penalty: r.paid_penalty_minor,
    },
    status: r.status,
    paidAt: r.paid_at,
  }));
}

/** What is still owed on installments that are not written off, per component. */
export function outstandingTotals(installments: readonly StoredInstallment[]): Components {
  const out: Components = { penalty: 0n, fee: 0n, interest: 0n, principal: 0n };
  for (const i of installments) {
    if (i.status === 'written_off') continue;
    out.penalty += i.scheduled.penalty - i.paid.penalty;
    out.fee += i.scheduled.fee - i.paid.fee;
    out.interest += i.scheduled.interest - i.paid.interest;
    out.principal += i.scheduled.principal - i.paid.principal;
  }
  return out;
}

export interface NewLoan {
  id: bigint;
  customerId: bigint;
  productId: bigint;
  product: LoanProduct;
  schedule: Schedule;
  orderId: bigint | null;
  status: 'pending_disbursement' | 'active';
  businessDate: string;
}

/**
 * The one loan writer: inserts the loans and their installments, two statements however many
 * loans. Booking them is the caller's, in the same transaction (`loanBookingEntry`, postEntries).
 */
export async function insertLoans(tx: TransactionSql, loans: readonly NewLoan[]): Promise<void> {
  if (loans.length === 0) return;
  const inst = loans.flatMap((l) => l.schedule.installments.map((i) => ({ l, i })));
  await Promise.all([
    tx`
      insert into loans (id, customer_id, product_id, kind, order_id, principal_minor, tenor, start_date,
        currency, apr_percent, status)
      select * from unnest(${loans.map((l) => l.id.toString())}::bigint[],
        ${loans.map((l) => l.customerId.toString())}::bigint[], ${loans.map((l) => l.productId.toString())}::bigint[],
        ${loans.map((l) => l.product.kind)}::text[], ${loans.map((l) => l.orderId?.toString() ?? null)}::bigint[],
        ${loans.map((l) => l.schedule.amountFinancedMinor.toString())}::bigint[],
        ${loans.map((l) => l.schedule.terms.tenor)}::int[], ${loans.map((l) => l.schedule.terms.startDate)}::date[],
        ${loans.map((l) => l.product.currency.code)}::text[], ${loans.map((l) => l.schedule.apr.percent)}::text[],
        ${loans.map((l) => l.status)}::text[])`,
    tx`
      insert into installments (loan_id, number, customer_id, due_date, principal_minor, interest_minor, fee_minor)
      select * from unnest(${inst.map((x) => x.l.id.toString())}::bigint[], ${inst.map((x) => x.i.number)}::int[],
        ${inst.map((x) => x.l.customerId.toString())}::bigint[], ${inst.map((x) => x.i.dueDate)}::date[],
        ${inst.map((x) => x.i.principalMinor.toString())}::bigint[],
        ${inst.map((x) => x.i.interestMinor.toString())}::bigint[], ${inst.map((x) => x.i.feeMinor.toString())}::bigint[])`,
  ]);
}

/** The journal entry booking a new loan (`loan:{id}:booking`). */
export function loanBookingEntry(l: NewLoan): EntryInput {
  const ref = { customerId: l.customerId, loanId: l.id };
  return {
    eventKey: `loan:${l.id}:booking`,
    businessDate: l.businessDate,
    ...ref,
    posting: loanBookingPostings(
      ref,
      bookingOf(l.schedule, l.product.kind === 'goods' ? 'merchant' : 'transit'),
    ),
  };
}

/** Two fresh ids in one round trip (an order and its loan refer to each other). */
export async function nextIds(tx: TransactionSql, count: number): Promise<bigint[]> {
  const rows = await tx<{ id: bigint }[]>`select fenqi_next_id() as id from generate_series(1, ${count})`;
  return rows.map((r) => r.id);
}

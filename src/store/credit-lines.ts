/**
 * Credit lines: one per customer. Reserving credit is one conditional UPDATE, so two concurrent
 * orders can never both take the last of a line; the table's CHECK (used <= limit) is the last
 * guard should any code path forget.
 */
import { CREDIT_LINE_MAX_MINOR } from '../domain/credit-approval.ts';
import { routingGroups } from './customer-routing.ts';
import { requireCustomer } from './customers.ts';
import type { Queryable, TransactionSql } from './db.ts';
import { Refusal } from './refusal.ts';

export type CreditLineStatus = 'active' | 'frozen';

export interface CreditLine {
  customerId: bigint;
  limitMinor: bigint;
  usedMinor: bigint;
  availableMinor: bigint;
  currency: string;
  status: CreditLineStatus;
  updatedAt: Date;
}

interface Row {
  customer_id: bigint;
  limit_minor: bigint;
  used_minor: bigint;
  currency: string;
  status: CreditLineStatus;
  updated_at: Date;
}

function fromRow(r: Row): CreditLine {
  return {
    customerId: r.customer_id,
    limitMinor: r.limit_minor,
    usedMinor: r.used_minor,
    availableMinor: r.limit_minor - r.used_minor,
    currency: r.currency,
    status: r.status,
    updatedAt: r.updated_at,
  };
}

export async function getCreditLine(sql: Queryable, customerId: bigint): Promise<CreditLine | null> {
  const [row] = await sql<Row[]>`
    select customer_id, limit_minor, used_minor, currency, status, updated_at
    from credit_lines where customer_id = ${customerId}`;
  return row ? fromRow(row) : null;
}

/**
 * Sets a line's limit and/or status, creating it on first use. A limit below what is already used
 * is refused (LIMIT_BELOW_USED): outstanding loans cannot be un-lent, so staff freeze the line to
 * stop new borrowing and lower the limit once repayments bring `used` down.
 */
export async function setCreditLine(
  tx: TransactionSql,
  customerId: bigint,
  change: { limitMinor?: bigint; status?: CreditLineStatus },
): Promise<CreditLine> {
  await requireCustomer(tx, customerId);
  await tx`
    insert into credit_lines (customer_id, limit_minor, status)
    values (${customerId}, 0, 'active') on conflict (customer_id) do nothing`;
  const [current] = await tx<Row[]>`
    select customer_id, limit_minor, used_minor, currency, status, updated_at
    from credit_lines where customer_id = ${customerId} for update`;
  if (!current) throw new Error('credit line vanished inside its transaction');
  const limitMinor = change.limitMinor ?? current.limit_minor;
  if (limitMinor < 0n || limitMinor > CREDIT_LINE_MAX_MINOR) {
    throw new Refusal('LIMIT_OUT_OF_RANGE', 'a credit limit is from 0 to the stored maximum', {
      max_minor: CREDIT_LINE_MAX_MINOR.toString(),
    });
  }
  if (limitMinor < current.used_minor) {
    throw new Refusal(
      'LIMIT_BELOW_USED',
      'the limit cannot be set below what is already used; freeze the line',
      {
        used_minor: current.used_minor.toString(),
      },
    );
  }
  const [row] = await tx<Row[]>`
    update credit_lines set limit_minor = ${limitMinor}, status = ${change.status ?? current.status},
      updated_at = now()
    where customer_id = ${customerId}
    returning customer_id, limit_minor, used_minor, currency, status, updated_at`;
  return fromRow(row as Row);
}

/** Takes `amountMinor` from the line in one statement, or refuses saying why. */
export async function reserveCredit(
  tx: TransactionSql,
  customerId: bigint,
  amountMinor: bigint,
): Promise<void> {
  const rows = await tx`
    update credit_lines set used_minor = used_minor + ${amountMinor}, updated_at = now()
    where customer_id = ${customerId} and status = 'active' and used_minor + ${amountMinor} <= limit_minor
    returning used_minor`;
  if (rows.length === 1) return;
  const line = await getCreditLine(tx, customerId);
  if (!line) throw new Refusal('NO_CREDIT_LINE', 'the customer has no credit line');
  if (line.status === 'frozen') throw new Refusal('CREDIT_LINE_FROZEN', 'the credit line is frozen');
  throw new Refusal('INSUFFICIENT_CREDIT', 'not enough credit available', {
    available_minor: line.availableMinor.toString(),
    requested_minor: amountMinor.toString(),
  });
}

/** A line as an order decision reads it (domain/orders.ts `CreditLineFacts`), locked. */
export interface LockedLine {
  customerId: bigint;
  limitMinor: bigint;
  usedMinor: bigint;
  status: string;
}

/**
 * Locks the customers' lines, in the order of `routingGroups` so concurrent batches cannot
 * deadlock. Under the lock the order rule's running total is the authority until commit
 * (`takeCredit` writes it). One pipelined statement per routing group: customers with one key live
 * on one node (store/customer-routing.ts), and Citus locks rows only within one shard's statement;
 * on one PostgreSQL the whole batch is one statement instead of one per customer. Rows are locked
 * in the ORDER BY's order (PostgreSQL locks above the sort).
 */
export async function lockCreditLines(
  tx: TransactionSql,
  customerIds: readonly bigint[],
  keyOf?: ReadonlyMap<bigint, string>,
): Promise<LockedLine[]> {
  const sets = await Promise.all(
    routingGroups(customerIds, keyOf).map(
      (group) => tx<{ customer_id: bigint; limit_minor: bigint; used_minor: bigint; status: string }[]>`
        select customer_id, limit_minor, used_minor, status from credit_lines
        where customer_id = any(${group.map(String)}::bigint[]) order by customer_id for update`,
    ),
  );
  return sets.flat().map((r) => ({
    customerId: r.customer_id,
    limitMinor: r.limit_minor,
    usedMinor: r.used_minor,
    status: r.status,
  }));
}

/**
 * Adds what each customer's new loans take to their locked lines: one pipelined statement per
 * routing group (as `lockCreditLines`), each customer's amount picked from the group's arrays.
 */
export async function takeCredit(
  tx: TransactionSql,
  takenMinor: ReadonlyMap<bigint, bigint>,
  keyOf?: ReadonlyMap<bigint, string>,
): Promise<void> {
  await Promise.all(
    routingGroups([...takenMinor.keys()], keyOf).map((group) => {
      const amountsMinor = group.map((id) => takenMinor.get(id)!.toString());
      return tx`
        update credit_lines
        set used_minor = used_minor
            + (${amountsMinor}::bigint[])[array_position(${group.map(String)}::bigint[], customer_id)],
          updated_at = now()
        where customer_id = any(${group.map(String)}::bigint[])`;
    }),
  );
}

/** Gives credit back: repaid principal or a cancelled loan. */
export async function releaseCredit(
  tx: TransactionSql,
  customerId: bigint,
  amountMinor: bigint,
): Promise<void> {
  if (amountMinor === 0n) return;
  await tx`
    update credit_lines set used_minor = used_minor - ${amountMinor}, updated_at = now()
    where customer_id = ${customerId}`;
}

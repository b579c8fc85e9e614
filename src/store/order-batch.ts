/**
 * Set-based settlement of a batch of queued orders in ONE transaction: a pipelined read of every
 * line (locked, in customer order so concurrent batches cannot deadlock), existing orders, goods and
 * products; the decisions in memory (per customer in stream order: accepted while they fit, the rest
 * rejected with INSUFFICIENT_CREDIT); then one bulk statement per table (orders, credit lines,
 * loans, installments, the journal), pipelined. One bad order is an outcome, never a failed batch.
 * The same rule (domain/orders.ts `checkOrder`), loan writer (`insertLoans`) and journal writer
 * (`postEntries`) as `settleOrder` (orders.ts), which the synchronous path uses.
 */

import { orderDecidedEvent } from '../domain/events.ts';
import { DomainError, type LoanProduct, type Schedule } from '../domain/index.ts';
import { type CreditLineFacts, checkOrder, type OrderProductFacts } from '../domain/orders.ts';
import { type LockedLine, lockCreditLines, takeCredit } from './credit-lines.ts';
import type { Sql, TransactionSql } from './db.ts';
import type { IdGenerator } from './id-generator.ts';
import { postEntries } from './ledger.ts';
import { insertLoans, type NewLoan } from './loans.ts';
import {
  type Order,
  type OrderInput,
  type OrderRow,
  orderEntries,
  orderFromRow,
  quoteOrRefusal,
} from './orders.ts';
import { emitEvents } from './outbox.ts';
import { type ProductRow, productFromRow } from './products.ts';
import type { RefusalCode } from './refusal.ts';

/** Quotes kept per worker: in a sale thousands of orders share a few (goods, product, tenor). */
export const QUOTE_MEMO_MAX = 2_000;

/** An order taken at intake: its id is assigned before it is queued. */
export interface QueuedOrder extends OrderInput {
  orderId: bigint;
}

export type BatchOutcome =
  /** Written now or before (`replay`): the order as stored. */
  | { kind: 'stored'; order: Order; replay: boolean }
  /** The same (customer, key) is stored under another id (a retry beyond the dedupe window). */
  | { kind: 'superseded'; order: Order }
  /** Cannot be stored at all (its goods, product or customer do not exist). */
  | { kind: 'unrecordable'; reason: RefusalCode };

/** A credit line as committed by the batch (for the cache: the worker writes it after commit). */
export interface CommittedLine {
  customerId: bigint;
  limitMinor: bigint;
  usedMinor: bigint;
  status: string;
}

export interface BatchResult {
  /** In input order. */
  outcomes: BatchOutcome[];
  /** Every locked line of the batch's customers, with the batch's orders applied. */
  lines: CommittedLine[];
}

export class BatchConflictError extends Error {
  override name = 'BatchConflictError';
}

interface GoodsRow {
  id: bigint;
  merchant_id: bigint;
  price_minor: bigint;
  active: boolean;
  merchant_status: string;
}
/** Batch look-ups match stored orders by idempotency key as well as by id. */
interface KeyedOrderRow extends OrderRow {
  idempotency_key: string;
}

/** A product row as the rule sees it: parsed once per batch, or the DomainError its terms raise. */
interface BatchProduct {
  row: ProductRow;
  parsed: LoanProduct | DomainError;
}

const quoteMemo = new Map<string, Schedule | DomainError>();

function memoQuote(p: BatchProduct, price: bigint, tenor: number, date: string): Schedule | DomainError {
  if (p.parsed instanceof DomainError) return p.parsed;
  const key = `${p.row.id}:${p.row.version}:${price}:${tenor}:${date}`;
  let hit = quoteMemo.get(key);
  if (!hit) {
    hit = quoteOrRefusal(p.parsed, { principalMinor: price, tenor, startDate: date });
    if (quoteMemo.size >= QUOTE_MEMO_MAX) quoteMemo.clear();
    quoteMemo.set(key, hit);
  }
  return hit;
}

function parseProduct(row: ProductRow): BatchProduct {
  try {
    return { row, parsed: productFromRow(row) };
  } catch (err) {
    if (err instanceof DomainError) return { row, parsed: err };
    throw err;
  }
}

interface Decision {
  input: QueuedOrder;
  goods: GoodsRow;
  status: 'settled' | 'rejected';
  reason: string | null;
  /** The new loan of a settled order. */
  loan: NewLoan | null;
}

/** What the batch reads before it decides, keyed for look-up. */
interface BatchFacts {
  lineOf: Map<bigint, LockedLine>;
  customerStatus: Map<bigint, string>;
  daysPastDue: Map<bigint, number>;
  goodsOf: Map<bigint, GoodsRow>;
  productOf: Map<bigint, BatchProduct>;
  byId: Map<bigint, KeyedOrderRow>;
  byKey: Map<string, KeyedOrderRow>;
}

/**
 * Settles `orders` (stream order) in one transaction; outcomes in input order. `routing` holds the
 * customers' routing keys (store/customer-routing.ts): the lines of customers with one key are
 * locked and updated by one statement; a customer without a key gets statements of its own.
 */
export async function settleOrderBatch(
  sql: Sql,
  orders: readonly QueuedOrder[],
  ids: IdGenerator,
  routing?: ReadonlyMap<bigint, string>,
): Promise<BatchResult> {
  return sql.begin((tx) => settleInTransaction(tx, orders, ids, routing)) as Promise<BatchResult>;
}

/**
 * One round trip: the lock comes first, so the look-up of existing orders after it sees whatever
 * a concurrent delivery of the same order committed.
 */
async function readBatchFacts(
  tx: TransactionSql,
  orders: readonly QueuedOrder[],
  routing: ReadonlyMap<bigint, string> | undefined,
): Promise<BatchFacts> {
  const goodsIds = [...new Set(orders.map((o) => o.goodsId.toString()))];
  const productIds = [...new Set(orders.map((o) => o.productId.toString()))];
  const customerText = [...new Set(orders.map((o) => o.customerId.toString()))];
  const [lines, existing, goodsRows, productRows, customerRows, lateRows] = await Promise.all([
    lockCreditLines(
      tx,
      orders.map((o) => o.customerId),
      routing,
    ),
    tx<KeyedOrderRow[]>`
      select o.* from orders o where o.id = any(${orders.map((o) => o.orderId.toString())}::bigint[])
      union
      select o.* from orders o
      join unnest(${orders.map((o) => o.customerId.toString())}::bigint[], ${orders.map((o) => o.idempotencyKey)}::text[])
        as k(customer_id, key) on o.customer_id = k.customer_id and o.idempotency_key = k.key`,
    tx<GoodsRow[]>`
      select g.id, g.merchant_id, g.price_minor, g.active, m.status as merchant_status
      from goods g join merchants m on m.id = g.merchant_id where g.id = any(${goodsIds}::bigint[])`,
    tx<ProductRow[]>`
      select id, code, kind, active, apr_cap_bp, terms, version from loan_products
      where id = any(${productIds}::bigint[])`,
    tx<{ id: bigint; status: string }[]>`
      select id, status from customers where id = any(${customerText}::bigint[])`,
    tx<{ customer_id: bigint; days: number }[]>`
      select customer_id, max(days_past_due)::int as days from loans
      where customer_id = any(${customerText}::bigint[]) and status = 'active' group by customer_id`,
  ]);
  return {
    lineOf: new Map(lines.map((l) => [l.customerId, { ...l }])),
    customerStatus: new Map(customerRows.map((c) => [c.id, c.status])),
    daysPastDue: new Map(lateRows.map((r) => [r.customer_id, r.days])),
    goodsOf: new Map(goodsRows.map((g) => [g.id, g])),
    productOf: new Map(productRows.map((p) => [p.id, parseProduct(p)])),
    byId: new Map(existing.map((o) => [o.id, o])),
    byKey: new Map(existing.map((o) => [`${o.customer_id}:${o.idempotency_key}`, o])),
  };
}

async function settleInTransaction(
  tx: TransactionSql,
  orders: readonly QueuedOrder[],
  ids: IdGenerator,
  routing: ReadonlyMap<bigint, string> | undefined,
): Promise<BatchResult> {
  const facts = await readBatchFacts(tx, orders, routing);
  const outcomes: (BatchOutcome | Decision)[] = [];
  const seenIds = new Map<bigint, number>();
  const seenKeys = new Map<string, number>();
  for (const input of orders) {
    const keyOf = `${input.customerId}:${input.idempotencyKey}`;
    const stored = facts.byId.get(input.orderId);
    if (stored) {
      outcomes.push({ kind: 'stored', order: orderFromRow(stored), replay: true });
      continue;
    }
    const sameKey = facts.byKey.get(keyOf);
    if (sameKey) {
      outcomes.push({ kind: 'superseded', order: orderFromRow(sameKey) });
      continue;
    }
    // The same order twice in one batch (a redelivery racing its first delivery): decided once.
    const twin = seenIds.get(input.orderId) ?? seenKeys.get(keyOf);
    if (twin !== undefined) {
      outcomes.push(outcomes[twin] as BatchOutcome | Decision);
      continue;
    }
    seenIds.set(input.orderId, outcomes.length);
    seenKeys.set(keyOf, outcomes.length);
    outcomes.push(decide(input, facts, ids));
  }

  const decisions = [...new Set(outcomes.filter((o): o is Decision => 'input' in o))];
  if (decisions.length > 0) await writeDecisions(tx, decisions, ids, routing);
  const committed: CommittedLine[] = [...facts.lineOf.values()];
  const nowIso = new Date();
  return { outcomes: outcomes.map((o) => ('input' in o ? storedOutcome(o, nowIso) : o)), lines: committed };
}

function storedOutcome(d: Decision, at: Date): BatchOutcome {
  const order: Order = {
    id: d.input.orderId,
    customerId: d.input.customerId,
    merchantId: d.goods.merchant_id,
    goodsId: d.input.goodsId,
    productId: d.input.productId,
    tenor: d.input.tenor,
    priceMinor: d.goods.price_minor,
    status: d.status,
    rejectReason: d.reason,
    loanId: d.loan?.id ?? null,
    createdAt: at,
    settledAt: d.status === 'settled' ? at : null,
  };
  return { kind: 'stored', order, replay: false };
}

/** The product as the order rule reads it (a product whose terms fail still names its kind). */
function productFacts(p: BatchProduct | undefined): OrderProductFacts | null {
  if (!p) return null;
  return p.parsed instanceof DomainError ? { kind: p.row.kind, tenors: [] } : p.parsed;
}

/** One order by the order rule, against the batch's running totals of the locked lines. */
function decide(input: QueuedOrder, facts: BatchFacts, ids: IdGenerator): Decision | BatchOutcome {
  const goods = facts.goodsOf.get(input.goodsId);
  const product = facts.productOf.get(input.productId);
  const line: CreditLineFacts | null = facts.lineOf.get(input.customerId) ?? null;
  const check = checkOrder({
    tenor: input.tenor,
    goods: goods
      ? { priceMinor: goods.price_minor, active: goods.active, merchantStatus: goods.merchant_status }
      : null,
    product: productFacts(product),
    customerStatus: facts.customerStatus.get(input.customerId) ?? null,
    daysPastDue: facts.daysPastDue.get(input.customerId) ?? 0,
    line,
    quote: () =>
      memoQuote(product as BatchProduct, (goods as GoodsRow).price_minor, input.tenor, input.businessDate),
  });
  if (!check.ok && check.unrecordable) return { kind: 'unrecordable', reason: check.code as RefusalCode };
  const g = goods as GoodsRow;
  if (!check.ok) return { input, goods: g, status: 'rejected', reason: check.code, loan: null };
  const schedule = check.schedule as Schedule;
  // The line is locked: this running total is the authority for the whole batch.
  (facts.lineOf.get(input.customerId) as LockedLine).usedMinor += schedule.amountFinancedMinor;
  const loan: NewLoan = {
    id: ids.next(),
    customerId: input.customerId,
    productId: input.productId,
    product: (product as BatchProduct).parsed as LoanProduct,
    schedule,
    orderId: input.orderId,
    status: 'active',
    businessDate: input.businessDate,
  };
  return { input, goods: g, status: 'settled', reason: null, loan };
}

function decisionEvent(d: Decision) {
  return orderDecidedEvent({
    id: d.input.orderId,
    customerId: d.input.customerId,
    merchantId: d.goods.merchant_id,
    priceMinor: d.goods.price_minor,
    loanId: d.loan?.id ?? null,
    rejectReason: d.reason,
  });
}

async function insertOrderRows(
  tx: TransactionSql,
  decisions: readonly Decision[],
): Promise<{ id: bigint }[]> {
  return tx<{ id: bigint }[]>`
    insert into orders (id, customer_id, merchant_id, goods_id, product_id, tenor, price_minor, status,
      reject_reason, idempotency_key, loan_id, settled_at)
    select id, customer_id, merchant_id, goods_id, product_id, tenor, price_minor, status, reject_reason, key,
      loan_id, case when status = 'settled' then now() end
    from unnest(${decisions.map((d) => d.input.orderId.toString())}::bigint[],
      ${decisions.map((d) => d.input.customerId.toString())}::bigint[],
      ${decisions.map((d) => d.goods.merchant_id.toString())}::bigint[],
      ${decisions.map((d) => d.input.goodsId.toString())}::bigint[],
      ${decisions.map((d) => d.input.productId.toString())}::bigint[],
      ${decisions.map((d) => d.input.tenor)}::int[],
      ${decisions.map((d) => d.goods.price_minor.toString())}::bigint[],
      ${decisions.map((d) => d.status)}::text[],
      ${decisions.map((d) => d.reason)}::text[],
      ${decisions.map((d) => d.input.idempotencyKey)}::text[],
      ${decisions.map((d) => d.loan?.id.toString() ?? null)}::bigint[])
      as x(id, customer_id, merchant_id, goods_id, product_id, tenor, price_minor, status, reject_reason, key, loan_id)
    on conflict do nothing
    returning id`;
}

/**
 * Writes the batch's decisions, one statement per table, pipelined in this order (orders before
 * the loans that refer to them): the orders, the credit taken, the loans, their journal entries.
 */
async function writeDecisions(
  tx: TransactionSql,
  decisions: Decision[],
  ids: IdGenerator,
  routing: ReadonlyMap<bigint, string> | undefined,
): Promise<void> {
  const loans = decisions.flatMap((d) => (d.loan ? [d.loan] : []));
  const taken = new Map<bigint, bigint>();
  for (const l of loans)
    taken.set(l.customerId, (taken.get(l.customerId) ?? 0n) + l.schedule.amountFinancedMinor);
  const [inserted] = await Promise.all([
    insertOrderRows(tx, decisions),
    takeCredit(tx, taken, routing),
    insertLoans(tx, loans),
    postEntries(tx, loans.flatMap(orderEntries), ids),
    emitEvents(tx, decisions.map(decisionEvent)),
  ]);
  if (inserted.length !== decisions.length) {
    // Another delivery stored one of these between our look-up and our insert (possible only for
    // a customer without a locked line): start over, the retry will see it as stored.
    throw new BatchConflictError(
      `${decisions.length - inserted.length} orders of the batch were stored concurrently`,
    );
  }
}

/**
 * Goods on installment, settled in the caller's transaction (the synchronous path; the sale-day
 * settler uses order-batch.ts): lock the credit line, decide with the one order rule
 * (domain/orders.ts `checkOrder`), record the order, create the loan and its schedule, take the
 * credit, book the loan (receivable against payable to the merchant) and settle the merchant. A
 * business refusal is an outcome (`rejected` with a reason), not an exception.
 */

import { orderDecidedEvent } from '../domain/events.ts';
import { DomainError, type LoanProduct, type QuoteRequest, quote, type Schedule } from '../domain/index.ts';
import { checkOrder, type OrderRefusal } from '../domain/orders.ts';
import { downPaymentPostings } from '../domain/servicing-postings.ts';
import { lockCreditLines, takeCredit } from './credit-lines.ts';
import type { Queryable, TransactionSql } from './db.ts';
import { type EntryInput, postEntries } from './ledger.ts';
import { insertLoans, loanBookingEntry, type NewLoan, nextIds } from './loans.ts';
import { emitEvents } from './outbox.ts';
import { getProduct } from './products.ts';
import type { RefusalCode } from './refusal.ts';

export interface OrderInput {
  customerId: bigint;
  goodsId: bigint;
  productId: bigint;
  tenor: number;
  /** The client's key: one order per (customer, key), however often it is delivered. */
  idempotencyKey: string;
  businessDate: string;
}

export interface Order {
  id: bigint;
  customerId: bigint;
  merchantId: bigint;
  goodsId: bigint;
  productId: bigint;
  tenor: number;
  priceMinor: bigint;
  status: 'accepted' | 'settled' | 'rejected';
  rejectReason: string | null;
  loanId: bigint | null;
  createdAt: Date;
  settledAt: Date | null;
}

export type OrderOutcome =
  | { status: 'settled'; order: Order; replay: boolean }
  | {
      status: 'rejected';
      code: RefusalCode | DomainError['code'];
      message: string;
      details: Record<string, string>;
      /** The rejected order as recorded; null when it could not be (unknown goods, product or customer). */
      order: Order | null;
      replay: boolean;
    };

/** An orders row as `select *` reads it. */
export interface OrderRow {
  id: bigint;
  customer_id: bigint;
  merchant_id: bigint;
  goods_id: bigint;
  product_id: bigint;
  tenor: number;
  price_minor: bigint;
  status: Order['status'];
  reject_reason: string | null;
  loan_id: bigint | null;
  created_at: Date;
  settled_at: Date | null;
}

export function orderFromRow(r: OrderRow): Order {
  return {
    id: r.id,
    customerId: r.customer_id,
    merchantId: r.merchant_id,
    goodsId: r.goods_id,
    productId: r.product_id,
    tenor: r.tenor,
    priceMinor: r.price_minor,
    status: r.status,
    rejectReason: r.reject_reason,
    loanId: r.loan_id,
    createdAt: r.created_at,
    settledAt: r.settled_at,
  };
}

export async function getOrder(sql: Queryable, id: bigint): Promise<Order | null> {
  const [row] = await sql<OrderRow[]>`select * from orders where id = ${id}`;
  return row ? orderFromRow(row) : null;
}

/**
 * One customer's order by id: with the customer in the key the read touches that customer's rows
 * only (one shard on Citus), where `getOrder` by id alone asks every shard.
 */
export async function getCustomerOrder(
  sql: Queryable,
  customerId: bigint,
  id: bigint,
): Promise<Order | null> {
  const [row] = await sql<OrderRow[]>`select * from orders where customer_id = ${customerId} and id = ${id}`;
  return row ? orderFromRow(row) : null;
}

/** The order a customer placed under an Idempotency-Key, if it is recorded. */
export async function orderByKey(sql: Queryable, customerId: bigint, key: string): Promise<Order | null> {
  const [row] = await sql<OrderRow[]>`
    select * from orders where customer_id = ${customerId} and idempotency_key = ${key}`;
  return row ? orderFromRow(row) : null;
}

function outcomeOf(order: Order, replay: boolean): OrderOutcome {
  if (order.status === 'rejected') {
    const code = (order.rejectReason ?? 'INSUFFICIENT_CREDIT') as RefusalCode;
    return { status: 'rejected', code, message: `order was rejected: ${code}`, details: {}, order, replay };
  }
  return { status: 'settled', order, replay };
}

function rejected(refusal: OrderRefusal, order: Order | null): OrderOutcome {
  return {
    status: 'rejected',
    code: refusal.code,
    message: refusal.message,
    details: { ...refusal.details },
    order,
    replay: false,
  };
}

/** A quote for checkOrder: the schedule, or the DomainError refusing it. */
export function quoteOrRefusal(product: LoanProduct, request: QuoteRequest): Schedule | DomainError {
  try {
    return quote(product, request);
  } catch (err) {
    if (err instanceof DomainError) return err;
    throw err;
  }
}

interface OrderGoodsRow {
  merchant_id: bigint;
  price_minor: bigint;
  active: boolean;
  merchant_status: string;
  customer_status: string | null;
  days_past_due: number;
}

/**
 * Everything the order rule needs, in one round trip: the line is locked first, so the look-up of
 * an existing order after it sees whatever a concurrent delivery of the same order committed.
 */
async function readOrderFacts(tx: TransactionSql, input: OrderInput) {
  const [lines, existing, [goods], stored] = await Promise.all([
    lockCreditLines(tx, [input.customerId]),
    orderByKey(tx, input.customerId, input.idempotencyKey),
    tx<OrderGoodsRow[]>`
      select g.merchant_id, g.price_minor, g.active, m.status as merchant_status,
        (select status from customers where id = ${input.customerId}) as customer_status,
        (select coalesce(max(days_past_due), 0)::int from loans
          where customer_id = ${input.customerId} and status = 'active') as days_past_due
      from goods g join merchants m on m.id = g.merchant_id where g.id = ${input.goodsId}`,
    getProduct(tx, input.productId),
  ]);
  return { line: lines[0] ?? null, existing, goods, stored };
}

export async function settleOrder(tx: TransactionSql, input: OrderInput): Promise<OrderOutcome> {
  const { line, existing, goods, stored } = await readOrderFacts(tx, input);
  if (existing) return outcomeOf(existing, true);
  const product = stored?.product;
  const check = checkOrder({
    tenor: input.tenor,
    goods: goods
      ? { priceMinor: goods.price_minor, active: goods.active, merchantStatus: goods.merchant_status }
      : null,
    customerStatus: goods?.customer_status ?? null,
    daysPastDue: goods?.days_past_due,
    product: product ?? null,
    line,
    quote: () =>
      quoteOrRefusal(product as LoanProduct, {
        principalMinor: (goods as OrderGoodsRow).price_minor,
        tenor: input.tenor,
        startDate: input.businessDate,
      }),
  });
  if (!check.ok && check.unrecordable) return rejected(check, null);

  const [orderId, loanId] = (await nextIds(tx, 2)) as [bigint, bigint];
  const g = goods as OrderGoodsRow;
  const [inserted] = await tx<OrderRow[]>`
    insert into orders (id, customer_id, merchant_id, goods_id, product_id, tenor, price_minor, status,
      reject_reason, idempotency_key, loan_id, settled_at)
    values (${orderId}, ${input.customerId}, ${g.merchant_id}, ${input.goodsId}, ${input.productId},
      ${input.tenor}, ${g.price_minor}, ${check.ok ? 'settled' : 'rejected'}, ${check.ok ? null : check.code},
      ${input.idempotencyKey}, ${check.ok ? loanId : null}, case when ${check.ok}::boolean then now() end)
    on conflict (customer_id, idempotency_key) do nothing
    returning *`;
  if (!inserted) {
    // A concurrent delivery of the same order committed first; its outcome is ours.
    const winner = await orderByKey(tx, input.customerId, input.idempotencyKey);
    if (!winner) throw new Error('order key conflict without a committed order');
    return outcomeOf(winner, true);
  }
  if (!check.ok) {
    const order = orderFromRow(inserted);
    await emitEvents(tx, [orderDecidedEvent(order)]);
    return rejected(check, order);
  }

  const schedule = check.schedule as Schedule;
  const loan: NewLoan = {
    id: loanId,
    customerId: input.customerId,
    productId: input.productId,
    product: product as LoanProduct,
    schedule,
    orderId,
    status: 'active',
    businessDate: input.businessDate,
  };
  await Promise.all([
    takeCredit(tx, new Map([[input.customerId, schedule.amountFinancedMinor]])),
    insertLoans(tx, [loan]),
    postEntries(tx, orderEntries(loan)),
    emitEvents(tx, [orderDecidedEvent(orderFromRow(inserted))]),
  ]);
  return { status: 'settled', order: orderFromRow(inserted), replay: false };
}

/**
 * Everything an order books: the loan (its price less any down payment owed to the merchant, 2100)
 * and the down payment taken at checkout (when the product has one; also owed to the merchant). The
 * merchant is paid the whole price, less its discount, by the next day's settlement
 * (src/settlement/run.ts), which clears 2100.
 */
export function orderEntries(loan: NewLoan): EntryInput[] {
  const down = loan.schedule.downPaymentMinor;
  const ref = { customerId: loan.customerId, loanId: loan.id };
  const downPayment: EntryInput[] =
    down > 0n
      ? [
          {
            eventKey: `order:${loan.orderId}:down_payment`,
            businessDate: loan.businessDate,
            ...ref,
            posting: downPaymentPostings(ref, down),
          },
        ]
      : [];
  return [loanBookingEntry(loan), ...downPayment];
}

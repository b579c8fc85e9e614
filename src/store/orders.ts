/**
 * Goods on installment, settled in the caller's transaction: reserve credit, record the order,
 * create the loan and its schedule, book it (loan receivable against payable to the merchant) and
 * settle the merchant. The same function serves the synchronous API and the sale-day queue
 * workers; a business refusal is an outcome (`rejected` with a reason), not an exception.
 */
import { DomainError, quote, type Schedule } from '../domain/index.ts';
import { merchantSettlementPostings } from '../domain/postings.ts';
import { reserveCredit } from './credit-lines.ts';
import type { Queryable, TransactionSql } from './db.ts';
import { postEntry } from './ledger.ts';
import { createLoan, nextIds } from './loans.ts';
import { getProduct } from './products.ts';
import { Refusal, type RefusalCode } from './refusal.ts';

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

function rejected(err: Refusal | DomainError, order: Order | null): OrderOutcome {
  return {
    status: 'rejected',
    code: err.code,
    message: err.message,
    details: { ...err.details },
    order,
    replay: false,
  };
}

export async function settleOrder(tx: TransactionSql, input: OrderInput): Promise<OrderOutcome> {
  const existing = await orderByKey(tx, input.customerId, input.idempotencyKey);
  if (existing) return outcomeOf(existing, true);

  const [goods] = await tx<
    {
      merchant_id: bigint;
      price_minor: bigint;
      active: boolean;
      merchant_status: string;
      customer_status: string | null;
    }[]
  >`
    select g.merchant_id, g.price_minor, g.active, m.status as merchant_status,
      (select status from customers where id = ${input.customerId}) as customer_status
    from goods g join merchants m on m.id = g.merchant_id where g.id = ${input.goodsId}`;
  if (!goods) return rejected(new Refusal('GOODS_NOT_FOUND', 'no such goods'), null);
  if (goods.customer_status === null)
    return rejected(new Refusal('CUSTOMER_NOT_FOUND', 'no such customer'), null);
  const stored = await getProduct(tx, input.productId);
  if (!stored) return rejected(new Refusal('PRODUCT_NOT_FOUND', 'no such product'), null);

  const [orderId, loanId] = (await nextIds(tx, 2)) as [bigint, bigint];
  const [inserted] = await tx<OrderRow[]>`
    insert into orders (id, customer_id, merchant_id, goods_id, product_id, tenor, price_minor, status,
      idempotency_key, loan_id, settled_at)
    values (${orderId}, ${input.customerId}, ${goods.merchant_id}, ${input.goodsId}, ${input.productId},
      ${input.tenor}, ${goods.price_minor}, 'settled', ${input.idempotencyKey}, ${loanId}, now())
    on conflict (customer_id, idempotency_key) do nothing
    returning *`;
  if (!inserted) {
    // A concurrent delivery of the same order committed first; its outcome is ours.
    const winner = await orderByKey(tx, input.customerId, input.idempotencyKey);
    if (!winner) throw new Error('order key conflict without a committed order');
    return outcomeOf(winner, true);
  }

  let schedule: Schedule;
  try {
    if (goods.customer_status !== 'active')
      throw new Refusal('CUSTOMER_NOT_ACTIVE', 'the customer is not active');
    if (!goods.active) throw new Refusal('GOODS_INACTIVE', 'the goods are not for sale');
    if (goods.merchant_status !== 'active')
      throw new Refusal('MERCHANT_SUSPENDED', 'the merchant is suspended');
    const product = stored.product;
    if (product.kind !== 'goods') {
      throw new Refusal('PRODUCT_KIND_MISMATCH', 'orders need a goods product', { kind: product.kind });
    }
    if (product.downPaymentBp !== 0)
      throw new Refusal('PRODUCT_NOT_ZERO_DOWN', 'orders are zero down payment');
    schedule = quote(product, {
      principalMinor: goods.price_minor,
      tenor: input.tenor,
      startDate: input.businessDate,
    });
    await reserveCredit(tx, input.customerId, schedule.amountFinancedMinor);
  } catch (err) {
    if (!(err instanceof Refusal || err instanceof DomainError)) throw err;
    const [row] = await tx<OrderRow[]>`
      update orders set status = 'rejected', reject_reason = ${err.code}, loan_id = null, settled_at = null
      where id = ${orderId} returning *`;
    return rejected(err, orderFromRow(row as OrderRow));
  }

  await createLoan(tx, {
    id: loanId,
    customerId: input.customerId,
    productId: input.productId,
    product: stored.product,
    schedule,
    orderId,
    status: 'active',
    businessDate: input.businessDate,
  });
  await postEntry(tx, {
    eventKey: `order:${orderId}:merchant_settlement`,
    businessDate: input.businessDate,
    customerId: input.customerId,
    loanId,
    posting: merchantSettlementPostings({ customerId: input.customerId, loanId }, schedule.disbursedMinor),
  });
  return { status: 'settled', order: orderFromRow(inserted), replay: false };
}

/**
 * A batch in one transaction, each order in its own savepoint so one order's failure cannot undo
 * another's; outcomes come back in input order. Orders of one customer are settled in order.
 */
export async function settleOrders(
  tx: TransactionSql,
  inputs: readonly OrderInput[],
): Promise<OrderOutcome[]> {
  const outcomes: OrderOutcome[] = [];
  for (const input of inputs) outcomes.push(await tx.savepoint((sp) => settleOrder(sp, input)));
  return outcomes;
}

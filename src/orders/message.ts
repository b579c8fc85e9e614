/**
 * The queued order message: what the intake publishes to FENQI_ORDERS (JSON, with its version and
 * a MAC under the queue key, queue/mac.ts) and the settler verifies, then parses back. Its message
 * id `order:{customer}:{key}` makes a retried request one message for the stream's dedupe window.
 */
import { CNY, formatAmount, MAX_TENOR } from '../domain/index.ts';
import { macProblem, signBody } from '../queue/mac.ts';
import { IDEMPOTENCY_KEY_MAX_LENGTH } from '../store/idempotency.ts';
import type { QueuedOrder } from '../store/order-batch.ts';

const ORDER_MESSAGE_VERSION = 1;

/** What the API publishes for a queued order (JSON; a type, so it is a plain JSON object to the MAC). */
export type OrderMessage = {
  v: number;
  order_id: string;
  customer_id: string;
  goods_id: string;
  product_id: string;
  tenor: number;
  key: string;
  /** SHA-256 (hex) of the request, so a replay with another body is recognised as a reuse. */
  hash: string;
  business_date: string;
  /** For status reads before settlement. */
  merchant_id: string;
  price: string;
  accepted_at: string;
};

/** Ids on the wire: decimal strings that fit a bigint. */
export const ID_DIGITS = /^\d{1,19}$/;
const BUSINESS_DATE = /^\d{4}-\d{2}-\d{2}$/;

export const orderMessageId = (customerId: bigint | string, key: string) => `order:${customerId}:${key}`;

/** The message for an order the intake accepted (ids as the request spelled them). */
export function orderMessage(order: {
  orderId: string;
  customerId: string;
  goodsId: string;
  productId: string;
  tenor: number;
  key: string;
  hash: string;
  businessDate: string;
  merchantId: bigint;
  priceMinor: bigint;
  acceptedAt: string;
}): OrderMessage {
  return {
    v: ORDER_MESSAGE_VERSION,
    order_id: order.orderId,
    customer_id: order.customerId,
    goods_id: order.goodsId,
    product_id: order.productId,
    tenor: order.tenor,
    key: order.key,
    hash: order.hash,
    business_date: order.businessDate,
    merchant_id: order.merchantId.toString(),
    price: formatAmount(order.priceMinor, CNY.decimals),
    accepted_at: order.acceptedAt,
  };
}

/** The message as published: JSON with its MAC under the newest queue key. */
export const encodeOrderMessage = (keys: ReadonlyMap<number, Buffer>, m: OrderMessage): Buffer =>
  Buffer.from(JSON.stringify(signBody(keys, 'order', m)));

/** The prefix of every verification failure's dead-letter reason. */
const UNVERIFIED_REASON = 'unverified order message';

/**
 * Why the message cannot be trusted (its MAC is missing, under an unknown key, or does not match
 * what it says), or undefined when a fenqi process holding the queue key made it exactly so.
 */
export function orderMessageProblem(keys: ReadonlyMap<number, Buffer>, data: Uint8Array): string | undefined {
  let body: unknown;
  try {
    body = JSON.parse(Buffer.from(data).toString('utf8'));
  } catch {
    return `${UNVERIFIED_REASON}: unparseable JSON`;
  }
  const problem = macProblem(keys, 'order', body);
  return problem && `${UNVERIFIED_REASON}: ${problem}`;
}

/** The order id a message names, even when the rest of it is poison; undefined when it names none. */
export function orderIdOf(data: Uint8Array): string | undefined {
  try {
    const id = (JSON.parse(Buffer.from(data).toString('utf8')) as { order_id?: unknown } | null)?.order_id;
    return typeof id === 'string' && ID_DIGITS.test(id) ? id : undefined;
  } catch {
    return undefined;
  }
}

/** A message as the intake wrote it, without checking it (a retry's original, read back). */
export const readOrderMessage = (data: Uint8Array): OrderMessage =>
  JSON.parse(Buffer.from(data).toString('utf8')) as OrderMessage;

/** The order a message carries, or a reason it is poison. */
export function parseOrderMessage(data: Uint8Array): QueuedOrder | string {
  let m: OrderMessage;
  try {
    m = readOrderMessage(data);
  } catch {
    return 'unparseable JSON';
  }
  if (!m || typeof m !== 'object' || m.v !== ORDER_MESSAGE_VERSION) return 'unknown message version';
  for (const field of ['order_id', 'customer_id', 'goods_id', 'product_id'] as const) {
    if (typeof m[field] !== 'string' || !ID_DIGITS.test(m[field])) return `bad ${field}`;
  }
  if (!Number.isInteger(m.tenor) || m.tenor < 1 || m.tenor > MAX_TENOR) return 'bad tenor';
  if (typeof m.key !== 'string' || m.key.length < 1 || m.key.length > IDEMPOTENCY_KEY_MAX_LENGTH)
    return 'bad key';
  if (typeof m.business_date !== 'string' || !BUSINESS_DATE.test(m.business_date)) return 'bad business_date';
  return {
    orderId: BigInt(m.order_id),
    customerId: BigInt(m.customer_id),
    goodsId: BigInt(m.goods_id),
    productId: BigInt(m.product_id),
    tenor: m.tenor,
    idempotencyKey: m.key,
    businessDate: m.business_date,
  };
}

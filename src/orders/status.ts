/**
 * Where an order's status lives on sale day: the cache first (the API writes `accepted` after the
 * publish ack, the worker overwrites it with `settled` or `rejected` after commit, or `held` when it
 * dead-letters the order), then the database (the system of record once settled), then the
 * dead-letter stream (the system of record for a held order: kept there until replayed, with no
 * TTL). The order feature's status read model: the API routes read it, the order worker writes it.
 *
 * Why the dead-letter stream and not a `held` row in PostgreSQL: an order is dead-lettered exactly
 * when it cannot be written to the database (a refused constraint, a missing row, the database gone
 * for ten deliveries), so a row there would fail for the same reasons; the dead letter is already
 * stored durably before the message is dropped, and on its own subject (`fenqi.dead.orders.{id}`) it
 * is one direct get away. The cache entry (HELD_STATUS_TTL_MS) only spares NATS the polling.
 */

import type { Cache, CacheEntry } from '../cache/cache.ts';
import { type CacheAside, CacheOverloadedError, decodeJson, encodeJson } from '../cache/cache-aside.ts';
import { creditSummaryKey, orderStatusKey } from '../cache/keys.ts';
import { CNY, formatAmount } from '../domain/index.ts';
import type { Sql } from '../store/db.ts';
import { IdGenerator } from '../store/id-generator.ts';
import { getCustomerOrder, getOrder, type Order } from '../store/orders.ts';

/** An accepted order not settled within this is looked up in the database too (a lost cache write). */
export const ACCEPTED_RECHECK_AFTER_MS = 5_000;
/** Accepted statuses outlive any sane backlog; final ones are kept for status polling. */
export const ACCEPTED_STATUS_TTL_MS = 60 * 60 * 1000;
export const FINAL_STATUS_TTL_MS = 10 * 60 * 1000;
/** A held order waits for an operator (days at worst); past this the dead-letter stream answers. */
export const HELD_STATUS_TTL_MS = 30 * 24 * 60 * 60 * 1000;
/** The customer-facing reason of a held order: stable, and never the internal error text. */
export const HELD_REASON = 'ORDER_HELD_FOR_REVIEW';
/** While a recent order is neither cached nor stored, its status is unknown rather than missing. */
export const UNKNOWN_STATUS_WINDOW_MS = 60 * 60 * 1000;

export type OrderStatus = 'accepted' | 'held' | 'settled' | 'rejected';

/**
 * The wire shape of an order (GET /v1/orders/{id}); `accepted` has no loan and no settlement yet;
 * `held` is an accepted order the settler could not record, waiting for an operator's replay.
 */
export interface OrderStatusView {
  id: string;
  customer_id: string;
  merchant_id: string;
  goods_id: string;
  product_id: string;
  tenor: number;
  price: string;
  status: OrderStatus;
  reject_reason: string | null;
  /** HELD_REASON while held, else null. */
  hold_reason: typeof HELD_REASON | null;
  loan_id: string | null;
  created_at: string;
  settled_at: string | null;
}

/** How long the intake pre-check trusts a cached credit line (the worker rewrites it after each commit). */
export const CREDIT_SUMMARY_TTL_MS = 10_000;
/** Each credit summary TTL is stretched by up to this fraction at random (as CacheAside does). */
export const CREDIT_SUMMARY_JITTER_RATIO = 0.2;

/** What the intake pre-check needs of a credit line (cached as JSON under `creditSummaryKey`). */
export interface CreditSummary {
  limitMinor: bigint;
  usedMinor: bigint;
  status: string;
}

/** encodeJson's bigint tag (cache-aside.ts). */
const BIGINT_TAG = '$bigint:';
const isTagged = (v: unknown): v is string => typeof v === 'string' && v.startsWith(BIGINT_TAG);

/**
 * `decodeJson<CreditSummary>` without a reviver call per value: plain JSON.parse, then the two
 * tagged amounts. Anything else falls back to decodeJson.
 */
export function decodeCreditSummary(text: string): CreditSummary {
  const raw = JSON.parse(text) as { limitMinor?: unknown; usedMinor?: unknown; status?: unknown };
  if (!isTagged(raw.limitMinor) || !isTagged(raw.usedMinor) || typeof raw.status !== 'string')
    return decodeJson<CreditSummary>(text);
  return {
    limitMinor: BigInt(raw.limitMinor.slice(BIGINT_TAG.length)),
    usedMinor: BigInt(raw.usedMinor.slice(BIGINT_TAG.length)),
    status: raw.status,
  };
}

export function orderStatusView(o: Order): OrderStatusView {
  return {
    id: o.id.toString(),
    customer_id: o.customerId.toString(),
    merchant_id: o.merchantId.toString(),
    goods_id: o.goodsId.toString(),
    product_id: o.productId.toString(),
    tenor: o.tenor,
    price: formatAmount(o.priceMinor, CNY.decimals),
    status: o.status,
    reject_reason: o.rejectReason,
    hold_reason: null,
    loan_id: o.loanId === null ? null : o.loanId.toString(),
    created_at: o.createdAt.toISOString(),
    settled_at: o.settledAt ? o.settledAt.toISOString() : null,
  };
}

/** Settled or rejected: nothing changes it any more (`held` does change, once replayed). */
export const isFinal = (view: OrderStatusView) => view.status === 'settled' || view.status === 'rejected';

const DIGITS = /^\d{1,19}$/;
const text = (v: unknown) => (typeof v === 'string' ? v : '');

/**
 * The `held` view of a dead-lettered order, from the original order message (the JSON the API
 * published, `OrderMessage` in orders/message.ts). Undefined when the message names no
 * order id, or not `orderId` when given. Fields it lacks read empty rather than fail the answer.
 */
export function heldOrderView(orderMessage: string, orderId?: string): OrderStatusView | undefined {
  let m: Record<string, unknown>;
  try {
    m = JSON.parse(orderMessage) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (!m || typeof m !== 'object' || typeof m.order_id !== 'string' || !DIGITS.test(m.order_id))
    return undefined;
  if (orderId !== undefined && m.order_id !== orderId) return undefined;
  const acceptedAt = text(m.accepted_at);
  return {
    id: m.order_id,
    customer_id: text(m.customer_id),
    merchant_id: text(m.merchant_id),
    goods_id: text(m.goods_id),
    product_id: text(m.product_id),
    tenor: Number.isInteger(m.tenor) ? (m.tenor as number) : 0,
    price: text(m.price),
    status: 'held',
    reject_reason: null,
    hold_reason: HELD_REASON,
    loan_id: null,
    created_at: Number.isNaN(Date.parse(acceptedAt)) ? new Date(0).toISOString() : acceptedAt,
    settled_at: null,
  };
}

/** A cached view as the current shape (entries written before `hold_reason` existed lack it). */
function cachedView(text: string): OrderStatusView {
  const view = decodeJson<OrderStatusView>(text);
  return view.hold_reason === undefined ? { ...view, hold_reason: null } : view;
}

/**
 * The API's write after the publish ack: only if absent, so it never hides a worker's final status.
 * As an entry, so intake writes it in one round trip with the idempotency record (`Cache.setMany`).
 * The view holds no bigint, so plain JSON is what `encodeJson` would write.
 */
export function acceptedEntry(view: OrderStatusView): CacheEntry {
  return {
    key: orderStatusKey(view.id),
    value: JSON.stringify(view),
    ttlMs: ACCEPTED_STATUS_TTL_MS,
    ifAbsent: true,
  };
}

/**
 * The worker's write after commit: the line as committed, so the next order's pre-check reads it
 * from the cache instead of the database (a delete here sent every next order to PostgreSQL).
 */
async function putCreditSummaries(
  cache: Cache,
  lines: readonly ({ customerId: bigint } & CreditSummary)[],
): Promise<void> {
  await Promise.all(
    lines.map((l) =>
      cache
        .set(
          creditSummaryKey(l.customerId),
          encodeJson({ limitMinor: l.limitMinor, usedMinor: l.usedMinor, status: l.status }),
          Math.round(CREDIT_SUMMARY_TTL_MS * (1 + CREDIT_SUMMARY_JITTER_RATIO * Math.random())),
        )
        .catch(() => {}),
    ),
  );
}

/** The worker's write after commit (overwrites `accepted`). */
async function putFinal(cache: Cache, view: OrderStatusView): Promise<void> {
  await cache.set(orderStatusKey(view.id), encodeJson(view), FINAL_STATUS_TTL_MS).catch(() => {});
}

/**
 * The settler's writes after a batch commits: each order's final status, and the lines as
 * committed (the intake pre-check reads them); a customer of the batch without a locked line (none,
 * or gone) has its summary dropped instead.
 */
export async function putSettledBatch(
  cache: Cache,
  orders: readonly Order[],
  lines: readonly ({ customerId: bigint } & CreditSummary)[],
): Promise<void> {
  const customers = new Set(orders.map((o) => o.customerId.toString()));
  for (const line of lines) customers.delete(line.customerId.toString());
  await Promise.all([
    ...orders.map((o) => putFinal(cache, orderStatusView(o))),
    putCreditSummaries(cache, lines),
    customers.size > 0 ? cache.del(...[...customers].map(creditSummaryKey)).catch(() => {}) : undefined,
  ]);
}

/**
 * The worker's write when it dead-letters an order (overwrites `accepted`; a later settlement's
 * `putFinal` overwrites it in turn). A read that found the held order in the dead-letter stream
 * writes it only if absent, so it never hides a final status written meanwhile.
 */
export async function putHeld(cache: Cache, view: OrderStatusView, options: { ifAbsent?: boolean } = {}) {
  const key = orderStatusKey(view.id);
  const value = encodeJson(view);
  await (options.ifAbsent
    ? cache.setIfAbsent(key, value, HELD_STATUS_TTL_MS)
    : cache.set(key, value, HELD_STATUS_TTL_MS)
  ).catch(() => {});
}

export type StatusLookup =
  | { kind: 'found'; view: OrderStatusView }
  | { kind: 'missing' }
  /** Not in the database and the cache could not say: a just-accepted order may still be queued. */
  | { kind: 'unknown' };

/**
 * Finds a dead-lettered order in the dead-letter stream (orders/dead-letters.ts `findHeldOrder`).
 * The caller bounds it (its own single-flight and concurrency limit, not the database's: a NATS
 * outage must not make database reads wait); CacheOverloadedError when that bound is reached.
 */
export type HeldLookup = (orderId: bigint) => Promise<OrderStatusView | undefined>;

/**
 * Cache, then database, then the dead-letter stream (`held`). Database reads go through `reads`
 * (single-flight and a concurrency bound), so a status-polling storm never reaches PostgreSQL all at
 * once; `held` is bounded likewise by its caller. A cached `held` never shadows the database: after
 * a replay the stored order is the answer (and is cached over it).
 */
export async function lookupOrderStatus(
  cache: Cache,
  reads: CacheAside,
  sql: Sql,
  orderId: bigint,
  options: {
    held?: HeldLookup;
    nowMs?: number;
    /** The reader is this customer: read the order among theirs only (one shard on Citus). */
    customerId?: bigint;
  } = {},
): Promise<StatusLookup> {
  const nowMs = options.nowMs ?? Date.now();
  let cached: OrderStatusView | undefined;
  let cacheUp = true;
  try {
    const text = await cache.get(orderStatusKey(orderId));
    if (text !== null) cached = cachedView(text);
  } catch {
    cacheUp = false;
  }
  if (
    cached &&
    (isFinal(cached) ||
      (cached.status === 'accepted' && nowMs - Date.parse(cached.created_at) < ACCEPTED_RECHECK_AFTER_MS))
  ) {
    return { kind: 'found', view: cached };
  }
  const { customerId } = options;
  // Concurrent reads of one order share one query; a customer's own read has a key of its own, since
  // it answers nothing for another customer's order where a staff read would find it.
  const stored =
    customerId === undefined
      ? await reads.direct(`order:${orderId}`, () => getOrder(sql, orderId))
      : await reads.direct(`order:${customerId}:${orderId}`, () =>
          getCustomerOrder(sql, customerId, orderId),
        );
  if (stored) {
    const view = orderStatusView(stored);
    if (cacheUp) await putFinal(cache, view);
    return { kind: 'found', view };
  }
  // Held (written by the worker) or accepted and still queued.
  if (cached) return { kind: 'found', view: cached };
  // Neither cached nor stored: a dead-lettered order whose cache entry is gone (expired, evicted,
  // the cache down) is still in the dead-letter stream.
  const held = options.held;
  if (held) {
    let view: OrderStatusView | undefined;
    try {
      view = await held(orderId);
    } catch (err) {
      if (err instanceof CacheOverloadedError) throw err;
      // The stream cannot be read: the order may be held there, so not "missing".
      return { kind: 'unknown' };
    }
    if (view) {
      if (cacheUp) await putHeld(cache, view, { ifAbsent: true });
      return { kind: 'found', view };
    }
  }
  if (!cacheUp && nowMs - IdGenerator.timeOf(orderId) < UNKNOWN_STATUS_WINDOW_MS) return { kind: 'unknown' };
  return { kind: 'missing' };
}

/**
 * Where an order's status lives on sale day: the cache first (the API writes `accepted` after the
 * publish ack, the worker overwrites it with `settled` or `rejected` after commit), then the
 * database (the system of record once settled). Shared by the API routes and the order worker.
 */

import type { Cache, CacheEntry } from '../cache/cache.ts';
import { CacheAside, decodeJson, encodeJson } from '../cache/cache-aside.ts';
import { CNY, formatAmount } from '../domain/index.ts';
import type { Sql } from '../store/db.ts';
import { IdGenerator } from '../store/id-generator.ts';
import { getOrder, type Order } from '../store/orders.ts';

/** An accepted order not settled within this is looked up in the database too (a lost cache write). */
export const ACCEPTED_RECHECK_AFTER_MS = 5_000;
/** Accepted statuses outlive any sane backlog; final ones are kept for status polling. */
export const ACCEPTED_STATUS_TTL_MS = 60 * 60 * 1000;
export const FINAL_STATUS_TTL_MS = 10 * 60 * 1000;
/** While a recent order is neither cached nor stored, its status is unknown rather than missing. */
export const UNKNOWN_STATUS_WINDOW_MS = 60 * 60 * 1000;

/** The wire shape of an order (GET /v1/orders/{id}); `accepted` has no loan and no settlement yet. */
export interface OrderStatusView {
  id: string;
  customer_id: string;
  merchant_id: string;
  goods_id: string;
  product_id: string;
  tenor: number;
  price: string;
  status: 'accepted' | 'settled' | 'rejected';
  reject_reason: string | null;
  loan_id: string | null;
  created_at: string;
  settled_at: string | null;
}

/** How long the intake pre-check trusts a cached credit line (the worker rewrites it after each commit). */
export const CREDIT_SUMMARY_TTL_MS = 10_000;
/** Each credit summary TTL is stretched by up to this fraction at random (as CacheAside does). */
export const CREDIT_SUMMARY_JITTER_RATIO = 0.2;

/** What the intake pre-check needs of a credit line (cached as JSON under `credit:{customer}`). */
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

export const orderStatusKey = (orderId: bigint | string) => `order:${orderId}`;
export const creditSummaryKey = (customerId: bigint | string) => `credit:${customerId}`;

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
    loan_id: o.loanId === null ? null : o.loanId.toString(),
    created_at: o.createdAt.toISOString(),
    settled_at: o.settledAt ? o.settledAt.toISOString() : null,
  };
}

export const isFinal = (view: OrderStatusView) => view.status !== 'accepted';

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

export async function putAccepted(cache: Cache, view: OrderStatusView): Promise<void> {
  const entry = acceptedEntry(view);
  await cache.setIfAbsent(entry.key, entry.value, entry.ttlMs).catch(() => {});
}

/**
 * The worker's write after commit: the line as committed, so the next order's pre-check reads it
 * from the cache instead of the database (a delete here sent every next order to PostgreSQL).
 */
export async function putCreditSummaries(
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
export async function putFinal(cache: Cache, view: OrderStatusView): Promise<void> {
  await cache.set(orderStatusKey(view.id), encodeJson(view), FINAL_STATUS_TTL_MS).catch(() => {});
}

export type StatusLookup =
  | { kind: 'found'; view: OrderStatusView }
  | { kind: 'missing' }
  /** Not in the database and the cache could not say: a just-accepted order may still be queued. */
  | { kind: 'unknown' };

/**
 * Cache, then database. Database reads go through `reads` (single-flight and a concurrency bound),
 * so a status-polling storm never reaches PostgreSQL all at once.
 */
export async function lookupOrderStatus(
  cache: Cache,
  reads: CacheAside,
  sql: Sql,
  orderId: bigint,
  nowMs = Date.now(),
): Promise<StatusLookup> {
  let cached: OrderStatusView | undefined;
  let cacheUp = true;
  try {
    const text = await cache.get(orderStatusKey(orderId));
    if (text !== null) cached = decodeJson<OrderStatusView>(text);
  } catch {
    cacheUp = false;
  }
  if (cached && (isFinal(cached) || nowMs - Date.parse(cached.created_at) < ACCEPTED_RECHECK_AFTER_MS)) {
    return { kind: 'found', view: cached };
  }
  const stored = await reads.direct(`order:${orderId}`, () => getOrder(sql, orderId));
  if (stored) {
    const view = orderStatusView(stored);
    if (cacheUp) await putFinal(cache, view);
    return { kind: 'found', view };
  }
  if (cached) return { kind: 'found', view: cached };
  if (!cacheUp && nowMs - IdGenerator.timeOf(orderId) < UNKNOWN_STATUS_WINDOW_MS) return { kind: 'unknown' };
  return { kind: 'missing' };
}

export { CacheAside };

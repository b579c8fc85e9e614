/**
 * Sale-day orders (docs/flash.md). `POST /v1/orders` in queued mode (FENQI_SALE_MODE=true, or
 * `?mode=queued` per request) checks what is cheap — body, caller, admission, rate limits, the
 * idempotency record, the cached credit line and goods — then publishes the order to JetStream with
 * `Nats-Msg-Id = order:{customer}:{key}` and answers 202 only after the stream has stored it. The
 * order id is made here, so the 202 can carry it. Workers settle it later (workers/order-settler.ts).
 * Also the order status read (cache, then database, then the dead letters: `held`) and its
 * server-sent-events stream.
 */

import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { type Static, Type } from 'typebox';
import { CacheAside, CacheOverloadedError } from '../../cache/cache-aside.ts';
import type { RateLimitRule } from '../../cache/rate-limit.ts';
import { CNY, formatAmount, todayUtc } from '../../domain/index.ts';
import type { Platform } from '../../platform.ts';
import { ORDERS_STREAM, ORDERS_SUBJECT, QueueFullError } from '../../queue/index.ts';
import { getCreditLine } from '../../store/credit-lines.ts';
import { claimIdGenerator, type IdGenerator } from '../../store/id-generator.ts';
import { orderByKey } from '../../store/orders.ts';
import { getProduct } from '../../store/products.ts';
import { findHeldOrder } from '../../workers/dead-letters.ts';
import { ORDER_MESSAGE_VERSION, type OrderMessage } from '../../workers/order-settler.ts';
import { Admission } from '../admission.ts';
import { requireRole } from '../auth.ts';
import { ApiError, conflict, notFound, unavailable } from '../errors.ts';
import {
  acceptedEntry,
  CREDIT_SUMMARY_TTL_MS,
  type CreditSummary,
  creditSummaryKey,
  decodeCreditSummary,
  type HeldLookup,
  isFinal,
  lookupOrderStatus,
  type OrderStatusView,
} from '../order-status.ts';
import { idempotencyKeyOf, REPLAY_HEADER } from '../plugins/idempotency.ts';
import type { Api } from '../types.ts';
import { ErrorBody, IdParams, isStaff, pathId } from './lending-schemas.ts';

export { CREDIT_SUMMARY_TTL_MS } from '../order-status.ts';
export const GOODS_CACHE_TTL_MS = 30_000;
/** Goods are also remembered in process this long, so intake survives the cache being down. */
export const GOODS_LOCAL_TTL_MS = 2_000;
/** A queued request's answer is replayed from the cache this long (NATS dedupes for a day too). */
export const IDEMPOTENCY_RECORD_TTL_MS = 24 * 60 * 60 * 1000;
export const RATE_WINDOW_MS = 1_000;
/** Goods and products remembered in process at most (then the maps start over). */
export const LOCAL_ENTRIES_MAX = 10_000;
export const RATE_LIMITED_RETRY_AFTER_S = 1;
/** The events stream polls the status this often, and ends after this long (the client reconnects). */
export const EVENTS_POLL_MS = 250;
export const EVENTS_MAX_LIFETIME_MS = 60_000;
/** Status reads asking NATS for a held order at once (per API process); past it, 503 OVERLOADED. */
export const HELD_LOOKUP_CONCURRENCY = 8;

export const QueuedAnswer = Type.Object({
  order_id: Type.String(),
  status: Type.Literal('accepted'),
  status_url: Type.String(),
  events_url: Type.String(),
});
type QueuedAnswer = Static<typeof QueuedAnswer>;

export interface QueuedOrderBody {
  goods_id: string;
  product_id: string;
  tenor: number;
}

interface SaleGoods {
  merchantId: bigint;
  priceMinor: bigint;
  active: boolean;
  merchantStatus: string;
}
interface SaleProduct {
  kind: string;
  active: boolean;
  tenors: number[];
}
interface IdempotencyRecord {
  order_id: string;
  hash: string;
}

const answerFor = (orderId: string): QueuedAnswer => ({
  order_id: orderId,
  status: 'accepted',
  status_url: `/v1/orders/${orderId}`,
  events_url: `/v1/orders/${orderId}/events`,
});

export const orderMessageId = (customerId: bigint | string, key: string) => `order:${customerId}:${key}`;
const idempotencyRecordKey = (customerId: bigint | string, key: string) => `idem:order:${customerId}:${key}`;
/** What CacheAside stores for "not found" (cache-aside.ts), read here straight from the intake script. */
const CACHED_NOT_FOUND = '{"$none":true}';

/**
 * `requestHash('POST', '/v1/orders', body)` in hex, without its generic canonicalisation: the body
 * schema admits exactly these three fields, and this literal lists them in sorted order.
 */
export function queuedOrderHash(body: QueuedOrderBody): string {
  const canonical = JSON.stringify({
    goods_id: body.goods_id,
    product_id: body.product_id,
    tenor: body.tenor,
  });
  return createHash('sha256').update(`POST /v1/orders\n${canonical}`).digest('hex');
}

/** The rate-limit counter key and Retry-After of `rate-limit.ts` `hit()`, for the intake script. */
function rateWindow(
  rule: RateLimitRule,
  subject: string,
  nowMs: number,
): { key: string; retryAfterS: number } {
  const window = Math.floor(nowMs / rule.windowMs);
  return {
    key: `rl:${rule.name}:${subject}:${window}`,
    retryAfterS: Math.max(1, Math.ceil(((window + 1) * rule.windowMs - nowMs) / 1000)),
  };
}

export class QueuedOrders {
  readonly admission: Admission;
  private readonly reads: CacheAside;
  /** In process for GOODS_LOCAL_TTL_MS, keyed by the id as the body spells it. */
  private readonly localGoods = new Map<string, { atMs: number; goods: SaleGoods | undefined }>();
  private readonly localProducts = new Map<string, { atMs: number; product: SaleProduct | undefined }>();
  private readonly customerRule: RateLimitRule;
  private readonly ipRule: RateLimitRule;
  /** NATS lookups of held orders: single-flight and bounded apart from the database reads. */
  private readonly heldReads: CacheAside;
  /** A dead-lettered order in FENQI_DEAD, for the status read once its cache entry is gone. */
  private readonly held: HeldLookup = (orderId) =>
    this.heldReads.direct(`held:${orderId}`, () => findHeldOrder(this.platform.queue, orderId));

  constructor(
    private readonly platform: Platform,
    private readonly ids: IdGenerator,
  ) {
    this.admission = new Admission(platform.queue, { maxBacklog: platform.config.maxBacklog });
    this.reads = new CacheAside(platform.cache, { ttlMs: CREDIT_SUMMARY_TTL_MS });
    this.heldReads = new CacheAside(platform.cache, { fallbackConcurrency: HELD_LOOKUP_CONCURRENCY });
    this.customerRule = {
      name: 'orders-customer',
      limit: platform.config.rateLimitCustomerPerS,
      windowMs: RATE_WINDOW_MS,
    };
    this.ipRule = { name: 'orders-ip', limit: platform.config.rateLimitIpPerS, windowMs: RATE_WINDOW_MS };
  }

  /** Queued when asked per request (`?mode=`), else when the platform is in sale mode. */
  applies(request: FastifyRequest): boolean {
    const mode = (request.query as { mode?: string } | undefined)?.mode;
    return mode ? mode === 'queued' : this.platform.config.saleMode;
  }

  /** Cached goods: in process when fresh (no promise made), else the cache, then the database. */
  private goods(
    goodsId: bigint,
    spelled: string,
    nowMs: number,
  ): SaleGoods | undefined | Promise<SaleGoods | undefined> {
    const local = this.localGoods.get(spelled);
    if (local && nowMs - local.atMs < GOODS_LOCAL_TTL_MS) return local.goods;
    return this.loadGoods(goodsId, spelled, nowMs);
  }

  private async loadGoods(goodsId: bigint, spelled: string, nowMs: number): Promise<SaleGoods | undefined> {
    const goods = await this.reads.get<SaleGoods>(
      `sale-goods:${goodsId}`,
      async () => {
        const [row] = await this.platform.db.sql<
          { merchant_id: bigint; price_minor: bigint; active: boolean; merchant_status: string }[]
        >`
          select g.merchant_id, g.price_minor, g.active, m.status as merchant_status
          from goods g join merchants m on m.id = g.merchant_id where g.id = ${goodsId}`;
        return row
          ? {
              merchantId: row.merchant_id,
              priceMinor: row.price_minor,
              active: row.active,
              merchantStatus: row.merchant_status,
            }
          : undefined;
      },
      GOODS_CACHE_TTL_MS,
    );
    if (this.localGoods.size > LOCAL_ENTRIES_MAX) this.localGoods.clear();
    this.localGoods.set(spelled, { atMs: nowMs, goods });
    return goods;
  }

  private product(
    productId: bigint,
    spelled: string,
    nowMs: number,
  ): SaleProduct | undefined | Promise<SaleProduct | undefined> {
    const local = this.localProducts.get(spelled);
    if (local && nowMs - local.atMs < GOODS_LOCAL_TTL_MS) return local.product;
    return this.loadProduct(productId, spelled, nowMs);
  }

  private async loadProduct(
    productId: bigint,
    spelled: string,
    nowMs: number,
  ): Promise<SaleProduct | undefined> {
    const stored = await this.reads.direct(`product:${productId}`, () =>
      getProduct(this.platform.db.sql, productId),
    );
    const product = stored
      ? { kind: stored.product.kind, active: stored.product.active, tenors: [...stored.product.tenors] }
      : undefined;
    if (this.localProducts.size > LOCAL_ENTRIES_MAX) this.localProducts.clear();
    this.localProducts.set(spelled, { atMs: nowMs, product });
    return product;
  }

  private credit(customerId: bigint): Promise<CreditSummary | undefined> {
    return this.reads.get<CreditSummary>(creditSummaryKey(customerId), async () => {
      const line = await getCreditLine(this.platform.db.sql, customerId);
      return line
        ? { limitMinor: line.limitMinor, usedMinor: line.usedMinor, status: line.status }
        : undefined;
    });
  }

  async accept(request: FastifyRequest, reply: FastifyReply, body: QueuedOrderBody): Promise<FastifyReply> {
    const principal = request.principal!;
    const customerId = principal.id;
    const customer = customerId.toString();
    const key = idempotencyKeyOf(request);
    const goodsId = pathId(body.goods_id, 'goods');
    const productId = pathId(body.product_id, 'product');
    // The path without the query: a retry in either mode is the same request.
    const hash = queuedOrderHash(body);
    this.admission.check();

    const cache = this.platform.cache;
    const nowMs = Date.now();
    // Goods and product from process memory when fresh; a miss starts its load now, in parallel.
    const goodsRead = this.goods(goodsId, body.goods_id, nowMs);
    const productRead = this.product(productId, body.product_id, nowMs);
    if (goodsRead instanceof Promise) goodsRead.catch(() => {});
    if (productRead instanceof Promise) productRead.catch(() => {});

    // One round trip: both rate-limit counters, the idempotency record and the credit summary.
    const byCustomer = rateWindow(this.customerRule, customer, nowMs);
    const byIp = rateWindow(this.ipRule, request.ip, nowMs);
    const idemKey = idempotencyRecordKey(customer, key);
    let customerAllowed = true;
    let ipAllowed = true;
    let earlier: string | null = null;
    // undefined: the cache could not answer, so the credit read goes the cache-aside way.
    let creditText: string | null | undefined;
    try {
      const got = await cache.incrAndGet(
        [
          { key: byCustomer.key, windowMs: this.customerRule.windowMs },
          { key: byIp.key, windowMs: this.ipRule.windowMs },
        ],
        [idemKey, creditSummaryKey(customer)],
      );
      customerAllowed = got.counts[0]! <= this.customerRule.limit;
      ipAllowed = got.counts[1]! <= this.ipRule.limit;
      earlier = got.values[0]!;
      creditText = got.values[1]!;
    } catch {
      // Rate limits fail open and the replay is unknown (the stream's dedupe still holds).
    }
    if (earlier !== null) return this.replay(reply, JSON.parse(earlier) as IdempotencyRecord, hash);
    if (!customerAllowed || !ipAllowed) {
      const retryAfterS = Math.max(byCustomer.retryAfterS, byIp.retryAfterS, RATE_LIMITED_RETRY_AFTER_S);
      throw new ApiError(
        429,
        'RATE_LIMITED',
        'too many orders; retry shortly',
        { retry_after_s: retryAfterS, limit: customerAllowed ? 'ip' : 'customer' },
        { 'retry-after': String(retryAfterS) },
      );
    }

    let goods: SaleGoods | undefined;
    let line: CreditSummary | undefined;
    let product: SaleProduct | undefined;
    try {
      goods = goodsRead instanceof Promise ? await goodsRead : goodsRead;
      product = productRead instanceof Promise ? await productRead : productRead;
      if (typeof creditText === 'string')
        line = creditText === CACHED_NOT_FOUND ? undefined : decodeCreditSummary(creditText);
      else line = await this.credit(customerId);
    } catch (err) {
      if (err instanceof CacheOverloadedError)
        throw unavailable('OVERLOADED', 'the database is shielded right now; retry shortly', 1);
      throw unavailable('DATABASE_UNAVAILABLE', 'orders cannot be checked right now; retry shortly', 1);
    }
    if (!goods) throw notFound('goods');
    if (!product) throw notFound('product');
    if (product.kind !== 'goods')
      throw new ApiError(422, 'PRODUCT_KIND_MISMATCH', 'orders need a goods product', { kind: product.kind });
    if (!product.tenors.includes(body.tenor))
      throw new ApiError(422, 'TENOR_NOT_ALLOWED', 'the product does not offer this tenor', {
        tenors: product.tenors.join(','),
      });
    // A cheap pre-check on cached figures; the worker decides with the line locked.
    if (!line) throw new ApiError(422, 'NO_CREDIT_LINE', 'the customer has no credit line');
    if (line.status !== 'active') throw new ApiError(422, 'CREDIT_LINE_FROZEN', 'the credit line is frozen');
    if (line.usedMinor + goods.priceMinor > line.limitMinor) {
      throw new ApiError(422, 'INSUFFICIENT_CREDIT', 'not enough credit available', {
        available_minor: (line.limitMinor - line.usedMinor).toString(),
        requested_minor: goods.priceMinor.toString(),
      });
    }

    const orderId = this.ids.next().toString();
    const acceptedAt = new Date().toISOString();
    const message: OrderMessage = {
      v: ORDER_MESSAGE_VERSION,
      order_id: orderId,
      customer_id: customer,
      goods_id: body.goods_id,
      product_id: body.product_id,
      tenor: body.tenor,
      key,
      hash,
      business_date: todayUtc(),
      merchant_id: goods.merchantId.toString(),
      price: formatAmount(goods.priceMinor, CNY.decimals),
      accepted_at: acceptedAt,
    };
    let published: { seq: number; duplicate: boolean };
    try {
      published = await this.platform.queue.publish(ORDERS_SUBJECT, Buffer.from(JSON.stringify(message)), {
        msgId: orderMessageId(customer, key),
      });
    } catch (err) {
      if (err instanceof QueueFullError) throw unavailable('OVERLOADED', 'the order stream is full', 1);
      this.admission.markQueueDown();
      throw unavailable('QUEUE_UNAVAILABLE', 'orders cannot be accepted right now; retry shortly', 1);
    }
    if (published.duplicate) {
      // A retry of a request the stream already holds: answer with the original order.
      const original = await this.platform.queue
        .getMessage(ORDERS_STREAM, published.seq)
        .catch(() => undefined);
      if (original) {
        const first = JSON.parse(Buffer.from(original).toString('utf8')) as OrderMessage;
        return this.replay(reply, { order_id: first.order_id, hash: first.hash }, hash);
      }
      // The stream drops a message once it is settled (interest retention): the database has it.
      const stored = await orderByKey(this.platform.db.sql, customerId, key).catch(() => null);
      if (!stored)
        throw unavailable('QUEUE_UNAVAILABLE', 'the original order cannot be read; retry shortly', 1);
      // the stored order's fields stand for the request hash the message carried
      const same =
        stored.goodsId.toString() === body.goods_id &&
        stored.productId.toString() === body.product_id &&
        stored.tenor === body.tenor;
      if (!same)
        throw conflict('IDEMPOTENCY_KEY_REUSED', 'this Idempotency-Key was used for a different request');
      return this.replay(reply, { order_id: stored.id.toString(), hash }, hash);
    }

    const view: OrderStatusView = {
      id: orderId,
      customer_id: message.customer_id,
      merchant_id: message.merchant_id,
      goods_id: message.goods_id,
      product_id: message.product_id,
      tenor: message.tenor,
      price: message.price,
      status: 'accepted',
      reject_reason: null,
      hold_reason: null,
      loan_id: null,
      created_at: acceptedAt,
      settled_at: null,
    };
    // One round trip after the ack; the record and the view hold no bigint, so plain JSON.
    const record: IdempotencyRecord = { order_id: orderId, hash };
    await cache
      .setMany([
        { key: idemKey, value: JSON.stringify(record), ttlMs: IDEMPOTENCY_RECORD_TTL_MS },
        acceptedEntry(view),
      ])
      .catch(() => {});
    return reply.status(202).send(answerFor(orderId));
  }

  private replay(reply: FastifyReply, record: IdempotencyRecord, hash: string): FastifyReply {
    if (record.hash !== hash)
      throw conflict('IDEMPOTENCY_KEY_REUSED', 'this Idempotency-Key was used for a different request');
    reply.header(REPLAY_HEADER, 'true');
    return reply.status(202).send(answerFor(record.order_id));
  }

  /** The order's status for its customer, merchant or staff; 404 for anyone else. */
  async status(request: FastifyRequest, orderId: bigint): Promise<OrderStatusView> {
    const found = await lookupOrderStatus(this.platform.cache, this.reads, this.platform.db.sql, orderId, {
      held: this.held,
    }).catch((err) => {
      if (err instanceof CacheOverloadedError)
        throw unavailable('OVERLOADED', 'order statuses are shielded right now; retry shortly', 1);
      throw err;
    });
    if (found.kind === 'unknown') {
      throw unavailable(
        'ORDER_STATUS_UNKNOWN',
        'the order status cannot be read right now; retry shortly',
        1,
      );
    }
    const p = request.principal!;
    const view = found.kind === 'found' ? found.view : undefined;
    const allowed =
      view &&
      (isStaff(request) ||
        (p.role === 'customer' && p.id.toString() === view.customer_id) ||
        (p.role === 'merchant' && p.id.toString() === view.merchant_id));
    if (!view || !allowed) throw notFound('order');
    return view;
  }

  close(): void {
    this.admission.close();
  }
}

/** Builds the queued path and registers the status events stream; the POST and GET live in orders.ts. */
export async function registerQueuedOrders(app: Api, platform: Platform): Promise<QueuedOrders> {
  const queued = new QueuedOrders(platform, await claimIdGenerator(platform.db.sql));
  app.addHook('onClose', async () => queued.close());

  app.get(
    '/v1/orders/:id/events',
    {
      preHandler: requireRole('customer', 'merchant', 'risk', 'ops'),
      schema: {
        tags: ['orders'],
        summary:
          'Server-sent events: the order status now and when it changes (ends when final, or after 60 s)',
        security: [{ bearer: [] }, { merchantKey: [] }],
        params: IdParams,
        response: { 200: Type.String({ description: 'text/event-stream' }), 404: ErrorBody, 503: ErrorBody },
      },
    },
    async (request, reply) => {
      const orderId = pathId(request.params.id, 'order');
      let view = await queued.status(request, orderId);
      reply.hijack();
      const raw = reply.raw;
      raw.writeHead(200, {
        'content-type': 'text/event-stream',
        'cache-control': 'no-cache',
        connection: 'keep-alive',
        'x-request-id': request.id,
      });
      const send = (v: OrderStatusView) => raw.write(`event: status\ndata: ${JSON.stringify(v)}\n\n`);
      send(view);
      const endsAtMs = Date.now() + EVENTS_MAX_LIFETIME_MS;
      let closed = false;
      raw.on('close', () => {
        closed = true;
      });
      while (!closed && !isFinal(view) && Date.now() < endsAtMs) {
        await new Promise((r) => setTimeout(r, EVENTS_POLL_MS));
        const next = await queued.status(request, orderId).catch(() => view);
        if (next.status !== view.status) send(next);
        view = next;
      }
      if (!closed) {
        raw.write(`event: ${isFinal(view) ? 'final' : 'timeout'}\ndata: {}\n\n`);
        raw.end();
      }
    },
  );
  return queued;
}

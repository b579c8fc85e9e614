/**
 * Sale-day orders (docs/flash.md). `POST /v1/orders` in queued mode (FENQI_SALE_MODE=true, or
 * `?mode=queued` per request) checks what is cheap — body, caller, admission, rate limits, the
 * idempotency record, the cached credit line and goods — then publishes the order to JetStream with
 * `Nats-Msg-Id = order:{customer}:{key}` and answers 202 only after the stream has stored it. The
 * order id is made here, so the 202 can carry it. Workers settle it later (workers/order-settler.ts).
 * Also the order status read (cache, then database, then the dead letters: `held`) and its
 * server-sent-events stream. The rule, the message, the cached facts and the status read model are
 * the order feature's (src/orders/, domain/orders.ts); this is their HTTP adapter.
 */

import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { type Static, Type } from 'typebox';
import { CacheAside, CacheOverloadedError } from '../../cache/cache-aside.ts';
import { creditSummaryKey, keyTags, orderIdempotencyKey } from '../../cache/keys.ts';
import { type RateLimitRule, rateWindow } from '../../cache/rate-limit.ts';
import { checkOrder, type OrderRefusal } from '../../domain/orders.ts';
import { findHeldOrder } from '../../orders/dead-letters.ts';
import { intakeFacts, type Read, SaleFacts, type SaleProduct } from '../../orders/intake.ts';
import {
  encodeOrderMessage,
  type OrderMessage,
  orderMessage,
  orderMessageId,
  readOrderMessage,
} from '../../orders/message.ts';
import {
  acceptedEntry,
  CREDIT_SUMMARY_TTL_MS,
  type CreditSummary,
  decodeCreditSummary,
  type HeldLookup,
  isFinal,
  lookupOrderStatus,
  type OrderStatusView,
} from '../../orders/status.ts';
import type { Platform } from '../../platform.ts';
import { ORDERS_STREAM, ORDERS_SUBJECT, QueueFullError } from '../../queue/index.ts';
import type { SaleGoods } from '../../store/goods.ts';
import { claimIdGenerator, type IdGenerator } from '../../store/id-generator.ts';
import { orderByKey } from '../../store/orders.ts';
import { inSpan, SPAN_NAMES, SpanKind } from '../../telemetry/tracing.ts';
import { Admission } from '../admission.ts';
import { requireRole } from '../auth.ts';
import { type ApiError, conflict, notFound, refuse, unavailable } from '../errors.ts';
import { idempotencyKeyOf, REPLAY_HEADER } from '../plugins/idempotency.ts';
import type { Api } from '../types.ts';
import { ErrorBody, IdParams, isStaff, pathId } from './lending-schemas.ts';

/** A queued request's answer is replayed from the cache this long (NATS dedupes for a day too). */
export const IDEMPOTENCY_RECORD_TTL_MS = 24 * 60 * 60 * 1000;
export const RATE_WINDOW_MS = 1_000;
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

/** What CacheAside stores for "not found" (cache-aside.ts), read here straight from the intake script. */
const CACHED_NOT_FOUND = '{"$none":true}';

/**
 * `requestHash('POST', '/v1/orders', body)` in hex, without its generic canonicalisation: of the
 * fields the body schema admits, these three are what the queued path acts on (it does not carry
 * `agreement_acceptance_id` yet: docs/api.md, "Loan agreement"), and this literal lists them in
 * sorted order.
 */
export function queuedOrderHash(body: QueuedOrderBody): string {
  const canonical = JSON.stringify({
    goods_id: body.goods_id,
    product_id: body.product_id,
    tenor: body.tenor,
  });
  return createHash('sha256').update(`POST /v1/orders\n${canonical}`).digest('hex');
}

/** What one cache round trip says before the order is checked. */
interface FrontDoor {
  /** The answer recorded for this (customer, key), if any. */
  earlier: string | null;
  /** The rate limit broken, if one is. */
  limited: 'customer' | 'ip' | null;
  retryAfterS: number;
  /** undefined: the cache could not answer, so the credit read goes the cache-aside way. */
  creditText: string | null | undefined;
}

/** The intake's answer to a refusal of the order rule: the synchronous path's codes and statuses. */
function refusalError(refusal: OrderRefusal): ApiError {
  if (refusal.code === 'GOODS_NOT_FOUND') return notFound('goods');
  if (refusal.code === 'PRODUCT_NOT_FOUND') return notFound('product');
  return refuse(refusal.code, refusal.message, { ...refusal.details });
}

/** The status of an order the stream has just stored. */
function acceptedView(m: OrderMessage): OrderStatusView {
  return {
    id: m.order_id,
    customer_id: m.customer_id,
    merchant_id: m.merchant_id,
    goods_id: m.goods_id,
    product_id: m.product_id,
    tenor: m.tenor,
    price: m.price,
    status: 'accepted',
    reject_reason: null,
    hold_reason: null,
    loan_id: null,
    created_at: m.accepted_at,
    settled_at: null,
  };
}

export class QueuedOrders {
  readonly admission: Admission;
  private readonly reads: CacheAside;
  private readonly facts: SaleFacts;
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
    this.facts = new SaleFacts(platform.db.sql, this.reads);
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

  /** One round trip: both rate-limit counters, the idempotency record and the credit summary. */
  private async frontDoor(customer: string, ip: string, idemKey: string, nowMs: number): Promise<FrontDoor> {
    const byCustomer = rateWindow(this.customerRule, keyTags.customer(customer), nowMs);
    const byIp = rateWindow(this.ipRule, keyTags.address(ip), nowMs);
    const door: FrontDoor = {
      earlier: null,
      limited: null,
      retryAfterS: Math.max(byCustomer.retryAfterS, byIp.retryAfterS, RATE_LIMITED_RETRY_AFTER_S),
      creditText: undefined,
    };
    try {
      const got = await this.platform.cache.incrAndGet(
        [
          { key: byCustomer.key, windowMs: this.customerRule.windowMs },
          { key: byIp.key, windowMs: this.ipRule.windowMs },
        ],
        [idemKey, creditSummaryKey(customer)],
      );
      if (got.counts[0]! > this.customerRule.limit) door.limited = 'customer';
      else if (got.counts[1]! > this.ipRule.limit) door.limited = 'ip';
      door.earlier = got.values[0]!;
      door.creditText = got.values[1]!;
    } catch {
      // Rate limits fail open and the replay is unknown (the stream's dedupe still holds).
    }
    return door;
  }

  /** The reads started before the front door, and the credit line, once they are all in. */
  private async gather(
    customerId: bigint,
    goodsRead: Read<SaleGoods | undefined>,
    productRead: Read<SaleProduct | undefined>,
    creditText: string | null | undefined,
  ): Promise<[SaleGoods | undefined, SaleProduct | undefined, CreditSummary | undefined]> {
    try {
      const goods = goodsRead instanceof Promise ? await goodsRead : goodsRead;
      const product = productRead instanceof Promise ? await productRead : productRead;
      let line: CreditSummary | undefined;
      if (typeof creditText === 'string')
        line = creditText === CACHED_NOT_FOUND ? undefined : decodeCreditSummary(creditText);
      else line = await this.facts.credit(customerId);
      return [goods, product, line];
    } catch (err) {
      if (err instanceof CacheOverloadedError)
        throw unavailable('OVERLOADED', 'the database is shielded right now; retry shortly', 1);
      throw unavailable('DATABASE_UNAVAILABLE', 'orders cannot be checked right now; retry shortly', 1);
    }
  }

  async accept(request: FastifyRequest, reply: FastifyReply, body: QueuedOrderBody): Promise<FastifyReply> {
    const customerId = request.principal!.id;
    const customer = customerId.toString();
    const key = idempotencyKeyOf(request);
    const goodsId = pathId(body.goods_id, 'goods');
    const productId = pathId(body.product_id, 'product');
    // The path without the query: a retry in either mode is the same request.
    const hash = queuedOrderHash(body);
    this.admission.check();

    const nowMs = Date.now();
    // Goods and product from process memory when fresh; a miss starts its load now, in parallel.
    const goodsRead = this.facts.goods(goodsId, body.goods_id, nowMs);
    const productRead = this.facts.product(productId, body.product_id, nowMs);
    if (goodsRead instanceof Promise) goodsRead.catch(() => {});
    if (productRead instanceof Promise) productRead.catch(() => {});

    const idemKey = orderIdempotencyKey(customer, key);
    const door = await this.frontDoor(customer, request.ip, idemKey, nowMs);
    if (door.earlier !== null) return this.replay(reply, JSON.parse(door.earlier) as IdempotencyRecord, hash);
    if (door.limited) {
      throw refuse(
        'RATE_LIMITED',
        'too many orders; retry shortly',
        { retry_after_s: door.retryAfterS, limit: door.limited },
        { 'retry-after': String(door.retryAfterS) },
      );
    }
    const [goods, product, line] = await this.gather(customerId, goodsRead, productRead, door.creditText);
    // A cheap pre-check on cached figures; the worker decides with the line locked.
    const check = inSpan(SPAN_NAMES.decision, {}, () =>
      checkOrder(intakeFacts(body.tenor, goods, product, line)),
    );
    if (!check.ok) throw refusalError(check);

    const message = orderMessage({
      orderId: this.ids.next().toString(),
      customerId: customer,
      goodsId: body.goods_id,
      productId: body.product_id,
      tenor: body.tenor,
      key,
      hash,
      businessDate: await this.platform.services.clock.today(),
      merchantId: (goods as SaleGoods).merchantId,
      priceMinor: (goods as SaleGoods).priceMinor,
      acceptedAt: new Date().toISOString(),
    });
    const published = await this.publish(message);
    if (published.duplicate) return this.answerDuplicate(reply, published.seq, customerId, key, body, hash);
    // One round trip after the ack; the record and the view hold no bigint, so plain JSON.
    const record: IdempotencyRecord = { order_id: message.order_id, hash };
    await this.platform.cache
      .setMany([
        { key: idemKey, value: JSON.stringify(record), ttlMs: IDEMPOTENCY_RECORD_TTL_MS },
        acceptedEntry(acceptedView(message)),
      ])
      .catch(() => {});
    return reply.status(202).send(answerFor(message.order_id));
  }

  /** Stored by the stream (answered only then), or a 503 saying why not. */
  private async publish(message: OrderMessage): Promise<{ seq: number; duplicate: boolean }> {
    try {
      // the message's headers carry this span's context: the settler's span continues the trace
      return await inSpan(SPAN_NAMES.intakePublish, { kind: SpanKind.PRODUCER }, () =>
        this.platform.queue.publish(
          ORDERS_SUBJECT,
          encodeOrderMessage(this.platform.config.queueMacKeys, message),
          { msgId: orderMessageId(message.customer_id, message.key) },
        ),
      );
    } catch (err) {
      if (err instanceof QueueFullError) throw unavailable('OVERLOADED', 'the order stream is full', 1);
      this.admission.markQueueDown();
      throw unavailable('QUEUE_UNAVAILABLE', 'orders cannot be accepted right now; retry shortly', 1);
    }
  }

  /** A retry of a request the stream already holds: answer with the original order. */
  private async answerDuplicate(
    reply: FastifyReply,
    seq: number,
    customerId: bigint,
    key: string,
    body: QueuedOrderBody,
    hash: string,
  ): Promise<FastifyReply> {
    const original = await this.platform.queue.getMessage(ORDERS_STREAM, seq).catch(() => undefined);
    if (original) {
      const first = readOrderMessage(original);
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

  private replay(reply: FastifyReply, record: IdempotencyRecord, hash: string): FastifyReply {
    if (record.hash !== hash)
      throw conflict('IDEMPOTENCY_KEY_REUSED', 'this Idempotency-Key was used for a different request');
    reply.header(REPLAY_HEADER, 'true');
    return reply.status(202).send(answerFor(record.order_id));
  }

  /** The order's status for its customer, merchant or staff; 404 for anyone else. */
  async status(request: FastifyRequest, orderId: bigint): Promise<OrderStatusView> {
    const p = request.principal!;
    const found = await lookupOrderStatus(this.platform.cache, this.reads, this.platform.db.sql, orderId, {
      held: this.held,
      customerId: p.role === 'customer' ? p.id : undefined,
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

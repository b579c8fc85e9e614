/**
 * The sale-day order worker: durable pull consumer loops (`WORKER_CONCURRENCY` per process) that
 * fetch up to `WORKER_BATCH_SIZE` orders, settle them in one set-based transaction
 * (store/order-batch.ts), and only then ack. Transient database errors nak with a growing delay;
 * a batch that fails for another reason is split in halves until the one poison order is alone,
 * which goes to the dead-letter stream with its reason (as do unparseable messages and messages
 * past their delivery limit), on the order's own subject, and the order's status in the cache
 * becomes `held`. After commit each order's final status goes to the cache and the customer's
 * credit summary is rewritten.
 */
import {
  creditSummaryKey,
  heldOrderView,
  orderStatusView,
  putCreditSummaries,
  putFinal,
  putHeld,
} from '../api/order-status.ts';
import type { Platform } from '../platform.ts';
import {
  DEAD_LETTER_SUBJECT_PREFIX,
  ORDER_MAX_DELIVER,
  ORDER_SETTLER,
  ORDERS_STREAM,
  type QueueMessage,
} from '../queue/index.ts';
import { isTransientDatabaseError } from '../store/db-errors.ts';
import { claimIdGenerator, type IdGenerator } from '../store/id-generator.ts';
import {
  BatchConflictError,
  type BatchOutcome,
  type CommittedLine,
  type QueuedOrder,
  settleOrderBatch,
} from '../store/order-batch.ts';
import type { Worker } from './index.ts';

/** How long one pull waits for its first message. */
export const FETCH_EXPIRES_MS = 1_000;
/** Retry delays grow from this, doubling per delivery, up to the ceiling. */
export const RETRY_BASE_DELAY_MS = 250;
export const RETRY_MAX_DELAY_MS = 15_000;
/** How often a worker drops settled orders from the stream. */
export const ORDER_STREAM_TRIM_INTERVAL_MS = 60_000;
/** After a queue error the loop waits this long before it pulls again. */
export const QUEUE_ERROR_PAUSE_MS = 500;
/** Dead letters were all published on this one subject before per-order subjects: still listed and replayed. */
export const DEAD_ORDERS_SUBJECT = `${DEAD_LETTER_SUBJECT_PREFIX}.orders`;
/** Every dead-lettered order since is on a subject of its own under this one... */
export const DEAD_ORDERS_WILDCARD = `${DEAD_ORDERS_SUBJECT}.>`;
/** ...by its order id, so the status read finds it with one direct get (dead-letters.ts `findHeldOrder`)... */
export const deadOrderSubject = (orderId: bigint | string) => `${DEAD_ORDERS_SUBJECT}.${orderId}`;
/** ...or here when the message names no order id (nobody can ask for its status). */
export const UNREADABLE_DEAD_ORDERS_SUBJECT = `${DEAD_ORDERS_SUBJECT}.unreadable`;
export const ORDER_MESSAGE_VERSION = 1;
const MAX_KEY_LENGTH = 128;

/** What the API publishes for a queued order (JSON). */
export interface OrderMessage {
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
}

const DIGITS = /^\d{1,19}$/;

/** The order id a message names, even when the rest of it is poison; undefined when it names none. */
export function orderIdOf(data: Uint8Array): string | undefined {
  try {
    const id = (JSON.parse(Buffer.from(data).toString('utf8')) as { order_id?: unknown } | null)?.order_id;
    return typeof id === 'string' && DIGITS.test(id) ? id : undefined;
  } catch {
    return undefined;
  }
}

/** The order a message carries, or a reason it is poison. */
export function parseOrderMessage(data: Uint8Array): QueuedOrder | string {
  let m: OrderMessage;
  try {
    m = JSON.parse(Buffer.from(data).toString('utf8')) as OrderMessage;
  } catch {
    return 'unparseable JSON';
  }
  if (!m || typeof m !== 'object' || m.v !== ORDER_MESSAGE_VERSION) return 'unknown message version';
  for (const field of ['order_id', 'customer_id', 'goods_id', 'product_id'] as const) {
    if (typeof m[field] !== 'string' || !DIGITS.test(m[field])) return `bad ${field}`;
  }
  if (!Number.isInteger(m.tenor) || m.tenor < 1 || m.tenor > 600) return 'bad tenor';
  if (typeof m.key !== 'string' || m.key.length < 1 || m.key.length > MAX_KEY_LENGTH) return 'bad key';
  if (typeof m.business_date !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(m.business_date))
    return 'bad business_date';
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

/** Connection loss, failover, lock and serialization trouble: worth retrying as is. */
export function isTransient(err: unknown): boolean {
  return err instanceof BatchConflictError || isTransientDatabaseError(err);
}

export const retryDelayMs = (deliveryCount: number) =>
  Math.min(RETRY_MAX_DELAY_MS, RETRY_BASE_DELAY_MS * 2 ** Math.max(0, deliveryCount - 1));

interface Parsed {
  message: QueueMessage;
  order: QueuedOrder;
}

export interface SettlerStats {
  batches: number;
  settled: number;
  rejected: number;
  replayed: number;
  deadLettered: number;
  retried: number;
  /** Settled or dead-lettered messages dropped from the orders stream. */
  trimmed: number;
}

export class OrderSettler implements Worker {
  readonly name = 'order-settler';
  readonly stats: SettlerStats = {
    batches: 0,
    settled: 0,
    rejected: 0,
    replayed: 0,
    deadLettered: 0,
    retried: 0,
    trimmed: 0,
  };
  private stopping = false;
  private readonly loops: Promise<void>[] = [];
  /** Post-commit cache writes still on their way (a loop does not wait for them to pull again). */
  private readonly cacheWrites = new Set<Promise<unknown>>();
  private readonly trimTimer: NodeJS.Timeout;

  constructor(
    private readonly platform: Platform,
    private readonly ids: IdGenerator,
    private readonly batchSize = platform.config.workerBatchSize,
    concurrency = platform.config.workerConcurrency,
  ) {
    for (let i = 0; i < concurrency; i++) this.loops.push(this.loop());
    this.trimTimer = setInterval(() => void this.trim(), ORDER_STREAM_TRIM_INTERVAL_MS);
    this.trimTimer.unref();
  }

  /**
   * Drops the orders the settler has finished with from the stream (they are in PostgreSQL or in
   * FENQI_DEAD), so the stream holds what is still owed and never fills up with history. Every
   * worker process does it; a trim is idempotent. A retry of a trimmed order is still recognised
   * by its message id and answered from the database (routes/orders-queued.ts).
   */
  async trim(): Promise<number> {
    try {
      const dropped = await this.platform.queue.trimAcked(ORDERS_STREAM, ORDER_SETTLER);
      this.stats.trimmed += dropped;
      return dropped;
    } catch (err) {
      this.platform.logger.warn({ err: (err as Error).message }, 'orders stream trim failed; next time');
      return 0;
    }
  }

  private async pull(): Promise<QueueMessage[]> {
    try {
      return await this.platform.queue.fetch(ORDERS_STREAM, ORDER_SETTLER, {
        max: this.batchSize,
        expiresMs: FETCH_EXPIRES_MS,
      });
    } catch (err) {
      this.platform.logger.warn({ err: (err as Error).message }, 'order fetch failed; pausing');
      await new Promise((r) => setTimeout(r, QUEUE_ERROR_PAUSE_MS));
      return [];
    }
  }

  private async loop(): Promise<void> {
    // The next batch is pulled while this one settles, so the database never waits for the queue.
    let next = this.pull();
    for (;;) {
      const messages = await next;
      if (this.stopping) {
        // Pulled but never settled: handed back at once rather than after the ack wait.
        for (const message of messages) message.nak();
        return;
      }
      next = this.pull();
      if (messages.length === 0) continue;
      try {
        await this.handle(messages);
      } catch (err) {
        // Never let one batch end the loop: its messages are redelivered after the ack wait.
        this.platform.logger.error({ err: (err as Error).message }, 'order batch failed unexpectedly');
      }
    }
  }

  /** Settles one fetched batch; every message ends acked, nakked (retry) or dead-lettered. */
  async handle(messages: QueueMessage[]): Promise<void> {
    const parsed: Parsed[] = [];
    for (const message of messages) {
      // The queue redelivers without limit (streams.ts): giving up is decided here, also for a
      // message that never came back from its last attempt (a worker killed while settling it)
      if (message.deliveryCount > ORDER_MAX_DELIVER) {
        await this.deadLetter(message, `gave up after ${message.deliveryCount - 1} deliveries`);
        continue;
      }
      const order = parseOrderMessage(message.data);
      if (typeof order === 'string') await this.deadLetter(message, order);
      else parsed.push({ message, order });
    }
    if (parsed.length > 0) await this.settle(parsed);
  }

  private async settle(batch: Parsed[]): Promise<void> {
    let outcomes: BatchOutcome[];
    let lines: CommittedLine[];
    try {
      ({ outcomes, lines } = await settleOrderBatch(
        this.platform.db.sql,
        batch.map((p) => p.order),
        this.ids,
      ));
    } catch (err) {
      if (isTransient(err)) {
        this.stats.retried += batch.length;
        this.platform.logger.warn(
          { err: (err as Error).message, orders: batch.length },
          'order batch hit a transient error; retrying later',
        );
        for (const { message } of batch) {
          if (message.deliveryCount >= ORDER_MAX_DELIVER)
            await this.deadLetter(
              message,
              `gave up after ${message.deliveryCount} deliveries: ${(err as Error).message}`,
            );
          else message.nak(retryDelayMs(message.deliveryCount));
        }
        return;
      }
      if (batch.length === 1) {
        await this.deadLetter(batch[0]!.message, `settlement failed: ${(err as Error).message}`);
        return;
      }
      // Find the poison order: each half settles (or splits again) on its own.
      const half = Math.ceil(batch.length / 2);
      await this.settle(batch.slice(0, half));
      await this.settle(batch.slice(half));
      return;
    }
    this.stats.batches++;
    const cacheWrites: Promise<unknown>[] = [];
    const customers = new Set<string>();
    for (let i = 0; i < batch.length; i++) {
      const { message } = batch[i]!;
      const outcome = outcomes[i]!;
      if (outcome.kind === 'unrecordable') {
        await this.deadLetter(message, `order cannot be recorded: ${outcome.reason}`);
        continue;
      }
      message.ack();
      const order = outcome.order;
      if (outcome.kind === 'stored' && outcome.replay) this.stats.replayed++;
      else if (outcome.kind === 'superseded') this.stats.replayed++;
      else if (order.status === 'settled') this.stats.settled++;
      else this.stats.rejected++;
      cacheWrites.push(putFinal(this.platform.cache, orderStatusView(order)));
      customers.add(order.customerId.toString());
    }
    // The lines as committed go to the cache (the intake pre-check reads them); a customer of the
    // batch without a locked line (none, or gone) has its summary dropped instead.
    cacheWrites.push(putCreditSummaries(this.platform.cache, lines));
    for (const line of lines) customers.delete(line.customerId.toString());
    if (customers.size > 0)
      cacheWrites.push(this.platform.cache.del(...[...customers].map(creditSummaryKey)).catch(() => {}));
    // The batch is committed and acked; its cache writes finish while the next batch settles
    // (each swallows its own error: the database stays the authority for a status).
    this.track(Promise.all(cacheWrites));
  }

  private async deadLetter(message: QueueMessage, reason: string): Promise<void> {
    const orderId = orderIdOf(message.data);
    const record = {
      reason,
      subject: message.subject,
      msg_id: message.msgId ?? null,
      delivery_count: message.deliveryCount,
      data: Buffer.from(message.data).toString('utf8'),
      at: new Date().toISOString(),
    };
    try {
      await this.platform.queue.publish(
        orderId ? deadOrderSubject(orderId) : UNREADABLE_DEAD_ORDERS_SUBJECT,
        Buffer.from(JSON.stringify(record)),
        { msgId: message.msgId ? `dead:${message.msgId}` : undefined },
      );
    } catch (err) {
      // Not dead-lettered yet: leave it for a later delivery rather than lose it.
      message.nak(retryDelayMs(message.deliveryCount));
      this.platform.logger.warn({ err: (err as Error).message }, 'dead-letter publish failed');
      return;
    }
    message.term();
    this.stats.deadLettered++;
    this.platform.logger.warn({ reason, msgId: message.msgId }, 'order message dead-lettered');
    // Only now (the dead letter is stored): the customer sees `held` instead of `accepted`. The
    // dead letter stays the record; if this write is lost, `accepted` shows until that entry
    // expires and the status read finds the dead letter.
    const held = orderId ? heldOrderView(record.data, orderId) : undefined;
    if (held) this.track(putHeld(this.platform.cache, held));
  }

  /** Keeps a cache write on its way without waiting for it; `stop()` and `flushed()` wait. */
  private track(write: Promise<unknown>): void {
    const tracked: Promise<unknown> = write.finally(() => this.cacheWrites.delete(tracked));
    this.cacheWrites.add(tracked);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.trimTimer);
    await Promise.allSettled(this.loops);
    await Promise.allSettled([...this.cacheWrites]);
  }

  /** Resolves once every post-commit cache write issued so far has finished. */
  async flushed(): Promise<void> {
    await Promise.allSettled([...this.cacheWrites]);
  }
}

export async function startOrderSettler(platform: Platform): Promise<OrderSettler> {
  const ids = await claimIdGenerator(platform.db.sql);
  return new OrderSettler(platform, ids);
}

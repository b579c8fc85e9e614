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
import { trace } from '@opentelemetry/api';
import { deadLetterOf } from '../orders/dead-letters.ts';
import { orderMessageProblem, parseOrderMessage } from '../orders/message.ts';
import { putHeld, putSettledBatch } from '../orders/status.ts';
import type { Platform } from '../platform.ts';
import { ORDER_MAX_DELIVER, ORDER_SETTLER, ORDERS_STREAM, type QueueMessage } from '../queue/index.ts';
import { admitMessage, inMessageContext } from '../rehearsal/admit.ts';
import { AWARE, type RehearsalContext } from '../rehearsal/context.ts';
import { CustomerRouting } from '../store/customer-routing.ts';
import { isTransientDatabaseError } from '../store/db-errors.ts';
import { claimIdGenerator, type IdGenerator } from '../store/id-generator.ts';
import {
  BatchConflictError,
  type BatchResult,
  type QueuedOrder,
  settleOrderBatch,
} from '../store/order-batch.ts';
import type { Order } from '../store/orders.ts';
import { inSpan, messageContext, SPAN_NAMES, SpanKind, tracingEnabled } from '../telemetry/tracing.ts';
import { nextPullSize } from './pull-sizing.ts';
import type { Worker } from './worker.ts';

/** How long one pull waits for its first message. */
export const FETCH_EXPIRES_MS = 1_000;
/** Retry delays grow from this, doubling per delivery, up to the ceiling. */
export const RETRY_BASE_DELAY_MS = 250;
export const RETRY_MAX_DELAY_MS = 15_000;
/** How often a worker drops settled orders from the stream. */
export const ORDER_STREAM_TRIM_INTERVAL_MS = 60_000;
/** After a queue error the loop waits this long before it pulls again. */
export const QUEUE_ERROR_PAUSE_MS = 500;
/** Connection loss, failover, lock and serialization trouble: worth retrying as is. */
export function isTransient(err: unknown): boolean {
  return err instanceof BatchConflictError || isTransientDatabaseError(err);
}

export const retryDelayMs = (deliveryCount: number) =>
  Math.min(RETRY_MAX_DELAY_MS, RETRY_BASE_DELAY_MS * 2 ** Math.max(0, deliveryCount - 1));

interface Parsed {
  message: QueueMessage;
  order: QueuedOrder;
  /** The rehearsal the order belongs to (a shadow settler's), else undefined. */
  context: RehearsalContext | undefined;
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
  /** Settles tagged orders on the shadow side (docs/rehearsal.md): the same code, shadow credentials. */
  readonly rehearsal = AWARE;
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
  /** Which customers' lines one statement may lock and update together. */
  private readonly routing: CustomerRouting;
  /** The next pull's request: follows the stream (src/workers/pull-sizing.ts). */
  private pullSize: number;

  constructor(
    private readonly platform: Platform,
    private readonly ids: IdGenerator,
    private readonly batchSize = platform.config.workerBatchSize,
    concurrency = platform.config.workerConcurrency,
  ) {
    this.routing = new CustomerRouting(platform.db.sql);
    this.pullSize = batchSize;
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
    const asked = this.pullSize;
    const startedMs = performance.now();
    try {
      const got = await this.platform.queue.fetch(ORDERS_STREAM, ORDER_SETTLER, {
        max: asked,
        expiresMs: FETCH_EXPIRES_MS,
      });
      const elapsedMs = performance.now() - startedMs;
      this.pullSize = nextPullSize({ asked, got: got.length, elapsedMs }, this.batchSize);
      return got;
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
      const admission = admitMessage(this, this.platform.side, message.headers);
      if (!admission.ok) {
        await this.deadLetter(message, admission.reason, true);
        continue;
      }
      // Nothing read from the queue is believed before its MAC is checked: a forged or altered
      // message books nothing, whatever customer it names (docs/security.md).
      const problem = orderMessageProblem(this.platform.config.queueMacKeys, message.data);
      if (problem) {
        await this.deadLetter(message, problem, true);
        continue;
      }
      // The queue redelivers without limit (streams.ts): giving up is decided here, also for a
      // message that never came back from its last attempt (a worker killed while settling it)
      if (message.deliveryCount > ORDER_MAX_DELIVER) {
        await this.deadLetter(message, `gave up after ${message.deliveryCount - 1} deliveries`);
        continue;
      }
      const order = parseOrderMessage(message.data);
      if (typeof order === 'string') await this.deadLetter(message, order);
      else parsed.push({ message, order, context: admission.context });
    }
    // One transaction per rehearsal (production: the one group without one), each in its context.
    const groups = new Map<string, Parsed[]>();
    for (const p of parsed) {
      const id = p.context?.tag.rehearsalId ?? '';
      groups.set(id, [...(groups.get(id) ?? []), p]);
    }
    for (const group of groups.values()) {
      await inMessageContext(group[0]!.context, () => this.tracedSettle(group));
    }
  }

  /** The batch's span continues its first order's trace and links every other order's. */
  private tracedSettle(batch: Parsed[]): Promise<void> {
    if (!tracingEnabled()) return this.settle(batch);
    const contexts = batch.map((p) => messageContext(p.message.headers));
    const links = contexts.slice(1).flatMap((c) => {
      const span = trace.getSpanContext(c);
      return span ? [{ context: span }] : [];
    });
    const attributes = { 'messaging.batch.message_count': batch.length };
    return inSpan(
      SPAN_NAMES.settleBatch,
      { kind: SpanKind.CONSUMER, parent: contexts[0], links, attributes },
      () => this.settle(batch),
    );
  }

  private async settle(batch: Parsed[]): Promise<void> {
    let result: BatchResult;
    try {
      const orders = batch.map((p) => p.order);
      const routing = await this.routing.keysOf(orders.map((o) => o.customerId));
      result = await inSpan(SPAN_NAMES.settleTransaction, { attributes: { 'db.system': 'postgresql' } }, () =>
        settleOrderBatch(this.platform.db.sql, orders, this.ids, routing),
      );
    } catch (err) {
      await this.failed(batch, err as Error);
      return;
    }
    this.stats.batches++;
    const stored: Order[] = [];
    for (let i = 0; i < batch.length; i++) {
      const { message } = batch[i]!;
      const outcome = result.outcomes[i]!;
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
      stored.push(order);
    }
    // The batch is committed and acked; its cache writes finish while the next batch settles
    // (each swallows its own error: the database stays the authority for a status).
    this.track(putSettledBatch(this.platform.cache, stored, result.lines));
  }

  /** A batch that did not commit: retried later when transient, else split to find its poison order. */
  private async failed(batch: Parsed[], err: Error): Promise<void> {
    if (isTransient(err)) {
      this.stats.retried += batch.length;
      this.platform.logger.warn(
        { err: err.message, orders: batch.length },
        'order batch hit a transient error; retrying later',
      );
      for (const { message } of batch) {
        if (message.deliveryCount >= ORDER_MAX_DELIVER)
          await this.deadLetter(message, `gave up after ${message.deliveryCount} deliveries: ${err.message}`);
        else message.nak(retryDelayMs(message.deliveryCount));
      }
      return;
    }
    if (batch.length === 1) {
      await this.deadLetter(batch[0]!.message, `settlement failed: ${err.message}`);
      return;
    }
    // Find the poison order: each half settles (or splits again) on its own.
    const half = Math.ceil(batch.length / 2);
    await this.settle(batch.slice(0, half));
    await this.settle(batch.slice(half));
  }

  private async deadLetter(message: QueueMessage, reason: string, unverified = false): Promise<void> {
    const dead = deadLetterOf(message, reason, { unverified });
    try {
      await this.platform.queue.publish(dead.subject, dead.data, { msgId: dead.msgId });
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
    if (dead.held) this.track(putHeld(this.platform.cache, dead.held));
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

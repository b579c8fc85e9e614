/**
 * Held orders (docs/flash.md, docs/operations.md): the orders the settler could not process
 * wait in FENQI_DEAD with their reason, each on its own subject `fenqi.dead.orders.{order id}` (so
 * the status read finds a held order with one direct get: `findHeldOrder`); those dead-lettered
 * before per-order subjects are on `fenqi.dead.orders` itself, and are listed and replayed alike.
 * Operators list them and, once the cause is fixed, replay them: the original order message goes
 * back to the orders subject, and the dead letter is removed only after that publish is acked.
 *
 * At most one settlement per order holds because the order id and the (customer, key) inside the
 * message are the original ones: the settler finds an order already stored under either and writes
 * nothing. The replay's message id is NOT the original `order:{customer}:{key}`: FENQI_ORDERS would
 * answer that as a duplicate for 24 h and store nothing, and the order would be lost once its dead
 * letter is removed. It is `replay:{dead seq}:{digest of the dead letter}` instead, the same for every
 * caller replaying the same dead letter, so concurrent or repeated replays store one message.
 */
import { createHash } from 'node:crypto';
import type { Logger } from '../logger.ts';
import {
  DEAD_LETTER_STREAM,
  DEAD_LETTER_SUBJECT_PREFIX,
  type Queue,
  type QueueMessage,
  type StoredMessage,
} from '../queue/index.ts';
import { ID_DIGITS, orderIdOf } from './message.ts';
import { heldOrderView, type OrderStatusView } from './status.ts';

/** Dead letters were all published on this one subject before per-order subjects: still listed and replayed. */
export const DEAD_ORDERS_SUBJECT = `${DEAD_LETTER_SUBJECT_PREFIX}.orders`;
/** Every dead-lettered order since is on a subject of its own under this one... */
const DEAD_ORDERS_WILDCARD = `${DEAD_ORDERS_SUBJECT}.>`;
/** ...by its order id, so the status read finds it with one direct get (`findHeldOrder`)... */
export const deadOrderSubject = (orderId: bigint | string) => `${DEAD_ORDERS_SUBJECT}.${orderId}`;
/** ...or here when the message names no order id (nobody can ask for its status)... */
const UNREADABLE_DEAD_ORDERS_SUBJECT = `${DEAD_ORDERS_SUBJECT}.unreadable`;
/**
 * ...or here when its MAC fails: the order id it names may be anyone's, so it must neither take
 * that order's subject (the status read would show a real order `held`) nor write its status.
 */
export const UNVERIFIED_DEAD_ORDERS_SUBJECT = `${DEAD_ORDERS_SUBJECT}.unverified`;

/** Dead letters per list page by default, and at most. */
export const DEAD_LETTER_PAGE_DEFAULT = 50;
export const DEAD_LETTER_PAGE_MAX = 200;
/** Dead letters one replay request may name. */
export const REPLAY_SEQS_MAX = 100;
/** Dead letters read from the stream per page while replaying them all. */
export const REPLAY_PAGE_SIZE = 100;
/** A reason is cut to this many characters in a view (a database error can be long). */
export const REASON_MAX_LENGTH = 500;
/** Stream sequences on the wire: decimal strings below 2^53. */
export const SEQ_MAX_DIGITS = 15;
/** Only these subjects are replayed to: the orders stream's (`fenqi.orders.>`), nothing else. */
const ORDER_SUBJECT = /^fenqi\.orders(\.[A-Za-z0-9_-]{1,64}){1,4}$/;

/** What the settler publishes to FENQI_DEAD for an order it gives up on (`deadLetterOf`). */
interface DeadLetterRecord {
  reason: string;
  subject: string;
  msg_id: string | null;
  delivery_count: number;
  /** The original message, as UTF-8 text. */
  data: string;
  at: string;
}

/** A dead-lettered order as operators see it: ids, reason and counts, no personal data. */
export interface DeadLetterView {
  seq: string;
  /** Null when the original message could not be read (that is often its reason). */
  order_id: string | null;
  customer_id: string | null;
  reason: string;
  deliveries: number;
  dead_lettered_at: string;
  /** False when the dead letter itself is unreadable or names no orders subject: replay skips it. */
  replayable: boolean;
}

export interface DeadLetterPage {
  items: DeadLetterView[];
  /** Dead letters held in FENQI_DEAD right now. */
  total: number;
  /** Pass back as `afterSeq` for the next page; null on the last page. */
  nextAfterSeq: number | null;
}

export type ReplayOutcome = 'replayed' | 'not_found' | 'unreplayable';

export interface ReplayResult {
  seq: number;
  outcome: ReplayOutcome;
  orderId: string | null;
  /** The republished message's sequence in FENQI_ORDERS (also when another caller replayed it first). */
  replaySeq: number | null;
}

export interface ReplaySummary {
  results: ReplayResult[];
  replayed: number;
  notFound: number;
  unreplayable: number;
  /** False when `maxReplays` stopped a replay of all before the end. */
  done: boolean;
}

export interface ReplayProgress {
  replayed: number;
  skipped: number;
  /** Dead letters held when the replay started (an upper bound on what it walks). */
  total: number;
}

/** A dead letter ready to publish: where, what, under which message id, and the `held` view. */
export interface DeadLetter {
  subject: string;
  data: Buffer;
  msgId: string | undefined;
  /** The order's status once the dead letter is stored; undefined when the message names no order. */
  held: OrderStatusView | undefined;
}

/**
 * The dead letter of an order message the settler gives up on, with its reason. An `unverified`
 * message (its MAC failed) is kept apart and touches no order's status.
 */
export function deadLetterOf(
  message: QueueMessage,
  reason: string,
  options: { unverified?: boolean; at?: Date } = {},
): DeadLetter {
  const at = options.at ?? new Date();
  const orderId = options.unverified ? undefined : orderIdOf(message.data);
  const record: DeadLetterRecord = {
    reason,
    subject: message.subject,
    msg_id: message.msgId ?? null,
    delivery_count: message.deliveryCount,
    data: Buffer.from(message.data).toString('utf8'),
    at: at.toISOString(),
  };
  return {
    subject: options.unverified
      ? UNVERIFIED_DEAD_ORDERS_SUBJECT
      : orderId
        ? deadOrderSubject(orderId)
        : UNREADABLE_DEAD_ORDERS_SUBJECT,
    data: Buffer.from(JSON.stringify(record)),
    msgId: message.msgId ? `dead:${message.msgId}` : undefined,
    held: orderId ? heldOrderView(record.data, orderId) : undefined,
  };
}

function readRecord(data: Uint8Array): DeadLetterRecord | undefined {
  let r: Partial<DeadLetterRecord>;
  try {
    r = JSON.parse(Buffer.from(data).toString('utf8')) as Partial<DeadLetterRecord>;
  } catch {
    return undefined;
  }
  if (!r || typeof r !== 'object' || typeof r.data !== 'string' || typeof r.subject !== 'string')
    return undefined;
  return {
    reason: typeof r.reason === 'string' ? r.reason : 'unknown',
    subject: r.subject,
    msg_id: typeof r.msg_id === 'string' ? r.msg_id : null,
    delivery_count: Number.isInteger(r.delivery_count) ? (r.delivery_count as number) : 0,
    data: r.data,
    at: typeof r.at === 'string' ? r.at : '',
  };
}

/** The ids inside the original order message, when it can be read. */
function orderIdsOf(record: DeadLetterRecord | undefined): {
  orderId: string | null;
  customerId: string | null;
} {
  if (!record) return { orderId: null, customerId: null };
  try {
    const m = JSON.parse(record.data) as { order_id?: unknown; customer_id?: unknown };
    const id = (v: unknown) => (typeof v === 'string' && ID_DIGITS.test(v) ? v : null);
    return { orderId: id(m?.order_id), customerId: id(m?.customer_id) };
  } catch {
    return { orderId: null, customerId: null };
  }
}

const isReplayable = (record: DeadLetterRecord | undefined): record is DeadLetterRecord =>
  record !== undefined && ORDER_SUBJECT.test(record.subject);

export function deadLetterView(stored: StoredMessage): DeadLetterView {
  const record = readRecord(stored.data);
  const { orderId, customerId } = orderIdsOf(record);
  const at = record && !Number.isNaN(Date.parse(record.at)) ? new Date(record.at) : stored.storedAt;
  return {
    seq: String(stored.seq),
    order_id: orderId,
    customer_id: customerId,
    reason: (record?.reason ?? 'unreadable dead letter').slice(0, REASON_MAX_LENGTH),
    deliveries: record?.delivery_count ?? 0,
    dead_lettered_at: at.toISOString(),
    replayable: isReplayable(record),
  };
}

/** The same for every caller replaying this dead letter; different for every dead letter. */
export function replayMessageId(stored: StoredMessage): string {
  const digest = createHash('sha256').update(stored.data).digest('hex').slice(0, 32);
  return `replay:${stored.seq}:${digest}`;
}

/**
 * The `held` view of an order found in FENQI_DEAD under its own subject, or undefined (never
 * dead-lettered, replayed since, or dead-lettered before per-order subjects: those are not looked
 * up, a scan of the old subject being unbounded). One direct get; throws QueueUnavailableError
 * when NATS cannot answer.
 */
export async function findHeldOrder(queue: Queue, orderId: bigint): Promise<OrderStatusView | undefined> {
  const stored = await queue.lastBySubject(DEAD_LETTER_STREAM, deadOrderSubject(orderId));
  const record = stored && readRecord(stored.data);
  return record ? heldOrderView(record.data, orderId.toString()) : undefined;
}

/**
 * Dead order letters after `afterSeq` in sequence order, at most `max`: the per-order subjects and
 * the old shared subject merged (one filter cannot name both; the old one is soon empty, one request).
 */
async function listDeadOrders(queue: Queue, afterSeq: number, max: number): Promise<StoredMessage[]> {
  const [perOrder, shared] = await Promise.all([
    queue.list(DEAD_LETTER_STREAM, { afterSeq, max, subject: DEAD_ORDERS_WILDCARD }),
    queue.list(DEAD_LETTER_STREAM, { afterSeq, max, subject: DEAD_ORDERS_SUBJECT }),
  ]);
  if (shared.length === 0) return perOrder;
  return [...perOrder, ...shared].sort((a, b) => a.seq - b.seq).slice(0, max);
}

export class DeadLetters {
  constructor(
    private readonly queue: Queue,
    private readonly logger: Logger,
  ) {}

  /** One page of dead-lettered orders in the order they died, after `afterSeq`. */
  async list(options: { afterSeq?: number; limit?: number } = {}): Promise<DeadLetterPage> {
    const limit = Math.min(Math.max(1, options.limit ?? DEAD_LETTER_PAGE_DEFAULT), DEAD_LETTER_PAGE_MAX);
    const [stored, state] = await Promise.all([
      listDeadOrders(this.queue, options.afterSeq ?? 0, limit),
      this.queue.state(DEAD_LETTER_STREAM),
    ]);
    return {
      items: stored.map(deadLetterView),
      total: state.messages,
      nextAfterSeq: stored.length === limit ? stored[stored.length - 1]!.seq : null,
    };
  }

  /** Replays the named dead letters, each at most once, in the order given. */
  async replay(seqs: readonly number[]): Promise<ReplaySummary> {
    const results: ReplayResult[] = [];
    for (const seq of new Set(seqs)) results.push(await this.replaySeq(seq));
    return summarise(results, true);
  }

  /**
   * Replays every dead-lettered order held when it starts, oldest first. Orders that die again
   * meanwhile land after that point and are left for the next run, so it always ends. With
   * `maxReplays` it stops after that many (`done: false`); unreplayable ones do not count.
   */
  async replayAll(
    options: { maxReplays?: number; onProgress?: (p: ReplayProgress) => void } = {},
  ): Promise<ReplaySummary> {
    const { lastSeq, messages: total } = await this.queue.state(DEAD_LETTER_STREAM);
    const results: ReplayResult[] = [];
    let replayed = 0;
    let afterSeq = 0;
    for (;;) {
      const page = await listDeadOrders(this.queue, afterSeq, REPLAY_PAGE_SIZE);
      for (const stored of page) {
        if (stored.seq > lastSeq) return summarise(results, true);
        if (options.maxReplays !== undefined && replayed >= options.maxReplays)
          return summarise(results, false);
        const result = await this.replayStored(stored);
        results.push(result);
        if (result.outcome === 'replayed') replayed++;
        options.onProgress?.({ replayed, skipped: results.length - replayed, total });
      }
      if (page.length < REPLAY_PAGE_SIZE) return summarise(results, true);
      afterSeq = page[page.length - 1]!.seq;
    }
  }

  private async replaySeq(seq: number): Promise<ReplayResult> {
    // The first dead order letter at or after seq: it is this one only if seq still holds one.
    const [stored] = await listDeadOrders(this.queue, seq - 1, 1);
    if (!stored || stored.seq !== seq) return { seq, outcome: 'not_found', orderId: null, replaySeq: null };
    return this.replayStored(stored);
  }

  private async replayStored(stored: StoredMessage): Promise<ReplayResult> {
    const record = readRecord(stored.data);
    const { orderId, customerId } = orderIdsOf(record);
    if (!isReplayable(record)) {
      this.logger.warn({ deadSeq: stored.seq, orderId }, 'dead letter not replayable; left in place');
      return { seq: stored.seq, outcome: 'unreplayable', orderId, replaySeq: null };
    }
    // Publish first; a failure here throws with the dead letter untouched.
    const published = await this.queue.publish(record.subject, Buffer.from(record.data, 'utf8'), {
      msgId: replayMessageId(stored),
    });
    // Only now is it safe to remove: the order is in the orders stream (stored now, or by an earlier
    // or concurrent replay of this same dead letter when NATS answers duplicate).
    // Not removed by us: another caller replayed it at the same time (its publish and ours are one
    // message), so it is counted there, once.
    const removed = await this.queue.remove(DEAD_LETTER_STREAM, stored.seq);
    this.logger.info(
      {
        deadSeq: stored.seq,
        orderId,
        customerId,
        replaySeq: published.seq,
        duplicate: published.duplicate,
        removed,
      },
      'dead-lettered order replayed',
    );
    return {
      seq: stored.seq,
      outcome: removed ? 'replayed' : 'not_found',
      orderId,
      replaySeq: published.seq,
    };
  }
}

function summarise(results: ReplayResult[], done: boolean): ReplaySummary {
  const count = (outcome: ReplayOutcome) => results.filter((r) => r.outcome === outcome).length;
  return {
    results,
    replayed: count('replayed'),
    notFound: count('not_found'),
    unreplayable: count('unreplayable'),
    done,
  };
}

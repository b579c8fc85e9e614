/**
 * What the platform needs from a queue: durable streams, publish with dedupe by message id,
 * durable pull consumers with explicit ack, redelivery with backoff, and a backlog figure for
 * admission control. NATS JetStream implements it for real; MemoryQueue for the embedded mode
 * (not durable: the embedded mode settles orders synchronously unless sale mode is switched on).
 */
export interface StreamSpec {
  name: string;
  subjects: string[];
  /** Window in which a repeated message id is dropped as a duplicate. */
  duplicateWindowMs: number;
  /** Stream bound: past it, publishes are refused (never silently dropped). */
  maxMessages: number;
  /** Replicas in a cluster (R3 in production); 1 on a single server. */
  replicas?: number;
  /**
   * Point reads (`lastBySubject`) answered by any replica instead of the stream leader alone
   * (JetStream `allow_direct`): for streams read per key by the API, like the dead letters.
   */
  allowDirect?: boolean;
}

export interface ConsumerSpec {
  stream: string;
  durable: string;
  /** Unacked messages are redelivered after this. */
  ackWaitMs: number;
  /**
   * After this many deliveries the queue stops redelivering a message. Absent: it is redelivered
   * until acked or terminated, and the consumer decides when to give up (dead-letter it), so a
   * message is never left stranded because its last attempt could not dead-letter it.
   */
  maxDeliver?: number;
}

/**
 * Headers a message carries beside its body: the rehearsal tag and the trace context
 * (docs/rehearsal.md). NATS headers on JetStream; kept alongside the message in memory.
 */
export type MessageHeaders = Readonly<Record<string, string>>;

export interface PublishOptions {
  msgId?: string;
  timeoutMs?: number;
  headers?: MessageHeaders;
}

export interface PublishResult {
  seq: number;
  duplicate: boolean;
}

export interface QueueMessage {
  subject: string;
  data: Uint8Array;
  msgId: string | undefined;
  /** The headers it was published with (none: an empty record). */
  headers: MessageHeaders;
  /** 1 on first delivery. */
  deliveryCount: number;
  ack(): void;
  /** Redeliver after delayMs (retry with backoff). */
  nak(delayMs?: number): void;
  /** Never redeliver (after moving it to a dead-letter stream). */
  term(): void;
}

/** A message as a stream stores it (for operators: list, inspect, remove). */
export interface StoredMessage {
  seq: number;
  subject: string;
  data: Uint8Array;
  msgId: string | undefined;
  storedAt: Date;
}

/** What a stream holds right now; `lastSeq` is the highest sequence ever stored (removals keep it). */
export interface StreamState {
  messages: number;
  lastSeq: number;
}

/** At most this many stored messages per `list` call (each is one request to NATS). */
export const QUEUE_LIST_MAX = 1_000;

/** `list`'s page size, checked the same way by every implementation. */
export function checkListMax(max: number): void {
  if (!Number.isInteger(max) || max < 1 || max > QUEUE_LIST_MAX)
    throw new RangeError(`list max must be a whole number from 1 to ${QUEUE_LIST_MAX}, got ${max}`);
}

/**
 * `lastBySubject`'s subject, checked the same way by every implementation: a literal subject, as a
 * direct get by subject is addressed by it (a wildcard there is never answered).
 */
export function checkLiteralSubject(subject: string): void {
  const tokens = subject.split('.');
  if (tokens.some((t) => t === '' || t === '*' || t === '>' || /\s/.test(t)))
    throw new RangeError(`a literal subject is needed (no wildcards, no empty tokens), got ${subject}`);
}

export interface Queue {
  readonly kind: 'nats' | 'memory';
  /** Creates or updates streams and consumers; safe to call on every start. */
  ensure(streams: StreamSpec[], consumers: ConsumerSpec[]): Promise<void>;
  /** Resolves only once the stream has stored the message. */
  publish(subject: string, data: Uint8Array, options?: PublishOptions): Promise<PublishResult>;
  /** Up to `max` messages, waiting at most `expiresMs` for the first. */
  fetch(
    stream: string,
    durable: string,
    options: { max: number; expiresMs: number },
  ): Promise<QueueMessage[]>;
  /** A stored message's data by stream sequence (e.g. the original of a deduplicated publish). */
  getMessage(stream: string, seq: number): Promise<Uint8Array | undefined>;
  /**
   * Stored messages after `afterSeq` (default: from the start), in sequence order, at most `max`
   * (1..QUEUE_LIST_MAX), only those whose subject matches `subject` (NATS wildcards) when given.
   * A stream that does not exist holds nothing.
   */
  list(
    stream: string,
    options: { afterSeq?: number; max: number; subject?: string },
  ): Promise<StoredMessage[]>;
  /**
   * The last stored message on `subject` (a literal subject: RangeError for a wildcard), or
   * undefined when there is none or the stream does not exist. One request: a point lookup, not a
   * scan. On a stream with `allowDirect` a follower replica may answer a moment behind the leader.
   * NATS 2.9 reads a subject whose newest message was removed as empty even if older ones remain
   * (2.10 finds the older one); callers must not rely on either.
   */
  lastBySubject(stream: string, subject: string): Promise<StoredMessage | undefined>;
  /** Removes one stored message; false when it is not there (never stored, or already removed). */
  remove(stream: string, seq: number): Promise<boolean>;
  /** Messages held and the last sequence; zeros for a stream that does not exist. */
  state(stream: string): Promise<StreamState>;
  /** Messages not yet acked by the consumer (backlog). */
  pending(stream: string, durable: string): Promise<number>;
  /**
   * Drops the messages the consumer has finished with (everything up to its ack floor; never one
   * still owed), so a stream of work does not grow without end. Answers how many were dropped.
   * Message-id dedupe is unaffected: a retry inside the window is still reported as a duplicate.
   */
  trimAcked(stream: string, durable: string): Promise<number>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export class QueueUnavailableError extends Error {
  override name = 'QueueUnavailableError';
}

export class QueueFullError extends Error {
  override name = 'QueueFullError';
}

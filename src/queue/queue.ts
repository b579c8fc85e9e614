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
}

export interface ConsumerSpec {
  stream: string;
  durable: string;
  /** Unacked messages are redelivered after this. */
  ackWaitMs: number;
  /** After this many deliveries a message is left for the dead-letter handling. */
  maxDeliver: number;
}

export interface PublishResult {
  seq: number;
  duplicate: boolean;
}

export interface QueueMessage {
  subject: string;
  data: Uint8Array;
  msgId: string | undefined;
  /** 1 on first delivery. */
  deliveryCount: number;
  ack(): void;
  /** Redeliver after delayMs (retry with backoff). */
  nak(delayMs?: number): void;
  /** Never redeliver (after moving it to a dead-letter stream). */
  term(): void;
}

export interface Queue {
  readonly kind: 'nats' | 'memory';
  /** Creates or updates streams and consumers; safe to call on every start. */
  ensure(streams: StreamSpec[], consumers: ConsumerSpec[]): Promise<void>;
  /** Resolves only once the stream has stored the message. */
  publish(
    subject: string,
    data: Uint8Array,
    options?: { msgId?: string; timeoutMs?: number },
  ): Promise<PublishResult>;
  /** Up to `max` messages, waiting at most `expiresMs` for the first. */
  fetch(
    stream: string,
    durable: string,
    options: { max: number; expiresMs: number },
  ): Promise<QueueMessage[]>;
  /** A stored message's data by stream sequence (e.g. the original of a deduplicated publish). */
  getMessage(stream: string, seq: number): Promise<Uint8Array | undefined>;
  /** Messages not yet acked by the consumer (backlog). */
  pending(stream: string, durable: string): Promise<number>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export class QueueUnavailableError extends Error {
  override name = 'QueueUnavailableError';
}

export class QueueFullError extends Error {
  override name = 'QueueFullError';
}

/**
 * JetStream publishes with their acks collected on one subscription, instead of one request (a
 * subscription entry, a timer and two Error objects) per publish as `js.publish` makes them: on
 * sale day that request machinery was the largest single item of the API's CPU profile after
 * garbage collection, which it also fed. Each publish still resolves only once the stream has
 * stored the message (or refused it), so "202 after the ack" holds unchanged.
 *
 * Bounded: at most PUBLISH_IN_FLIGHT_MAX publishes wait for their acks at once (past it the caller
 * is told the queue is full for now), and each waits at most its timeout, swept together every
 * PUBLISH_SWEEP_MS. A lost ack (a reconnect) is a timeout, and the caller's retry with the same
 * message id is deduplicated by the stream.
 */
import {
  createInbox,
  headers,
  type Msg,
  type NatsConnection,
  PermissionViolationError,
  type Subscription,
} from '@nats-io/transport-node';
import { type MessageHeaders, type PublishResult, QueueFullError, QueueUnavailableError } from './queue.ts';

/** Publishes waiting for their acks at once, per connection. */
export const PUBLISH_IN_FLIGHT_MAX = 8_192;
/** How often waiting publishes are checked against their deadlines. */
export const PUBLISH_SWEEP_MS = 50;

interface Waiting {
  subject: string;
  deadlineMs: number;
  resolve(result: PublishResult): void;
  reject(err: Error): void;
}

/** JetStream's answer to a publish: a PubAck, or an API error. */
interface PubAckBody {
  stream?: string;
  seq?: number;
  duplicate?: boolean;
  error?: { code?: number; description?: string };
}

/** A stream refusing for lack of room: retry later, not "the queue is down". */
const STREAM_FULL = /maximum messages|resource limits|maximum bytes/i;

/** What an answer on the ack subscription says: the stored sequence, or why not. */
function ackOutcome(err: Error | null, msg: Msg): PublishResult | Error {
  if (err) return new QueueUnavailableError(`publish failed: ${err.message}`);
  if (msg.data.length === 0 && msg.headers?.code === 503)
    return new QueueUnavailableError('publish failed: no stream listens on the subject');
  let body: PubAckBody;
  try {
    body = msg.json<PubAckBody>();
  } catch {
    return new QueueUnavailableError('publish failed: unreadable ack');
  }
  if (body.error) {
    const text = body.error.description ?? `error ${body.error.code}`;
    return STREAM_FULL.test(text)
      ? new QueueFullError(text)
      : new QueueUnavailableError(`publish failed: ${text}`);
  }
  if (typeof body.seq !== 'number' || !body.stream)
    return new QueueUnavailableError('publish failed: invalid ack');
  return { seq: body.seq, duplicate: body.duplicate === true };
}

export class PublishWindow {
  private readonly waiting = new Map<string, Waiting>();
  private readonly replyBase: string;
  private readonly subscription: Subscription;
  private readonly sweeper: NodeJS.Timeout;
  private nextToken = 0;

  constructor(
    private readonly nc: NatsConnection,
    inboxPrefix: string | undefined,
  ) {
    this.replyBase = `${createInbox(inboxPrefix)}.`;
    this.subscription = nc.subscribe(`${this.replyBase}*`, { callback: (err, msg) => this.answer(err, msg) });
    this.sweeper = setInterval(() => this.sweep(Date.now()), PUBLISH_SWEEP_MS);
    this.sweeper.unref();
    void this.watchRefusals();
  }

  /**
   * A publish the server refuses for want of permission gets no ack, only an -ERR naming the
   * subject: it fails the oldest publish waiting on that subject (one connection keeps order).
   */
  private async watchRefusals(): Promise<void> {
    for await (const status of this.nc.status()) {
      if (status.type !== 'error') continue;
      const err = status.error;
      if (!(err instanceof PermissionViolationError) || err.operation !== 'publish') continue;
      for (const [token, waiting] of this.waiting) {
        if (waiting.subject !== err.subject) continue;
        this.waiting.delete(token);
        waiting.reject(new QueueUnavailableError(`publish failed: ${err.message}`));
        break;
      }
    }
  }

  get inFlight(): number {
    return this.waiting.size;
  }

  publish(
    subject: string,
    data: Uint8Array,
    options: { msgId: string | undefined; timeoutMs: number; headers?: MessageHeaders | undefined },
  ): Promise<PublishResult> {
    const { msgId, timeoutMs } = options;
    if (this.waiting.size >= PUBLISH_IN_FLIGHT_MAX)
      return Promise.reject(
        new QueueFullError(`${PUBLISH_IN_FLIGHT_MAX} publishes already wait for their acks`),
      );
    const token = (this.nextToken++).toString(36);
    const own = options.headers ? Object.entries(options.headers) : [];
    const h = msgId === undefined && own.length === 0 ? undefined : headers();
    if (h && msgId !== undefined) h.set('Nats-Msg-Id', msgId);
    for (const [name, value] of own) h?.set(name, value);
    return new Promise<PublishResult>((resolve, reject) => {
      this.waiting.set(token, { subject, deadlineMs: Date.now() + timeoutMs, resolve, reject });
      try {
        this.nc.publish(subject, data, { reply: this.replyBase + token, ...(h ? { headers: h } : {}) });
      } catch (err) {
        this.waiting.delete(token);
        reject(new QueueUnavailableError(`publish failed: ${(err as Error).message}`));
      }
    });
  }

  private answer(err: Error | null, msg: Msg): void {
    const token = msg?.subject.slice(this.replyBase.length);
    const waiting = token === undefined ? undefined : this.waiting.get(token);
    if (!waiting) return; // answered after its timeout: the caller has been told already
    this.waiting.delete(token!);
    const outcome = ackOutcome(err, msg);
    if (outcome instanceof Error) waiting.reject(outcome);
    else waiting.resolve(outcome);
  }

  private sweep(nowMs: number): void {
    for (const [token, waiting] of this.waiting) {
      if (waiting.deadlineMs > nowMs) continue;
      this.waiting.delete(token);
      waiting.reject(new QueueUnavailableError('publish failed: no ack from NATS in time'));
    }
  }

  close(): void {
    clearInterval(this.sweeper);
    this.subscription.unsubscribe();
    for (const waiting of this.waiting.values()) waiting.reject(new QueueUnavailableError('queue is closed'));
    this.waiting.clear();
  }
}

import {
  type ConsumerSpec,
  checkListMax,
  checkLiteralSubject,
  type MessageHeaders,
  type PublishOptions,
  type PublishResult,
  type Queue,
  QueueFullError,
  type QueueMessage,
  type StoredMessage,
  type StreamSpec,
  type StreamState as StreamStateView,
} from './queue.ts';

interface Stored {
  seq: number;
  subject: string;
  data: Uint8Array;
  msgId: string | undefined;
  headers: MessageHeaders;
  atMs: number;
}

interface ConsumerState {
  spec: ConsumerSpec;
  /** Next stream sequence never delivered to this consumer. */
  nextSeq: number;
  /** Delivered, not yet acked: seq -> when it may be redelivered, and how often it was delivered. */
  inFlight: Map<number, { redeliverAtMs: number; deliveries: number }>;
}

interface StreamState {
  spec: StreamSpec;
  messages: Map<number, Stored>;
  lastSeq: number;
  recentIds: Map<string, { seq: number; atMs: number }>;
  consumers: Map<string, ConsumerState>;
  waiters: Set<() => void>;
}

const FETCH_POLL_MS = 20;

function subjectMatches(pattern: string, subject: string): boolean {
  const p = pattern.split('.');
  const s = subject.split('.');
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '>') return s.length > i;
    if (p[i] !== '*' && p[i] !== s[i]) return false;
  }
  return p.length === s.length;
}

/**
 * In-process queue with the JetStream contract (dedupe window, durable consumers, explicit ack,
 * redelivery after ack wait). For the embedded mode only: it lives and dies with the process.
 */
export class MemoryQueue implements Queue {
  readonly kind = 'memory' as const;
  private readonly streams = new Map<string, StreamState>();
  private closed = false;

  constructor(private readonly now: () => number = Date.now) {}

  async ensure(streams: StreamSpec[], consumers: ConsumerSpec[]): Promise<void> {
    for (const spec of streams) {
      const existing = this.streams.get(spec.name);
      if (existing) existing.spec = spec;
      else {
        this.streams.set(spec.name, {
          spec,
          messages: new Map(),
          lastSeq: 0,
          recentIds: new Map(),
          consumers: new Map(),
          waiters: new Set(),
        });
      }
    }
    for (const spec of consumers) {
      const stream = this.stream(spec.stream);
      const existing = stream.consumers.get(spec.durable);
      if (existing) existing.spec = spec;
      else stream.consumers.set(spec.durable, { spec, nextSeq: 1, inFlight: new Map() });
    }
  }

  private stream(name: string): StreamState {
    const stream = this.streams.get(name);
    if (!stream) throw new Error(`stream ${name} does not exist`);
    return stream;
  }

  async publish(subject: string, data: Uint8Array, options: PublishOptions = {}): Promise<PublishResult> {
    const stream = [...this.streams.values()].find((s) =>
      s.spec.subjects.some((p) => subjectMatches(p, subject)),
    );
    if (!stream) throw new Error(`no stream for subject ${subject}`);
    const nowMs = this.now();
    if (options.msgId) {
      const seen = stream.recentIds.get(options.msgId);
      if (seen && nowMs - seen.atMs < stream.spec.duplicateWindowMs)
        return { seq: seen.seq, duplicate: true };
    }
    if (stream.messages.size >= stream.spec.maxMessages)
      throw new QueueFullError(`stream ${stream.spec.name} is full`);
    const seq = ++stream.lastSeq;
    const headers = { ...options.headers };
    stream.messages.set(seq, { seq, subject, data, msgId: options.msgId, headers, atMs: nowMs });
    if (options.msgId) stream.recentIds.set(options.msgId, { seq, atMs: nowMs });
    for (const wake of stream.waiters) wake();
    return { seq, duplicate: false };
  }

  async fetch(
    stream: string,
    durable: string,
    options: { max: number; expiresMs: number },
  ): Promise<QueueMessage[]> {
    const state = this.stream(stream);
    const consumer = state.consumers.get(durable);
    if (!consumer) throw new Error(`consumer ${durable} does not exist on ${stream}`);
    const deadlineMs = this.now() + options.expiresMs;
    for (;;) {
      const batch = this.take(state, consumer, options.max);
      if (batch.length > 0 || this.closed || this.now() >= deadlineMs) return batch;
      await new Promise<void>((resolve) => {
        const wake = () => {
          state.waiters.delete(wake);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(wake, Math.min(FETCH_POLL_MS, Math.max(1, deadlineMs - this.now())));
        state.waiters.add(wake);
      });
    }
  }

  private take(state: StreamState, consumer: ConsumerState, max: number): QueueMessage[] {
    const nowMs = this.now();
    const batch: QueueMessage[] = [];
    const deliver = (seq: number, deliveries: number) => {
      const stored = state.messages.get(seq);
      if (!stored) return;
      consumer.inFlight.set(seq, { redeliverAtMs: nowMs + consumer.spec.ackWaitMs, deliveries });
      batch.push(this.message(state, consumer, stored, deliveries));
    };
    for (const [seq, flight] of consumer.inFlight) {
      if (batch.length >= max) break;
      if (flight.redeliverAtMs > nowMs) continue;
      if (consumer.spec.maxDeliver !== undefined && flight.deliveries >= consumer.spec.maxDeliver) {
        consumer.inFlight.delete(seq);
        continue;
      }
      deliver(seq, flight.deliveries + 1);
    }
    while (batch.length < max && consumer.nextSeq <= state.lastSeq) {
      deliver(consumer.nextSeq, 1);
      consumer.nextSeq++;
    }
    return batch;
  }

  private message(
    state: StreamState,
    consumer: ConsumerState,
    stored: Stored,
    deliveries: number,
  ): QueueMessage {
    const settle = () => {
      consumer.inFlight.delete(stored.seq);
      // Work-queue semantics: once every consumer is past it and none holds it, drop it.
      const stillNeeded = [...state.consumers.values()].some(
        (c) => c.nextSeq <= stored.seq || c.inFlight.has(stored.seq),
      );
      if (!stillNeeded) state.messages.delete(stored.seq);
    };
    return {
      subject: stored.subject,
      data: stored.data,
      msgId: stored.msgId,
      headers: stored.headers,
      deliveryCount: deliveries,
      ack: settle,
      term: settle,
      nak: (delayMs = 0) => {
        const flight = consumer.inFlight.get(stored.seq);
        if (flight) flight.redeliverAtMs = this.now() + delayMs;
      },
    };
  }

  async getMessage(stream: string, seq: number): Promise<Uint8Array | undefined> {
    return this.stream(stream).messages.get(seq)?.data;
  }

  async list(
    stream: string,
    options: { afterSeq?: number; max: number; subject?: string },
  ): Promise<StoredMessage[]> {
    checkListMax(options.max);
    const state = this.streams.get(stream);
    if (!state) return [];
    const afterSeq = options.afterSeq ?? 0;
    const out: StoredMessage[] = [];
    // Insertion order is sequence order: messages are only ever appended or removed.
    for (const m of state.messages.values()) {
      if (out.length >= options.max) break;
      if (m.seq <= afterSeq) continue;
      if (options.subject && !subjectMatches(options.subject, m.subject)) continue;
      out.push({ seq: m.seq, subject: m.subject, data: m.data, msgId: m.msgId, storedAt: new Date(m.atMs) });
    }
    return out;
  }

  async lastBySubject(stream: string, subject: string): Promise<StoredMessage | undefined> {
    checkLiteralSubject(subject);
    const state = this.streams.get(stream);
    if (!state) return undefined;
    // Newest first: insertion order is sequence order (embedded mode only, so a scan is fine).
    const messages = [...state.messages.values()];
    for (let i = messages.length - 1; i >= 0; i--) {
      const m = messages[i]!;
      if (m.subject === subject)
        return { seq: m.seq, subject: m.subject, data: m.data, msgId: m.msgId, storedAt: new Date(m.atMs) };
    }
    return undefined;
  }

  async remove(stream: string, seq: number): Promise<boolean> {
    return this.streams.get(stream)?.messages.delete(seq) ?? false;
  }

  async state(stream: string): Promise<StreamStateView> {
    const state = this.streams.get(stream);
    return state ? { messages: state.messages.size, lastSeq: state.lastSeq } : { messages: 0, lastSeq: 0 };
  }

  async pending(stream: string, durable: string): Promise<number> {
    const state = this.stream(stream);
    const consumer = state.consumers.get(durable);
    if (!consumer) return 0;
    return state.lastSeq - consumer.nextSeq + 1 + consumer.inFlight.size;
  }

  /** Acked messages are dropped as they are acked (settle above): nothing is left to trim. */
  async trimAcked(_stream: string, _durable: string): Promise<number> {
    return 0;
  }

  async ping(): Promise<void> {}

  async close(): Promise<void> {
    this.closed = true;
  }
}

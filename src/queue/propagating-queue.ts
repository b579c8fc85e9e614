/**
 * The queue as the platform uses it: every publish carries the headers of the work that makes it
 * (the rehearsal tag of tagged work, docs/rehearsal.md), and a production queue refuses a publish
 * from tagged work before it leaves the process. The server keeps the two sides apart anyway (the
 * shadow side is a separate NATS account); this is the code path's own guard on top.
 */
import { assertProduction, currentRehearsal } from '../rehearsal/context.ts';
import type {
  ConsumerSpec,
  MessageHeaders,
  PublishOptions,
  PublishResult,
  Queue,
  QueueMessage,
  StoredMessage,
  StreamSpec,
  StreamState,
} from './queue.ts';

/** The message header a tagged publish carries the signed tag in (verified again by the worker). */
export const REHEARSAL_MESSAGE_HEADER = 'Fenqi-Rehearsal';

/** More headers for every publish (the trace context); installed by the tracing module when on. */
export type HeaderSource = () => MessageHeaders | undefined;
const headerSources: HeaderSource[] = [];

export function addPublishHeaders(source: HeaderSource): void {
  if (!headerSources.includes(source)) headerSources.push(source);
}

/** The headers of the work running now: its rehearsal tag and whatever the sources add. */
export function outgoingHeaders(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const source of headerSources) Object.assign(out, source());
  const rehearsal = currentRehearsal();
  if (rehearsal) out[REHEARSAL_MESSAGE_HEADER] = rehearsal.header;
  return out;
}

export type QueueSide = 'production' | 'shadow';

export class PropagatingQueue implements Queue {
  constructor(
    private readonly inner: Queue,
    private readonly side: QueueSide,
  ) {}

  get kind(): Queue['kind'] {
    return this.inner.kind;
  }

  async publish(subject: string, data: Uint8Array, options: PublishOptions = {}): Promise<PublishResult> {
    if (this.side === 'production') assertProduction(`queue (${subject})`);
    const headers = { ...outgoingHeaders(), ...options.headers };
    return this.inner.publish(subject, data, { ...options, headers });
  }

  ensure(streams: StreamSpec[], consumers: ConsumerSpec[]): Promise<void> {
    return this.inner.ensure(streams, consumers);
  }
  fetch(
    stream: string,
    durable: string,
    options: { max: number; expiresMs: number },
  ): Promise<QueueMessage[]> {
    return this.inner.fetch(stream, durable, options);
  }
  getMessage(stream: string, seq: number): Promise<Uint8Array | undefined> {
    return this.inner.getMessage(stream, seq);
  }
  list(
    stream: string,
    options: { afterSeq?: number; max: number; subject?: string },
  ): Promise<StoredMessage[]> {
    return this.inner.list(stream, options);
  }
  lastBySubject(stream: string, subject: string): Promise<StoredMessage | undefined> {
    return this.inner.lastBySubject(stream, subject);
  }
  remove(stream: string, seq: number): Promise<boolean> {
    return this.inner.remove(stream, seq);
  }
  state(stream: string): Promise<StreamState> {
    return this.inner.state(stream);
  }
  pending(stream: string, durable: string): Promise<number> {
    return this.inner.pending(stream, durable);
  }
  trimAcked(stream: string, durable: string): Promise<number> {
    return this.inner.trimAcked(stream, durable);
  }
  ping(): Promise<void> {
    return this.inner.ping();
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

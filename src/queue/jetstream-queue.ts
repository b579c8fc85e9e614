import {
  AckPolicy,
  type Consumer,
  DiscardPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamClient,
  type JetStreamManager,
  jetstream,
  jetstreamManager,
  StorageType,
  type StreamInfo,
} from '@nats-io/jetstream';
import { connect, type MsgHdrs, type NatsConnection, nanos } from '@nats-io/transport-node';
import type { Config } from '../config.ts';
import { readTls, type TlsFiles } from '../link/tls.ts';
import { withTimeout } from '../timeout.ts';
import { natsInboxPrefix } from './permissions.ts';
import { PublishWindow } from './publish-window.ts';
import {
  type ConsumerSpec,
  checkListMax,
  checkLiteralSubject,
  type MessageHeaders,
  type PublishOptions,
  type PublishResult,
  type Queue,
  type QueueMessage,
  QueueUnavailableError,
  type StoredMessage,
  type StreamSpec,
  type StreamState,
} from './queue.ts';

/** How long a call waits for a (re)connection before it reports the queue unavailable. */
export const NATS_UNAVAILABLE_AFTER_MS = 1_000;
export const NATS_PUBLISH_TIMEOUT_MS = 2_000;
export const NATS_PING_TIMEOUT_MS = 1_000;
export const NATS_RECONNECT_WAIT_MS = 250;

function natsWithin<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  return withTimeout(
    promise,
    timeoutMs,
    () => new QueueUnavailableError(`${what}: no answer from NATS in ${timeoutMs} ms`),
  );
}

/** STREAM.MSG.DELETE of a removed sequence (2.9 answers this one)... */
const SEQUENCE_NOT_FOUND = 10_043;
/** ...and its generic failure, whose text says "no message found" or "stream store EOF" for one never stored. */
const MSG_DELETE_FAILED = 10_057;

const isApiError = (err: unknown, ...codes: number[]) =>
  err instanceof JetStreamApiError && codes.includes(err.code);

const isNothingToRemove = (err: unknown) =>
  isApiError(err, SEQUENCE_NOT_FOUND, JetStreamApiCodes.StreamNotFound) ||
  (isApiError(err, MSG_DELETE_FAILED) && /no message found|EOF|not found/i.test((err as Error).message));

/**
 * Whether every setting we ask for already has that value (arrays compared element by element;
 * the server leaves out a false flag, so absent and false are the same).
 */
function sameSettings(current: object, wanted: object): boolean {
  const have = current as Record<string, unknown>;
  return Object.entries(wanted).every(
    ([key, value]) => JSON.stringify(have[key] ?? false) === JSON.stringify(value ?? false),
  );
}

/** Anything but a known answer is the queue being unreachable (503 upstream), never a crash. */
function unavailableError(what: string, err: unknown): QueueUnavailableError {
  if (err instanceof QueueUnavailableError) return err;
  return new QueueUnavailableError(`${what} failed: ${(err as Error).message ?? String(err)}`);
}

/** The headers fenqi set on a message (NATS's own, `Nats-*`, left out), first value of each. */
function ownHeaders(h: MsgHdrs | undefined): MessageHeaders {
  if (!h) return {};
  const out: Record<string, string> = {};
  for (const key of h.keys()) if (!/^nats-/i.test(key)) out[key] = h.get(key);
  return out;
}

/** How this process proves who it is to NATS, and which CA it trusts for TLS. */
export interface NatsLink {
  user?: string;
  pass?: string;
  tls?: TlsFiles;
}

export function natsLinkOf(config: Pick<Config, 'natsTls' | 'natsUser' | 'natsPassword'>): NatsLink {
  return {
    ...(config.natsUser ? { user: config.natsUser, pass: config.natsPassword ?? '' } : {}),
    ...(config.natsTls ? { tls: config.natsTls } : {}),
  };
}

/** tls:// servers, or a CA given: TLS, verified against that CA (else the system's CAs). */
function natsTlsOptions(url: string, link: NatsLink) {
  const wantsTls = url.split(',').some((s) => s.trim().startsWith('tls:')) || link.tls !== undefined;
  if (!wantsTls) return {};
  const material = link.tls ? readTls(link.tls) : undefined;
  return {
    tls: {
      ...(material ? { ca: material.ca.toString() } : {}),
      ...(material?.cert ? { cert: material.cert.toString() } : {}),
      ...(material?.key ? { key: material.key.toString() } : {}),
    },
  };
}

/**
 * NATS JetStream. The connection is made in the background and retried forever, so a process can
 * start while NATS is down and heals when it comes back; until then every call fails fast with
 * QueueUnavailableError (the API answers 503, never 500).
 */
export class JetStreamQueue implements Queue {
  readonly kind = 'nats' as const;
  private readonly connection: Promise<NatsConnection>;
  private nc: NatsConnection | undefined;
  private js: JetStreamClient | undefined;
  private jsm: JetStreamManager | undefined;
  private window: PublishWindow | undefined;
  private readonly consumers = new Map<string, Consumer>();
  /** Per stream: whether it serves direct gets (`allow_direct`). */
  private readonly direct = new Map<string, Promise<boolean>>();
  private closed = false;

  constructor(url: string, name = 'fenqi', link: NatsLink = {}) {
    this.connection = connect({
      servers: url.split(',').map((s) => s.trim()),
      name,
      ...(link.user
        ? { user: link.user, pass: link.pass ?? '', inboxPrefix: natsInboxPrefix(link.user) }
        : {}),
      ...natsTlsOptions(url, link),
      maxReconnectAttempts: -1,
      reconnectTimeWait: NATS_RECONNECT_WAIT_MS,
      waitOnFirstConnect: true,
      pingInterval: 2_000,
      maxPingOut: 2,
      // No Error (with its stack) made up front for every request and publish ack: that was a
      // sizeable share of the API's CPU on sale day. Failures still reject with their message.
      noAsyncTraces: true,
    }).then(async (nc) => {
      this.nc = nc;
      this.window = new PublishWindow(nc, link.user ? natsInboxPrefix(link.user) : undefined);
      this.js = jetstream(nc);
      this.jsm = await jetstreamManager(nc, { checkAPI: false });
      return nc;
    });
    // Errors are observed through calls; an unobserved rejection must not kill the process.
    this.connection.catch(() => {});
  }

  private async ready(): Promise<{ nc: NatsConnection; js: JetStreamClient; jsm: JetStreamManager }> {
    if (this.closed) throw new QueueUnavailableError('queue is closed');
    if (!this.nc) await natsWithin(this.connection, NATS_UNAVAILABLE_AFTER_MS, 'connect');
    const nc = this.nc!;
    if (nc.isClosed()) throw new QueueUnavailableError('NATS connection is closed');
    return { nc, js: this.js!, jsm: this.jsm! };
  }

  async ensure(streams: StreamSpec[], consumers: ConsumerSpec[]): Promise<void> {
    const { jsm } = await this.ready();
    for (const spec of streams) {
      const config = {
        name: spec.name,
        subjects: spec.subjects,
        storage: StorageType.File,
        num_replicas: spec.replicas ?? 1,
        duplicate_window: nanos(spec.duplicateWindowMs),
        max_msgs: spec.maxMessages,
        allow_direct: spec.allowDirect ?? false,
        // Refuse new messages when full: an accepted order is never dropped to make room.
        discard: DiscardPolicy.New,
      };
      const existing = await jsm.streams.info(spec.name).catch(() => undefined);
      let info: StreamInfo;
      // Only a change is written: a service whose NATS user may read stream settings but not
      // change them (the API, docs/security.md) starts fine once the stream is in place.
      if (existing && sameSettings(existing.config, config)) {
        info = existing;
      } else if (existing) {
        const { name: _name, storage: _storage, ...updatable } = config;
        info = await jsm.streams.update(spec.name, updatable);
      } else {
        info = await jsm.streams.add(config);
      }
      this.direct.set(spec.name, Promise.resolve(info.config.allow_direct === true));
    }
    for (const spec of consumers) {
      const config = {
        durable_name: spec.durable,
        ack_policy: AckPolicy.Explicit,
        ack_wait: nanos(spec.ackWaitMs),
        max_deliver: spec.maxDeliver ?? -1,
        max_ack_pending: 20_000,
      };
      const existing = await jsm.consumers.info(spec.stream, spec.durable).catch(() => undefined);
      if (existing && sameSettings(existing.config, config)) continue;
      if (existing) {
        const { durable_name: _durable, ...updatable } = config;
        await jsm.consumers.update(spec.stream, spec.durable, updatable);
      } else {
        await jsm.consumers.add(spec.stream, config);
      }
    }
  }

  async trimAcked(stream: string, durable: string): Promise<number> {
    const { jsm } = await this.ready();
    try {
      const info = await natsWithin(
        jsm.consumers.info(stream, durable),
        NATS_PING_TIMEOUT_MS,
        'consumer info',
      );
      const floor = info.ack_floor.stream_seq;
      if (floor <= 0) return 0;
      // purge by sequence drops everything below it: the ack floor is the last message of an
      // unbroken run the consumer has acked or terminated
      const purged = await jsm.streams.purge(stream, { seq: floor + 1 });
      return purged.purged;
    } catch (err) {
      if (err instanceof QueueUnavailableError) throw err;
      throw unavailableError('trim', err);
    }
  }

  async publish(subject: string, data: Uint8Array, options: PublishOptions = {}): Promise<PublishResult> {
    if (!this.nc || this.closed) await this.ready();
    return this.window!.publish(subject, data, {
      msgId: options.msgId,
      timeoutMs: options.timeoutMs ?? NATS_PUBLISH_TIMEOUT_MS,
      headers: options.headers,
    });
  }

  async fetch(
    stream: string,
    durable: string,
    options: { max: number; expiresMs: number },
  ): Promise<QueueMessage[]> {
    const { js } = await this.ready();
    const key = `${stream}/${durable}`;
    let consumer = this.consumers.get(key);
    if (!consumer) {
      consumer = await js.consumers.get(stream, durable);
      this.consumers.set(key, consumer);
    }
    const expiresMs = Math.max(options.expiresMs, 1_000);
    const messages: QueueMessage[] = [];
    try {
      const batch = await consumer.fetch({ max_messages: options.max, expires: expiresMs });
      for await (const m of batch) {
        messages.push({
          subject: m.subject,
          data: m.data,
          msgId: m.headers?.get('Nats-Msg-Id') || undefined,
          headers: ownHeaders(m.headers),
          deliveryCount: m.info.deliveryCount,
          ack: () => m.ack(),
          nak: (delayMs?: number) => m.nak(delayMs),
          term: () => m.term(),
        });
      }
    } catch (err) {
      // Whatever arrived before the pull broke is still ours to process (and ack); anything else
      // stays in the stream and is redelivered. Missed heartbeats happen on a busy machine (they
      // come every expires/2): that pull simply ends early.
      if (messages.length > 0 || /heartbeats missed/i.test((err as Error).message ?? '')) return messages;
      throw new QueueUnavailableError(`fetch failed: ${(err as Error).message}`);
    }
    return messages;
  }

  async getMessage(stream: string, seq: number): Promise<Uint8Array | undefined> {
    const { jsm } = await this.ready();
    try {
      const stored = await natsWithin(
        jsm.streams.getMessage(stream, { seq }),
        NATS_PUBLISH_TIMEOUT_MS,
        'get',
      );
      return stored?.data;
    } catch (err) {
      if (err instanceof QueueUnavailableError) throw err;
      if (/no message found|not found/i.test((err as Error).message ?? '')) return undefined;
      throw new QueueUnavailableError(`get failed: ${(err as Error).message}`);
    }
  }

  async list(
    stream: string,
    options: { afterSeq?: number; max: number; subject?: string },
  ): Promise<StoredMessage[]> {
    checkListMax(options.max);
    const { jsm } = await this.ready();
    const out: StoredMessage[] = [];
    let seq = (options.afterSeq ?? 0) + 1;
    try {
      while (out.length < options.max) {
        // STREAM.MSG.GET with next_by_subj: the first message at or after `seq` on the subject, so
        // removed sequences cost nothing (the typed query lists only seq and last_by_subj).
        const query = { seq, next_by_subj: options.subject ?? '>' } as unknown as { seq: number };
        const m = await natsWithin(jsm.streams.getMessage(stream, query), NATS_PUBLISH_TIMEOUT_MS, 'get');
        if (!m) break;
        out.push({
          seq: m.seq,
          subject: m.subject,
          data: m.data,
          msgId: m.header?.get('Nats-Msg-Id') || undefined,
          storedAt: m.time,
        });
        seq = m.seq + 1;
      }
    } catch (err) {
      if (isApiError(err, JetStreamApiCodes.StreamNotFound)) return [];
      throw unavailableError('list', err);
    }
    return out;
  }

  /**
   * Whether the stream answers direct gets, as its config says (from `ensure`, else read once).
   * Asked of a stream without `allow_direct`, a direct get is never answered (the server's
   * catch-all API subscription swallows it), so it must not be tried there.
   */
  private directReads(jsm: JetStreamManager, stream: string): Promise<boolean> {
    let known = this.direct.get(stream);
    if (!known) {
      known = natsWithin(jsm.streams.info(stream), NATS_PING_TIMEOUT_MS, 'stream info').then(
        (info) => info.config.allow_direct === true,
      );
      // Only a definite answer is remembered; a failure is asked again next time.
      known.catch(() => this.direct.delete(stream));
      this.direct.set(stream, known);
    }
    return known;
  }

  async lastBySubject(stream: string, subject: string): Promise<StoredMessage | undefined> {
    checkLiteralSubject(subject);
    const { jsm } = await this.ready();
    try {
      // Direct get: any replica answers, so status reads never queue behind the stream leader;
      // without it, the leader's STREAM.MSG.GET.
      const m = (await this.directReads(jsm, stream))
        ? await natsWithin(
            jsm.direct.getMessage(stream, { last_by_subj: subject }),
            NATS_PUBLISH_TIMEOUT_MS,
            'direct get',
          )
        : await natsWithin(
            jsm.streams.getMessage(stream, { last_by_subj: subject }),
            NATS_PUBLISH_TIMEOUT_MS,
            'get',
          );
      return m
        ? {
            seq: m.seq,
            subject: m.subject,
            data: m.data,
            msgId: m.header?.get('Nats-Msg-Id') || undefined,
            storedAt: m.time,
          }
        : undefined;
    } catch (err) {
      if (isApiError(err, JetStreamApiCodes.StreamNotFound, JetStreamApiCodes.NoMessageFound))
        return undefined;
      throw unavailableError('last by subject', err);
    }
  }

  async remove(stream: string, seq: number): Promise<boolean> {
    const { jsm } = await this.ready();
    try {
      // No erase: the slot is freed at once; overwriting it with random bytes buys nothing here.
      return await natsWithin(
        jsm.streams.deleteMessage(stream, seq, false),
        NATS_PUBLISH_TIMEOUT_MS,
        'remove',
      );
    } catch (err) {
      if (isNothingToRemove(err)) return false;
      throw unavailableError('remove', err);
    }
  }

  async state(stream: string): Promise<StreamState> {
    const { jsm } = await this.ready();
    try {
      const info = await natsWithin(jsm.streams.info(stream), NATS_PING_TIMEOUT_MS, 'stream info');
      return { messages: info.state.messages, lastSeq: info.state.last_seq };
    } catch (err) {
      if (isApiError(err, JetStreamApiCodes.StreamNotFound)) return { messages: 0, lastSeq: 0 };
      throw unavailableError('stream info', err);
    }
  }

  async pending(stream: string, durable: string): Promise<number> {
    const { jsm } = await this.ready();
    const info = await natsWithin(jsm.consumers.info(stream, durable), NATS_PING_TIMEOUT_MS, 'consumer info');
    return info.num_pending + info.num_ack_pending;
  }

  async ping(): Promise<void> {
    const { nc } = await this.ready();
    await natsWithin(nc.rtt(), NATS_PING_TIMEOUT_MS, 'ping');
  }

  async close(): Promise<void> {
    this.closed = true;
    this.window?.close();
    const nc = this.nc;
    if (nc && !nc.isClosed()) await nc.drain().catch(() => nc.close());
    // Still connecting: close it as soon as it lands so its retry timers stop.
    if (!nc) this.connection.then((late) => late.close()).catch(() => {});
  }
}

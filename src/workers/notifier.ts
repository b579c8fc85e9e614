/**
 * The notifier: one loop takes events from FENQI_EVENTS (durable consumer `notifier`), turns each
 * into its messages once (processed_events, in the same transaction as the messages) and acks
 * after commit; another sends messages that are due through the SMS and push providers, in bounded
 * batches under row locks (FOR UPDATE SKIP LOCKED), and records each outcome. Quiet hours and the
 * daily cap move a message later; a failed send is retried up to SEND_MAX_ATTEMPTS. A send is
 * idempotent at the provider by message id, so a notifier killed between sending and recording
 * sends nothing twice. Logs carry ids and codes only, never a text or a recipient.
 */
import {
  DAILY_MESSAGE_CAP_PER_CUSTOMER,
  quietDelayMinutes,
  renderMessage,
  SEND_MAX_ATTEMPTS,
  SEND_RETRY_DELAY_MS,
  TEMPLATE_OF,
} from '../domain/notifications.ts';
import { decodeEvent } from '../events/message.ts';
import type { Platform } from '../platform.ts';
import { EVENTS_STREAM, NOTIFIER, type QueueMessage } from '../queue/index.ts';
import { admitMessage, inMessageContext, refusalLetter } from '../rehearsal/admit.ts';
import { AWARE, type RehearsalContext } from '../rehearsal/context.ts';
import { onWorkerSide } from '../rehearsal/worker-context.ts';
import { CustomerRouting } from '../store/customer-routing.ts';
import type { TransactionSql } from '../store/db.ts';
import {
  claimDueMessages,
  type DueMessage,
  deferMessages,
  type EventToNotify,
  markSendFailed,
  markSent,
  recordEventMessages,
} from '../store/notifications.ts';
import type { Worker } from './worker.ts';

export const NOTIFIER_FETCH_MAX = 200;
export const NOTIFIER_FETCH_EXPIRES_MS = 1_000;
export const NOTIFIER_SEND_BATCH = 100;
export const NOTIFIER_IDLE_POLL_MS = 500;
/** A refused event whose dead letter could not be stored comes back after this. */
export const NOTIFIER_REFUSAL_RETRY_MS = 1_000;
const MINUTE_MS = 60_000;

export interface NotifierStats {
  events: number;
  queued: number;
  sent: number;
  failed: number;
  deferred: number;
  rejected: number;
}

/** One formatter per time zone: making an Intl.DateTimeFormat costs far more than using one. */
const clockFormats = new Map<string, Intl.DateTimeFormat>();

/** Minutes since midnight in the business time zone. */
function minuteOfDay(zone: string, now: Date): number {
  let format = clockFormats.get(zone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-GB', {
      timeZone: zone,
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    });
    clockFormats.set(zone, format);
  }
  const parts = format.formatToParts(now);
  const get = (t: string) => Number(parts.find((p) => p.type === t)?.value ?? 0);
  return get('hour') * 60 + get('minute');
}

/** An admitted event and the message it came in (acked once its messages are recorded). */
interface Taken {
  message: QueueMessage;
  event: EventToNotify;
}

export class Notifier implements Worker {
  readonly name = 'notifier';
  /**
   * On the shadow side it takes the rehearsal's tagged events and sends through the shadow side's
   * SMS and push simulators only (services.ts); a worker without this refuses tagged events.
   */
  readonly rehearsal: typeof AWARE | undefined = AWARE;
  readonly stats: NotifierStats = { events: 0, queued: 0, sent: 0, failed: 0, deferred: 0, rejected: 0 };
  private stopping = false;
  private readonly loops: Promise<void>[];
  /** One per notifier: it asks once whether the database is Citus, not on every pass. */
  private readonly routing: CustomerRouting;

  /**
   * `now` is the wall clock the notifier reads for quiet hours, the daily cap and what is due; a
   * simulation (the month test) drives it through business days.
   */
  constructor(
    private readonly platform: Platform,
    autoStart = true,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.routing = new CustomerRouting(platform.db.sql);
    this.loops = autoStart ? [this.run(() => this.intakeOnce()), this.run(() => this.sendOnce())] : [];
  }

  private quietDelayMs(now: Date): number {
    const { config } = this.platform;
    const minute = minuteOfDay(config.businessTimeZone, now);
    return quietDelayMinutes(minute, config.notifyQuietStartHour, config.notifyQuietEndHour) * MINUTE_MS;
  }

  /**
   * Takes one batch of events (at most `max`: a pull returns once it has that many, else when it
   * expires); answers how many it took.
   */
  async intakeOnce(max = NOTIFIER_FETCH_MAX): Promise<number> {
    const { queue } = this.platform;
    const messages = await queue.fetch(EVENTS_STREAM, NOTIFIER, {
      max: Math.min(max, NOTIFIER_FETCH_MAX),
      expiresMs: NOTIFIER_FETCH_EXPIRES_MS,
    });
    // admitted events grouped by the rehearsal they belong to (none on production)
    const groups = new Map<string, { context: RehearsalContext | undefined; taken: Taken[] }>();
    for (const m of messages) {
      // a tagged event on production, an untagged one on the shadow side, or any tagged event
      // reaching a notifier not declared aware: dead-lettered, never notified about
      const admission = admitMessage(this, this.platform.side, m.headers);
      if (!admission.ok) {
        await this.refuse(m, admission.reason);
        continue;
      }
      const taken = this.decode(m);
      if (!taken) continue;
      const key = admission.context?.header ?? '';
      const group = groups.get(key) ?? { context: admission.context, taken: [] };
      group.taken.push(taken);
      groups.set(key, group);
    }
    for (const { context, taken } of groups.values())
      await inMessageContext(context, () => this.record(taken));
    return messages.length;
  }

  /** An admitted event ready to record, or null when it is refused (unsigned or altered). */
  private decode(m: QueueMessage): Taken | null {
    const decoded = decodeEvent(this.platform.config.queueMacKeys, m.data);
    if (!decoded.ok) {
      // never acted on: an unsigned or altered message is not ours
      this.platform.logger.warn(
        { problem: decoded.problem, msgId: m.msgId },
        'event refused by the notifier',
      );
      this.stats.rejected++;
      m.term();
      return null;
    }
    const e = decoded.event;
    const spec = TEMPLATE_OF[e.type];
    const now = this.now();
    const delay = spec?.security ? 0 : this.quietDelayMs(now);
    const event: EventToNotify = {
      eventId: e.eventId,
      customerId: e.customerId,
      payload: e.payload,
      template: spec?.name ?? null,
      sendAfter: new Date(now.getTime() + delay),
      marketing: spec?.marketing ?? false,
    };
    return { message: m, event };
  }

  /**
   * Turns admitted events into their messages, once each (processed_events), in one transaction
   * (a commit per event would cost more than the event), then acks them.
   */
  private async record(taken: readonly Taken[]): Promise<void> {
    const queued = await this.platform.db.sql.begin((tx) =>
      recordEventMessages(
        tx,
        taken.map((t) => t.event),
      ),
    );
    for (const t of taken) t.message.ack();
    this.stats.events += taken.length;
    this.stats.queued += queued;
  }

  /** Dead-letters a refused message; if that publish fails it comes back later instead. */
  private async refuse(m: QueueMessage, reason: string): Promise<void> {
    const letter = refusalLetter(this.name, m, reason);
    try {
      await this.platform.queue.publish(letter.subject, letter.data, { msgId: letter.msgId });
    } catch (err) {
      m.nak(NOTIFIER_REFUSAL_RETRY_MS);
      this.platform.logger.warn({ err: (err as Error).message }, 'refused event not dead-lettered yet');
      return;
    }
    m.term();
    this.stats.rejected++;
    this.platform.logger.warn({ reason, msgId: m.msgId }, 'event refused by the notifier');
  }

  /** Sends one batch of due messages; answers how many it handled. */
  sendOnce(): Promise<number> {
    return onWorkerSide(this.platform, 0, () => this.sendBatch());
  }

  private async sendBatch(): Promise<number> {
    const now = this.now();
    const dayStart = new Date(
      now.getTime() - minuteOfDay(this.platform.config.businessTimeZone, now) * MINUTE_MS,
    );
    return this.platform.db.sql.begin(async (tx) => {
      const due = await claimDueMessages(tx, now, dayStart, NOTIFIER_SEND_BATCH, this.routing);
      const sentNow = new Map<bigint, number>();
      const sent: DueMessage[] = [];
      const deferred: { message: DueMessage; until: Date }[] = [];
      for (const m of due) {
        const count = m.sentToday + (sentNow.get(m.customerId) ?? 0);
        const later = this.laterFor(m, count, now, dayStart);
        if (later) {
          deferred.push({ message: m, until: later });
          continue;
        }
        if (await this.deliver(tx, m, now)) {
          sent.push(m);
          sentNow.set(m.customerId, (sentNow.get(m.customerId) ?? 0) + 1);
        }
      }
      await Promise.all([markSent(tx, sent, now), deferMessages(tx, deferred)]);
      this.stats.deferred += deferred.length;
      this.stats.sent += sent.length;
      return due.length;
    });
  }

  /** When a message must wait: inside quiet hours, or the customer's cap for today is reached. */
  private laterFor(m: DueMessage, sentToday: number, now: Date, dayStart: Date): Date | null {
    const spec = Object.values(TEMPLATE_OF).find((t) => t?.name === m.template);
    if (spec?.security) return null;
    const quiet = this.quietDelayMs(now);
    if (quiet > 0) return new Date(now.getTime() + quiet);
    if (sentToday < DAILY_MESSAGE_CAP_PER_CUSTOMER) return null;
    // tomorrow, once quiet hours are over
    const tomorrow = new Date(dayStart.getTime() + 24 * 60 * MINUTE_MS);
    return new Date(tomorrow.getTime() + this.quietDelayMs(tomorrow));
  }

  /** Sends one message; a failure is recorded here, a success by the caller with the batch's others. */
  private async deliver(tx: TransactionSql, m: DueMessage, now: Date): Promise<boolean> {
    const provider = this.platform.services.messaging[m.channel];
    const outcome = await provider
      .send({
        messageId: m.id,
        customerId: m.customerId,
        channel: m.channel,
        text: renderMessage(m.template, m.language, m.payload),
      })
      .catch((err: Error) => ({ status: 'failed' as const, reason: err.name || 'send_error' }));
    if (outcome.status === 'sent') return true;
    const retry = m.attempts + 1 < SEND_MAX_ATTEMPTS ? new Date(now.getTime() + SEND_RETRY_DELAY_MS) : null;
    await markSendFailed(tx, m, outcome.reason, retry);
    this.stats.failed++;
    this.platform.logger.warn(
      { notification: m.id.toString(), reason: outcome.reason },
      'message send failed',
    );
    return false;
  }

  private async run(once: () => Promise<number>): Promise<void> {
    while (!this.stopping) {
      let n = 0;
      try {
        n = await once();
      } catch (err) {
        this.platform.logger.warn({ err: (err as Error).message }, 'notifier pass failed; will retry');
      }
      if (n === 0 && !this.stopping) await new Promise((r) => setTimeout(r, NOTIFIER_IDLE_POLL_MS));
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.allSettled(this.loops);
  }
}

export async function startNotifier(platform: Platform): Promise<Worker | undefined> {
  if (!platform.config.eventsEnabled) return undefined;
  return new Notifier(platform);
}

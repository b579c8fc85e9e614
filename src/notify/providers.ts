/**
 * Where messages go: an SMS provider and an app-push provider behind one interface. A send is
 * idempotent by message id (the notification's id, what real SMS and push gateways accept as a
 * client reference), so a notifier that dies after sending but before recording it sends again
 * and the customer still gets one message.
 *
 * SimulatedMessageProvider ships for development and tests: it records what it delivered (one
 * entry per message id) and can fail a share of sends, deterministically from its seed. With a
 * journal file it keeps its deliveries across processes, one JSON line each, written synchronously.
 * The recipient is named by customer id: the provider adapter looks up the phone or device itself.
 */
import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import type { Channel } from '../domain/notifications.ts';

export interface OutgoingMessage {
  messageId: bigint;
  customerId: bigint;
  channel: Channel;
  text: string;
}

export type SendOutcome = { status: 'sent' } | { status: 'failed'; reason: string };

export interface MessageProvider {
  send(message: OutgoingMessage): Promise<SendOutcome>;
}

export interface Delivery {
  messageId: string;
  customerId: string;
  channel: Channel;
  text: string;
}

export class SimulatedMessageProvider implements MessageProvider {
  private readonly delivered = new Map<string, Delivery>();
  private attempts = new Map<string, number>();
  calls = 0;

  constructor(private readonly options: { seed?: number; failureRate?: number; journalFile?: string } = {}) {
    if (options.journalFile && existsSync(options.journalFile)) {
      for (const line of readFileSync(options.journalFile, 'utf8').split('\n').filter(Boolean)) {
        const d = JSON.parse(line) as Delivery;
        this.delivered.set(d.messageId, d);
      }
    }
  }

  async send(message: OutgoingMessage): Promise<SendOutcome> {
    this.calls++;
    const id = message.messageId.toString();
    if (this.delivered.has(id)) return { status: 'sent' };
    const tries = (this.attempts.get(id) ?? 0) + 1;
    this.attempts.set(id, tries);
    const draw =
      createHash('sha256')
        .update(`${this.options.seed ?? 1}:${id}:${tries}`)
        .digest()
        .readUInt32BE(0) /
      2 ** 32;
    if (draw < (this.options.failureRate ?? 0)) return { status: 'failed', reason: 'provider_unavailable' };
    const d: Delivery = {
      messageId: id,
      customerId: message.customerId.toString(),
      channel: message.channel,
      text: message.text,
    };
    this.delivered.set(id, d);
    if (this.options.journalFile) appendFileSync(this.options.journalFile, `${JSON.stringify(d)}\n`);
    return { status: 'sent' };
  }

  deliveries(): Delivery[] {
    return [...this.delivered.values()];
  }
}

/** One simulator per channel, from FENQI_NOTIFY_SIM_* (a journal file per channel: <file>.<channel>). */
export function messageProvidersFromEnv(env: NodeJS.ProcessEnv): Record<Channel, MessageProvider> {
  const failureRate = env.FENQI_NOTIFY_SIM_FAILURE_RATE ? Number(env.FENQI_NOTIFY_SIM_FAILURE_RATE) : 0;
  if (!(failureRate >= 0 && failureRate <= 1))
    throw new RangeError('FENQI_NOTIFY_SIM_FAILURE_RATE is a share 0..1');
  const journal = env.FENQI_NOTIFY_SIM_JOURNAL;
  const make = (channel: Channel) =>
    new SimulatedMessageProvider({
      seed: 1,
      failureRate,
      journalFile: journal ? `${journal}.${channel}` : undefined,
    });
  return { sms: make('sms'), push: make('push') };
}

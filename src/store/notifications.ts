/**
 * The notifier's SQL: turning an event into messages (once per event: processed_events), claiming
 * messages due to send (one sender per schema at a time, sole-work.ts; bounded) and recording each
 * outcome. A message
 * over the customer's daily cap, or inside quiet hours, waits (send_after); nothing is dropped.
 */
import {
  CHANNELS,
  DEFAULT_LANGUAGE,
  isLanguage,
  type Language,
  type TemplateName,
} from '../domain/notifications.ts';
import { requireCustomer } from './customers.ts';
import type { Sql, TransactionSql } from './db.ts';
import { claimProcessed } from './outbox.ts';
import { takeSoleWork } from './sole-work.ts';

export const NOTIFIER_CONSUMER = 'notifier';
export const NOTIFICATION_CLAIM_MAX = 500;

/** An event the notifier turns into messages: `template` null when it makes none. */
export interface EventToNotify {
  eventId: string;
  customerId: bigint;
  payload: unknown;
  template: TemplateName | null;
  sendAfter: Date;
  marketing: boolean;
}

/**
 * Records the messages of a batch of events (every channel) in three statements, leaving out each
 * event the notifier already took (a redelivery) and each marketing message to a customer who
 * unsubscribed (never made at all). Answers how many messages were queued.
 */
export async function recordEventMessages(
  tx: TransactionSql,
  events: readonly EventToNotify[],
): Promise<number> {
  // the same event twice in one batch (a redelivery racing its first delivery) is recorded once
  const unique = [...new Map(events.map((e) => [e.eventId.toLowerCase(), e])).values()];
  const fresh = await claimProcessed(tx, NOTIFIER_CONSUMER, unique);
  let wanted = unique.filter((e) => e.template !== null && fresh.has(e.eventId.toLowerCase()));
  const marketingCustomers = [
    ...new Set(wanted.filter((e) => e.marketing).map((e) => e.customerId.toString())),
  ];
  if (marketingCustomers.length > 0) {
    const optedOut = await tx<{ customer_id: bigint }[]>`
      select customer_id from notification_preferences
      where customer_id = any(${marketingCustomers}::bigint[]) and marketing_opt_out`;
    const out = new Set(optedOut.map((r) => r.customer_id));
    wanted = wanted.filter((e) => !(e.marketing && out.has(e.customerId)));
  }
  if (wanted.length === 0) return 0;
  const rows = await tx`
    insert into notifications (customer_id, event_id, channel, template, payload, status, send_after)
    select x.customer_id, x.event_id, c, x.template, x.payload, 'pending', x.send_after
    from unnest(${wanted.map((e) => e.customerId.toString())}::bigint[], ${wanted.map((e) => e.eventId)}::uuid[],
      ${wanted.map((e) => e.template as string)}::text[], ${wanted.map((e) => JSON.stringify(e.payload))}::jsonb[],
      ${wanted.map((e) => e.sendAfter.toISOString())}::timestamptz[])
      as x(customer_id, event_id, template, payload, send_after)
    cross join unnest(${[...CHANNELS]}::text[]) as c
    on conflict do nothing returning id`;
  return rows.length;
}

export interface DueMessage {
  customerId: bigint;
  id: bigint;
  channel: 'sms' | 'push';
  template: TemplateName;
  payload: Record<string, unknown>;
  attempts: number;
  language: Language;
  sentToday: number;
}

/**
 * Messages due at `now`, with the customer's language and count today, for this transaction's send
 * pass; none when another sender's pass holds the send lock (sole-work.ts), which this transaction
 * keeps until it ends. No row locks (Citus refuses them over several shards).
 */
export async function claimDueMessages(
  tx: TransactionSql,
  now: Date,
  dayStart: Date,
  limit: number,
): Promise<DueMessage[]> {
  if (!(await takeSoleWork(tx, 'notifierSend'))) return [];
  const rows = await tx<
    {
      customer_id: bigint;
      id: bigint;
      channel: 'sms' | 'push';
      template: TemplateName;
      payload: unknown;
      attempts: number;
      language: string | null;
      sent_today: number;
    }[]
  >`
    select n.customer_id, n.id, n.channel, n.template, n.payload, n.attempts, p.language,
      (select count(*)::int from notifications s where s.customer_id = n.customer_id and s.status = 'sent'
        and s.sent_at >= ${dayStart}) as sent_today
    from notifications n left join notification_preferences p on p.customer_id = n.customer_id
    where n.status = 'pending' and n.send_after <= ${now}
    order by n.send_after limit ${Math.min(limit, NOTIFICATION_CLAIM_MAX)}`;
  return rows.map((r) => ({
    customerId: r.customer_id,
    id: r.id,
    channel: r.channel,
    template: r.template,
    payload: (typeof r.payload === 'string' ? JSON.parse(r.payload) : r.payload) as Record<string, unknown>,
    attempts: r.attempts,
    language: r.language && isLanguage(r.language) ? r.language : DEFAULT_LANGUAGE,
    sentToday: r.sent_today,
  }));
}

/** Messages the provider accepted, recorded as sent in one statement. */
export async function markSent(tx: TransactionSql, sent: readonly DueMessage[], now: Date): Promise<void> {
  if (sent.length === 0) return;
  await tx`update notifications n set status = 'sent', sent_at = ${now}, attempts = n.attempts + 1, updated_at = now()
    from unnest(${sent.map((m) => m.customerId.toString())}::bigint[], ${sent.map((m) => m.id.toString())}::bigint[])
      as x(customer_id, id)
    where n.customer_id = x.customer_id and n.id = x.id`;
}

/** A failed send: tried again at `retryAt`, or `failed` for good past the attempt limit. */
export async function markSendFailed(
  tx: TransactionSql,
  m: DueMessage,
  reason: string,
  retryAt: Date | null,
): Promise<void> {
  await tx`update notifications set attempts = attempts + 1, last_error = ${reason.slice(0, 64)},
      status = ${retryAt ? 'pending' : 'failed'}, send_after = coalesce(${retryAt}, send_after), updated_at = now()
    where customer_id = ${m.customerId} and id = ${m.id}`;
}

/** Moves a message to later (quiet hours, daily cap) without counting an attempt. */
/** Messages that must wait (quiet hours, the daily cap), each moved to its own time, in one statement. */
export async function deferMessages(
  tx: TransactionSql,
  deferred: readonly { message: DueMessage; until: Date }[],
): Promise<void> {
  if (deferred.length === 0) return;
  await tx`update notifications n set send_after = x.until, updated_at = now()
    from unnest(${deferred.map((d) => d.message.customerId.toString())}::bigint[],
      ${deferred.map((d) => d.message.id.toString())}::bigint[],
      ${deferred.map((d) => d.until.toISOString())}::timestamptz[]) as x(customer_id, id, until)
    where n.customer_id = x.customer_id and n.id = x.id`;
}

export async function setPreferences(
  sql: Sql | TransactionSql,
  customerId: bigint,
  prefs: { language?: Language; marketingOptOut?: boolean },
): Promise<{ language: Language; marketingOptOut: boolean }> {
  await requireCustomer(sql, customerId);
  const [row] = await sql<{ language: Language; marketing_opt_out: boolean }[]>`
    insert into notification_preferences (customer_id, language, marketing_opt_out)
    values (${customerId}, ${prefs.language ?? DEFAULT_LANGUAGE}, ${prefs.marketingOptOut ?? false})
    on conflict (customer_id) do update set
      language = coalesce(${prefs.language ?? null}, notification_preferences.language),
      marketing_opt_out = coalesce(${prefs.marketingOptOut ?? null}, notification_preferences.marketing_opt_out),
      updated_at = excluded.updated_at
    returning language, marketing_opt_out`;
  return { language: row!.language, marketingOptOut: row!.marketing_opt_out };
}

export async function getPreferences(
  sql: Sql | TransactionSql,
  customerId: bigint,
): Promise<{ language: Language; marketingOptOut: boolean }> {
  const [row] = await sql<{ language: string; marketing_opt_out: boolean }[]>`
    select language, marketing_opt_out from notification_preferences where customer_id = ${customerId}`;
  const language = row && isLanguage(row.language) ? row.language : DEFAULT_LANGUAGE;
  return { language, marketingOptOut: row?.marketing_opt_out ?? false };
}

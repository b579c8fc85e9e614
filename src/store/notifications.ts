/**
 * The notifier's SQL: turning an event into messages (once per event: processed_events), claiming
 * messages due to send (FOR UPDATE SKIP LOCKED, bounded) and recording each outcome. A message
 * over the customer's daily cap, or inside quiet hours, waits (send_after); nothing is dropped.
 */
import {
  CHANNELS,
  DEFAULT_LANGUAGE,
  isLanguage,
  type Language,
  type TemplateName,
} from '../domain/notifications.ts';
import { CustomerRouting, routingGroups } from './customer-routing.ts';
import { requireCustomer } from './customers.ts';
import type { Sql, TransactionSql } from './db.ts';
import { claimProcessed } from './outbox.ts';

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
 * Messages due at `now`, locked for the caller's transaction, with the customer's language and
 * count today, in the order they fell due. As the relay's claim (store/outbox.ts): the due messages
 * are read first without a lock, then locked by one statement per group of customers that live
 * together (Citus locks rows only in a statement on one shard, and not with a join or a subquery
 * beside them; on one PostgreSQL a single statement); languages and counts are read after, unlocked.
 */
export async function claimDueMessages(
  tx: TransactionSql,
  now: Date,
  dayStart: Date,
  limit: number,
  routing = new CustomerRouting(tx),
): Promise<DueMessage[]> {
  const due = await tx<{ customer_id: bigint; id: bigint }[]>`
    select customer_id, id from notifications where status = 'pending' and send_after <= ${now}
    order by send_after limit ${Math.min(limit, NOTIFICATION_CLAIM_MAX)}`;
  if (due.length === 0) return [];
  const ids = due.map((r) => r.id.toString());
  const customerIds = due.map((r) => r.customer_id);
  const groups = routingGroups(customerIds, await routing.keysOf(customerIds));
  const locked = (await Promise.all(groups.map((customers) => lockDue(tx, customers, ids, now)))).flat();
  if (locked.length === 0) return [];
  const customers = [...new Set(locked.map((r) => r.customer_id.toString()))];
  const [languages, counts] = await Promise.all([
    tx<{ customer_id: bigint; language: string }[]>`
      select customer_id, language from notification_preferences where customer_id = any(${customers}::bigint[])`,
    tx<{ customer_id: bigint; n: number }[]>`
      select customer_id, count(*)::int as n from notifications
      where customer_id = any(${customers}::bigint[]) and status = 'sent' and sent_at >= ${dayStart}
      group by customer_id`,
  ]);
  const languageOf = new Map(languages.map((r) => [r.customer_id, r.language]));
  const sentToday = new Map(counts.map((r) => [r.customer_id, r.n]));
  return locked
    .sort((a, b) => a.send_after.getTime() - b.send_after.getTime())
    .map((r) => {
      const language = languageOf.get(r.customer_id);
      return {
        customerId: r.customer_id,
        id: r.id,
        channel: r.channel,
        template: r.template,
        payload: (typeof r.payload === 'string' ? JSON.parse(r.payload) : r.payload) as Record<
          string,
          unknown
        >,
        attempts: r.attempts,
        language: language && isLanguage(language) ? language : DEFAULT_LANGUAGE,
        sentToday: sentToday.get(r.customer_id) ?? 0,
      };
    });
}

/** The due messages among `ids` of customers who live together, locked (one shard on Citus). */
function lockDue(tx: TransactionSql, customers: bigint[], ids: string[], now: Date) {
  return tx<
    {
      customer_id: bigint;
      id: bigint;
      channel: 'sms' | 'push';
      template: TemplateName;
      payload: unknown;
      attempts: number;
      send_after: Date;
    }[]
  >`
    select customer_id, id, channel, template, payload, attempts, send_after from notifications
    where customer_id = any(${customers.map(String)}::bigint[]) and id = any(${ids}::bigint[])
      and status = 'pending' and send_after <= ${now}
    for update skip locked`;
}

/** Messages the provider accepted, recorded as sent in one statement. */
export async function markSent(tx: TransactionSql, sent: readonly DueMessage[], now: Date): Promise<void> {
  if (sent.length === 0) return;
  const customers = sent.map((m) => m.customerId.toString());
  // the customers' own filter keeps the statement on their shard (Citus)
  await tx`update notifications n set status = 'sent', sent_at = ${now}, attempts = n.attempts + 1, updated_at = now()
    from unnest(${customers}::bigint[], ${sent.map((m) => m.id.toString())}::bigint[])
      as x(customer_id, id)
    where n.customer_id = x.customer_id and n.id = x.id and n.customer_id = any(${customers}::bigint[])`;
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
  const customers = deferred.map((d) => d.message.customerId.toString());
  await tx`update notifications n set send_after = x.until, updated_at = now()
    from unnest(${customers}::bigint[],
      ${deferred.map((d) => d.message.id.toString())}::bigint[],
      ${deferred.map((d) => d.until.toISOString())}::timestamptz[]) as x(customer_id, id, until)
    where n.customer_id = x.customer_id and n.id = x.id and n.customer_id = any(${customers}::bigint[])`;
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

/**
 * The transactional outbox (docs/events.md). `emitEvents(tx, events)` is the one way to record a
 * domain event: call it inside the transaction that makes the fact, so the event exists exactly
 * when the fact does. The relay (workers/event-relay.ts) claims unrelayed rows with
 * `claimUnrelayed` and marks them with `markRelayed` in the same transaction, after publishing.
 * Consumers make themselves idempotent with `claimProcessed` (processed_events).
 */
import { createHash } from 'node:crypto';
import type { DomainEvent, EventType } from '../domain/events.ts';
import { CustomerRouting, routingGroups } from './customer-routing.ts';
import type { Queryable, TransactionSql } from './db.ts';

/** At most this many events per relay claim (one transaction, one publish burst). */
export const RELAY_BATCH_MAX = 1_000;

/**
 * The event id of a fact: a UUID (version 5 layout) from the SHA-256 of its type and key, so the
 * same fact written twice (a rerun close of business, a retried request) is one event.
 */
export function eventIdOf(type: EventType, key: string): string {
  const h = createHash('sha256').update(`fenqi-event:v1\n${type}\n${key}`).digest();
  h[6] = ((h[6] as number) & 0x0f) | 0x50;
  h[8] = ((h[8] as number) & 0x3f) | 0x80;
  const hex = h.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Writes events in the caller's transaction, one statement; a fact already recorded is skipped. */
export async function emitEvents(tx: TransactionSql, events: readonly DomainEvent[]): Promise<void> {
  if (events.length === 0) return;
  await tx`
    insert into outbox_events (customer_id, event_id, type, payload)
    select customer_id, event_id, type, payload::jsonb
    from unnest(${events.map((e) => e.customerId.toString())}::bigint[],
      ${events.map((e) => eventIdOf(e.type, e.key))}::uuid[],
      ${events.map((e) => e.type)}::text[],
      ${events.map((e) => JSON.stringify(e.payload))}::text[])
      as x(customer_id, event_id, type, payload)
    on conflict (customer_id, event_id) do nothing`;
}

export interface OutboxRow {
  customerId: bigint;
  id: bigint;
  eventId: string;
  type: string;
  payload: Record<string, unknown>;
  occurredAt: Date;
}

/**
 * Up to `limit` unrelayed events, oldest first, locked for this transaction; rows another relay
 * holds are skipped (FOR UPDATE SKIP LOCKED), so several relays share the work without waiting.
 * Citus locks rows only in a statement that runs on one shard, so the oldest waiting events are
 * read first without a lock, then locked by one statement per group of customers that live
 * together (src/store/customer-routing.ts; on one PostgreSQL a single statement), sent at once.
 */
export async function claimUnrelayed(
  tx: TransactionSql,
  limit: number,
  routing = new CustomerRouting(tx),
): Promise<OutboxRow[]> {
  const bounded = Math.min(Math.max(1, limit), RELAY_BATCH_MAX);
  const waiting = await tx<{ customer_id: bigint; id: bigint }[]>`
    select customer_id, id from outbox_events where relayed_at is null order by id limit ${bounded}`;
  if (waiting.length === 0) return [];
  const ids = waiting.map((r) => r.id.toString());
  const customerIds = waiting.map((r) => r.customer_id);
  const groups = routingGroups(customerIds, await routing.keysOf(customerIds));
  const locked = await Promise.all(
    groups.map(
      (customers) => tx<
        {
          customer_id: bigint;
          id: bigint;
          event_id: string;
          type: string;
          payload: unknown;
          occurred_at: Date;
        }[]
      >`
        select customer_id, id, event_id::text, type, payload, occurred_at from outbox_events
        where customer_id = any(${customers.map(String)}::bigint[]) and id = any(${ids}::bigint[])
          and relayed_at is null
        for update skip locked`,
    ),
  );
  return locked
    .flat()
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .map((r) => ({
      customerId: r.customer_id,
      id: r.id,
      eventId: r.event_id,
      type: r.type,
      payload: (typeof r.payload === 'string' ? JSON.parse(r.payload) : r.payload) as Record<string, unknown>,
      occurredAt: r.occurred_at,
    }));
}

/** Marks claimed rows relayed; the customers' own filter keeps it on their shard. */
export async function markRelayed(tx: TransactionSql, rows: readonly OutboxRow[]): Promise<void> {
  if (rows.length === 0) return;
  const customers = rows.map((r) => r.customerId.toString());
  await tx`
    update outbox_events o set relayed_at = now()
    from unnest(${customers}::bigint[], ${rows.map((r) => r.id.toString())}::bigint[])
      as x(customer_id, id)
    where o.customer_id = x.customer_id and o.id = x.id and o.customer_id = any(${customers}::bigint[])`;
}

/** Events not yet relayed (the relay's backlog, for metrics and tests). */
export async function unrelayedCount(sql: Queryable): Promise<number> {
  const [row] = await sql<{ n: number }[]>`
    select count(*)::int as n from outbox_events where relayed_at is null`;
  return row?.n ?? 0;
}

/**
 * Records that `consumer` processed a batch of events, in one statement of the consumer's own
 * transaction; answers the ids of those it had not processed before (a redelivered one is left
 * out, and the caller does nothing more for it).
 */
export async function claimProcessed(
  tx: TransactionSql,
  consumer: string,
  events: readonly { customerId: bigint; eventId: string }[],
): Promise<Set<string>> {
  if (events.length === 0) return new Set();
  const rows = await tx<{ event_id: string }[]>`
    insert into processed_events (customer_id, consumer, event_id)
    select customer_id, ${consumer}, event_id
    from unnest(${events.map((e) => e.customerId.toString())}::bigint[], ${events.map((e) => e.eventId)}::uuid[])
      as x(customer_id, event_id)
    on conflict do nothing
    returning event_id::text`;
  return new Set(rows.map((r) => r.event_id));
}

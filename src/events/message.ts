/**
 * An event as it travels on the queue: a versioned JSON body signed with the queue MAC (purpose
 * `event`, so an order can never pass for an event), published on `fenqi.events.<type>` with the
 * event id as the message id, so JetStream drops a republished event inside its dedupe window.
 */
import { type EventType, eventSubject, isEventType } from '../domain/events.ts';
import { type JsonValue, macProblem, signBody } from '../queue/mac.ts';
import type { OutboxRow } from '../store/outbox.ts';

export const EVENT_MESSAGE_VERSION = 1;

export interface EventMessage {
  eventId: string;
  type: EventType;
  customerId: bigint;
  occurredAt: string;
  payload: Record<string, JsonValue>;
}

export function encodeEvent(
  keys: ReadonlyMap<number, Buffer>,
  row: OutboxRow,
): {
  subject: string;
  data: Uint8Array;
  msgId: string;
} {
  if (!isEventType(row.type)) throw new Error(`outbox holds an unknown event type ${row.type}`);
  const body = signBody(keys, 'event', {
    v: EVENT_MESSAGE_VERSION,
    event_id: row.eventId,
    type: row.type,
    customer_id: row.customerId.toString(),
    occurred_at: row.occurredAt.toISOString(),
    payload: row.payload as { [key: string]: JsonValue },
  });
  return {
    subject: eventSubject(row.type),
    data: new TextEncoder().encode(JSON.stringify(body)),
    msgId: row.eventId,
  };
}

/** The event, or why the message is not one (unparseable, unsigned, forged, unknown version). */
export function decodeEvent(
  keys: ReadonlyMap<number, Buffer>,
  data: Uint8Array,
): { ok: true; event: EventMessage } | { ok: false; problem: string } {
  let body: unknown;
  try {
    body = JSON.parse(new TextDecoder().decode(data));
  } catch {
    return { ok: false, problem: 'not JSON' };
  }
  const problem = macProblem(keys, 'event', body);
  if (problem) return { ok: false, problem };
  const b = body as Record<string, unknown>;
  if (b.v !== EVENT_MESSAGE_VERSION)
    return { ok: false, problem: `unknown event message version ${String(b.v)}` };
  if (typeof b.type !== 'string' || !isEventType(b.type)) return { ok: false, problem: 'unknown event type' };
  if (
    typeof b.event_id !== 'string' ||
    typeof b.customer_id !== 'string' ||
    !/^\d{1,19}$/.test(b.customer_id)
  )
    return { ok: false, problem: 'event id or customer missing' };
  if (!b.payload || typeof b.payload !== 'object') return { ok: false, problem: 'payload missing' };
  return {
    ok: true,
    event: {
      eventId: b.event_id,
      type: b.type,
      customerId: BigInt(b.customer_id),
      occurredAt: String(b.occurred_at),
      payload: b.payload as Record<string, JsonValue>,
    },
  };
}

import type { ConsumerSpec, StreamSpec } from './queue.ts';

/**
 * The platform's streams. Created idempotently at every start (api and worker), so a fresh NATS
 * or a new subject needs no manual step.
 */
export const ORDERS_STREAM = 'FENQI_ORDERS';
export const ORDERS_SUBJECT = 'fenqi.orders.placed';
export const DEAD_LETTER_STREAM = 'FENQI_DEAD';
export const DEAD_LETTER_SUBJECT_PREFIX = 'fenqi.dead';
export const ORDER_SETTLER = 'order-settler';
/** Domain events relayed from the outbox (docs/events.md), on fenqi.events.<type>. */
export const EVENTS_STREAM = 'FENQI_EVENTS';
export const EVENTS_SUBJECT_PREFIX = 'fenqi.events';
/** The notifier's durable consumer of every event. */
export const NOTIFIER = 'notifier';
/**
 * A relay that crashed between publishing and marking republishes on restart: inside this window
 * JetStream drops the copy. A day covers any restart an operator would wait for.
 */
export const EVENT_DUPLICATE_WINDOW_MS = 24 * 60 * 60 * 1000;
export const EVENT_STREAM_MAX_MESSAGES = 20_000_000;
export const EVENT_ACK_WAIT_MS = 30_000;

/** A day: a client retrying with the same idempotency key within it is deduplicated by NATS too. */
export const ORDER_DUPLICATE_WINDOW_MS = 24 * 60 * 60 * 1000;
/** At about 0.5 kB a message, 20 million is about 10 GB of stream on each replica. */
export const ORDER_STREAM_MAX_MESSAGES = 20_000_000;
export const ORDER_ACK_WAIT_MS = 30_000;
export const ORDER_MAX_DELIVER = 10;

export function platformStreams(replicas = 1): StreamSpec[] {
  return [
    {
      name: ORDERS_STREAM,
      subjects: ['fenqi.orders.>'],
      duplicateWindowMs: ORDER_DUPLICATE_WINDOW_MS,
      maxMessages: ORDER_STREAM_MAX_MESSAGES,
      replicas,
    },
    {
      name: DEAD_LETTER_STREAM,
      subjects: [`${DEAD_LETTER_SUBJECT_PREFIX}.>`],
      duplicateWindowMs: 60_000,
      // no age limit: a dead letter stays until an operator replays it (docs/operations.md)
      maxMessages: 1_000_000,
      replicas,
      // The order status read looks a held order up here by its subject (fenqi.dead.orders.{id}).
      allowDirect: true,
    },
    {
      name: EVENTS_STREAM,
      subjects: [`${EVENTS_SUBJECT_PREFIX}.>`],
      duplicateWindowMs: EVENT_DUPLICATE_WINDOW_MS,
      maxMessages: EVENT_STREAM_MAX_MESSAGES,
      replicas,
    },
  ];
}

export function platformConsumers(): ConsumerSpec[] {
  return [
    {
      stream: ORDERS_STREAM,
      durable: ORDER_SETTLER,
      ackWaitMs: ORDER_ACK_WAIT_MS,
      // no queue-side limit: the settler dead-letters a message after ORDER_MAX_DELIVER deliveries,
      // and one whose dead-lettering fails is simply delivered again
    },
    { stream: EVENTS_STREAM, durable: NOTIFIER, ackWaitMs: EVENT_ACK_WAIT_MS },
  ];
}

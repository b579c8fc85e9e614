/**
 * Who may do what on NATS: one user per service, each with the subjects it needs and no more.
 * The API publishes orders and reads queue state; only workers pull orders, ack them and manage
 * the streams. Each service gets its own reply inbox prefix, so no user can subscribe to the
 * replies (pulled messages among them) meant for another. The test harness and `fenqi ops up`
 * write these into nats-server's configuration; docs/security.md shows them for production.
 */
import {
  DEAD_LETTER_STREAM,
  DEAD_LETTER_SUBJECT_PREFIX,
  EVENTS_STREAM,
  EVENTS_SUBJECT_PREFIX,
  NOTIFIER,
  ORDER_SETTLER,
  ORDERS_STREAM,
} from './streams.ts';

export type NatsService = 'api' | 'worker' | 'platform';

/** Default user names; `platform` is `fenqi start` (API and workers in one process). */
export const NATS_USERS: Record<NatsService, string> = {
  api: 'fenqi-api',
  worker: 'fenqi-worker',
  platform: 'fenqi',
};

export interface NatsPermissions {
  publish: { allow: string[] };
  subscribe: { allow: string[] };
}

/** Replies to a user's requests arrive under this prefix, and only that user may subscribe to it. */
export function natsInboxPrefix(user: string): string {
  return `_INBOX.${user}`;
}

const API = '$JS.API';

/** Reading queue state: backlog for admission control, dead letters for status and replay. */
function apiSubjects(): string[] {
  return [
    'fenqi.orders.>',
    `${API}.INFO`,
    `${API}.STREAM.INFO.${ORDERS_STREAM}`,
    `${API}.STREAM.INFO.${DEAD_LETTER_STREAM}`,
    `${API}.CONSUMER.INFO.${ORDERS_STREAM}.${ORDER_SETTLER}`,
    // every process ensures the streams at start: the API reads the events stream's settings
    `${API}.STREAM.INFO.${EVENTS_STREAM}`,
    `${API}.CONSUMER.INFO.${EVENTS_STREAM}.${NOTIFIER}`,
    `${API}.DIRECT.GET.${DEAD_LETTER_STREAM}`,
    `${API}.DIRECT.GET.${DEAD_LETTER_STREAM}.>`,
    `${API}.STREAM.MSG.GET.${DEAD_LETTER_STREAM}`,
    // an operator's replay removes the dead letter once it is back on the orders subject
    `${API}.STREAM.MSG.DELETE.${DEAD_LETTER_STREAM}`,
  ];
}

/** Settling: pull and ack orders, dead-letter, trim, and keep the streams' settings in place. */
function workerSubjects(): string[] {
  const streams = [ORDERS_STREAM, DEAD_LETTER_STREAM];
  return [
    `${DEAD_LETTER_SUBJECT_PREFIX}.>`,
    `${API}.INFO`,
    ...streams.flatMap((s) => [
      `${API}.STREAM.INFO.${s}`,
      `${API}.STREAM.CREATE.${s}`,
      `${API}.STREAM.UPDATE.${s}`,
      `${API}.STREAM.MSG.GET.${s}`,
    ]),
    `${API}.DIRECT.GET.${DEAD_LETTER_STREAM}`,
    `${API}.DIRECT.GET.${DEAD_LETTER_STREAM}.>`,
    `${API}.STREAM.MSG.DELETE.${DEAD_LETTER_STREAM}`,
    `${API}.STREAM.PURGE.${ORDERS_STREAM}`,
    `${API}.CONSUMER.INFO.${ORDERS_STREAM}.${ORDER_SETTLER}`,
    `${API}.CONSUMER.CREATE.${ORDERS_STREAM}.${ORDER_SETTLER}`,
    `${API}.CONSUMER.CREATE.${ORDERS_STREAM}.${ORDER_SETTLER}.>`,
    `${API}.CONSUMER.DURABLE.CREATE.${ORDERS_STREAM}.${ORDER_SETTLER}`,
    `${API}.CONSUMER.MSG.NEXT.${ORDERS_STREAM}.${ORDER_SETTLER}`,
    `$JS.ACK.${ORDERS_STREAM}.${ORDER_SETTLER}.>`,
    ...eventSubjects(),
  ];
}

/** The event relay publishes events; the notifier pulls and acks them. */
function eventSubjects(): string[] {
  return [
    `${EVENTS_SUBJECT_PREFIX}.>`,
    `${API}.STREAM.INFO.${EVENTS_STREAM}`,
    `${API}.STREAM.CREATE.${EVENTS_STREAM}`,
    `${API}.STREAM.UPDATE.${EVENTS_STREAM}`,
    `${API}.STREAM.MSG.GET.${EVENTS_STREAM}`,
    `${API}.STREAM.PURGE.${EVENTS_STREAM}`,
    `${API}.CONSUMER.INFO.${EVENTS_STREAM}.${NOTIFIER}`,
    `${API}.CONSUMER.CREATE.${EVENTS_STREAM}.${NOTIFIER}`,
    `${API}.CONSUMER.CREATE.${EVENTS_STREAM}.${NOTIFIER}.>`,
    `${API}.CONSUMER.DURABLE.CREATE.${EVENTS_STREAM}.${NOTIFIER}`,
    `${API}.CONSUMER.MSG.NEXT.${EVENTS_STREAM}.${NOTIFIER}`,
    `$JS.ACK.${EVENTS_STREAM}.${NOTIFIER}.>`,
  ];
}

export function natsPermissions(service: NatsService, user = NATS_USERS[service]): NatsPermissions {
  const publish =
    service === 'api'
      ? apiSubjects()
      : service === 'worker'
        ? workerSubjects()
        : [...new Set([...apiSubjects(), ...workerSubjects()])];
  return { publish: { allow: publish }, subscribe: { allow: [`${natsInboxPrefix(user)}.>`] } };
}

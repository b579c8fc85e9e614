/**
 * Domain events: the business facts other parts react to (notifications, automatic debit, merchant
 * settlement, statements). This module owns every event type and the shape of its payload; the
 * store writes an event to the outbox in the same transaction as the fact (store/outbox.ts) and the
 * relay publishes it once (workers/event-relay.ts).
 *
 * An event carries a `key`: the natural identity of the fact ("order:42:settled"). Its event id is
 * derived from the key, so writing the same fact twice (a close of business run again, a retried
 * request) is one event, not two. Payloads hold ids, amounts (minor units as decimal strings),
 * dates and codes only: never a personal field, so an event may be logged and kept.
 */
import { invariant } from './errors.ts';
import { PLATFORM_CUSTOMER_ID } from './settlement.ts';

/** A payload's JSON may not exceed this (the outbox column checks the same bound). */
export const EVENT_PAYLOAD_MAX_BYTES = 4_096;
/** An event type or key is at most this long (the outbox column checks the type's bound). */
export const EVENT_TYPE_MAX_CHARS = 64;
export const EVENT_KEY_MAX_CHARS = 200;
/** Reminders before the due date: "payment due in 3 days". */
export const DUE_SOON_DAYS = 3;
/** Days past due on which an overdue notice is emitted. */
export const OVERDUE_NOTICE_DAYS: readonly number[] = [1, 3, 7];

/** A decimal string of a bigint (ids, minor units): JSON cannot hold 64 bits as a number. */
export type Decimal = string;

export interface EventPayloads {
  'order.settled': { order_id: Decimal; loan_id: Decimal; merchant_id: Decimal; price_minor: Decimal };
  'order.refused': { order_id: Decimal; merchant_id: Decimal; reason: string };
  'loan.disbursed': { loan_id: Decimal; disbursement_id: Decimal; amount_minor: Decimal };
  'repayment.received': {
    repayment_id: Decimal;
    loan_id: Decimal;
    amount_minor: Decimal;
    business_date: string;
  };
  'goods.returned': { return_id: Decimal; order_id: Decimal; loan_id: Decimal; returned_minor: Decimal };
  'loan.paid_off': { loan_id: Decimal; business_date: string };
  'loan.written_off': { loan_id: Decimal; business_date: string };
  'installment.due_soon': InstallmentFacts & { days_until_due: number };
  'installment.due_today': InstallmentFacts;
  'installment.overdue': InstallmentFacts & { days_overdue: number };
  'debit.failed': {
    attempt_id: Decimal;
    loan_id: Decimal;
    amount_minor: Decimal;
    reason: string;
    final: boolean;
  };
  /** A merchant's settlement paid out (the platform's fact: customer PLATFORM_CUSTOMER_ID). */
  'settlement.paid': {
    settlement_id: Decimal;
    merchant_id: Decimal;
    net_minor: Decimal;
    paid_on: string;
  };
  'statement.ready': {
    statement_id: Decimal;
    cycle_start: string;
    cycle_end: string;
    due_date: string;
    total_due_minor: Decimal;
  };
}

export interface InstallmentFacts {
  loan_id: Decimal;
  installment_number: number;
  due_date: string;
  amount_due_minor: Decimal;
}

export type EventType = keyof EventPayloads;

export const EVENT_TYPES: readonly EventType[] = [
  'order.settled',
  'order.refused',
  'loan.disbursed',
  'repayment.received',
  'goods.returned',
  'loan.paid_off',
  'loan.written_off',
  'installment.due_soon',
  'installment.due_today',
  'installment.overdue',
  'debit.failed',
  'settlement.paid',
  'statement.ready',
];

/** Facts of the platform itself, not of one customer: written under PLATFORM_CUSTOMER_ID. */
export const PLATFORM_EVENT_TYPES: readonly EventType[] = ['settlement.paid'];

export interface DomainEvent<T extends EventType = EventType> {
  type: T;
  customerId: bigint;
  /** The fact's natural identity; the event id is derived from it (one event per fact). */
  key: string;
  payload: EventPayloads[T];
}

export function isEventType(value: string): value is EventType {
  return (EVENT_TYPES as readonly string[]).includes(value);
}

/** An event, checked: a known type, a key within bounds, a payload within the size limit. */
export function domainEvent<T extends EventType>(
  type: T,
  customerId: bigint,
  key: string,
  payload: EventPayloads[T],
): DomainEvent<T> {
  invariant(isEventType(type), `unknown event type ${type}`);
  invariant(key.length > 0 && key.length <= EVENT_KEY_MAX_CHARS, 'an event key is 1..200 characters');
  if (PLATFORM_EVENT_TYPES.includes(type)) {
    invariant(customerId === PLATFORM_CUSTOMER_ID, `a ${type} event is the platform's`);
  } else {
    invariant(customerId > 0n, 'an event belongs to a customer');
  }
  invariant(
    JSON.stringify(payload).length <= EVENT_PAYLOAD_MAX_BYTES,
    `an event payload is at most ${EVENT_PAYLOAD_MAX_BYTES} bytes`,
  );
  return { type, customerId, key, payload };
}

/** The queue subject an event is published on. */
export function eventSubject(type: EventType): string {
  return `fenqi.events.${type}`;
}

/** Which day-relative reminder, if any, an unpaid installment due on `dueDate` gets on `date`. */
export function reminderOn(
  dueDate: string,
  daysFromDueToDate: number,
): { type: 'installment.due_soon' | 'installment.due_today' | 'installment.overdue'; days: number } | null {
  if (daysFromDueToDate === -DUE_SOON_DAYS) return { type: 'installment.due_soon', days: DUE_SOON_DAYS };
  if (daysFromDueToDate === 0) return { type: 'installment.due_today', days: 0 };
  if (OVERDUE_NOTICE_DAYS.includes(daysFromDueToDate))
    return { type: 'installment.overdue', days: daysFromDueToDate };
  invariant(dueDate.length === 10, 'a due date is YYYY-MM-DD');
  return null;
}

/** The order's outcome as an event: settled (with its loan) or refused (with the rule's code). */
export function orderDecidedEvent(order: {
  id: bigint;
  customerId: bigint;
  merchantId: bigint;
  priceMinor: bigint;
  loanId: bigint | null;
  rejectReason: string | null;
}): DomainEvent {
  if (order.loanId !== null) {
    return domainEvent('order.settled', order.customerId, `order:${order.id}`, {
      order_id: order.id.toString(),
      loan_id: order.loanId.toString(),
      merchant_id: order.merchantId.toString(),
      price_minor: order.priceMinor.toString(),
    });
  }
  invariant(order.rejectReason !== null, 'a refused order has its reason');
  return domainEvent('order.refused', order.customerId, `order:${order.id}`, {
    order_id: order.id.toString(),
    merchant_id: order.merchantId.toString(),
    reason: order.rejectReason,
  });
}

/** A repayment received and, when it closed the loan, the loan paid off. */
export function repaymentEvents(r: {
  id: bigint;
  customerId: bigint;
  loanId: bigint;
  amountMinor: bigint;
  businessDate: string;
  paysOff: boolean;
}): DomainEvent[] {
  const events: DomainEvent[] = [
    domainEvent('repayment.received', r.customerId, `repayment:${r.id}`, {
      repayment_id: r.id.toString(),
      loan_id: r.loanId.toString(),
      amount_minor: r.amountMinor.toString(),
      business_date: r.businessDate,
    }),
  ];
  if (r.paysOff)
    events.push(
      loanClosedEvent('loan.paid_off', r.customerId, r.loanId, r.businessDate, `repayment:${r.id}`),
    );
  return events;
}

/** A loan closed, keyed by what closed it (a loan reopened by a reversal may close again). */
export function loanClosedEvent(
  type: 'loan.paid_off' | 'loan.written_off',
  customerId: bigint,
  loanId: bigint,
  businessDate: string,
  cause: string,
): DomainEvent {
  return domainEvent(type, customerId, `loan:${loanId}:${cause}`, {
    loan_id: loanId.toString(),
    business_date: businessDate,
  });
}

/** A day-relative reminder of an unpaid installment, keyed by the installment and the kind of day. */
export function installmentReminderEvent(
  customerId: bigint,
  facts: InstallmentFacts,
  reminder: NonNullable<ReturnType<typeof reminderOn>>,
): DomainEvent {
  const key = `installment:${facts.loan_id}:${facts.installment_number}:${reminder.type}:${reminder.days}`;
  if (reminder.type === 'installment.due_soon')
    return domainEvent(reminder.type, customerId, key, { ...facts, days_until_due: reminder.days });
  if (reminder.type === 'installment.overdue')
    return domainEvent(reminder.type, customerId, key, { ...facts, days_overdue: reminder.days });
  return domainEvent(reminder.type, customerId, key, facts);
}

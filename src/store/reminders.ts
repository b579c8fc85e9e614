/**
 * Installment reminders emitted by close of business: closing date D reports the day that opens,
 * D+1 (`standingDateAfterClose`, the same rule as days past due), so each unpaid installment of the
 * batch's loans gets "due in 3 days", "due today" and "overdue day 1/3/7" on the right mornings.
 * Each is an outbox event keyed by the installment and the kind of day, so a rerun close adds none.
 */
import { standingDateAfterClose } from '../domain/delinquency.ts';
import {
  DUE_SOON_DAYS,
  installmentReminderEvent,
  OVERDUE_NOTICE_DAYS,
  reminderOn,
} from '../domain/events.ts';
import type { TransactionSql } from './db.ts';
import { INSTALLMENT_OWED_SQL } from './loans.ts';
import { emitEvents } from './outbox.ts';

export async function emitReminders(
  tx: TransactionSql,
  closedDate: string,
  loans: readonly { id: bigint; customerId: bigint }[],
): Promise<number> {
  if (loans.length === 0) return 0;
  const day = standingDateAfterClose(closedDate);
  // days from the due date to the day that opens: -3 (due soon), 0 (today), 1/3/7 (overdue)
  const offsets = [-DUE_SOON_DAYS, 0, ...OVERDUE_NOTICE_DAYS];
  const rows = await tx<
    {
      customer_id: bigint;
      loan_id: bigint;
      number: number;
      due_date: string;
      offset_days: number;
      due_minor: bigint;
    }[]
  >`
    select i.customer_id, i.loan_id, i.number, i.due_date::text as due_date,
      (${day}::date - i.due_date)::int as offset_days,
      ${tx.unsafe(INSTALLMENT_OWED_SQL)}::bigint as due_minor
    from installments i
    where i.customer_id = any(${loans.map((l) => l.customerId.toString())}::bigint[])
      and i.loan_id = any(${loans.map((l) => l.id.toString())}::bigint[])
      and i.status in ('due', 'overdue')
      and (${day}::date - i.due_date) = any(${offsets}::int[])`;
  const events = rows.flatMap((r) => {
    const reminder = reminderOn(r.due_date, r.offset_days);
    if (!reminder || r.due_minor <= 0n) return [];
    return [
      installmentReminderEvent(
        r.customer_id,
        {
          loan_id: r.loan_id.toString(),
          installment_number: r.number,
          due_date: r.due_date,
          amount_due_minor: r.due_minor.toString(),
        },
        reminder,
      ),
    ];
  });
  await emitEvents(tx, events);
  return events.length;
}

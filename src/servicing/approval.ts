/**
 * The seam where a staff adjustment (an ad-hoc charge or a waiver) is authorised, in the
 * adjustment's own transaction, before it moves money. One function, so maker-checker
 * (security-staff work, DESIGN.md "Trust nothing inside") plugs in here and nowhere else: it
 * receives the same `StaffAdjustment` and the transaction, and may park it for a second person.
 * The audit row is written by the route after the adjustment is applied, as the transaction's last
 * statement (src/store/staff-audit.ts: the chain head's lock is taken last).
 *
 * Until maker-checker exists, an adjustment above STAFF_ADJUSTMENT_LIMIT_MINOR is refused
 * (`403 SECOND_APPROVAL_REQUIRED`) rather than let through on one person's word.
 */
import { needsSecondApproval } from '../domain/adjustments.ts';
import type { TransactionSql } from '../store/db.ts';
import { Refusal } from '../store/refusal.ts';

export interface StaffAdjustment {
  kind: 'charge' | 'waiver';
  component: 'fee' | 'interest' | 'penalty';
  loanId: bigint;
  customerId: bigint;
  amountMinor: bigint;
  reason: string;
  /** 'ops:<staff id>' */
  actor: string;
}

export async function authorizeStaffAdjustment(_tx: TransactionSql, a: StaffAdjustment): Promise<void> {
  if (needsSecondApproval(a.amountMinor)) {
    throw new Refusal(
      'SECOND_APPROVAL_REQUIRED',
      `a ${a.kind} of this size needs a second person's approval`,
      {
        amount_minor: a.amountMinor.toString(),
      },
    );
  }
}

/**
 * The seam where a staff adjustment (an ad-hoc charge or a waiver) is authorised, in the
 * adjustment's own transaction, before it moves money. One function, so maker-checker plugs in
 * here and nowhere else: an adjustment within STAFF_ADJUSTMENT_LIMIT_MINOR is applied at once; one
 * above it is parked as a proposal (store/servicing/adjustment-proposals.ts) that a second staff
 * member approves or rejects (POST /v1/adjustment-proposals/{id}/approve|reject), in the manner of
 * the credit-line proposals (docs/security.md "Maker-checker"). The audit row is written by the
 * caller after the adjustment or the proposal, as the transaction's last statement
 * (src/store/staff-audit.ts: the chain head's lock is taken last).
 */
import { needsSecondApproval, type WaivableComponent } from '../domain/adjustments.ts';
import type { TransactionSql } from '../store/db.ts';
import {
  type AdjustmentProposal,
  insertAdjustmentProposal,
} from '../store/servicing/adjustment-proposals.ts';

export interface StaffAdjustment {
  kind: 'charge' | 'waiver';
  component: WaivableComponent;
  loanId: bigint;
  customerId: bigint;
  amountMinor: bigint;
  /** null: the store's default installment (oldest open). */
  installment: number | null;
  reason: string;
  /** The staff member asking. */
  staffId: bigint;
}

/** Apply now, or wait for the second person on the proposal. */
export type Authorization = { apply: true } | { apply: false; proposal: AdjustmentProposal };

export async function authorizeStaffAdjustment(
  tx: TransactionSql,
  a: StaffAdjustment,
): Promise<Authorization> {
  if (!needsSecondApproval(a.amountMinor)) return { apply: true };
  const proposal = await insertAdjustmentProposal(tx, {
    customerId: a.customerId,
    loanId: a.loanId,
    kind: a.kind,
    component: a.component,
    amountMinor: a.amountMinor,
    installment: a.installment,
    reason: a.reason,
    proposedBy: a.staffId,
  });
  return { apply: false, proposal };
}

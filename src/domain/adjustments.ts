/**
 * Ad-hoc charges and waivers by staff, pure: which installment a charge lands on, how a waiver
 * spreads over what is owed (oldest installment first), and when a second person must approve.
 */
import type { InstallmentState } from './allocation.ts';
import { invariant } from './errors.ts';

export type WaivableComponent = 'fee' | 'interest' | 'penalty';
export const WAIVABLE_COMPONENTS: readonly WaivableComponent[] = ['fee', 'interest', 'penalty'];

/** A charge or waiver above this (500.00) needs a second person (src/servicing/approval.ts). */
export const STAFF_ADJUSTMENT_LIMIT_MINOR = 50_000n;
/** One charge is at most this (10,000.00): beyond it is a typing error, not a fee. */
export const MAX_CHARGE_MINOR = 1_000_000n;

export type AdjustmentRefusal = 'INSTALLMENT_NOT_FOUND' | 'WAIVER_EXCEEDS_OUTSTANDING' | 'NOTHING_TO_CHARGE';

const owed = (i: InstallmentState, c: WaivableComponent) => i.scheduled[c] - i.paid[c];
const isOpen = (i: InstallmentState) =>
  i.scheduled.principal + i.scheduled.interest + i.scheduled.fee + i.scheduled.penalty >
  i.paid.principal + i.paid.interest + i.paid.fee + i.paid.penalty;

const byDue = (a: InstallmentState, b: InstallmentState) =>
  a.dueDate < b.dueDate ? -1 : a.dueDate > b.dueDate ? 1 : a.number - b.number;

/** The installment a charge lands on: the one named, else the oldest still open. */
export function chargeTarget(
  installments: readonly InstallmentState[],
  number: number | null,
): number | { refused: AdjustmentRefusal } {
  if (number !== null) {
    return installments.some((i) => i.number === number) ? number : { refused: 'INSTALLMENT_NOT_FOUND' };
  }
  const open = [...installments].filter(isOpen).sort(byDue)[0];
  return open ? open.number : { refused: 'NOTHING_TO_CHARGE' };
}

/** How a waiver of `amountMinor` of one component spreads: the installment named, or oldest first. */
export function planWaiver(
  installments: readonly InstallmentState[],
  component: WaivableComponent,
  amountMinor: bigint,
  number: number | null,
): { number: number; amountMinor: bigint }[] | { refused: AdjustmentRefusal } {
  invariant(amountMinor > 0n, 'a waiver is positive');
  const targets =
    number === null ? [...installments].sort(byDue) : installments.filter((i) => i.number === number);
  if (targets.length === 0) return { refused: 'INSTALLMENT_NOT_FOUND' };
  const out: { number: number; amountMinor: bigint }[] = [];
  let left = amountMinor;
  for (const i of targets) {
    const take = owed(i, component) < left ? owed(i, component) : left;
    if (take > 0n) out.push({ number: i.number, amountMinor: take });
    left -= take;
    if (left === 0n) break;
  }
  return left === 0n ? out : { refused: 'WAIVER_EXCEEDS_OUTSTANDING' };
}

/** Whether a staff adjustment of this size needs a second person's approval. */
export function needsSecondApproval(amountMinor: bigint, limitMinor = STAFF_ADJUSTMENT_LIMIT_MINOR): boolean {
  return amountMinor > limitMinor;
}

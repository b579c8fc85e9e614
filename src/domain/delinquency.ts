/**
 * Delinquency: how late a loan is on a business date, which bucket that puts it in, which
 * installments are overdue, what late fee is still to be charged and when a loan is written off.
 * Pure functions over plain values; the close-of-business batch feeds them
 * rows (store/cob.ts, through the plans of domain/cob.ts) and writes back what they decide.
 */
import { addDays, daysBetween } from './dates.ts';
import { DEFAULT_BUCKET_MAX_DPD, DEFAULT_WRITE_OFF_DPD, MAX_WRITE_OFF_DPD } from './delinquency-policy.ts';
import { invariant } from './errors.ts';
import { type LoanProduct, lateFeeFor } from './product.ts';

export type Bucket = 'current' | 'M1' | 'M2' | 'M3' | 'M3+';
export const BUCKETS: readonly Bucket[] = ['current', 'M1', 'M2', 'M3', 'M3+'];

/** Default upper bound (inclusive) of days past due of each bucket but the last: M1 1-30, M2 31-60, M3 61-90. */
export const [M1_MAX_DPD, M2_MAX_DPD, M3_MAX_DPD] = DEFAULT_BUCKET_MAX_DPD;
export { DEFAULT_BUCKET_MAX_DPD, DEFAULT_WRITE_OFF_DPD, MAX_WRITE_OFF_DPD };

export type InstallmentStatus = 'due' | 'overdue' | 'paid' | 'written_off';

/** What the close needs of one installment; amounts in minor units. */
export interface InstallmentState {
  readonly number: number;
  readonly dueDate: string;
  readonly status: InstallmentStatus;
  readonly principalMinor: bigint;
  readonly interestMinor: bigint;
  readonly feeMinor: bigint;
  readonly penaltyMinor: bigint;
  readonly paidPrincipalMinor: bigint;
  readonly paidInterestMinor: bigint;
  readonly paidFeeMinor: bigint;
  readonly paidPenaltyMinor: bigint;
}

/** The bucket of a number of days past due, with the product's bounds (the last day of M1, M2, M3). */
export function bucketFor(daysPastDue: number, bounds: readonly number[] = DEFAULT_BUCKET_MAX_DPD): Bucket {
  invariant(Number.isInteger(daysPastDue) && daysPastDue >= 0, 'days past due is a whole number >= 0');
  const [m1, m2, m3] = bounds as [number, number, number];
  if (daysPastDue === 0) return 'current';
  if (daysPastDue <= m1) return 'M1';
  if (daysPastDue <= m2) return 'M2';
  if (daysPastDue <= m3) return 'M3';
  return 'M3+';
}

/**
 * The convention for days past due (Fineract's, and the one regulators report by): an installment
 * unpaid at the end of its due date is 1 day past due once that day is closed. Every "as of" date
 * below is the business date that is open; closing D reports the loan as it stands when D+1 opens,
 * so late fees, bucket moves and the write-off threshold all count from this one rule.
 */
export function standingDateAfterClose(closedDate: string): string {
  return addDays(closedDate, 1);
}

/** Paid or written off installments are settled; the repayment code owns that transition. */
export function isUnpaid(installment: Pick<InstallmentState, 'status'>): boolean {
  return installment.status === 'due' || installment.status === 'overdue';
}

/** Overdue as of the open business date: unpaid and its due date is over (due today is not late yet). */
export function isOverdue(installment: Pick<InstallmentState, 'status' | 'dueDate'>, date: string): boolean {
  return isUnpaid(installment) && daysBetween(installment.dueDate, date) > 0;
}

/** The contractual amount still owed on an installment (principal, interest, fee), penalties apart. */
export function overdueAmountMinor(installment: InstallmentState): bigint {
  const owed =
    installment.principalMinor -
    installment.paidPrincipalMinor +
    (installment.interestMinor - installment.paidInterestMinor) +
    (installment.feeMinor - installment.paidFeeMinor);
  invariant(owed >= 0n, `installment ${installment.number} is paid beyond what it owes`);
  return owed;
}

/**
 * Days from the due date of the oldest overdue installment to the open business date `date`; 0
 * when nothing is overdue. After the close of an installment's due date this is 1.
 */
export function daysPastDue(installments: readonly InstallmentState[], date: string): number {
  let oldest: string | undefined;
  for (const i of installments) {
    if (isOverdue(i, date) && (oldest === undefined || i.dueDate < oldest)) oldest = i.dueDate;
  }
  return oldest === undefined ? 0 : daysBetween(oldest, date);
}

/** A loan's standing as of the open business date, from the due date of its oldest unpaid installment. */
export function standingOn(
  oldestUnpaidDueDate: string | null,
  asOf: string,
  bounds: readonly number[] = DEFAULT_BUCKET_MAX_DPD,
): { dpd: number; bucket: Bucket } {
  const dpd = oldestUnpaidDueDate === null ? 0 : Math.max(0, daysBetween(oldestUnpaidDueDate, asOf));
  return { dpd, bucket: bucketFor(dpd, bounds) };
}

/**
 * Late fee still to charge on one installment as of `date`. `lateFeeFor` gives the whole fee owed
 * so far; subtracting what was already charged makes the charge incremental, so a daily close and
 * a close that skips to the date arrive at the same total, and the total never passes the cap.
 * When the overdue amount shrank (a part payment) the owed fee can fall below what was charged:
 * nothing is taken back, nothing more is charged.
 */
export function lateFeeDueMinor(
  product: Pick<LoanProduct, 'lateFee' | 'graceDays' | 'roundingMode' | 'multipleMinor'>,
  installment: InstallmentState,
  date: string,
): bigint {
  if (!isOverdue(installment, date)) return 0n;
  const owedMinor = lateFeeFor(
    product,
    overdueAmountMinor(installment),
    daysBetween(installment.dueDate, date),
  );
  const chargeMinor = owedMinor - installment.penaltyMinor;
  return chargeMinor > 0n ? chargeMinor : 0n;
}

export function reachesWriteOff(daysPastDueNow: number, writeOffDpd: number): boolean {
  invariant(writeOffDpd > 0, 'the write-off threshold is positive');
  return daysPastDueNow >= writeOffDpd;
}

/**
 * The write-off threshold of a product: its own `writeOffDpd` in the stored terms when it has one
 * (a whole number of days from 1 to MAX_WRITE_OFF_DPD), else the run's default.
 */
export function writeOffDpdOf(terms: unknown, fallbackDpd: number): number {
  if (typeof terms === 'object' && terms !== null && 'writeOffDpd' in terms) {
    const value = (terms as { writeOffDpd: unknown }).writeOffDpd;
    if (typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= MAX_WRITE_OFF_DPD) {
      return value;
    }
  }
  return fallbackDpd;
}

/** What is still owed on the unpaid installments of a loan, by component. */
export interface Outstanding {
  readonly principalMinor: bigint;
  readonly interestMinor: bigint;
  readonly feeMinor: bigint;
  readonly penaltyMinor: bigint;
}

export function outstandingOf(installments: readonly InstallmentState[]): Outstanding {
  let principalMinor = 0n;
  let interestMinor = 0n;
  let feeMinor = 0n;
  let penaltyMinor = 0n;
  for (const i of installments) {
    if (!isUnpaid(i)) continue;
    principalMinor += i.principalMinor - i.paidPrincipalMinor;
    interestMinor += i.interestMinor - i.paidInterestMinor;
    feeMinor += i.feeMinor - i.paidFeeMinor;
    penaltyMinor += i.penaltyMinor - i.paidPenaltyMinor;
  }
  return { principalMinor, interestMinor, feeMinor, penaltyMinor };
}

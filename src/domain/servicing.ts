/**
 * Rules of loan servicing that are not about money movement itself: how far back staff may date a
 * transaction, and why a date is refused. Pure; the store and the API apply them.
 */
import { daysBetween } from './dates.ts';

/** Staff may date a repayment at most this many days before the business date. */
export const MAX_BACKDATE_DAYS = 30;

export type TransactionDateRefusal = 'TRANSACTION_DATE_IN_FUTURE' | 'TRANSACTION_DATE_OUT_OF_WINDOW';

/**
 * A transaction date is allowed from the loan's start (and no more than MAX_BACKDATE_DAYS back)
 * up to today's business date; the refusal's code, or null when it is fine.
 */
export function transactionDateRefusal(
  valueDate: string,
  businessDate: string,
  loanStartDate: string,
  maxBackdateDays = MAX_BACKDATE_DAYS,
): TransactionDateRefusal | null {
  if (valueDate > businessDate) return 'TRANSACTION_DATE_IN_FUTURE';
  if (valueDate < loanStartDate || daysBetween(valueDate, businessDate) > maxBackdateDays) {
    return 'TRANSACTION_DATE_OUT_OF_WINDOW';
  }
  return null;
}

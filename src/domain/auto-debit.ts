/**
 * Automatic debit's retry schedule: a failed debit of an installment due on D is tried again the
 * same day 4 hours later, then on D+1, then on D+2 ("day 3"), and no more. Pure: the store and the
 * worker read the next try from here.
 */
import { addDays } from './dates.ts';
import { invariant } from './errors.ts';

/** Attempt 2 runs this long after attempt 1 failed, on the same business date. */
export const DEBIT_SAME_DAY_RETRY_MS = 4 * 60 * 60 * 1000;
/** Attempts 3 and 4 run on these business days after the due date. */
export const DEBIT_RETRY_DAY_OFFSETS: readonly number[] = [1, 2];
/** 1 on the due date, 1 four hours later, then one per retry day. */
export const DEBIT_MAX_ATTEMPTS = 2 + DEBIT_RETRY_DAY_OFFSETS.length;

export interface NextAttempt {
  attemptNumber: number;
  runDate: string;
  /** Milliseconds after the failure before it may run (0: any time on runDate). */
  delayMs: number;
}

/** The try after attempt `failed` of a debit for `dueDate`, or null when the schedule is over. */
export function nextDebitAttempt(
  dueDate: string,
  failed: number,
  sameDayRetryMs = DEBIT_SAME_DAY_RETRY_MS,
): NextAttempt | null {
  invariant(failed >= 1 && failed <= DEBIT_MAX_ATTEMPTS, 'attempt numbers run from 1');
  if (failed === DEBIT_MAX_ATTEMPTS) return null;
  if (failed === 1) return { attemptNumber: 2, runDate: dueDate, delayMs: sameDayRetryMs };
  const offset = DEBIT_RETRY_DAY_OFFSETS[failed - 2] as number;
  return { attemptNumber: failed + 1, runDate: addDays(dueDate, offset), delayMs: 0 };
}

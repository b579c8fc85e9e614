/**
 * Hardship tools, pure: re-age (the past-due amounts move to new installments after the last one,
 * so the loan is current again) and reschedule (the outstanding principal gets a new schedule: a
 * new term, a new due day). Both start from the installments as they stand and say which ones are
 * cut to what was paid and which are added; the store keeps the schedule before the change.
 *
 * Rules they share:
 *  - an installment cut keeps exactly what was paid on it, so it ends paid;
 *  - penalties are never moved: unpaid penalties on what would move must be settled first (paid or
 *    waived through the waiver route with its maker-checker), so a moved installment never carries a
 *    late fee that the late-fee rule would count as already charged for its new due date;
 *  - principal, fees and interest already earned are moved, never changed (no ledger entry);
 *  - a reschedule replaces interest not yet earned by the new schedule's interest on the
 *    outstanding principal: the difference is the one amount that moves between accounts.
 */
import type { Components, InstallmentState } from './allocation.ts';
import { addPeriods, daysBetween, type FrequencyUnit } from './dates.ts';
import { DomainError, invariant } from './errors.ts';
import { buildSchedule, type ScheduleTermsInput } from './schedule.ts';

/** A reschedule spreads what is left over at most this many installments. */
export const MAX_RESCHEDULE_TENOR = 60;
/** A reschedule's new periods start at most this many days after today (the new due day). */
export const MAX_RESCHEDULE_START_DAYS = 31;

export interface HardshipInstallment extends InstallmentState {
  readonly status: string;
}

/** An installment cut to what was paid on it. */
export interface InstallmentCut {
  readonly number: number;
  readonly scheduled: Components;
}

export interface AddedInstallment {
  readonly number: number;
  readonly dueDate: string;
  readonly principalMinor: bigint;
  readonly interestMinor: bigint;
  readonly feeMinor: bigint;
}

export interface ScheduleChange {
  readonly cuts: readonly InstallmentCut[];
  readonly added: readonly AddedInstallment[];
  /** New interest minus interest not yet earned that it replaces (0 for a re-age). */
  readonly interestDeltaMinor: bigint;
  /** Interest of the cut installments not yet earned (what a reschedule replaces). */
  readonly unearnedReplacedMinor: bigint;
}

const open = (i: HardshipInstallment): boolean => i.status !== 'paid' && i.status !== 'written_off';

function unpaid(i: InstallmentState): Components {
  return {
    principal: i.scheduled.principal - i.paid.principal,
    interest: i.scheduled.interest - i.paid.interest,
    fee: i.scheduled.fee - i.paid.fee,
    penalty: i.scheduled.penalty - i.paid.penalty,
  };
}

function refusePenalties(moving: readonly HardshipInstallment[]): void {
  const penaltyMinor = moving.reduce((s, i) => s + unpaid(i).penalty, 0n);
  if (penaltyMinor > 0n) {
    throw new DomainError('PENALTY_OUTSTANDING', 'settle or waive the unpaid penalties first', {
      penalty_minor: penaltyMinor.toString(),
    });
  }
}

const cutOf = (i: InstallmentState): InstallmentCut => ({ number: i.number, scheduled: { ...i.paid } });

/**
 * Re-age on `today`: every open installment due before today moves, unpaid, to a new installment
 * after the last one (same order, one period apart), so nothing is past due any more.
 */
export function planReAge(
  installments: readonly HardshipInstallment[],
  today: string,
  frequency: { every: number; unit: FrequencyUnit },
): ScheduleChange {
  const sorted = [...installments].sort((a, b) => a.number - b.number);
  const moving = sorted.filter((i) => open(i) && i.dueDate < today);
  if (moving.length === 0) throw new DomainError('NOTHING_PAST_DUE', 'nothing on the loan is past due');
  refusePenalties(moving);
  const last = sorted[sorted.length - 1] as HardshipInstallment;
  const added = moving.map((i, k) => {
    const owed = unpaid(i);
    return {
      number: last.number + k + 1,
      dueDate: addPeriods(last.dueDate, frequency.every, frequency.unit, k + 1),
      principalMinor: owed.principal,
      interestMinor: owed.interest,
      feeMinor: owed.fee,
    };
  });
  const movedMinor = moving.reduce(
    (s, i) => s + unpaid(i).principal + unpaid(i).interest + unpaid(i).fee,
    0n,
  );
  const addedMinor = added.reduce((s, a) => s + a.principalMinor + a.interestMinor + a.feeMinor, 0n);
  invariant(movedMinor === addedMinor, 'a re-age moves what is owed, never changes it');
  return { cuts: moving.map(cutOf), added, interestDeltaMinor: 0n, unearnedReplacedMinor: 0n };
}

export interface RescheduleInput {
  readonly installments: readonly HardshipInstallment[];
  readonly today: string;
  /** The new periods count from this date (today or later): its day is the new due day. */
  readonly startDate: string;
  readonly tenor: number;
  /** Installments due by this date have had their interest earned (the last closed date). */
  readonly earnedThrough: string | null;
  /** The loan's product terms for the new schedule (no fees, no down payment). */
  readonly terms: Omit<ScheduleTermsInput, 'principalMinor' | 'tenor' | 'startDate' | 'downPayment' | 'fees'>;
}

function checkReschedule(r: RescheduleInput): void {
  if (!Number.isInteger(r.tenor) || r.tenor < 1 || r.tenor > MAX_RESCHEDULE_TENOR) {
    throw new DomainError('INVALID_TERMS', `tenor must be from 1 to ${MAX_RESCHEDULE_TENOR}`, {
      field: 'tenor',
    });
  }
  const ahead = daysBetween(r.today, r.startDate);
  if (ahead < 0 || ahead > MAX_RESCHEDULE_START_DAYS) {
    throw new DomainError(
      'DATE_OUT_OF_RANGE',
      `start_date must be today or up to ${MAX_RESCHEDULE_START_DAYS} days ahead`,
      {
        field: 'start_date',
      },
    );
  }
}

/**
 * Reschedule: every open installment is cut to what was paid; the outstanding principal gets a new
 * schedule of `tenor` installments from `startDate`; unpaid fees and interest already earned fall
 * due with the first new installment; interest not yet earned is replaced by the new schedule's.
 */
export function planReschedule(r: RescheduleInput): ScheduleChange {
  checkReschedule(r);
  const sorted = [...r.installments].sort((a, b) => a.number - b.number);
  const moving = sorted.filter(open);
  refusePenalties(moving);
  const earned = (i: InstallmentState): boolean => r.earnedThrough !== null && i.dueDate <= r.earnedThrough;
  let principalMinor = 0n;
  let carriedMinor = 0n;
  let unearnedReplacedMinor = 0n;
  let feeMinor = 0n;
  for (const i of moving) {
    const owed = unpaid(i);
    principalMinor += owed.principal;
    feeMinor += owed.fee;
    if (earned(i)) carriedMinor += owed.interest;
    else unearnedReplacedMinor += owed.interest;
  }
  if (principalMinor === 0n) throw new DomainError('NOTHING_TO_RESCHEDULE', 'no principal is outstanding');
  const schedule = buildSchedule({ ...r.terms, principalMinor, tenor: r.tenor, startDate: r.startDate });
  const last = sorted[sorted.length - 1] as HardshipInstallment;
  const added = schedule.installments.map((s, k) => ({
    number: last.number + k + 1,
    dueDate: s.dueDate,
    principalMinor: s.principalMinor,
    interestMinor: s.interestMinor + (k === 0 ? carriedMinor : 0n),
    feeMinor: k === 0 ? feeMinor : 0n,
  }));
  invariant(
    added.reduce((s, a) => s + a.principalMinor, 0n) === principalMinor,
    'a reschedule keeps the principal owed',
  );
  return {
    cuts: moving.map(cutOf),
    added,
    interestDeltaMinor: schedule.totalInterestMinor - unearnedReplacedMinor,
    unearnedReplacedMinor,
  };
}

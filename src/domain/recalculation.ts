/**
 * Interest recalculation on early payment (a product option, Fineract's "interest recalculation"
 * with "interest till pre-close"): interest is owed on the principal actually outstanding, day by
 * day, instead of on the schedule's balance.
 *
 *   - An installment's interest is its scheduled interest scaled by the principal outstanding on
 *     each day of its period over the schedule's opening balance of that period:
 *       interest_k = I_k × Σ_days min(B_k, balance(day)) / (B_k × days_k)
 *     so with no early principal it is exactly the scheduled interest, and a principal payment made
 *     before the period ends lowers it for the days after the payment. A late payment never raises
 *     it (the balance is capped at the schedule's; late fees are what a late payment costs).
 *   - A payment on day t lowers the balance from day t on (interest for the days before t is owed
 *     on the old balance), the same convention as the straight-line payoff accrual.
 *   - Paying off on day t owes interest only to t ("till pre-close"): each period's sum stops at t.
 *   - Rounding: once per installment, the product's rounding mode to its rounding multiple.
 * Only installments not yet due on the payment date change: an installment due on or before it
 * keeps the interest it had (close of business may have earned it already).
 */
import {
  type Components,
  type InstallmentState,
  outstandingOf,
  type PayoffQuote,
  planRepayment,
  type RepaymentFacts,
  type RepaymentPlan,
  type RepaymentRefusal,
  sumComponents,
  ZERO_COMPONENTS,
} from './allocation.ts';
import { addDays, daysBetween } from './dates.ts';
import { invariant } from './errors.ts';
import { type RoundingMode, roundToUnit } from './money.ts';

/** Principal repaid on a (value) date. */
export interface PrincipalPaid {
  readonly date: string;
  readonly amountMinor: bigint;
}

/** What the recalculation needs of a loan's schedule: its scheduled principal and original interest. */
export interface ScheduleRow {
  readonly number: number;
  readonly dueDate: string;
  readonly principalMinor: bigint;
  readonly scheduledInterestMinor: bigint;
}

export interface RecalculationRounding {
  readonly roundingMode: RoundingMode;
  readonly multipleMinor: bigint;
}

/** A loan's schedule and its principal history, as the recalculation reads them. */
export interface RecalculationBasis {
  readonly startDate: string;
  readonly schedule: readonly ScheduleRow[];
  readonly principalPaid: readonly PrincipalPaid[];
  readonly rounding: RecalculationRounding;
}

/**
 * Interest of each installment on the actual balance, counted to `until` (exclusive; null: to each
 * due date). An installment whose period starts on or after `until` owes nothing.
 */
export function interestOnActualBalance(
  basis: RecalculationBasis,
  until: string | null,
): Map<number, bigint> {
  const rows = [...basis.schedule].sort((a, b) => a.number - b.number);
  const totalMinor = rows.reduce((s, r) => s + r.principalMinor, 0n);
  const paid = [...basis.principalPaid].sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : 0));
  const out = new Map<number, bigint>();
  let openingMinor = totalMinor;
  let periodStart = basis.startDate;
  for (const row of rows) {
    const days = daysBetween(periodStart, row.dueDate);
    const end = until !== null && until < row.dueDate ? until : row.dueDate;
    let weighted = 0n;
    let next = 0;
    let balance = totalMinor;
    for (let day = periodStart; day < end; day = addDays(day, 1)) {
      while (next < paid.length && (paid[next] as PrincipalPaid).date <= day) {
        balance -= (paid[next] as PrincipalPaid).amountMinor;
        next += 1;
      }
      weighted += balance < openingMinor ? balance : openingMinor;
    }
    const interest =
      days <= 0 || openingMinor <= 0n || weighted <= 0n
        ? 0n
        : roundToUnit(
            row.scheduledInterestMinor * weighted,
            openingMinor * BigInt(days),
            basis.rounding.multipleMinor,
            basis.rounding.roundingMode,
          );
    invariant(
      interest >= 0n && interest <= row.scheduledInterestMinor,
      'recalculated interest never exceeds the schedule',
    );
    out.set(row.number, interest);
    openingMinor -= row.principalMinor;
    periodStart = row.dueDate;
  }
  invariant(openingMinor === 0n, 'the schedule repays its principal');
  return out;
}

/**
 * What closes the loan on `date` when interest is recalculated: principal, fees and penalties in
 * full, interest only as accrued on the actual balance up to `date` (never less than was paid).
 * Installments due by `date` owe the interest they hold.
 */
export function progressivePayoffQuote(
  basis: RecalculationBasis,
  installments: readonly InstallmentState[],
  date: string,
): PayoffQuote {
  const accrued = interestOnActualBalance(basis, date);
  const owed: Components = { ...ZERO_COMPONENTS };
  const interestAfterWaiver = new Map<number, bigint>();
  let waivedInterestMinor = 0n;
  for (const inst of installments) {
    const due = inst.dueDate <= date;
    const earned = due ? inst.scheduled.interest : (accrued.get(inst.number) ?? 0n);
    let keep = earned < inst.scheduled.interest ? earned : inst.scheduled.interest;
    if (keep < inst.paid.interest) keep = inst.paid.interest;
    interestAfterWaiver.set(inst.number, keep);
    waivedInterestMinor += inst.scheduled.interest - keep;
    const out = outstandingOf(inst);
    owed.principal += out.principal;
    owed.fee += out.fee;
    owed.penalty += out.penalty;
    owed.interest += keep - inst.paid.interest;
  }
  invariant(waivedInterestMinor >= 0n, 'a waiver is not negative');
  return { date, owed, totalMinor: sumComponents(owed), waivedInterestMinor, interestAfterWaiver };
}

export interface ProgressivePlan extends RepaymentPlan {
  /** Interest taken off installments not yet due by the recalculation (not a payoff's waiver). */
  readonly recalculatedInterestMinor: bigint;
}

/**
 * A payment on `date` with interest recalculation: installments not yet due owe only the interest
 * accrued on the actual balance so far (so money beyond what is due repays principal early), then
 * their interest is recalculated from the new balance. A payment of the payoff closes the loan.
 */
export function planProgressiveRepayment(
  basis: RecalculationBasis,
  facts: Omit<RepaymentFacts, 'payoff'>,
  date: string,
): ProgressivePlan | RepaymentRefusal {
  const payoff = progressivePayoffQuote(basis, facts.installments, date);
  const view = facts.installments.map((i) => ({
    ...i,
    scheduled: { ...i.scheduled, interest: payoff.interestAfterWaiver.get(i.number) ?? i.scheduled.interest },
  }));
  const plan = planRepayment({ ...facts, installments: view, payoff });
  if (!plan.ok) return plan;
  if (plan.paysOff) return { ...plan, recalculatedInterestMinor: 0n };
  const paidNow = new Map(plan.updates.map((u) => [u.number, u]));
  const full = interestOnActualBalance(
    { ...basis, principalPaid: [...basis.principalPaid, { date, amountMinor: plan.split.principal }] },
    null,
  );
  let recalculatedInterestMinor = 0n;
  const updates = facts.installments.map((i) => {
    const paid = paidNow.get(i.number)?.paid ?? i.paid;
    let interest = i.scheduled.interest;
    if (i.dueDate > date) {
      const fresh = full.get(i.number) ?? i.scheduled.interest;
      interest = fresh < i.scheduled.interest ? fresh : i.scheduled.interest;
      if (interest < paid.interest) interest = paid.interest;
    }
    recalculatedInterestMinor += i.scheduled.interest - interest;
    return { number: i.number, interest, paid: { ...paid } };
  });
  invariant(recalculatedInterestMinor >= 0n, 'a recalculation only lowers interest');
  return { ...plan, updates, recalculatedInterestMinor };
}

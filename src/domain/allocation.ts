/**
 * Where a repayment goes, and what paying a loan off on a date costs. Pure functions over the
 * outstanding amounts of a loan's installments; the store applies the result.
 *
 * Allocation is installment by installment, oldest due first; within an installment the product's
 * component order (default: penalty, fee, interest, principal). An installment gets nothing until
 * every older one is fully paid, so the oldest debt (the one that accrues late fees) goes first.
 */

import { daysBetween } from './dates.ts';
import { invariant } from './errors.ts';
import { divRound } from './money.ts';
import { type AllocationTarget, DEFAULT_ALLOCATION_ORDER } from './product.ts';

export type Components = Record<AllocationTarget, bigint>;

export const ZERO_COMPONENTS: Readonly<Components> = Object.freeze({
  penalty: 0n,
  fee: 0n,
  interest: 0n,
  principal: 0n,
});

export interface InstallmentDue {
  readonly number: number;
  readonly dueDate: string;
  /** What is still owed on this installment, per component; never negative. */
  readonly due: Readonly<Components>;
}

export interface InstallmentAllocation {
  readonly number: number;
  readonly paid: Readonly<Components>;
}

export interface Allocation {
  /** Only installments that receive something, oldest first. */
  readonly installments: readonly InstallmentAllocation[];
  readonly totals: Readonly<Components>;
  /** What was left after everything owed was paid. */
  readonly excessMinor: bigint;
}

export function sumComponents(c: Readonly<Components>): bigint {
  return c.penalty + c.fee + c.interest + c.principal;
}

function byDueDate(a: InstallmentDue, b: InstallmentDue): number {
  return a.dueDate < b.dueDate ? -1 : a.dueDate > b.dueDate ? 1 : a.number - b.number;
}

export function allocate(
  dues: readonly InstallmentDue[],
  amountMinor: bigint,
  order: readonly AllocationTarget[] = DEFAULT_ALLOCATION_ORDER,
): Allocation {
  invariant(amountMinor >= 0n, 'a payment is not negative');
  invariant(
    order.length === DEFAULT_ALLOCATION_ORDER.length &&
      DEFAULT_ALLOCATION_ORDER.every((t) => order.includes(t)),
    'the allocation order names each component once',
  );
  let left = amountMinor;
  const totals: Components = { ...ZERO_COMPONENTS };
  const installments: InstallmentAllocation[] = [];
  for (const inst of [...dues].sort(byDueDate)) {
    if (left === 0n) break;
    const paid: Components = { ...ZERO_COMPONENTS };
    for (const target of order) {
      const owed = inst.due[target];
      invariant(owed >= 0n, 'an amount due is not negative');
      const take = owed < left ? owed : left;
      paid[target] = take;
      totals[target] += take;
      left -= take;
    }
    if (sumComponents(paid) > 0n) installments.push({ number: inst.number, paid });
  }
  invariant(sumComponents(totals) + left === amountMinor, 'allocation adds up to the payment');
  return { installments, totals, excessMinor: left };
}

/** One installment as stored: scheduled amounts and what has been paid of each. */
export interface InstallmentState {
  readonly number: number;
  readonly dueDate: string;
  readonly scheduled: Readonly<Components>;
  readonly paid: Readonly<Components>;
}

export function outstandingOf(inst: InstallmentState): Components {
  return {
    penalty: inst.scheduled.penalty - inst.paid.penalty,
    fee: inst.scheduled.fee - inst.paid.fee,
    interest: inst.scheduled.interest - inst.paid.interest,
    principal: inst.scheduled.principal - inst.paid.principal,
  };
}

/**
 * Interest earned on one installment by `date`: all of it once its due date is reached, none
 * before its period starts, and in between a share by calendar days (half-up to the minor unit).
 */
export function accruedInterest(
  scheduledInterestMinor: bigint,
  periodStart: string,
  dueDate: string,
  date: string,
): bigint {
  if (date >= dueDate) return scheduledInterestMinor;
  if (date <= periodStart) return 0n;
  const elapsed = BigInt(daysBetween(periodStart, date));
  const period = BigInt(daysBetween(periodStart, dueDate));
  return divRound(scheduledInterestMinor * elapsed, period, 'half-up');
}

export interface PayoffQuote {
  readonly date: string;
  /** Owed to close the loan on `date`, per component. */
  readonly owed: Readonly<Components>;
  readonly totalMinor: bigint;
  /** Interest of the schedule that paying off on `date` forgives. */
  readonly waivedInterestMinor: bigint;
  /** Per installment: its interest once the waiver is applied (never below what was paid). */
  readonly interestAfterWaiver: ReadonlyMap<number, bigint>;
}

/**
 * What closes the loan on `date`: outstanding principal, fees and penalties in full, and interest
 * only as far as it has accrued by that date (see accruedInterest); the rest of the scheduled
 * interest is waived. Interest already paid ahead is never refunded, only not charged again.
 */
export function payoffQuote(
  loanStartDate: string,
  installments: readonly InstallmentState[],
  date: string,
): PayoffQuote {
  const sorted = [...installments].sort((a, b) => a.number - b.number);
  const owed: Components = { ...ZERO_COMPONENTS };
  const interestAfterWaiver = new Map<number, bigint>();
  let waivedInterestMinor = 0n;
  let periodStart = loanStartDate;
  for (const inst of sorted) {
    const earned = accruedInterest(inst.scheduled.interest, periodStart, inst.dueDate, date);
    const keep = earned > inst.paid.interest ? earned : inst.paid.interest;
    interestAfterWaiver.set(inst.number, keep);
    waivedInterestMinor += inst.scheduled.interest - keep;
    const out = outstandingOf(inst);
    owed.principal += out.principal;
    owed.fee += out.fee;
    owed.penalty += out.penalty;
    owed.interest += keep - inst.paid.interest;
    periodStart = inst.dueDate;
  }
  invariant(waivedInterestMinor >= 0n, 'a waiver is not negative');
  return { date, owed, totalMinor: sumComponents(owed), waivedInterestMinor, interestAfterWaiver };
}

/** What to do with money beyond the payoff amount: refuse the payment, or keep it for the customer. */
export type OverpaymentPolicy = 'refuse' | 'credit_balance';

/** An installment's new paid amounts, and its interest (lowered by a payoff's waiver). */
export interface InstallmentPayment {
  readonly number: number;
  readonly interest: bigint;
  readonly paid: Readonly<Components>;
}

export interface RepaymentPlan {
  readonly ok: true;
  readonly paysOff: boolean;
  /** Where the money goes, per component (what the ledger books). */
  readonly split: Readonly<Components>;
  readonly excessMinor: bigint;
  readonly waivedInterestMinor: bigint;
  readonly updates: readonly InstallmentPayment[];
}

export interface RepaymentRefusal {
  readonly ok: false;
  readonly code: 'OVERPAYMENT' | 'OVERPAYMENT_TOO_LARGE';
  readonly message: string;
  readonly details: Readonly<Record<string, string>>;
}

export interface RepaymentFacts {
  readonly amountMinor: bigint;
  readonly overpayment: OverpaymentPolicy;
  /** The loan's principal: the most a credit balance may hold. */
  readonly loanPrincipalMinor: bigint;
  /** The installments not written off. */
  readonly installments: readonly InstallmentState[];
  readonly payoff: PayoffQuote;
  readonly order: readonly AllocationTarget[];
}

/** A payment of at least the payoff closes the loan: everything is paid, unaccrued interest waived. */
function payoffPlan(f: RepaymentFacts): RepaymentPlan | RepaymentRefusal {
  const excessMinor = f.amountMinor - f.payoff.totalMinor;
  const payoffMinor = f.payoff.totalMinor.toString();
  if (excessMinor > 0n && f.overpayment === 'refuse') {
    return {
      ok: false,
      code: 'OVERPAYMENT',
      message: 'the payment is more than the payoff amount',
      details: { payoff_minor: payoffMinor },
    };
  }
  // A credit balance is for small overpayments (a rounded-up transfer), not a deposit account:
  // more than the loan's own principal is almost certainly a mistake in the amount.
  if (excessMinor > f.loanPrincipalMinor) {
    return {
      ok: false,
      code: 'OVERPAYMENT_TOO_LARGE',
      message: 'the payment exceeds the payoff by more than the loan principal',
      details: { payoff_minor: payoffMinor, max_excess_minor: f.loanPrincipalMinor.toString() },
    };
  }
  const updates = f.installments.map((i) => {
    const interest = f.payoff.interestAfterWaiver.get(i.number) ?? i.scheduled.interest;
    return { number: i.number, interest, paid: { ...i.scheduled, interest } };
  });
  return {
    ok: true,
    paysOff: true,
    split: { ...f.payoff.owed },
    excessMinor,
    waivedInterestMinor: f.payoff.waivedInterestMinor,
    updates,
  };
}

/** A payment below the payoff goes installment by installment in the product's order. */
function partialPlan(f: RepaymentFacts): RepaymentPlan {
  const dues: InstallmentDue[] = f.installments.map((i) => ({
    number: i.number,
    dueDate: i.dueDate,
    due: outstandingOf(i),
  }));
  const allocation = allocate(dues, f.amountMinor, f.order);
  invariant(allocation.excessMinor === 0n, 'a payment below the payoff leaves no excess');
  const byNumber = new Map(f.installments.map((i) => [i.number, i]));
  const updates = allocation.installments.map((a) => {
    const i = byNumber.get(a.number);
    invariant(i !== undefined, 'allocation names installments of the loan');
    return {
      number: i.number,
      interest: i.scheduled.interest,
      paid: {
        principal: i.paid.principal + a.paid.principal,
        interest: i.paid.interest + a.paid.interest,
        fee: i.paid.fee + a.paid.fee,
        penalty: i.paid.penalty + a.paid.penalty,
      },
    };
  });
  return {
    ok: true,
    paysOff: false,
    split: { ...allocation.totals },
    excessMinor: 0n,
    waivedInterestMinor: 0n,
    updates,
  };
}

/** Where a repayment goes and what it changes, or why it is refused; the store applies it. */
export function planRepayment(facts: RepaymentFacts): RepaymentPlan | RepaymentRefusal {
  return facts.amountMinor >= facts.payoff.totalMinor ? payoffPlan(facts) : partialPlan(facts);
}

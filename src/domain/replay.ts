/**
 * Reprocessing a loan from its schedule: every live payment applied again on its value date, in
 * order, and every closed day's late fee charged again, as if the book had been kept right from
 * the start. A backdated payment, a reversed (bounced) payment or a correction changes the list of
 * payments; what the replay gives is where every payment should have gone, what penalties should
 * have been charged, and whether (and when) the loan was paid off. The store turns the difference
 * from what it holds into adjustment entries (store/servicing/reprocess.ts). Pure and
 * deterministic: the same inputs give the same book.
 *
 * Days are walked one by one from the loan's start to the last closed date: payments of a day are
 * applied first (a payment on the due date is on time), then the day is closed (installments unpaid
 * at its end fall overdue and earn the fee the product's rule owes as of the next day).
 */
import {
  type Components,
  type InstallmentState,
  payoffQuote,
  planRepayment,
  sumComponents,
  ZERO_COMPONENTS,
} from './allocation.ts';
import { addDays } from './dates.ts';
import { lateFeeDueMinor, standingDateAfterClose } from './delinquency.ts';
import { invariant } from './errors.ts';
import type { LoanProduct } from './product.ts';
import { type PrincipalPaid, planProgressiveRepayment, type RecalculationBasis } from './recalculation.ts';

/** A loan's life is bounded; a replay longer than this is a wrong date, not a loan. */
export const MAX_REPLAY_DAYS = 20 * 366;

export interface ScheduledInstallment {
  readonly number: number;
  readonly dueDate: string;
  readonly principalMinor: bigint;
  /** As scheduled, before any payoff waiver. */
  readonly interestMinor: bigint;
  readonly feeMinor: bigint;
}

export interface ReplayPayment {
  /** The payment's id, as text (the store's bigint). */
  readonly id: string;
  readonly valueDate: string;
  readonly amountMinor: bigint;
}

/** A penalty waived by staff on a date (it is never charged again by the late fee rule). */
export interface ReplayPenaltyWaiver {
  readonly date: string;
  readonly number: number;
  readonly amountMinor: bigint;
}

export interface ReplayInput {
  readonly startDate: string;
  readonly loanPrincipalMinor: bigint;
  readonly installments: readonly ScheduledInstallment[];
  /** Live payments in the order they were received (the replay orders them by value date). */
  readonly payments: readonly ReplayPayment[];
  readonly penaltyWaivers: readonly ReplayPenaltyWaiver[];
  /** The last closed date (late fees are charged for closed days only); null when none. */
  readonly closedThrough: string | null;
  readonly product: Pick<
    LoanProduct,
    'lateFee' | 'graceDays' | 'roundingMode' | 'multipleMinor' | 'allocationOrder' | 'interestRecalculation'
  >;
}

export interface ReplaySplit {
  readonly split: Components;
  readonly excessMinor: bigint;
}

export interface ReplayResult {
  /** Penalty waived per installment number, as far as there was penalty to waive. */
  readonly waived: ReadonlyMap<number, bigint>;
  /** Installments as they should stand: scheduled (interest after any waiver, penalties charged) and paid. */
  readonly installments: readonly InstallmentState[];
  readonly splits: ReadonlyMap<string, ReplaySplit>;
  /** The value date of the payment that paid the loan off; null while it is open. */
  readonly paidOffOn: string | null;
  readonly waivedInterestMinor: bigint;
}

interface Book {
  installments: InstallmentState[];
  /** Penalty waived per installment number: part of what the late fee rule has charged. */
  waived: Map<number, bigint>;
  splits: Map<string, ReplaySplit>;
  paidOffOn: string | null;
  waivedInterestMinor: bigint;
  /** Principal repaid by value date, for interest recalculation. */
  principalPaid: PrincipalPaid[];
}

function initialBook(input: ReplayInput): Book {
  return {
    installments: input.installments.map((i) => ({
      number: i.number,
      dueDate: i.dueDate,
      scheduled: { principal: i.principalMinor, interest: i.interestMinor, fee: i.feeMinor, penalty: 0n },
      paid: { ...ZERO_COMPONENTS },
    })),
    waived: new Map(),
    splits: new Map(),
    paidOffOn: null,
    waivedInterestMinor: 0n,
    principalPaid: [],
  };
}

function recalculationBasis(book: Book, input: ReplayInput): RecalculationBasis {
  return {
    startDate: input.startDate,
    schedule: input.installments.map((i) => ({
      number: i.number,
      dueDate: i.dueDate,
      principalMinor: i.principalMinor,
      scheduledInterestMinor: i.interestMinor,
    })),
    principalPaid: book.principalPaid,
    rounding: input.product,
  };
}

/** One payment on its value date; after a payoff whatever comes is the customer's credit balance. */
function applyPayment(book: Book, input: ReplayInput, p: ReplayPayment): void {
  if (book.paidOffOn !== null) {
    book.splits.set(p.id, { split: { ...ZERO_COMPONENTS }, excessMinor: p.amountMinor });
    return;
  }
  const facts = {
    amountMinor: p.amountMinor,
    overpayment: 'credit_balance' as const,
    // a payment already taken is never refused on replay: any excess is the customer's
    loanPrincipalMinor: p.amountMinor,
    installments: book.installments,
    order: input.product.allocationOrder,
  };
  const plan =
    input.product.interestRecalculation === 'progressive'
      ? planProgressiveRepayment(recalculationBasis(book, input), facts, p.valueDate)
      : planRepayment({ ...facts, payoff: payoffQuote(input.startDate, book.installments, p.valueDate) });
  invariant(plan.ok, 'a replayed payment is never refused');
  const byNumber = new Map(plan.updates.map((u) => [u.number, u]));
  book.installments = book.installments.map((i) => {
    const u = byNumber.get(i.number);
    return u ? { ...i, scheduled: { ...i.scheduled, interest: u.interest }, paid: { ...u.paid } } : i;
  });
  book.splits.set(p.id, { split: { ...plan.split }, excessMinor: plan.excessMinor });
  if (plan.split.principal > 0n)
    book.principalPaid.push({ date: p.valueDate, amountMinor: plan.split.principal });
  if (plan.paysOff) {
    book.paidOffOn = p.valueDate;
    book.waivedInterestMinor = plan.waivedInterestMinor;
  }
}

/** The close of `date`: late fees owed as of the next day on every installment unpaid by its end. */
function closeDay(book: Book, input: ReplayInput, date: string): void {
  if (book.paidOffOn !== null) return;
  const asOf = standingDateAfterClose(date);
  book.installments = book.installments.map((i) => {
    const status = sumComponents(i.paid) === sumComponents(i.scheduled) ? 'paid' : 'due';
    const feeMinor = lateFeeDueMinor(
      input.product,
      {
        number: i.number,
        dueDate: i.dueDate,
        status,
        principalMinor: i.scheduled.principal,
        interestMinor: i.scheduled.interest,
        feeMinor: i.scheduled.fee,
        penaltyMinor: i.scheduled.penalty + (book.waived.get(i.number) ?? 0n),
        paidPrincipalMinor: i.paid.principal,
        paidInterestMinor: i.paid.interest,
        paidFeeMinor: i.paid.fee,
        paidPenaltyMinor: i.paid.penalty,
      },
      asOf,
    );
    return feeMinor === 0n
      ? i
      : { ...i, scheduled: { ...i.scheduled, penalty: i.scheduled.penalty + feeMinor } };
  });
}

/** A waiver lowers what is owed, never below what was paid; the rest of it has nothing left to waive. */
function applyWaiver(book: Book, w: ReplayPenaltyWaiver): void {
  book.installments = book.installments.map((i) => {
    if (i.number !== w.number) return i;
    const owed = i.scheduled.penalty - i.paid.penalty;
    const take = owed < w.amountMinor ? owed : w.amountMinor;
    book.waived.set(i.number, (book.waived.get(i.number) ?? 0n) + take);
    return { ...i, scheduled: { ...i.scheduled, penalty: i.scheduled.penalty - take } };
  });
}

export function replayLoan(input: ReplayInput): ReplayResult {
  const book = initialBook(input);
  // stable by value date: same-day payments keep the order they were received in
  const payments = [...input.payments].sort((a, b) =>
    a.valueDate < b.valueDate ? -1 : a.valueDate > b.valueDate ? 1 : 0,
  );
  const lastPayment = payments[payments.length - 1]?.valueDate ?? input.startDate;
  const closed = input.closedThrough ?? addDays(input.startDate, -1);
  const lastWaiver = input.penaltyWaivers.reduce((d, w) => (w.date > d ? w.date : d), input.startDate);
  const end = [lastPayment, closed, lastWaiver].reduce((a, b) => (a > b ? a : b));
  let next = 0;
  let day = input.startDate;
  for (let n = 0; day <= end; n += 1, day = addDays(day, 1)) {
    invariant(n <= MAX_REPLAY_DAYS, 'a replay spans at most MAX_REPLAY_DAYS');
    for (const w of input.penaltyWaivers) if (w.date === day) applyWaiver(book, w);
    while (next < payments.length && (payments[next] as ReplayPayment).valueDate === day) {
      applyPayment(book, input, payments[next] as ReplayPayment);
      next += 1;
    }
    if (day <= closed) closeDay(book, input, day);
  }
  invariant(next === payments.length, 'every payment is on or after the loan start');
  return book;
}

/**
 * Goods returned on an installment order: what the return does to the loan, pure.
 *
 * The merchant takes the goods back and owes fenqi their value (`returnedMinor`); that value first
 * cancels principal the customer still owes, cut from the last installment backwards (Fineract's
 * merchant-issued refund), with the interest and fee of each installment cut in proportion; what
 * is left over is principal the customer paid for goods they no longer have, and goes back to
 * them (refund to card or credit balance).
 *   - A full return (the whole order) cancels the loan: everything still owed is cancelled
 *     (penalties included) and the customer gets back every fen of principal, interest and fee
 *     paid; penalties already paid stay paid (they were for paying late, not for the goods).
 *   - A partial return that leaves no principal owed closes the loan the same way, except that
 *     only principal is refunded.
 * Interest cancelled or refunded comes out of unearned interest while it was not yet earned (its
 * installment not yet closed), out of interest income once it was.
 */
import { type Components, type InstallmentState, sumComponents, ZERO_COMPONENTS } from './allocation.ts';
import { daysBetween } from './dates.ts';
import { invariant } from './errors.ts';
import { divRound } from './money.ts';

/** A merchant without its own return window accepts returns this many days after the sale. */
export const DEFAULT_RETURN_WINDOW_DAYS = 30;
/** No return window beyond a year: after that it is a trade-in, not a return. */
export const MAX_RETURN_WINDOW_DAYS = 365;

export interface ReturnFacts {
  /** The order's price (the goods' value); equals the amount financed on a zero-down order. */
  readonly priceMinor: bigint;
  /** Value already returned by earlier partial returns. */
  readonly alreadyReturnedMinor: bigint;
  /** Value returned now; the rest of the order when the caller says "everything". */
  readonly returnedMinor: bigint;
  readonly installments: readonly InstallmentState[];
  /** Installments due on or before this date have earned their interest (the last closed date). */
  readonly accruedThrough: string | null;
}

export interface InstallmentCut {
  readonly number: number;
  /** The installment's new scheduled amounts (paid amounts are unchanged). */
  readonly scheduled: Components;
}

export interface ReturnPlan {
  readonly kind: 'full' | 'partial';
  /** No principal is owed any more: the loan is cancelled (full) or paid off (partial). */
  readonly closesLoan: boolean;
  readonly returnedMinor: bigint;
  /** Receivables the return removes, per component. */
  readonly cancelled: Components;
  /** What the customer gets back, per component (penalty always 0). */
  readonly refund: Components;
  readonly refundMinor: bigint;
  /** Interest cancelled or refunded that was not yet earned / already income. */
  readonly interestUnearnedMinor: bigint;
  readonly interestEarnedMinor: bigint;
  readonly cuts: readonly InstallmentCut[];
}

export type ReturnRefusal = 'RETURN_EXCEEDS_ORDER' | 'RETURN_WINDOW_CLOSED' | 'INVALID_RETURN_AMOUNT';

/** Whether a return on `date` of an order sold on `saleDate` is within the merchant's window. */
export function returnWindowOpen(saleDate: string, date: string, windowDays: number): boolean {
  invariant(Number.isInteger(windowDays) && windowDays >= 0, 'a return window is whole days');
  return daysBetween(saleDate, date) <= windowDays;
}

const isAccrued = (i: InstallmentState, accruedThrough: string | null) =>
  accruedThrough !== null && i.dueDate <= accruedThrough;

const outstanding = (i: InstallmentState): Components => ({
  principal: i.scheduled.principal - i.paid.principal,
  interest: i.scheduled.interest - i.paid.interest,
  fee: i.scheduled.fee - i.paid.fee,
  penalty: i.scheduled.penalty - i.paid.penalty,
});

/** One installment cut by `cutMinor` of principal (interest and fee in proportion, half-up). */
function cutInstallment(i: InstallmentState, cutMinor: bigint, closes: boolean): Components {
  const out = outstanding(i);
  if (closes || cutMinor === out.principal) return { ...out, penalty: closes ? out.penalty : 0n };
  return {
    principal: cutMinor,
    interest: divRound(out.interest * cutMinor, out.principal, 'half-up'),
    fee: divRound(out.fee * cutMinor, out.principal, 'half-up'),
    penalty: 0n,
  };
}

export function planReturn(f: ReturnFacts): ReturnPlan | { refused: ReturnRefusal } {
  if (f.returnedMinor <= 0n) return { refused: 'INVALID_RETURN_AMOUNT' };
  if (f.alreadyReturnedMinor + f.returnedMinor > f.priceMinor) return { refused: 'RETURN_EXCEEDS_ORDER' };
  const kind = f.alreadyReturnedMinor === 0n && f.returnedMinor === f.priceMinor ? 'full' : 'partial';
  const owedPrincipal = f.installments.reduce((s, i) => s + outstanding(i).principal, 0n);
  const closes = f.returnedMinor >= owedPrincipal;
  const cancelled: Components = { ...ZERO_COMPONENTS };
  const refund: Components = { ...ZERO_COMPONENTS };
  let interestUnearnedMinor = 0n;
  let interestEarnedMinor = 0n;
  const cuts: InstallmentCut[] = [];
  let left = f.returnedMinor;
  for (const i of [...f.installments].sort((a, b) => b.number - a.number)) {
    const owed = outstanding(i).principal;
    const cutMinor = owed < left ? owed : left;
    left -= cutMinor;
    const cut = cutMinor > 0n || closes ? cutInstallment(i, cutMinor, closes) : { ...ZERO_COMPONENTS };
    const back = kind === 'full' ? { ...i.paid, principal: 0n, penalty: 0n } : { ...ZERO_COMPONENTS };
    for (const k of ['principal', 'interest', 'fee', 'penalty'] as const) {
      cancelled[k] += cut[k];
      refund[k] += back[k];
    }
    if (isAccrued(i, f.accruedThrough)) interestEarnedMinor += cut.interest + back.interest;
    else interestUnearnedMinor += cut.interest + back.interest;
    if (sumComponents(cut) + sumComponents(back) === 0n) continue;
    cuts.push({
      number: i.number,
      scheduled: {
        principal: i.scheduled.principal - cut.principal,
        interest: i.scheduled.interest - cut.interest,
        fee: i.scheduled.fee - cut.fee,
        penalty: i.scheduled.penalty - cut.penalty,
      },
    });
  }
  // what the returned value did not cancel is principal the customer paid for goods given back
  refund.principal = left;
  invariant(
    cancelled.principal + refund.principal === f.returnedMinor,
    'the returned value is cancelled or refunded',
  );
  return {
    kind,
    closesLoan: closes,
    returnedMinor: f.returnedMinor,
    cancelled,
    refund,
    refundMinor: sumComponents(refund),
    interestUnearnedMinor,
    interestEarnedMinor,
    cuts: cuts.sort((a, b) => a.number - b.number),
  };
}

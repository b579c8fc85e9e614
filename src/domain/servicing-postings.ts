/**
 * Ledger postings of loan servicing (corrections, reversals, returns, charges): pure, balanced,
 * built from the same chart of accounts as postings.ts.
 */
import type { Components } from './allocation.ts';
import { invariant } from './errors.ts';
import {
  ACCOUNTS,
  type AccountCode,
  balanced,
  type Posting,
  type PostingLine,
  type PostingRef,
} from './postings.ts';

const RECEIVABLE_OF: Readonly<Record<keyof Components, AccountCode>> = {
  principal: ACCOUNTS.receivablePrincipal,
  interest: ACCOUNTS.receivableInterest,
  fee: ACCOUNTS.receivableFees,
  penalty: ACCOUNTS.receivablePenalties,
};

/** A line crediting (positive) or debiting (negative) an account; none for zero. */
function signedCredit(ref: PostingRef, account: AccountCode, amountMinor: bigint): PostingLine[] {
  if (amountMinor === 0n) return [];
  return [
    {
      ...ref,
      account,
      debitMinor: amountMinor < 0n ? -amountMinor : 0n,
      creditMinor: amountMinor > 0n ? amountMinor : 0n,
    },
  ];
}

/** The exact undoing of a posting: every line on the other side. */
export function reversalOf(posting: Posting, kind = `${posting.kind}_reversal`): Posting {
  return balanced(
    kind,
    posting.lines.map((l) => ({ ...l, debitMinor: l.creditMinor, creditMinor: l.debitMinor })),
  );
}

/** Nets lines per account (debit-positive) into one balanced posting; null when nothing is left. */
export function netted(kind: string, ref: PostingRef, lines: readonly PostingLine[]): Posting | null {
  const byAccount = new Map<AccountCode, bigint>();
  for (const l of lines)
    byAccount.set(l.account, (byAccount.get(l.account) ?? 0n) + l.debitMinor - l.creditMinor);
  const out = [...byAccount].flatMap(([account, net]) => signedCredit(ref, account, -net));
  return out.length === 0 ? null : balanced(kind, out);
}

export interface SplitChange {
  readonly before: Components;
  readonly beforeExcessMinor: bigint;
  readonly after: Components;
  readonly afterExcessMinor: bigint;
}

/**
 * A payment allocated again: the cash stays where it is; what it paid moves between the receivable
 * components and the customer's credit balance. Null when nothing moved.
 */
export function reallocationPostings(ref: PostingRef, c: SplitChange): Posting | null {
  const lines: PostingLine[] = [];
  let delta = 0n;
  for (const k of ['principal', 'interest', 'fee', 'penalty'] as const) {
    const d = c.after[k] - c.before[k];
    delta += d;
    lines.push(...signedCredit(ref, RECEIVABLE_OF[k], d));
  }
  const dx = c.afterExcessMinor - c.beforeExcessMinor;
  delta += dx;
  lines.push(...signedCredit(ref, ACCOUNTS.customerCreditBalances, dx));
  invariant(delta === 0n, 'a reallocation moves the same amount it takes');
  return lines.length === 0 ? null : balanced('repayment_reallocation', lines);
}

/** Penalties charged again on replay: more is receivable income, less is income given back. */
export function penaltyAdjustmentPostings(ref: PostingRef, deltaMinor: bigint): Posting | null {
  if (deltaMinor === 0n) return null;
  return balanced('late_fee_adjustment', [
    ...signedCredit(ref, ACCOUNTS.receivablePenalties, -deltaMinor),
    ...signedCredit(ref, ACCOUNTS.penaltyIncome, deltaMinor),
  ]);
}

/**
 * Interest a recalculation took off a loan's installments (positive) or put back (negative, a
 * reversed early payment): the receivable leaves against unearned interest for installments not
 * yet earned and against interest income for those close of business already earned.
 */
export function interestRecalculationPostings(
  ref: PostingRef,
  p: { unearnedMinor: bigint; earnedMinor: bigint },
): Posting | null {
  if (p.unearnedMinor === 0n && p.earnedMinor === 0n) return null;
  return balanced('interest_recalculation', [
    ...signedCredit(ref, ACCOUNTS.receivableInterest, p.unearnedMinor + p.earnedMinor),
    ...signedCredit(ref, ACCOUNTS.unearnedInterest, -p.unearnedMinor),
    ...signedCredit(ref, ACCOUNTS.interestIncome, -p.earnedMinor),
  ]);
}

/**
 * A reschedule replaced interest not yet earned by the new schedule's: more interest is receivable
 * and unearned (delta positive), or less (negative).
 */
export function rescheduleInterestPostings(ref: PostingRef, deltaMinor: bigint): Posting | null {
  if (deltaMinor === 0n) return null;
  return balanced('interest_reschedule', [
    ...signedCredit(ref, ACCOUNTS.receivableInterest, -deltaMinor),
    ...signedCredit(ref, ACCOUNTS.unearnedInterest, deltaMinor),
  ]);
}

/** Where a refund goes: back to the customer's card (cash out) or kept as their credit balance. */
export type RefundTo = 'card' | 'credit_balance';

/**
 * Goods returned (domain/returns.ts): the merchant owes back the value returned (the payable to
 * merchants goes into debit); the receivables it cancels leave the books, with the interest, fee
 * and penalty income they had made taken back; what the customer paid for goods given back is
 * refunded.
 */
export function goodsReturnPostings(
  ref: PostingRef,
  p: {
    returnedMinor: bigint;
    cancelled: Components;
    refund: Components;
    interestUnearnedMinor: bigint;
    interestEarnedMinor: bigint;
  },
  refundTo: RefundTo,
): Posting {
  const refundMinor = p.refund.principal + p.refund.interest + p.refund.fee + p.refund.penalty;
  invariant(p.refund.penalty === 0n, 'paid penalties are never refunded by a return');
  const lines: PostingLine[] = [
    ...signedCredit(ref, ACCOUNTS.payableToMerchants, -p.returnedMinor),
    ...signedCredit(ref, ACCOUNTS.unearnedInterest, -p.interestUnearnedMinor),
    ...signedCredit(ref, ACCOUNTS.interestIncome, -p.interestEarnedMinor),
    ...signedCredit(ref, ACCOUNTS.feeIncome, -(p.cancelled.fee + p.refund.fee)),
    ...signedCredit(ref, ACCOUNTS.penaltyIncome, -p.cancelled.penalty),
    ...signedCredit(ref, RECEIVABLE_OF.principal, p.cancelled.principal),
    ...signedCredit(ref, RECEIVABLE_OF.interest, p.cancelled.interest),
    ...signedCredit(ref, RECEIVABLE_OF.fee, p.cancelled.fee),
    ...signedCredit(ref, RECEIVABLE_OF.penalty, p.cancelled.penalty),
    ...signedCredit(ref, refundTo === 'card' ? ACCOUNTS.cash : ACCOUNTS.customerCreditBalances, refundMinor),
  ];
  return balanced('goods_return', lines);
}

/** A fee charged by staff (a returned-payment fee, say): receivable and earned at once. */
export function chargePostings(ref: PostingRef, feeMinor: bigint): Posting {
  return balanced('charge', [
    ...signedCredit(ref, RECEIVABLE_OF.fee, -feeMinor),
    ...signedCredit(ref, ACCOUNTS.feeIncome, feeMinor),
  ]);
}

/**
 * A waiver: the receivable leaves the books against the income it made (fees, penalties, interest
 * already earned) or against unearned interest (interest of an installment not yet closed).
 */
export function waiverPostings(
  ref: PostingRef,
  w: { component: 'fee' | 'interest' | 'penalty'; amountMinor: bigint; interestEarned: boolean },
): Posting {
  const against =
    w.component === 'fee'
      ? ACCOUNTS.feeIncome
      : w.component === 'penalty'
        ? ACCOUNTS.penaltyIncome
        : w.interestEarned
          ? ACCOUNTS.interestIncome
          : ACCOUNTS.unearnedInterest;
  return balanced('waiver', [
    ...signedCredit(ref, against, -w.amountMinor),
    ...signedCredit(ref, RECEIVABLE_OF[w.component], w.amountMinor),
  ]);
}

/** The customer's credit balance paid out to their card. */
export function creditBalanceRefundPostings(ref: PostingRef, amountMinor: bigint): Posting {
  return balanced('credit_balance_refund', [
    ...signedCredit(ref, ACCOUNTS.customerCreditBalances, -amountMinor),
    ...signedCredit(ref, ACCOUNTS.cash, amountMinor),
  ]);
}

/**
 * A goods order's down payment, taken from the customer at checkout: it is owed on to the
 * merchant, who is then paid the whole price (the financed part and this).
 */
export function downPaymentPostings(ref: PostingRef, amountMinor: bigint): Posting {
  return balanced('down_payment', [
    ...signedCredit(ref, ACCOUNTS.cash, -amountMinor),
    ...signedCredit(ref, ACCOUNTS.payableToMerchants, amountMinor),
  ]);
}

/**
 * Which ledger lines each money event produces. Pure: the store writes what these return. Every
 * posting is checked here (debits = credits, one side per line, at least two lines) before the
 * database trigger checks it again at commit.
 */
import { invariant } from './errors.ts';
import type { Schedule } from './schedule.ts';

/** The chart of accounts (migrations 0040, 0041 and 0150). */
export const ACCOUNTS = {
  cash: '1000',
  receivablePrincipal: '1100',
  receivableInterest: '1110',
  receivableFees: '1120',
  receivablePenalties: '1130',
  disbursementsInTransit: '1200',
  merchantPayoutsInTransit: '1210',
  payableToMerchants: '2100',
  customerCreditBalances: '2200',
  unearnedInterest: '2300',
  equity: '3000',
  interestIncome: '4100',
  feeIncome: '4200',
  penaltyIncome: '4300',
  merchantDiscountIncome: '4400',
  creditLosses: '5100',
} as const;
export type AccountCode = (typeof ACCOUNTS)[keyof typeof ACCOUNTS];

/** The receivable accounts that make up a loan's sub-ledger. */
export const RECEIVABLE_ACCOUNTS: readonly AccountCode[] = [
  ACCOUNTS.receivablePrincipal,
  ACCOUNTS.receivableInterest,
  ACCOUNTS.receivableFees,
  ACCOUNTS.receivablePenalties,
];

/** Whose money a line is about; receivable lines always name their loan. */
export interface PostingRef {
  readonly customerId: bigint | null;
  readonly loanId: bigint | null;
}

export interface PostingLine extends PostingRef {
  readonly account: AccountCode;
  readonly debitMinor: bigint;
  readonly creditMinor: bigint;
}

export interface Posting {
  readonly kind: string;
  readonly lines: readonly PostingLine[];
}

function side(ref: PostingRef, account: AccountCode, amountMinor: bigint, debit: boolean): PostingLine[] {
  invariant(amountMinor >= 0n, `a ${debit ? 'debit' : 'credit'} to ${account} is not negative`);
  if (amountMinor === 0n) return [];
  return [{ ...ref, account, debitMinor: debit ? amountMinor : 0n, creditMinor: debit ? 0n : amountMinor }];
}
const dr = (ref: PostingRef, account: AccountCode, amountMinor: bigint) =>
  side(ref, account, amountMinor, true);
const cr = (ref: PostingRef, account: AccountCode, amountMinor: bigint) =>
  side(ref, account, amountMinor, false);
/** A signed amount: positive credits the account, negative debits it. */
const signedCredit = (ref: PostingRef, account: AccountCode, amountMinor: bigint) =>
  amountMinor >= 0n ? cr(ref, account, amountMinor) : dr(ref, account, -amountMinor);

export function totals(lines: readonly PostingLine[]): { debitMinor: bigint; creditMinor: bigint } {
  let debitMinor = 0n;
  let creditMinor = 0n;
  for (const line of lines) {
    debitMinor += line.debitMinor;
    creditMinor += line.creditMinor;
  }
  return { debitMinor, creditMinor };
}

/** A posting, refused unless it balances: every constructor below ends here. */
export function balanced(kind: string, lines: readonly PostingLine[]): Posting {
  const t = totals(lines);
  invariant(lines.length >= 2, `a ${kind} posting has at least two lines`);
  invariant(
    t.debitMinor === t.creditMinor,
    `a ${kind} posting balances (${t.debitMinor} vs ${t.creditMinor})`,
  );
  for (const line of lines) {
    invariant(
      line.debitMinor >= 0n &&
        line.creditMinor >= 0n &&
        (line.debitMinor === 0n) !== (line.creditMinor === 0n),
      `each line of a ${kind} posting has exactly one positive side`,
    );
  }
  return { kind, lines };
}

export interface LoanBooking {
  /** Principal the customer repays (the installments' principal parts). */
  readonly amountFinancedMinor: bigint;
  /** Owed to the merchant (goods) or sent to the customer's card (cash). */
  readonly disbursedMinor: bigint;
  /** Upfront fee (deducted or financed), earned when the loan is made. */
  readonly upfrontFeeMinor: bigint;
  /** Every installment's interest: receivable now, earned as it accrues. */
  readonly totalInterestMinor: bigint;
  /** Every installment's fee: receivable and earned when the loan is made. */
  readonly totalInstallmentFeesMinor: bigint;
  /** Goods are owed to the merchant; cash is in transit until the gateway confirms. */
  readonly counterpart: 'merchant' | 'transit';
}

/** What booking a loan moves, from its schedule. */
export function bookingOf(s: Schedule, counterpart: LoanBooking['counterpart']): LoanBooking {
  return {
    amountFinancedMinor: s.amountFinancedMinor,
    disbursedMinor: s.disbursedMinor,
    upfrontFeeMinor: s.upfrontFeeMinor,
    totalInterestMinor: s.totalInterestMinor,
    totalInstallmentFeesMinor: s.totalFeesMinor - s.upfrontFeeMinor,
    counterpart,
  };
}

/**
 * A new loan: the whole schedule becomes receivable, so the loan's sub-ledger equals what its
 * installments say is owed from the first moment. Interest is held as unearned until accrued.
 */
export function loanBookingPostings(ref: PostingRef, b: LoanBooking): Posting {
  invariant(
    b.amountFinancedMinor === b.disbursedMinor + b.upfrontFeeMinor,
    'the amount financed is what is paid out plus the upfront fee',
  );
  const counterpart =
    b.counterpart === 'merchant' ? ACCOUNTS.payableToMerchants : ACCOUNTS.disbursementsInTransit;
  return balanced(b.counterpart === 'merchant' ? 'goods_loan' : 'cash_loan', [
    ...dr(ref, ACCOUNTS.receivablePrincipal, b.amountFinancedMinor),
    ...dr(ref, ACCOUNTS.receivableInterest, b.totalInterestMinor),
    ...dr(ref, ACCOUNTS.receivableFees, b.totalInstallmentFeesMinor),
    ...cr(ref, counterpart, b.disbursedMinor),
    ...cr(ref, ACCOUNTS.unearnedInterest, b.totalInterestMinor),
    ...cr(ref, ACCOUNTS.feeIncome, b.upfrontFeeMinor + b.totalInstallmentFeesMinor),
  ]);
}

/** The merchant is paid what the order made payable to them. */
export function merchantSettlementPostings(ref: PostingRef, amountMinor: bigint): Posting {
  return balanced('merchant_settlement', [
    ...dr(ref, ACCOUNTS.payableToMerchants, amountMinor),
    ...cr(ref, ACCOUNTS.cash, amountMinor),
  ]);
}

/** The gateway confirmed the money reached the customer's card. */
export function disbursementSettledPostings(ref: PostingRef, amountMinor: bigint): Posting {
  return balanced('disbursement', [
    ...dr(ref, ACCOUNTS.disbursementsInTransit, amountMinor),
    ...cr(ref, ACCOUNTS.cash, amountMinor),
  ]);
}

export interface RepaymentSplit {
  readonly principalMinor: bigint;
  readonly interestMinor: bigint;
  readonly feeMinor: bigint;
  readonly penaltyMinor: bigint;
  /** Paid beyond everything owed and kept as the customer's credit balance. */
  readonly excessMinor: bigint;
}

export function repaymentPostings(ref: PostingRef, s: RepaymentSplit): Posting {
  const total = s.principalMinor + s.interestMinor + s.feeMinor + s.penaltyMinor + s.excessMinor;
  return balanced('repayment', [
    ...dr(ref, ACCOUNTS.cash, total),
    ...cr(ref, ACCOUNTS.receivablePrincipal, s.principalMinor),
    ...cr(ref, ACCOUNTS.receivableInterest, s.interestMinor),
    ...cr(ref, ACCOUNTS.receivableFees, s.feeMinor),
    ...cr(ref, ACCOUNTS.receivablePenalties, s.penaltyMinor),
    ...cr(ref, ACCOUNTS.customerCreditBalances, s.excessMinor),
  ]);
}

/**
 * When a loan closes: scheduled interest forgiven by an early payoff leaves the receivable, and
 * whatever is still unearned becomes income (or, if accruals ran ahead of the waiver, income is
 * given back), so the loan's unearned interest ends at zero.
 */
export function loanClosingInterestPostings(
  ref: PostingRef,
  c: { waivedInterestMinor: bigint; unearnedInterestMinor: bigint },
): Posting | null {
  if (c.waivedInterestMinor === 0n && c.unearnedInterestMinor === 0n) return null;
  return balanced('interest_closing', [
    ...dr(ref, ACCOUNTS.unearnedInterest, c.unearnedInterestMinor),
    ...cr(ref, ACCOUNTS.receivableInterest, c.waivedInterestMinor),
    ...signedCredit(ref, ACCOUNTS.interestIncome, c.unearnedInterestMinor - c.waivedInterestMinor),
  ]);
}

/** Close of business: interest earned since the last accrual moves from unearned to income. */
export function accrualPostings(ref: PostingRef, amountMinor: bigint): Posting {
  return balanced('accrual', [
    ...dr(ref, ACCOUNTS.unearnedInterest, amountMinor),
    ...cr(ref, ACCOUNTS.interestIncome, amountMinor),
  ]);
}

/** Close of business: a late fee charged on an overdue installment (add it to penalty_minor too). */
export function lateFeePostings(ref: PostingRef, amountMinor: bigint): Posting {
  return balanced('late_fee', [
    ...dr(ref, ACCOUNTS.receivablePenalties, amountMinor),
    ...cr(ref, ACCOUNTS.penaltyIncome, amountMinor),
  ]);
}

export interface WriteOff {
  /** Outstanding receivables of the loan being written off, per component. */
  readonly principalMinor: bigint;
  readonly interestMinor: bigint;
  readonly feeMinor: bigint;
  readonly penaltyMinor: bigint;
  /** The loan's unearned interest: never income, so it is released rather than lost. */
  readonly unearnedInterestMinor: bigint;
}

/**
 * Close of business: a loan is written off. Its receivables leave the books; unearned interest is
 * released against them and the rest is a credit loss (if prepaid interest leaves unearned above
 * the receivable, the difference is income).
 */
export function writeOffPostings(ref: PostingRef, w: WriteOff): Posting {
  const receivable = w.principalMinor + w.interestMinor + w.feeMinor + w.penaltyMinor;
  const lossMinor = receivable - w.unearnedInterestMinor;
  return balanced('write_off', [
    ...dr(ref, ACCOUNTS.unearnedInterest, w.unearnedInterestMinor),
    ...(lossMinor >= 0n
      ? dr(ref, ACCOUNTS.creditLosses, lossMinor)
      : cr(ref, ACCOUNTS.interestIncome, -lossMinor)),
    ...cr(ref, ACCOUNTS.receivablePrincipal, w.principalMinor),
    ...cr(ref, ACCOUNTS.receivableInterest, w.interestMinor),
    ...cr(ref, ACCOUNTS.receivableFees, w.feeMinor),
    ...cr(ref, ACCOUNTS.receivablePenalties, w.penaltyMinor),
  ]);
}

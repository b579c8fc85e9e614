/**
 * Merchant settlement, the money rules (pure): what a line of a settlement is worth to the merchant
 * (price less the merchant discount, or a return's value given back less the discount given back),
 * what a settlement adds up to and what becomes of it, and the ledger lines of building and paying
 * one. The store (store/settlement.ts) and the batch (settlement/run.ts) do the I/O.
 */
import { invariant } from './errors.ts';
import { divRound } from './money.ts';
import { ACCOUNTS, balanced, type Posting, type PostingLine, type PostingRef } from './postings.ts';

/**
 * Settlement money belongs to no customer: its journal lines and its tables carry this customer id,
 * so under Citus they live on one shard (the platform's) instead of on no shard at all.
 */
export const PLATFORM_CUSTOMER_ID = 0n;
/** The discount of a merchant that has none agreed (PUT /v1/merchants/{id}/settlement-terms). */
export const DEFAULT_MERCHANT_DISCOUNT_BP = 0;
export const MAX_MERCHANT_DISCOUNT_BP = 10_000;
const BP_PER_WHOLE = 10_000n;
/** Settlements are paid the business day after the sales they settle (T+1). */
export const SETTLEMENT_LAG_DAYS = 1;
/** Payout attempts per settlement in one run; a settlement still failed is tried again next run. */
export const SETTLEMENT_PAYOUT_ATTEMPTS_PER_RUN = 3;

export type SettlementLineKind = 'order' | 'return' | 'carry';
export type SettlementStatus = 'pending' | 'paying' | 'paid' | 'failed' | 'carried' | 'empty';

export interface LineAmounts {
  readonly grossMinor: bigint;
  readonly discountMinor: bigint;
  readonly netMinor: bigint;
}

export function checkDiscountBp(bp: number): number {
  invariant(Number.isInteger(bp) && bp >= 0 && bp <= MAX_MERCHANT_DISCOUNT_BP, 'a discount is 0..10000 bp');
  return bp;
}

/**
 * A line's amounts: the discount is the rate on the gross, half-up to the fen (away from zero, so a
 * full return gives back exactly the discount its order took).
 */
export function lineAmounts(grossMinor: bigint, discountBp: number): LineAmounts {
  checkDiscountBp(discountBp);
  const magnitude = divRound(
    (grossMinor < 0n ? -grossMinor : grossMinor) * BigInt(discountBp),
    BP_PER_WHOLE,
    'half-up',
  );
  const discountMinor = grossMinor < 0n ? -magnitude : magnitude;
  return { grossMinor, discountMinor, netMinor: grossMinor - discountMinor };
}

/** An order financed: the merchant is owed its price (down payment included) less the discount. */
export const orderLine = (priceMinor: bigint, discountBp: number): LineAmounts => {
  invariant(priceMinor > 0n, 'an order line has a positive price');
  return lineAmounts(priceMinor, discountBp);
};

/** Goods returned: the merchant gives back the value returned, less the discount it had given. */
export const returnLine = (returnedMinor: bigint, discountBp: number): LineAmounts => {
  invariant(returnedMinor > 0n, 'a return line has a positive value returned');
  return lineAmounts(-returnedMinor, discountBp);
};

export function sumLines(lines: readonly LineAmounts[]): LineAmounts {
  let grossMinor = 0n;
  let discountMinor = 0n;
  for (const l of lines) {
    invariant(l.netMinor === l.grossMinor - l.discountMinor, 'a line nets gross less discount');
    grossMinor += l.grossMinor;
    discountMinor += l.discountMinor;
  }
  return { grossMinor, discountMinor, netMinor: grossMinor - discountMinor };
}

/**
 * What a built settlement is: paid when the merchant is owed something; carried into the merchant's
 * next settlement when returns exceed sales (the merchant owes; nothing is paid, nothing posted);
 * empty when it nets to nothing.
 */
export function statusOfNet(netMinor: bigint): 'pending' | 'carried' | 'empty' {
  if (netMinor > 0n) return 'pending';
  return netMinor < 0n ? 'carried' : 'empty';
}

const signed = (ref: PostingRef, account: PostingLine['account'], debitMinor: bigint): PostingLine[] => {
  if (debitMinor === 0n) return [];
  return [
    {
      ...ref,
      account,
      debitMinor: debitMinor > 0n ? debitMinor : 0n,
      creditMinor: debitMinor < 0n ? -debitMinor : 0n,
    },
  ];
};

const PLATFORM_REF: PostingRef = { customerId: PLATFORM_CUSTOMER_ID, loanId: null };

/**
 * Building a settlement to pay: what the period made payable to the merchant (2100, sales less
 * returns) leaves the payable; the discount is the platform's income (4400); the net is owed out
 * through the payout rail (1210 in transit, credited until the rail confirms). Null when it moves
 * nothing. Carried (negative) settlements are never posted: their lines reach the ledger inside the
 * settlement that carries them, and until then 2100 shows what the merchant owes back.
 */
export function settlementPostings(t: LineAmounts): Posting | null {
  invariant(t.netMinor === t.grossMinor - t.discountMinor, 'a settlement nets gross less discount');
  invariant(t.netMinor >= 0n, 'only a settlement owed to the merchant is posted');
  if (t.grossMinor === 0n && t.discountMinor === 0n) return null;
  return balanced('merchant_settlement', [
    ...signed(PLATFORM_REF, ACCOUNTS.payableToMerchants, t.grossMinor),
    ...signed(PLATFORM_REF, ACCOUNTS.merchantDiscountIncome, -t.discountMinor),
    ...signed(PLATFORM_REF, ACCOUNTS.merchantPayoutsInTransit, -t.netMinor),
  ]);
}

/** The rail confirmed the payout: the cash left the bank. */
export function payoutPostings(netMinor: bigint): Posting {
  invariant(netMinor > 0n, 'a payout is positive');
  return balanced('merchant_payout', [
    ...signed(PLATFORM_REF, ACCOUNTS.merchantPayoutsInTransit, netMinor),
    ...signed(PLATFORM_REF, ACCOUNTS.cash, -netMinor),
  ]);
}

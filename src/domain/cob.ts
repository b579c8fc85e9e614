/**
 * What close of business decides for a batch of loans on a date, as pure plans: the late fees to
 * charge, the days past due and buckets that changed, the loans that reach write-off, the interest
 * earned, and what a write-off moves. The store reads the facts and applies the plans
 * (store/cob.ts); cob/run.ts runs the steps in order.
 */

import { isPaused } from './collections.ts';
import { parseDate } from './dates.ts';
import {
  type Bucket,
  bucketFor,
  DEFAULT_WRITE_OFF_DPD,
  daysPastDue,
  type InstallmentState,
  isOverdue,
  lateFeeDueMinor,
  MAX_WRITE_OFF_DPD,
  reachesWriteOff,
  standingDateAfterClose,
} from './delinquency.ts';
import { DomainError, invariant } from './errors.ts';
import {
  ACCOUNTS,
  accrualPostings,
  lateFeePostings,
  type Posting,
  type PostingRef,
  type WriteOff,
  writeOffPostings,
} from './postings.ts';
import type { LoanProduct } from './product.ts';

export const DEFAULT_COB_BATCH_SIZE = 2000;
export const MAX_COB_BATCH_SIZE = 50_000;

export interface CobSettings {
  date: string;
  batchSize: number;
  writeOffDpd: number;
}

/** The close's options as given, checked; a DomainError (INVALID_*) names what is wrong. */
export function cobSettings(options: {
  date: string;
  batchSize?: number;
  writeOffDpd?: number;
}): CobSettings {
  const date = parseDate(options.date);
  const batchSize = options.batchSize ?? DEFAULT_COB_BATCH_SIZE;
  const writeOffDpd = options.writeOffDpd ?? DEFAULT_WRITE_OFF_DPD;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > MAX_COB_BATCH_SIZE) {
    throw new DomainError('INVALID_TERMS', `batch size must be from 1 to ${MAX_COB_BATCH_SIZE}`);
  }
  if (!Number.isInteger(writeOffDpd) || writeOffDpd < 1 || writeOffDpd > MAX_WRITE_OFF_DPD) {
    throw new DomainError('INVALID_TERMS', `write-off days past due must be from 1 to ${MAX_WRITE_OFF_DPD}`);
  }
  return { date, batchSize, writeOffDpd };
}

/** A journal entry the close posts (its business date is the date closed). */
export interface PlannedEntry extends PostingRef {
  readonly eventKey: string;
  readonly customerId: bigint;
  readonly loanId: bigint;
  readonly posting: Posting;
}

export interface ProductRules {
  product: LoanProduct;
  writeOffDpd: number;
}

/** A loan as the close sees it: its standing before today, and its installments already past due. */
export interface CobLoan {
  /** Hardship pause: through this date the close charges no late fee and keeps the standing. */
  pausedThrough?: string | null;
  id: bigint;
  customerId: bigint;
  daysPastDue: number;
  bucket: Bucket;
  rules: ProductRules;
  pastDue: readonly InstallmentState[];
}

export interface LateFeeCharge {
  loanId: bigint;
  number: number;
  feeMinor: bigint;
  entry: PlannedEntry;
}

export interface DelinquencyPlan {
  fees: LateFeeCharge[];
  /** Loans whose days past due or bucket changed. */
  standings: { id: bigint; dpd: number; bucket: Bucket }[];
  /** Loans at their product's write-off threshold. */
  writeOffs: Set<bigint>;
}

/**
 * Late fees owed after closing `date`, new days past due and buckets, and who reaches write-off;
 * all counted as the loan stands when the next day opens (standingDateAfterClose).
 */
export function planDelinquency(date: string, loans: readonly CobLoan[]): DelinquencyPlan {
  const plan: DelinquencyPlan = { fees: [], standings: [], writeOffs: new Set() };
  const asOf = standingDateAfterClose(date);
  for (const loan of loans) {
    if (isPaused(loan.pausedThrough ?? null, date)) continue;
    const ref = { customerId: loan.customerId, loanId: loan.id };
    for (const installment of loan.pastDue) {
      const feeMinor = lateFeeDueMinor(loan.rules.product, installment, asOf);
      if (feeMinor === 0n) continue;
      const eventKey = `cob:${date}:latefee:${loan.id}:${installment.number}`;
      const entry = { eventKey, ...ref, posting: lateFeePostings(ref, feeMinor) };
      plan.fees.push({ loanId: loan.id, number: installment.number, feeMinor, entry });
    }
    invariant(
      loan.pastDue.every((i) => isOverdue(i, asOf)),
      'every fetched installment is past due',
    );
    const dpd = daysPastDue(loan.pastDue, asOf);
    const bucket = bucketFor(dpd, loan.rules.product.bucketMaxDpd);
    if (dpd !== loan.daysPastDue || bucket !== loan.bucket) plan.standings.push({ id: loan.id, dpd, bucket });
    if (reachesWriteOff(dpd, loan.rules.writeOffDpd)) plan.writeOffs.add(loan.id);
  }
  return plan;
}

/** What a loan's interest accounts say now, for the accrual. */
export interface InterestFacts {
  loanId: bigint;
  customerId: bigint;
  /** Scheduled interest of every installment due by the date (written-off ones excluded). */
  earnedMinor: bigint;
  /** Already in interest income for the loan. */
  incomeMinor: bigint;
  /** Still unearned for the loan. */
  unearnedMinor: bigint;
}

/**
 * Interest earned by the date and not yet in income, never more than the loan still holds as
 * unearned: a skipped day, a rerun, or interest a payoff recognised never books a fen twice.
 */
export function planAccruals(
  date: string,
  loans: readonly InterestFacts[],
): { entry: PlannedEntry; minor: bigint }[] {
  const plan: { entry: PlannedEntry; minor: bigint }[] = [];
  for (const f of loans) {
    let minor = f.earnedMinor - f.incomeMinor;
    if (minor > f.unearnedMinor) minor = f.unearnedMinor;
    if (minor <= 0n) continue;
    const ref = { customerId: f.customerId, loanId: f.loanId };
    plan.push({
      entry: { eventKey: `cob:${date}:accrual:${f.loanId}`, ...ref, posting: accrualPostings(ref, minor) },
      minor,
    });
  }
  return plan;
}

/** A loan to write off, with its ledger balances (debit-positive) by account. */
export interface WriteOffFacts {
  loanId: bigint;
  customerId: bigint;
  balanceMinor: (account: string) => bigint;
}

/**
 * What the ledger holds for each loan leaves it: receivables to credit losses, unearned interest
 * reversed, so its sub-ledger ends at zero. `lossMinor` is what the write-off costs.
 */
export function planWriteOffs(
  date: string,
  loans: readonly WriteOffFacts[],
): { entry: PlannedEntry; lossMinor: bigint }[] {
  const plan: { entry: PlannedEntry; lossMinor: bigint }[] = [];
  for (const loan of loans) {
    const w: WriteOff = {
      principalMinor: loan.balanceMinor(ACCOUNTS.receivablePrincipal),
      interestMinor: loan.balanceMinor(ACCOUNTS.receivableInterest),
      feeMinor: loan.balanceMinor(ACCOUNTS.receivableFees),
      penaltyMinor: loan.balanceMinor(ACCOUNTS.receivablePenalties),
      unearnedInterestMinor: -loan.balanceMinor(ACCOUNTS.unearnedInterest),
    };
    const receivableMinor = w.principalMinor + w.interestMinor + w.feeMinor + w.penaltyMinor;
    if (receivableMinor === 0n && w.unearnedInterestMinor === 0n) continue;
    const ref = { customerId: loan.customerId, loanId: loan.loanId };
    plan.push({
      entry: { eventKey: `cob:${date}:writeoff:${loan.loanId}`, ...ref, posting: writeOffPostings(ref, w) },
      lossMinor: receivableMinor - w.unearnedInterestMinor,
    });
  }
  return plan;
}

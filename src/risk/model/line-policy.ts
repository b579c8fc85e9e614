/**
 * The credit line: a multiple of stated monthly income set by the grade, multiplied down by any
 * degradation factor, capped by the policy's maximum for the grade and by the largest principal an active
 * product lends, and rounded down to a round figure. Pure bigint arithmetic on minor units.
 */
import { invariant } from '../../domain/errors.ts';
import type { Policy } from './policy.ts';
import type { Grade } from './scorecard.ts';

export const BASIS_POINTS = 10_000n;

export interface LineInput {
  grade: Grade;
  statedIncomeMinor: bigint;
  /** Product factors from degradation rules, each in basis points. */
  factorsBp: readonly number[];
  /** Largest principal an active product lends; null when no product says. */
  productCapMinor: bigint | null;
}

export interface LineResult {
  lineMinor: bigint;
  /** True when the line came out below the policy minimum (the application cannot be approved). */
  belowMinimum: boolean;
  cappedBy: 'income' | 'policy' | 'product';
}

/** The largest line the policy grants a grade: its own maximum where it has one, else the policy's. */
export function maxLineFor(policy: Policy['line'], grade: Grade): bigint {
  const own = policy.maxLineMinorByGrade?.[grade];
  return own === undefined ? BigInt(policy.maxLineMinor) : BigInt(own);
}

export function creditLine(policy: Policy['line'], input: LineInput): LineResult {
  invariant(input.statedIncomeMinor >= 0n, 'stated income is not negative');
  let line = (input.statedIncomeMinor * BigInt(policy.incomeMultipleBp[input.grade])) / BASIS_POINTS;
  for (const f of input.factorsBp) {
    invariant(Number.isInteger(f) && f >= 0 && f <= 10_000, 'a line factor is 0..10000 bp');
    line = (line * BigInt(f)) / BASIS_POINTS;
  }
  let cappedBy: LineResult['cappedBy'] = 'income';
  const max = maxLineFor(policy, input.grade);
  if (line > max) {
    line = max;
    cappedBy = 'policy';
  }
  if (input.productCapMinor !== null && line > input.productCapMinor) {
    line = input.productCapMinor;
    cappedBy = 'product';
  }
  const round = BigInt(policy.roundMinor);
  line -= line % round;
  return { lineMinor: line, belowMinimum: line < BigInt(policy.minLineMinor), cappedBy };
}

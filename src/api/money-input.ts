/**
 * The API's one way to read an amount: one schema (Money) for every amount field of every route —
 * loans, repayments, goods prices, credit limits, stated income, review lines — and one parser
 * (parseMoney) over the domain's parseAmount, so the same text means the same amount everywhere:
 *   - digits, optionally "." and up to MAX_DECIMALS fraction digits ("100.000000" is 100.00);
 *   - fraction digits beyond the currency's that are not zeros are refused (INVALID_AMOUNT);
 *   - each field has a named upper bound and its own stable code when above it.
 */
import { Type } from 'typebox';
import { CNY, formatAmount, MAX_DECIMALS, parseAmount } from '../domain/index.ts';
import type { ErrorCode } from './error-codes.ts';
import { refuse } from './errors.ts';

/** Integer digits a money string may have: far above any bound below, far below bigint. */
export const MONEY_MAX_INTEGER_DIGITS = 14;

export const Money = Type.String({
  pattern: `^\\d{1,${MONEY_MAX_INTEGER_DIGITS}}(\\.\\d{1,${MAX_DECIMALS}})?$`,
  maxLength: MONEY_MAX_INTEGER_DIGITS + 1 + MAX_DECIMALS,
  description: 'a decimal amount, e.g. "1200.00"',
});

export interface MoneyRule {
  /** Largest amount accepted, in minor units. */
  maxMinor: bigint;
  /** The refusal code when out of range (below the minimum or above maxMinor). */
  code: ErrorCode;
  /** What the amount is, for the message. */
  what: string;
  /** Whether 0 is acceptable (a limit may be 0; a payment may not). */
  allowZero?: boolean;
  decimals?: number;
}

export function parseMoney(text: string, rule: MoneyRule): bigint {
  const decimals = rule.decimals ?? CNY.decimals;
  // A malformed amount is the domain's DomainError INVALID_AMOUNT (422, with the text).
  const minor = parseAmount(text, decimals);
  const min = rule.allowZero ? 0n : 1n;
  if (minor < min || minor > rule.maxMinor) {
    throw refuse(
      rule.code,
      `${rule.what} must be ${rule.allowZero ? 'at least 0' : 'above 0'} and at most ${formatAmount(rule.maxMinor, decimals)}`,
      { value: text, max: formatAmount(rule.maxMinor, decimals) },
    );
  }
  return minor;
}

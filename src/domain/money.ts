/**
 * Money is a bigint count of minor units (fen for CNY, yen for JPY). A JS number never holds an
 * amount: floats cannot represent 0.1 and silently lose integers above 2^53.
 */
import { DomainError } from './errors.ts';

export type RoundingMode = 'half-up' | 'half-even';
export const ROUNDING_MODES: readonly RoundingMode[] = ['half-up', 'half-even'];

export interface Currency {
  readonly code: string;
  /** Digits after the decimal point: 2 for CNY, 0 for JPY. */
  readonly decimals: number;
}

export const MAX_DECIMALS = 6;

export const CNY: Currency = { code: 'CNY', decimals: 2 };

export function isRoundingMode(value: string): value is RoundingMode {
  return (ROUNDING_MODES as readonly string[]).includes(value);
}

export function checkDecimals(decimals: number): number {
  if (!Number.isInteger(decimals) || decimals < 0 || decimals > MAX_DECIMALS) {
    throw new DomainError('INVALID_AMOUNT', `decimals must be an integer from 0 to ${MAX_DECIMALS}`, {
      decimals: String(decimals),
    });
  }
  return decimals;
}

export function absBig(x: bigint): bigint {
  return x < 0n ? -x : x;
}

/**
 * num/den rounded to an integer. Half-up means half away from zero (the commercial rule, so a
 * refund rounds like a charge); half-even sends exact halves to the even neighbour (banker's).
 */
export function divRound(num: bigint, den: bigint, mode: RoundingMode): bigint {
  if (den === 0n) throw new RangeError('division by zero');
  if (den < 0n) {
    num = -num;
    den = -den;
  }
  const negative = num < 0n;
  const n = negative ? -num : num;
  let q = n / den;
  const twiceRemainder = (n % den) * 2n;
  if (twiceRemainder > den || (twiceRemainder === den && (mode === 'half-up' || q % 2n === 1n))) q += 1n;
  return negative ? -q : q;
}

/**
 * num/den rounded to a whole multiple of `unitMinor` (1 = to the minor unit; 100 with 0 decimals =
 * to hundreds of yen). The halfway point is half a unit, and half-even picks the even multiple.
 */
export function roundToUnit(num: bigint, den: bigint, unitMinor: bigint, mode: RoundingMode): bigint {
  if (unitMinor <= 0n) throw new RangeError('rounding unit must be positive');
  return divRound(num, den * unitMinor, mode) * unitMinor;
}

const DECIMAL_RE = /^(-)?(\d+)(?:\.(\d+))?$/;

/**
 * A decimal string ("12000.00", "12000", "-3.5") as minor units. More fractional digits than the
 * currency has are refused rather than rounded: a typed amount that cannot be paid is a mistake.
 */
export function parseAmount(text: string, decimals: number): bigint {
  checkDecimals(decimals);
  const m = DECIMAL_RE.exec(text.trim());
  if (!m) {
    throw new DomainError('INVALID_AMOUNT', `not a decimal amount: '${text}'`, { value: text });
  }
  const [, sign, whole = '0', fraction = ''] = m;
  if (fraction.length > decimals && /[1-9]/.test(fraction.slice(decimals))) {
    throw new DomainError('INVALID_AMOUNT', `'${text}' has more than ${decimals} decimal places`, {
      value: text,
    });
  }
  const digits = whole + fraction.slice(0, decimals).padEnd(decimals, '0');
  const minor = BigInt(digits);
  return sign ? -minor : minor;
}

/** Minor units as a decimal string with exactly `decimals` places: 1234n, 2 → "12.34". */
export function formatAmount(amountMinor: bigint, decimals: number): string {
  checkDecimals(decimals);
  const negative = amountMinor < 0n;
  const digits = absBig(amountMinor)
    .toString()
    .padStart(decimals + 1, '0');
  const whole = digits.slice(0, digits.length - decimals);
  const fraction = digits.slice(digits.length - decimals);
  return (negative ? '-' : '') + whole + (decimals > 0 ? '.' + fraction : '');
}

/** 10^decimals: the number of minor units in one major unit. */
export function minorPerMajor(decimals: number): bigint {
  return 10n ** BigInt(checkDecimals(decimals));
}

export function sumMinor(values: readonly bigint[]): bigint {
  let total = 0n;
  for (const v of values) total += v;
  return total;
}

/**
 * Rates are exact rationals (bigint numerator and denominator). 24% is 24/100, 0.05% a day is
 * 5/10000; nothing is ever approximated until a money amount is rounded once, on purpose.
 */
import { DomainError } from './errors.ts';

export interface Rational {
  readonly num: bigint;
  /** Always positive. */
  readonly den: bigint;
}

export type RatePer = 'year' | 'month';
export const RATE_PERS: readonly RatePer[] = ['year', 'month'];

/** A nominal interest rate as a fraction (0.24, not 24) and the period it is quoted for. */
export interface Rate {
  readonly fraction: Rational;
  readonly per: RatePer;
}

function gcd(a: bigint, b: bigint): bigint {
  a = a < 0n ? -a : a;
  b = b < 0n ? -b : b;
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
}

export function rational(num: bigint, den = 1n): Rational {
  if (den === 0n) throw new RangeError('zero denominator');
  if (den < 0n) {
    num = -num;
    den = -den;
  }
  const g = gcd(num, den);
  return g > 1n ? { num: num / g, den: den / g } : { num, den };
}

export const ZERO: Rational = { num: 0n, den: 1n };
export const ONE: Rational = { num: 1n, den: 1n };

export function add(a: Rational, b: Rational): Rational {
  return rational(a.num * b.den + b.num * a.den, a.den * b.den);
}

export function mul(a: Rational, b: Rational): Rational {
  return rational(a.num * b.num, a.den * b.den);
}

export function compare(a: Rational, b: Rational): number {
  const l = a.num * b.den;
  const r = b.num * a.den;
  return l < r ? -1 : l > r ? 1 : 0;
}

/** Basis points in one percent. */
export const BP_PER_PERCENT = 100;

/** Basis points as the shortest percentage string: 2400 → "24", 1850 → "18.5", 5 → "0.05". */
export function percentFromBp(bp: number): string {
  const whole = Math.trunc(bp / BP_PER_PERCENT);
  const fraction = String(bp % BP_PER_PERCENT)
    .padStart(2, '0')
    .replace(/0+$/, '');
  return fraction === '' ? String(whole) : `${whole}.${fraction}`;
}

/** A percentage with at most two decimals ("18.5") as basis points (1850); the caller checked its shape. */
export function bpFromPercent(text: string): number {
  const [whole = '0', fraction = ''] = text.split('.');
  return Number(whole) * BP_PER_PERCENT + Number(fraction.padEnd(2, '0'));
}

/** Basis points as a fraction: 2400 bp → 24/100. */
export function fromBp(bp: number): Rational {
  if (!Number.isSafeInteger(bp)) {
    throw new DomainError('INVALID_RATE', `basis points must be an integer, got ${bp}`, { bp: String(bp) });
  }
  return rational(BigInt(bp), 10000n);
}

const PERCENT_RE = /^(\d+)(?:\.(\d+))?$/;

/** A non-negative percentage written as a decimal string ("24", "1.5", "0.05") as an exact fraction. */
export function parsePercent(text: string): Rational {
  const m = PERCENT_RE.exec(text.trim());
  if (!m || (m[2] !== undefined && m[2].length > 12)) {
    throw new DomainError('INVALID_RATE', `not a percentage: '${text}'`, { value: text });
  }
  const whole = m[1] ?? '0';
  const fraction = m[2] ?? '';
  return rational(BigInt(whole + fraction), 100n * 10n ** BigInt(fraction.length));
}

/**
 * The nominal annual rate. A monthly rate is twelve times itself a year, the convention of
 * Chinese consumer lending (月利率 × 12), not compounded.
 */
export function annualFraction(rate: Rate): Rational {
  return rate.per === 'year' ? rate.fraction : mul(rate.fraction, rational(12n));
}

/** A fraction as a JS number: only for display and for the APR solver, never for money. */
export function toNumber(a: Rational): number {
  return ratioToNumber(a.num, a.den);
}

const NUMBER_SCALE = 10n ** 18n;

/** num/den as a number without reducing the fraction first (a gcd costs more than it saves here). */
export function ratioToNumber(num: bigint, den: bigint): number {
  return Number((num * NUMBER_SCALE) / den) / 1e18;
}

/** A fraction as a percentage string with `places` decimals, rounded half-up: 0.26824 → "26.82". */
export function formatPercent(a: Rational, places = 2): string {
  const scale = 10n ** BigInt(places);
  const n = a.num * 100n * scale;
  let q = n / a.den;
  if ((n % a.den) * 2n >= a.den) q += 1n;
  const digits = q.toString().padStart(places + 1, '0');
  return places > 0 ? `${digits.slice(0, -places)}.${digits.slice(-places)}` : digits;
}

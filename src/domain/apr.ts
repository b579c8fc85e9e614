/**
 * APR: the annual rate at which the whole cash flow of a credit (money out on the start date, down
 * payment, fees, every installment) has a net present value of zero, i.e. its internal rate of
 * return, compounded once a year: Σ flow_k · (1 + APR)^(−t_k) = 0 with t_k in years. This is the
 * "annual percentage rate of charge" of EU Directive 2008/48/EC Annex I; 24% a year paid monthly
 * discloses as 26.82%, because 1.02^12 = 1.2682.
 *
 * Amounts stay bigint; the solver only sees each flow as a ratio to the money lent (a number in
 * about [−1, 10]), which doubles hold to 1e−16 — far below the 0.01% the APR is shown with. The
 * sign of the APR is decided exactly from the bigint sum of the flows, so a zero-cost credit
 * discloses exactly 0, never 1e−17.
 */
import { DomainError } from './errors.ts';
import { formatPercent, type Rational, ratioToNumber, toNumber } from './rate.ts';

export interface CashFlow {
  /** From the lender's side: money lent is negative, money received positive. */
  readonly amountMinor: bigint;
  /** Time from the start date in years (≥ 0). */
  readonly years: number;
}

export interface Apr {
  /** The effective annual rate as a fraction (0.2682…). A rate, not money, so a number. */
  readonly fraction: number;
  /** Percentage with two decimals, as disclosed: "26.82". */
  readonly percent: string;
}

const SOLVER_TOLERANCE = 1e-15;
const MAX_LOG_RATE = 700;

export function aprOf(flows: readonly CashFlow[]): Apr {
  const fraction = solveApr(flows);
  return { fraction, percent: percentOf(fraction) };
}

export function percentOf(fraction: number): string {
  if (fraction === 0) return '0.00';
  return (fraction * 100).toFixed(2);
}

/** Effective annual IRR of `flows`; see the module comment for the convention. */
export function solveApr(flows: readonly CashFlow[]): number {
  let lentMinor = 0n;
  let netMinor = 0n;
  for (const f of flows) {
    if (!(f.years >= 0) || !Number.isFinite(f.years)) {
      throw new DomainError('APR_NOT_FOUND', 'cash flow times must be finite and not before the start');
    }
    if (f.amountMinor < 0n) lentMinor -= f.amountMinor;
    netMinor += f.amountMinor;
  }
  // One sign change (money out first, then only money back) guarantees a single root; a schedule
  // built by this module always has that shape, so refuse anything else instead of guessing.
  const firstReturn = flows.findIndex((f) => f.amountMinor > 0n);
  const lastOut = flows.findLastIndex((f) => f.amountMinor < 0n);
  if (lentMinor === 0n || firstReturn < 0 || lastOut > firstReturn) {
    throw new DomainError('APR_NOT_FOUND', 'APR needs money lent first and repaid after');
  }
  if (netMinor === 0n) return 0;

  const amounts = flows.map((f) => ratioToNumber(f.amountMinor, lentMinor));
  const times = flows.map((f) => f.years);
  // Solve in y = ln(1 + APR): the NPV is then a sum of exponentials, decreasing in y, smooth, and
  // the whole range APR ∈ (−100%, ∞) maps onto the real line.
  const npv = (y: number): [value: number, slope: number] => {
    let value = 0;
    let slope = 0;
    for (let i = 0; i < amounts.length; i++) {
      const t = times[i]!;
      const term = amounts[i]! * Math.exp(-y * t);
      value += term;
      slope -= t * term;
    }
    return [value, slope];
  };

  let lo: number;
  let hi: number;
  if (netMinor > 0n) {
    lo = 0;
    hi = 1;
    while (npv(hi)[0] > 0) {
      // e^700 is near the largest double: a tiny loan with a fixed fee can really cost that much.
      if (hi >= MAX_LOG_RATE) throw new DomainError('APR_NOT_FOUND', 'APR is beyond any representable bound');
      lo = hi;
      hi = Math.min(hi * 2, MAX_LOG_RATE);
    }
  } else {
    hi = 0;
    lo = -1;
    while (npv(lo)[0] < 0) {
      hi = lo;
      lo *= 2;
      if (lo < -64) throw new DomainError('APR_NOT_FOUND', 'APR is below any meaningful bound');
    }
  }

  // Newton's method kept inside the bracket [lo, hi]; a step that would leave it bisects instead.
  let y = (lo + hi) / 2;
  for (let i = 0; i < 200; i++) {
    const [value, slope] = npv(y);
    if (value === 0) break;
    if (value > 0) lo = y;
    else hi = y;
    let next = slope !== 0 ? y - value / slope : Number.NaN;
    if (!(next > lo && next < hi)) next = (lo + hi) / 2;
    if (Math.abs(next - y) <= SOLVER_TOLERANCE * Math.max(1, Math.abs(y)) || hi - lo <= SOLVER_TOLERANCE) {
      y = next;
      break;
    }
    y = next;
  }
  return Math.expm1(y);
}

/**
 * Whether the APR is above a cap given as an exact fraction. The comparison allows for the solver's
 * last-digit noise only (1e−12, i.e. a hundred-millionth of a percent), so a credit priced exactly
 * at the cap is not refused because of floating point.
 */
export function exceedsCap(apr: Apr, cap: Rational): boolean {
  return apr.fraction > toNumber(cap) + 1e-12;
}

export function formatCap(cap: Rational): string {
  return formatPercent(cap);
}

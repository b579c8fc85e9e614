/**
 * Repayment schedules. The rules, in the order they bite:
 *  - the down payment is a share of the price, rounded, due on the start date;
 *  - the tenor counts the installments after it, due every N days, weeks or months from the start
 *    (months roll at month-end, see dates.ts);
 *  - each period's interest is the opening balance times that period's rate, rounded on its own;
 *  - an annuity's installment is computed exactly with bigints and rounded once;
 *  - the last installment takes whatever principal is left, so principal parts sum exactly to
 *    the amount financed, whatever the rounding.
 * Every rounded amount is a whole multiple of the rounding unit (1 minor unit by default).
 */
import { type Apr, aprOf, type CashFlow } from './apr.ts';
import { addPeriods, daysBetween, FREQUENCY_UNITS, type FrequencyUnit, parseDate } from './dates.ts';
import { DomainError, invariant } from './errors.ts';
import { checkDecimals, ROUNDING_MODES, type RoundingMode, roundToUnit, sumMinor } from './money.ts';
import { annualFraction, compare, ONE, RATE_PERS, type Rate, type Rational, ZERO } from './rate.ts';

export type Method = 'annuity' | 'equal-principal' | 'flat';
export const METHODS: readonly Method[] = ['annuity', 'equal-principal', 'flat'];

/**
 * How a period's interest is measured. `30/360`: nominal periods, a month is 1/12 of the annual
 * rate and a day 1/360, whatever the calendar says. `actual/365` and `actual/360`: the calendar
 * days between two due dates over a 365- or 360-day year.
 */
export type Basis = '30/360' | 'actual/365' | 'actual/360';
export const BASES: readonly Basis[] = ['30/360', 'actual/365', 'actual/360'];

export type UpfrontFeeMode = 'deducted' | 'financed';
export const UPFRONT_FEE_MODES: readonly UpfrontFeeMode[] = ['deducted', 'financed'];

export const MAX_TENOR = 600;
export const MAX_EVERY = 366;

export interface Frequency {
  readonly every: number;
  readonly unit: FrequencyUnit;
}

export interface Rounding {
  readonly mode: RoundingMode;
  readonly decimals: number;
  /** Round every computed amount to a multiple of this many minor units (1 = to the minor unit). */
  readonly multipleMinor: bigint;
}

export interface Fees {
  /** Charged once: `deducted` is paid on the start date, `financed` is added to the loan. */
  readonly upfrontMinor: bigint;
  /** Upfront fee as a share of the amount after down payment, added to `upfrontMinor`. */
  readonly upfrontRate: Rational;
  readonly upfrontMode: UpfrontFeeMode;
  /** Charged with every installment. */
  readonly installmentMinor: bigint;
  /** Fee per installment as a share of the amount financed (the 手续费 of card installments). */
  readonly installmentRate: Rational;
}

/** What a schedule is built from; everything but the first four has a default. */
export interface ScheduleTermsInput {
  /** The price of the goods or the cash asked for, before any down payment. */
  readonly principalMinor: bigint;
  readonly rate: Rate;
  readonly tenor: number;
  readonly startDate: string;
  readonly method?: Method;
  readonly frequency?: Frequency;
  readonly basis?: Basis;
  readonly rounding?: Partial<Rounding>;
  /** Share of the principal paid on the start date (0 for zero-down goods). */
  readonly downPayment?: Rational;
  readonly fees?: Partial<Fees>;
}

export interface ScheduleTerms {
  readonly principalMinor: bigint;
  readonly rate: Rate;
  readonly tenor: number;
  readonly startDate: string;
  readonly method: Method;
  readonly frequency: Frequency;
  readonly basis: Basis;
  readonly rounding: Rounding;
  readonly downPayment: Rational;
  readonly fees: Fees;
}

export interface Installment {
  readonly number: number;
  readonly dueDate: string;
  readonly principalMinor: bigint;
  readonly interestMinor: bigint;
  readonly feeMinor: bigint;
  readonly totalMinor: bigint;
  /** Principal still owed after this installment is paid. */
  readonly balanceMinor: bigint;
}

export interface Schedule {
  readonly terms: ScheduleTerms;
  readonly downPaymentMinor: bigint;
  readonly downPaymentDate: string;
  readonly upfrontFeeMinor: bigint;
  /** Principal the installments repay: price − down payment (+ upfront fee when financed). */
  readonly amountFinancedMinor: bigint;
  /** Money that leaves the lender on the start date, net of a deducted fee. */
  readonly disbursedMinor: bigint;
  readonly installments: readonly Installment[];
  readonly totalPrincipalMinor: bigint;
  readonly totalInterestMinor: bigint;
  /** Upfront fee plus every installment fee. */
  readonly totalFeesMinor: bigint;
  /** Everything the customer pays: down payment, deducted fee, every installment. */
  readonly totalPayableMinor: bigint;
  readonly apr: Apr;
}

export const DEFAULT_FEES: Fees = {
  upfrontMinor: 0n,
  upfrontRate: ZERO,
  upfrontMode: 'deducted',
  installmentMinor: 0n,
  installmentRate: ZERO,
};

function bad(message: string, field: string): DomainError {
  return new DomainError('INVALID_TERMS', message, { field });
}

function oneOf<T extends string>(value: T, allowed: readonly T[], field: string): T {
  if (!allowed.includes(value)) throw bad(`${field} must be one of ${allowed.join(', ')}`, field);
  return value;
}

/** Fills defaults and refuses terms no schedule can be built from. */
export function resolveTerms(input: ScheduleTermsInput): ScheduleTerms {
  const method = oneOf(input.method ?? 'annuity', METHODS, 'method');
  const basis = oneOf(input.basis ?? '30/360', BASES, 'basis');
  const frequency = input.frequency ?? { every: 1, unit: 'month' };
  oneOf(frequency.unit, FREQUENCY_UNITS, 'unit');
  if (!Number.isInteger(frequency.every) || frequency.every < 1 || frequency.every > MAX_EVERY) {
    throw bad(`every must be a whole number from 1 to ${MAX_EVERY}`, 'every');
  }
  if (!Number.isInteger(input.tenor) || input.tenor < 1 || input.tenor > MAX_TENOR) {
    throw bad(`tenor must be a whole number of installments from 1 to ${MAX_TENOR}`, 'tenor');
  }
  if (input.principalMinor <= 0n) throw bad('principal must be positive', 'principal');
  oneOf(input.rate.per, RATE_PERS, 'rate_per');
  if (input.rate.fraction.num < 0n) throw bad('rate must not be negative', 'rate');
  const rounding: Rounding = {
    mode: oneOf(input.rounding?.mode ?? 'half-up', ROUNDING_MODES, 'rounding'),
    decimals: checkDecimals(input.rounding?.decimals ?? 2),
    multipleMinor: input.rounding?.multipleMinor ?? 1n,
  };
  if (rounding.multipleMinor < 1n) throw bad('multiple must be at least 1 minor unit', 'multiple');
  const downPayment = input.downPayment ?? ZERO;
  if (downPayment.num < 0n || compare(downPayment, ONE) >= 0) {
    throw bad('down payment must be at least 0% and below 100%', 'down_payment');
  }
  const fees: Fees = { ...DEFAULT_FEES, ...input.fees };
  oneOf(fees.upfrontMode, UPFRONT_FEE_MODES, 'upfront_fee_mode');
  if (fees.upfrontMinor < 0n || fees.installmentMinor < 0n) throw bad('fees must not be negative', 'fee');
  if (fees.upfrontRate.num < 0n || fees.installmentRate.num < 0n)
    throw bad('fees must not be negative', 'fee');
  return {
    principalMinor: input.principalMinor,
    rate: input.rate,
    tenor: input.tenor,
    startDate: parseDate(input.startDate),
    method,
    frequency: { every: frequency.every, unit: frequency.unit },
    basis,
    rounding,
    downPayment,
    fees,
  };
}

/**
 * Period rates share one denominator so the annuity can be solved in integers: period k's rate is
 * numerators[k] / denominator.
 */
interface PeriodRates {
  readonly numerators: readonly bigint[];
  readonly denominator: bigint;
}

function periodRates(terms: ScheduleTerms, dueDates: readonly string[]): PeriodRates {
  const annual = annualFraction(terms.rate);
  const { every, unit } = terms.frequency;
  if (terms.basis === '30/360') {
    // Nominal periods: the calendar does not matter, so every period has the same rate.
    const [parts, yearParts] = unit === 'month' ? [every, 12] : [unit === 'week' ? 7 * every : every, 360];
    const numerator = annual.num * BigInt(parts);
    return { numerators: dueDates.map(() => numerator), denominator: annual.den * BigInt(yearParts) };
  }
  const yearDays = terms.basis === 'actual/365' ? 365n : 360n;
  let previous = terms.startDate;
  const numerators = dueDates.map((due) => {
    const days = daysBetween(previous, due);
    previous = due;
    return annual.num * BigInt(days);
  });
  return { numerators, denominator: annual.den * yearDays };
}

/**
 * The exact level payment that repays `financedMinor` over periods with rates a_k/D, found in
 * integers. With F_k = D + a_k, the balance after n payments of P is zero when
 *   B·ΠF_k = P·Σ_{k=1..n} D^k·Π_{j>k} F_j,
 * whose right-hand sum is built by Horner's rule: Q ← Q·F_j + D^j. For a constant rate this is
 * the textbook P = B·r / (1 − (1 + r)^−n); for 0% it is B / n.
 */
export function exactAnnuity(financedMinor: bigint, rates: PeriodRates): Rational {
  const d = rates.denominator;
  let product = 1n;
  let q = 0n;
  let power = 1n;
  for (const a of rates.numerators) {
    const f = d + a;
    power *= d;
    q = q * f + power;
    product *= f;
  }
  return { num: financedMinor * product, den: q };
}

/**
 * Each period's interest of the exact, unrounded amortisation, rounded on its own. Taking interest
 * from the exact balance rather than the rounded one means rounding the installment never feeds
 * back into later interest: a level payment rounded up half a fen would otherwise repay principal
 * faster and could make a higher rate cost less in total. The exact balance after period k is
 * X_k / (Q·D^k) with X_0 = B·Q and X_k = X_{k−1}·F_k − N·D^k, where N/Q is the exact payment;
 * the balance shown on each row is still the real, rounded one, and differs by a few minor units
 * at most.
 */
function exactAnnuityInterest(
  financedMinor: bigint,
  rates: PeriodRates,
  payment: Rational,
  round: (num: bigint, den: bigint) => bigint,
): bigint[] {
  const d = rates.denominator;
  let x = financedMinor * payment.den;
  let power = 1n;
  return rates.numerators.map((a) => {
    power *= d;
    const interestMinor = round(x * a, payment.den * power);
    x = x * (d + a) - payment.num * power;
    return interestMinor;
  });
}

/** The schedule's due dates: installment k falls k periods after the start. */
export function dueDates(terms: Pick<ScheduleTerms, 'startDate' | 'frequency' | 'tenor'>): string[] {
  const dates: string[] = [];
  for (let k = 1; k <= terms.tenor; k++) {
    dates.push(addPeriods(terms.startDate, terms.frequency.every, terms.frequency.unit, k));
  }
  return dates;
}

/**
 * Years from the start to `date`, for the APR. Month schedules count twelve equal months a year,
 * as Annex I of the Directive allows, so a monthly schedule's APR does not wobble with February;
 * day and week schedules count actual days over 365.
 */
function yearsFromStart(terms: ScheduleTerms, k: number, date: string): number {
  if (terms.frequency.unit === 'month') return (k * terms.frequency.every) / 12;
  return daysBetween(terms.startDate, date) / 365;
}

function tooCoarse(terms: ScheduleTerms, what: string): DomainError {
  return new DomainError(
    'ROUNDING_TOO_COARSE',
    `rounding to multiples of ${terms.rounding.multipleMinor} minor units leaves ${what}; ` +
      'use a smaller multiple, a larger principal or a shorter tenor',
    { multiple: String(terms.rounding.multipleMinor) },
  );
}

type RoundFn = (num: bigint, den: bigint) => bigint;

/** What is lent and what is charged once: down payment, upfront fee, the fee on each installment. */
interface Amounts {
  readonly downPaymentMinor: bigint;
  readonly upfrontFeeMinor: bigint;
  readonly financed: boolean;
  readonly amountFinancedMinor: bigint;
  readonly disbursedMinor: bigint;
  readonly installmentFeeMinor: bigint;
}

function scheduleAmounts(terms: ScheduleTerms, round: RoundFn): Amounts {
  const downPaymentMinor = round(terms.principalMinor * terms.downPayment.num, terms.downPayment.den);
  const baseMinor = terms.principalMinor - downPaymentMinor;
  if (baseMinor <= 0n) throw tooCoarse(terms, 'nothing to finance after the down payment');

  const { fees } = terms;
  const upfrontFeeMinor = fees.upfrontMinor + round(baseMinor * fees.upfrontRate.num, fees.upfrontRate.den);
  const financed = fees.upfrontMode === 'financed';
  const amountFinancedMinor = baseMinor + (financed ? upfrontFeeMinor : 0n);
  const disbursedMinor = baseMinor - (financed ? 0n : upfrontFeeMinor);
  if (!financed && disbursedMinor <= 0n) {
    throw new DomainError('INVALID_TERMS', 'the deducted upfront fee is not less than the amount lent', {
      field: 'upfront_fee',
    });
  }
  const installmentFeeMinor =
    fees.installmentMinor + round(amountFinancedMinor * fees.installmentRate.num, fees.installmentRate.den);
  return {
    downPaymentMinor,
    upfrontFeeMinor,
    financed,
    amountFinancedMinor,
    disbursedMinor,
    installmentFeeMinor,
  };
}

/** Installment k's interest and level principal by method; the last installment settles the rest. */
function installmentParts(
  terms: ScheduleTerms,
  amountFinancedMinor: bigint,
  rates: PeriodRates,
  round: RoundFn,
): (k: number, balanceMinor: bigint) => { interestMinor: bigint; levelPrincipalMinor: bigint } {
  const n = BigInt(terms.tenor);
  switch (terms.method) {
    case 'annuity': {
      const exact = exactAnnuity(amountFinancedMinor, rates);
      const levelPaymentMinor = round(exact.num, exact.den);
      const interests = exactAnnuityInterest(amountFinancedMinor, rates, exact, round);
      return (k) => ({
        interestMinor: interests[k]!,
        levelPrincipalMinor: levelPaymentMinor - interests[k]!,
      });
    }
    case 'equal-principal': {
      const levelPrincipalMinor = round(amountFinancedMinor, n);
      return (k, balanceMinor) => ({
        interestMinor: round(balanceMinor * rates.numerators[k]!, rates.denominator),
        levelPrincipalMinor,
      });
    }
    case 'flat': {
      // Interest on the original amount for the whole term, spread evenly; each share rounded.
      const levelPrincipalMinor = round(amountFinancedMinor, n);
      const interestMinor = round(amountFinancedMinor * sumMinor(rates.numerators), rates.denominator * n);
      return () => ({ interestMinor, levelPrincipalMinor });
    }
  }
}

function buildInstallments(terms: ScheduleTerms, amounts: Amounts, round: RoundFn): Installment[] {
  const dates = dueDates(terms);
  const partsOf = installmentParts(terms, amounts.amountFinancedMinor, periodRates(terms, dates), round);
  const installments: Installment[] = [];
  let balanceMinor = amounts.amountFinancedMinor;
  for (let k = 0; k < terms.tenor; k++) {
    const last = k === terms.tenor - 1;
    const { interestMinor, levelPrincipalMinor } = partsOf(k, balanceMinor);
    const principalMinor = last ? balanceMinor : levelPrincipalMinor;
    if (principalMinor < 0n || principalMinor > balanceMinor) {
      throw tooCoarse(terms, last ? 'a negative last installment' : 'an installment that does not fit');
    }
    balanceMinor -= principalMinor;
    const feeMinor = amounts.installmentFeeMinor;
    installments.push({
      number: k + 1,
      dueDate: dates[k]!,
      principalMinor,
      interestMinor,
      feeMinor,
      totalMinor: principalMinor + interestMinor + feeMinor,
      balanceMinor,
    });
  }
  invariant(balanceMinor === 0n, 'the last installment clears the balance');
  return installments;
}

function assertInstallments(terms: ScheduleTerms, installments: Installment[], amountFinancedMinor: bigint) {
  invariant(
    sumMinor(installments.map((i) => i.principalMinor)) === amountFinancedMinor,
    'principal parts sum to the amount financed',
  );
  invariant(
    installments.every((i) => i.principalMinor >= 0n && i.interestMinor >= 0n && i.feeMinor >= 0n),
    'no part of an installment is negative',
  );
  if (terms.method === 'annuity') {
    invariant(
      installments.slice(0, -1).every((i) => i.totalMinor === installments[0]!.totalMinor),
      'annuity installments are equal except the last',
    );
  }
}

export function buildSchedule(input: ScheduleTermsInput): Schedule {
  const terms = resolveTerms(input);
  const { mode, multipleMinor: unit } = terms.rounding;
  const round: RoundFn = (num, den) => roundToUnit(num, den, unit, mode);
  const amounts = scheduleAmounts(terms, round);
  const installments = buildInstallments(terms, amounts, round);
  assertInstallments(terms, installments, amounts.amountFinancedMinor);

  // The lender's cash flow: money out on the start date (price less down payment and deducted
  // fee), then every installment back.
  const flows: CashFlow[] = [{ amountMinor: -amounts.disbursedMinor, years: 0 }];
  installments.forEach((inst, k) => {
    flows.push({ amountMinor: inst.totalMinor, years: yearsFromStart(terms, k + 1, inst.dueDate) });
  });
  const { downPaymentMinor, upfrontFeeMinor, financed } = amounts;
  return {
    terms,
    downPaymentMinor,
    downPaymentDate: terms.startDate,
    upfrontFeeMinor,
    amountFinancedMinor: amounts.amountFinancedMinor,
    disbursedMinor: amounts.disbursedMinor,
    installments,
    totalPrincipalMinor: sumMinor(installments.map((i) => i.principalMinor)),
    totalInterestMinor: sumMinor(installments.map((i) => i.interestMinor)),
    totalFeesMinor: upfrontFeeMinor + amounts.installmentFeeMinor * BigInt(terms.tenor),
    totalPayableMinor:
      downPaymentMinor + (financed ? 0n : upfrontFeeMinor) + sumMinor(installments.map((i) => i.totalMinor)),
    apr: aprOf(flows),
  };
}

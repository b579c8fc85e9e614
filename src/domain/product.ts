/**
 * Loan products: the terms staff set once (rate, method, fees, caps) that every quote of the
 * product reuses. `validateProduct` takes untrusted input (an API body, a database row) and either
 * returns a product that can always be quoted or refuses it with every reason at once.
 */
import { exceedsCap, formatCap } from './apr.ts';
import type { FrequencyUnit } from './dates.ts';
import { FREQUENCY_UNITS } from './dates.ts';
import { bucketBoundProblems, DEFAULT_BUCKET_MAX_DPD, MAX_WRITE_OFF_DPD } from './delinquency-policy.ts';
import { DomainError } from './errors.ts';
import { type Currency, MAX_DECIMALS, ROUNDING_MODES, type RoundingMode, roundToUnit } from './money.ts';
import { fromBp, RATE_PERS, type RatePer, type Rational } from './rate.ts';
import {
  BASES,
  type Basis,
  buildSchedule,
  MAX_EVERY,
  MAX_TENOR,
  METHODS,
  type Method,
  type Schedule,
  type ScheduleTermsInput,
  UPFRONT_FEE_MODES,
  type UpfrontFeeMode,
} from './schedule.ts';

export type ProductKind = 'cash' | 'goods';
export const PRODUCT_KINDS: readonly ProductKind[] = ['cash', 'goods'];

export type AllocationTarget = 'penalty' | 'fee' | 'interest' | 'principal';
export const DEFAULT_ALLOCATION_ORDER: readonly AllocationTarget[] = [
  'penalty',
  'fee',
  'interest',
  'principal',
];

/**
 * Interest on early payment: `none` keeps the schedule's interest (a payoff still owes interest only
 * as accrued straight-line to its date); `progressive` recalculates it on the principal actually
 * outstanding day by day (domain/recalculation.ts), Fineract's interest recalculation with
 * "interest till pre-close".
 */
export type InterestRecalculation = 'none' | 'progressive';
export const INTEREST_RECALCULATIONS: readonly InterestRecalculation[] = ['none', 'progressive'];

export const DEFAULT_APR_CAP_BP = 2400;
/** Highest nominal rate or APR cap a product may carry: 10,000%. */
export const MAX_RATE_BP = 1_000_000;
/** Dates the product check quotes on: a month-end in a leap year exercises the roll. */
export const PRODUCT_CHECK_START_DATE = '2024-01-31';

/**
 * Penalty on an overdue installment, once the grace days are over: a fixed amount plus a daily
 * rate on the overdue amount counted from the due date, never more than the cap.
 */
export interface LateFeeRule {
  readonly fixedMinor: bigint;
  readonly bpPerDay: number;
  /**
   * A one-time percentage of the overdue amount, charged once the grace days are over (Fineract's
   * "percentage of overdue installment" penalty); 0 for none. Adds to the fixed part and the daily rate.
   */
  readonly onceBp?: number;
  /** Most a single installment can be charged in late fees; null for no cap. */
  readonly capMinor: bigint | null;
}

export interface LoanProduct {
  readonly code: string;
  readonly name: string;
  readonly kind: ProductKind;
  readonly currency: Currency;
  readonly tenors: readonly number[];
  readonly rateBp: number;
  readonly ratePer: RatePer;
  readonly method: Method;
  readonly every: number;
  readonly unit: FrequencyUnit;
  readonly basis: Basis;
  readonly roundingMode: RoundingMode;
  readonly multipleMinor: bigint;
  readonly downPaymentBp: number;
  readonly upfrontFeeMinor: bigint;
  readonly upfrontFeeBp: number;
  readonly upfrontFeeMode: UpfrontFeeMode;
  readonly installmentFeeMinor: bigint;
  readonly installmentFeeBp: number;
  readonly graceDays: number;
  readonly lateFee: LateFeeRule;
  readonly allocationOrder: readonly AllocationTarget[];
  /** Days past due at which close of business writes a loan off; null: the run's default. */
  readonly writeOffDpd: number | null;
  /** The last day past due of the M1, M2 and M3 buckets (M3+ after). */
  readonly bucketMaxDpd: readonly number[];
  /** How an early or extra principal payment changes interest; `none` by default. */
  readonly interestRecalculation: InterestRecalculation;
  readonly aprCapBp: number;
  readonly minPrincipalMinor: bigint;
  readonly maxPrincipalMinor: bigint;
  readonly active: boolean;
}

type Fields = Record<string, unknown>;

/** Collects every problem so staff fix a product in one round trip, not one error at a time. */
class Problems {
  readonly list: string[] = [];
  add(message: string): void {
    this.list.push(message);
  }
}

function isRecord(value: unknown): value is Fields {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function readString(f: Fields, key: string, p: Problems, fallback?: string): string {
  const v = f[key] ?? fallback;
  if (typeof v === 'string' && v.trim() !== '') return v.trim();
  p.add(`${key} must be a non-empty string`);
  return '';
}

function readInt(f: Fields, key: string, p: Problems, min: number, max: number, fallback?: number): number {
  const v = f[key] ?? fallback;
  if (typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max) return v;
  p.add(`${key} must be a whole number from ${min} to ${max}`);
  return min;
}

function readBucketBounds(f: Fields, p: Problems): readonly number[] {
  const v = f.bucketMaxDpd ?? DEFAULT_BUCKET_MAX_DPD;
  const problems = bucketBoundProblems(v);
  for (const problem of problems) p.add(problem);
  return problems.length === 0 ? [...(v as number[])] : [...DEFAULT_BUCKET_MAX_DPD];
}

/** Minor units: a bigint, a safe integer, or a string of digits ("1200" = 12.00 CNY). */
function readMinor(f: Fields, key: string, p: Problems, fallback?: bigint): bigint {
  const v = f[key] ?? fallback;
  if (typeof v === 'bigint' && v >= 0n) return v;
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return BigInt(v);
  if (typeof v === 'string' && /^\d{1,30}$/.test(v)) return BigInt(v);
  p.add(`${key} must be a non-negative whole number of minor units`);
  return 0n;
}

function readEnum<T extends string>(
  f: Fields,
  key: string,
  allowed: readonly T[],
  p: Problems,
  fallback?: T,
): T {
  const v = f[key] ?? fallback;
  if (typeof v === 'string' && (allowed as readonly string[]).includes(v)) return v as T;
  p.add(`${key} must be one of ${allowed.join(', ')}`);
  return allowed[0]!;
}

function readBool(f: Fields, key: string, p: Problems, fallback: boolean): boolean {
  const v = f[key] ?? fallback;
  if (typeof v === 'boolean') return v;
  p.add(`${key} must be true or false`);
  return fallback;
}

/** The shortest calendar span of one period, to check grace days against. */
function shortestPeriodDays(every: number, unit: FrequencyUnit): number {
  return unit === 'month' ? 28 * every : unit === 'week' ? 7 * every : every;
}

function readCurrency(f: Fields, p: Problems): Currency {
  const currencyInput = isRecord(f.currency) ? f.currency : {};
  return {
    code: readString(currencyInput, 'code', p, 'CNY'),
    decimals: readInt(currencyInput, 'decimals', p, 0, MAX_DECIMALS, 2),
  };
}

/** The installment counts offered, ascending. */
function readTenors(f: Fields, p: Problems): number[] {
  if (!Array.isArray(f.tenors) || f.tenors.length === 0) {
    p.add('tenors must be a non-empty list of installment counts');
    return [];
  }
  const tenors = f.tenors.filter((t): t is number => typeof t === 'number');
  if (
    tenors.length !== f.tenors.length ||
    tenors.some((t) => !Number.isInteger(t) || t < 1 || t > MAX_TENOR)
  ) {
    p.add(`tenors must be whole numbers from 1 to ${MAX_TENOR}`);
  }
  if (new Set(tenors).size !== tenors.length) p.add('tenors must not repeat');
  return [...tenors].sort((a, b) => a - b);
}

function readLateFee(f: Fields, p: Problems): LateFeeRule {
  const lateInput = isRecord(f.lateFee) ? f.lateFee : {};
  const lateFee: LateFeeRule = {
    fixedMinor: readMinor(lateInput, 'fixedMinor', p, 0n),
    bpPerDay: readInt(lateInput, 'bpPerDay', p, 0, 10000, 0),
    onceBp: readInt(lateInput, 'onceBp', p, 0, 10000, 0),
    capMinor:
      lateInput.capMinor === null || lateInput.capMinor === undefined
        ? null
        : readMinor(lateInput, 'capMinor', p),
  };
  if (lateFee.capMinor !== null && lateFee.capMinor < lateFee.fixedMinor) {
    p.add('lateFee.capMinor is below lateFee.fixedMinor, so the fixed late fee could never be charged');
  }
  return lateFee;
}

function readAllocationOrder(f: Fields, p: Problems): AllocationTarget[] {
  if (f.allocationOrder === undefined) return [...DEFAULT_ALLOCATION_ORDER];
  const order = Array.isArray(f.allocationOrder) ? f.allocationOrder : [];
  const valid =
    order.length === DEFAULT_ALLOCATION_ORDER.length &&
    DEFAULT_ALLOCATION_ORDER.every((t) => order.includes(t)) &&
    new Set(order).size === order.length;
  if (valid) return order as AllocationTarget[];
  p.add(`allocationOrder must list each of ${DEFAULT_ALLOCATION_ORDER.join(', ')} once`);
  return [...DEFAULT_ALLOCATION_ORDER];
}

/** Every field read with its own bounds; problems are collected, not thrown, so all are reported. */
function readProductFields(f: Fields, p: Problems): LoanProduct {
  const currency = readCurrency(f, p);
  const major = 10n ** BigInt(currency.decimals);
  return {
    code: readString(f, 'code', p),
    name: readString(f, 'name', p),
    kind: readEnum(f, 'kind', PRODUCT_KINDS, p),
    currency,
    tenors: readTenors(f, p),
    rateBp: readInt(f, 'rateBp', p, 0, MAX_RATE_BP),
    ratePer: readEnum(f, 'ratePer', RATE_PERS, p, 'year'),
    method: readEnum(f, 'method', METHODS, p, 'annuity'),
    every: readInt(f, 'every', p, 1, MAX_EVERY, 1),
    unit: readEnum(f, 'unit', FREQUENCY_UNITS, p, 'month'),
    basis: readEnum(f, 'basis', BASES, p, '30/360'),
    roundingMode: readEnum(f, 'roundingMode', ROUNDING_MODES, p, 'half-up'),
    multipleMinor: readMinor(f, 'multipleMinor', p, 1n),
    downPaymentBp: readInt(f, 'downPaymentBp', p, 0, 9999, 0),
    upfrontFeeMinor: readMinor(f, 'upfrontFeeMinor', p, 0n),
    upfrontFeeBp: readInt(f, 'upfrontFeeBp', p, 0, 10000, 0),
    upfrontFeeMode: readEnum(f, 'upfrontFeeMode', UPFRONT_FEE_MODES, p, 'deducted'),
    installmentFeeMinor: readMinor(f, 'installmentFeeMinor', p, 0n),
    installmentFeeBp: readInt(f, 'installmentFeeBp', p, 0, 10000, 0),
    graceDays: readInt(f, 'graceDays', p, 0, 365, 0),
    lateFee: readLateFee(f, p),
    allocationOrder: readAllocationOrder(f, p),
    writeOffDpd:
      f.writeOffDpd === undefined || f.writeOffDpd === null
        ? null
        : readInt(f, 'writeOffDpd', p, 1, MAX_WRITE_OFF_DPD),
    bucketMaxDpd: readBucketBounds(f, p),
    interestRecalculation: readEnum(f, 'interestRecalculation', INTEREST_RECALCULATIONS, p, 'none'),
    aprCapBp: readInt(f, 'aprCapBp', p, 1, MAX_RATE_BP, DEFAULT_APR_CAP_BP),
    minPrincipalMinor: readMinor(f, 'minPrincipalMinor', p, 100n * major),
    maxPrincipalMinor: readMinor(f, 'maxPrincipalMinor', p, 1_000_000n * major),
    active: readBool(f, 'active', p, true),
  };
}

/** Rules across fields, once each field is valid on its own. */
function checkProductRules(product: LoanProduct, p: Problems): void {
  if (product.multipleMinor < 1n) p.add('multipleMinor must be at least 1');
  if (product.interestRecalculation === 'progressive' && product.method === 'flat') {
    p.add(
      'interestRecalculation progressive needs interest on the balance: method flat charges it on the original amount',
    );
  }
  if (product.kind === 'cash' && product.downPaymentBp > 0) {
    p.add('a cash loan cannot have a down payment: there is no price to pay part of');
  }
  if (product.minPrincipalMinor < 1n) p.add('minPrincipalMinor must be positive');
  if (product.minPrincipalMinor > product.maxPrincipalMinor) {
    p.add('minPrincipalMinor is above maxPrincipalMinor');
  }
  if (product.graceDays >= shortestPeriodDays(product.every, product.unit)) {
    p.add('graceDays must be shorter than one period, or an installment falls due before the last is late');
  }
}

/**
 * A product must be quotable under its own cap at every tenor it offers. Fixed fees weigh most on
 * the smallest principal and rounding on the extremes, so both ends are checked.
 */
function checkQuotableUnderCap(product: LoanProduct): void {
  for (const tenor of product.tenors) {
    for (const principalMinor of [product.minPrincipalMinor, product.maxPrincipalMinor]) {
      let schedule: Schedule;
      try {
        schedule = buildSchedule(
          termsOf(product, { principalMinor, tenor, startDate: PRODUCT_CHECK_START_DATE }),
        );
      } catch (err) {
        if (err instanceof DomainError) {
          throw new DomainError('INVALID_PRODUCT', `invalid product: at tenor ${tenor}: ${err.message}`, {
            tenor: String(tenor),
            cause: err.code,
          });
        }
        throw err;
      }
      checkAprCap(schedule, fromBp(product.aprCapBp));
    }
  }
}

export function validateProduct(input: unknown): LoanProduct {
  if (!isRecord(input)) throw new DomainError('INVALID_PRODUCT', 'a product must be an object');
  const p = new Problems();
  const product = readProductFields(input, p);
  checkProductRules(product, p);
  if (p.list.length > 0) {
    throw new DomainError('INVALID_PRODUCT', `invalid product: ${p.list.join('; ')}`, {
      problems: p.list.join('; '),
    });
  }
  checkQuotableUnderCap(product);
  return product;
}

export interface QuoteRequest {
  readonly principalMinor: bigint;
  readonly tenor: number;
  readonly startDate: string;
}

/** The schedule terms a product gives for one request, without any of the product's checks. */
export function termsOf(product: LoanProduct, request: QuoteRequest): ScheduleTermsInput {
  return {
    principalMinor: request.principalMinor,
    tenor: request.tenor,
    startDate: request.startDate,
    rate: { fraction: fromBp(product.rateBp), per: product.ratePer },
    method: product.method,
    frequency: { every: product.every, unit: product.unit },
    basis: product.basis,
    rounding: {
      mode: product.roundingMode,
      decimals: product.currency.decimals,
      multipleMinor: product.multipleMinor,
    },
    downPayment: fromBp(product.downPaymentBp),
    fees: {
      upfrontMinor: product.upfrontFeeMinor,
      upfrontRate: fromBp(product.upfrontFeeBp),
      upfrontMode: product.upfrontFeeMode,
      installmentMinor: product.installmentFeeMinor,
      installmentRate: fromBp(product.installmentFeeBp),
    },
  };
}

/** Refuses a schedule whose APR is above `cap` (a fraction: 24% is 24/100). */
export function checkAprCap(schedule: Schedule, cap: Rational): void {
  if (exceedsCap(schedule.apr, cap)) {
    throw new DomainError(
      'APR_CAP_EXCEEDED',
      `APR ${schedule.apr.percent}% exceeds the cap of ${formatCap(cap)}%`,
      { apr: schedule.apr.percent, cap: formatCap(cap) },
    );
  }
}

/** A customer's quote for a product: its schedule, or a DomainError saying why not. */
export function quote(product: LoanProduct, request: QuoteRequest): Schedule {
  if (!product.active) {
    throw new DomainError('PRODUCT_INACTIVE', `product ${product.code} is not offered at present`, {
      product: product.code,
    });
  }
  if (!product.tenors.includes(request.tenor)) {
    throw new DomainError(
      'TENOR_NOT_ALLOWED',
      `product ${product.code} offers ${product.tenors.join(', ')} installments, not ${request.tenor}`,
      { tenor: String(request.tenor), allowed: product.tenors.join(',') },
    );
  }
  if (
    request.principalMinor < product.minPrincipalMinor ||
    request.principalMinor > product.maxPrincipalMinor
  ) {
    throw new DomainError(
      'PRINCIPAL_OUT_OF_RANGE',
      `principal must be from ${product.minPrincipalMinor} to ${product.maxPrincipalMinor} minor units`,
      { min: String(product.minPrincipalMinor), max: String(product.maxPrincipalMinor) },
    );
  }
  const schedule = buildSchedule(termsOf(product, request));
  checkAprCap(schedule, fromBp(product.aprCapBp));
  return schedule;
}

/**
 * Late fee owed on one installment `daysLate` days after its due date. Nothing is charged within
 * the grace days; past them the daily part counts from the due date, because the grace is a
 * courtesy for slow transfers, not free credit.
 */
export function lateFeeFor(
  product: Pick<LoanProduct, 'lateFee' | 'graceDays' | 'roundingMode' | 'multipleMinor'>,
  overdueMinor: bigint,
  daysLate: number,
): bigint {
  if (overdueMinor <= 0n || daysLate <= product.graceDays) return 0n;
  const rule = product.lateFee;
  const dailyMinor = roundToUnit(
    overdueMinor * BigInt(rule.bpPerDay) * BigInt(daysLate),
    10000n,
    product.multipleMinor,
    product.roundingMode,
  );
  // the one-time part is on the amount overdue now: a part payment never makes it grow
  const onceMinor = roundToUnit(
    overdueMinor * BigInt(rule.onceBp ?? 0),
    10000n,
    product.multipleMinor,
    product.roundingMode,
  );
  const feeMinor = rule.fixedMinor + dailyMinor + onceMinor;
  return rule.capMinor !== null && feeMinor > rule.capMinor ? rule.capMinor : feeMinor;
}

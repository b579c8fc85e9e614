/**
 * The money layer: pure functions, no I/O. Routes, workers and the CLI import from here only.
 *
 *   buildSchedule(terms)            a schedule and its APR from explicit terms
 *   validateProduct(input)          a LoanProduct, or DomainError INVALID_PRODUCT / APR_CAP_EXCEEDED
 *   quote(product, request)         a schedule for a product, refused when the cap or tenor says no
 *   scheduleToJson(schedule)        the wire shape: amounts as decimal strings, APR as "26.82"
 */
export { type Apr, aprOf, type CashFlow, exceedsCap, percentOf, solveApr } from './apr.ts';
export { CREDIT_LINE_MAX_MINOR, type SecondApproverReason, secondApproverReason } from './credit-approval.ts';
export {
  addDays,
  addMonths,
  addPeriods,
  dateInZone,
  daysBetween,
  daysInMonth,
  FREQUENCY_UNITS,
  type FrequencyUnit,
  isDate,
  isLeapYear,
  parseDate,
  todayUtc,
} from './dates.ts';
export { DomainError, type DomainErrorCode, invariant } from './errors.ts';
export {
  CNY,
  type Currency,
  divRound,
  formatAmount,
  isRoundingMode,
  MAX_DECIMALS,
  minorPerMajor,
  parseAmount,
  ROUNDING_MODES,
  type RoundingMode,
  roundToUnit,
  sumMinor,
} from './money.ts';
export {
  type AllocationTarget,
  checkAprCap,
  DEFAULT_ALLOCATION_ORDER,
  DEFAULT_APR_CAP_BP,
  INTEREST_RECALCULATIONS,
  type InterestRecalculation,
  type LateFeeRule,
  type LoanProduct,
  lateFeeFor,
  MAX_RATE_BP,
  PRODUCT_KINDS,
  type ProductKind,
  type QuoteRequest,
  quote,
  termsOf,
  validateProduct,
} from './product.ts';
export {
  annualFraction,
  BP_PER_PERCENT,
  bpFromPercent,
  formatPercent,
  fromBp,
  parsePercent,
  percentFromBp,
  RATE_PERS,
  type Rate,
  type RatePer,
  type Rational,
  rational,
} from './rate.ts';
export {
  BASES,
  type Basis,
  buildSchedule,
  DEFAULT_FEES,
  dueDates,
  type Fees,
  type Frequency,
  type Installment,
  MAX_EVERY,
  MAX_TENOR,
  METHODS,
  type Method,
  type Rounding,
  resolveTerms,
  type Schedule,
  type ScheduleTerms,
  type ScheduleTermsInput,
  UPFRONT_FEE_MODES,
  type UpfrontFeeMode,
} from './schedule.ts';
export { type InstallmentJson, type QuoteJson, scheduleToJson } from './view.ts';

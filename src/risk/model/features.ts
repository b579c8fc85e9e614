/**
 * The applicant features a scorecard sees, and the one place they are derived. Every model the
 * platform uses (the bootstrap champion and models trained on the platform's own loans) speaks
 * this vocabulary, so any registered model can score any stored decision.
 *
 * The derivation is a pure function of the stored decision inputs: replaying a decision, training
 * from the platform and monitoring all call it on the inputs the decision log holds, so a feature
 * can never mean one thing at decision time and another at training time.
 */

/** What a scoring agency answers (risk/service/providers.ts asks it). */
export interface ExternalScore {
  /** 300..850, higher is safer. */
  score: number;
  provider: string;
}

/** What a credit bureau answers. */
export interface BureauReport {
  /** Hard inquiries by lenders in the last six months. */
  inquiries6m: number;
  /** Credit accounts open at other lenders. */
  openAccounts: number;
  /** Payments 30+ days late in the last 24 months. */
  delinquencies24m: number;
  /** Revolving balance over revolving limit, 0..1.5. */
  utilisation: number;
  provider: string;
}

/** The application as the customer filled it in (amounts as minor-unit strings: JSON-safe). */
export interface ApplicationInput {
  statedIncomeMinor: string;
  purpose: string;
  requestedAmountMinor: string | null;
  tenorMonths: number | null;
  /** sha256 of the device id; the id itself is not kept. */
  deviceKey: string;
}

export type SourceStatus = 'ok' | 'timeout' | 'error';

export interface Sourced<T> {
  status: SourceStatus;
  value: T | null;
  /** How long the source took (or how long we waited), whole milliseconds. */
  ms: number;
}

export interface PlatformHistory {
  customerStatus: string;
  ageYears: number | null;
  tenureDays: number;
  denyListed: boolean;
  loans: number;
  openLoans: number;
  /** Installments due so far that were paid on or before their due date, over all due; null if none due. */
  onTimeRatio: number | null;
  /** Worst days past due any installment ever reached. */
  worstDpd: number;
  /** Days past due of the most overdue unpaid installment today. */
  currentDpd: number;
  /** Largest principal an active product lends, the product cap on a line; null if none. */
  productCapMinor: string | null;
}

export interface VelocityCounts {
  phoneHour: number;
  phoneDay: number;
  idHour: number;
  idDay: number;
  deviceHour: number;
  deviceDay: number;
}

/** Everything a decision read, in JSON-safe form. Stored verbatim in the decision log. */
export interface DecisionInputs {
  /** ISO timestamp of the decision. */
  at: string;
  application: ApplicationInput;
  history: Sourced<PlatformHistory>;
  score: Sourced<ExternalScore>;
  bureau: Sourced<BureauReport>;
  velocity: Sourced<VelocityCounts>;
}

export const PURPOSES = ['goods', 'cash', 'car', 'education', 'home', 'business', 'travel', 'other'] as const;
export type Purpose = (typeof PURPOSES)[number];

/** Repayment record, in the categories German-credit's credit_history maps onto (see bootstrap.ts). */
export type RepaymentHistory = 'none' | 'paid_duly' | 'delayed' | 'other_credits';

/** Days past due at which a past delay counts as "delayed" in repayment_history. */
export const DELAYED_DPD = 30;

export type FeatureRow = Record<string, number | string | null>;

/** Feature names, all of them; a model uses any subset. */
export const FEATURE_NAMES = [
  'age_years',
  'monthly_income',
  'purpose',
  'requested_amount',
  'tenor_months',
  'external_score',
  'bureau_inquiries_6m',
  'bureau_open_accounts',
  'bureau_delinquencies_24m',
  'bureau_utilisation',
  'platform_loans',
  'platform_on_time_ratio',
  'platform_worst_dpd',
  'platform_tenure_days',
  'repayment_history',
  'other_credit',
  'open_credits',
] as const;

const MINOR_PER_MAJOR = 100;

function major(minor: string | null): number | null {
  if (minor === null) return null;
  return Number(BigInt(minor)) / MINOR_PER_MAJOR;
}

function repaymentHistory(h: PlatformHistory | null, b: BureauReport | null): RepaymentHistory | null {
  if (h && h.worstDpd >= DELAYED_DPD) return 'delayed';
  if (b && b.delinquencies24m > 0) return 'delayed';
  if (h && h.loans > 0) return 'paid_duly';
  if (!b) return null;
  return b.openAccounts > 0 ? 'other_credits' : 'none';
}

/** The feature row of a decision; a missing source gives missing (null) features, never a guess. */
export function featuresOf(inputs: DecisionInputs): FeatureRow {
  const app = inputs.application;
  const h = inputs.history.value;
  const s = inputs.score.value;
  const b = inputs.bureau.value;
  return {
    age_years: h?.ageYears ?? null,
    monthly_income: major(app.statedIncomeMinor),
    purpose: app.purpose,
    requested_amount: major(app.requestedAmountMinor),
    tenor_months: app.tenorMonths,
    external_score: s?.score ?? null,
    bureau_inquiries_6m: b?.inquiries6m ?? null,
    bureau_open_accounts: b?.openAccounts ?? null,
    bureau_delinquencies_24m: b?.delinquencies24m ?? null,
    bureau_utilisation: b?.utilisation ?? null,
    platform_loans: h?.loans ?? null,
    platform_on_time_ratio: h?.onTimeRatio ?? null,
    platform_worst_dpd: h?.worstDpd ?? null,
    platform_tenure_days: h?.tenureDays ?? null,
    repayment_history: repaymentHistory(h, b),
    other_credit: b ? (b.openAccounts > 0 ? 'other_lenders' : 'none') : null,
    open_credits: h && b ? h.openLoans + b.openAccounts : null,
  };
}

/** Whole years between a birth date (YYYYMMDD from the national id) and a moment. */
export function ageFromNationalId(nationalId: string, at: Date): number | null {
  const m = /^\d{6}(\d{4})(\d{2})(\d{2})/.exec(nationalId);
  if (!m) return null;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  let age = at.getUTCFullYear() - y;
  if (at.getUTCMonth() + 1 < mo || (at.getUTCMonth() + 1 === mo && at.getUTCDate() < d)) age--;
  return age >= 0 && age < 150 ? age : null;
}

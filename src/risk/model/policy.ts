/**
 * Hard policy rules, degradation rules and the credit-line table, as versioned DATA. A policy is a
 * JSON document stored in risk_policy_versions; exactly one version is active, and every decision
 * records the version it used. Evaluation is a pure function of the policy and the decision's
 * facts, so changing a limit is an insert, not a deploy, and an old decision replays under the
 * policy it was made with.
 */

import type { DecisionInputs } from './features.ts';
import { GRADES, type Grade } from './scorecard.ts';

export type RuleAction = 'decline' | 'refer';
export type RuleOp = 'lt' | 'lte' | 'gt' | 'gte' | 'eq' | 'ne';

/** Facts a rule can test: numbers and flags derived from the decision inputs. */
export const FACT_NAMES = [
  'age_years',
  'deny_listed',
  'customer_active',
  'bureau_inquiries_6m',
  'bureau_delinquencies_24m',
  'current_dpd',
  'velocity_phone_hour',
  'velocity_phone_day',
  'velocity_id_hour',
  'velocity_id_day',
  'velocity_device_hour',
  'velocity_device_day',
] as const;
export type FactName = (typeof FACT_NAMES)[number];
export type Facts = Record<FactName, number | boolean | null>;

export interface PolicyRule {
  /** Stable reason code, UPPER_SNAKE; what the customer letter and the API carry. */
  code: string;
  fact: FactName;
  op: RuleOp;
  value: number | boolean;
  action: RuleAction;
  /** When the fact is unknown (its source failed): skip the rule, or refer the application. */
  whenMissing: 'skip' | 'refer';
  description: string;
}

/** What to do when a source did not answer within its budget. */
export interface Degradation {
  /** Refer when the score is less than this many points above the approval cut-off (negative: never). */
  referMarginPoints: number;
  /** Otherwise approve with the line multiplied by this (basis points, 10000 = unchanged). */
  lineFactorBp: number;
}

export interface Policy {
  rules: PolicyRule[];
  /** Grades approved, grades referred; every other grade is declined with SCORE_TOO_LOW. */
  approveGrades: Grade[];
  referGrades: Grade[];
  degradation: { score: Degradation; bureau: Degradation; velocity: Degradation };
  line: {
    /** Line as a multiple of stated monthly income, in basis points, per grade. */
    incomeMultipleBp: Record<Grade, number>;
    minLineMinor: string;
    maxLineMinor: string;
    /**
     * A lower maximum for some grades (minor units); a grade not listed has maxLineMinor. Caps the
     * line a decision grants and is the "policy maximum for the grade" of maker-checker.
     */
    maxLineMinorByGrade?: Partial<Record<Grade, string>>;
    /** Lines are rounded down to a multiple of this. */
    roundMinor: string;
  };
}

export const REASON_CODES = {
  SCORE_TOO_LOW: 'score is in a grade that is declined',
  SCORE_REVIEW: 'score is in a grade that is reviewed by a person',
  LINE_TOO_SMALL: 'the line the income supports is below the smallest line offered',
  PLATFORM_DATA_UNAVAILABLE: 'the applicant record or history could not be read in time',
  SCORE_UNAVAILABLE: 'the external credit score did not answer in time',
  BUREAU_UNAVAILABLE: 'the credit bureau did not answer in time',
  VELOCITY_UNAVAILABLE: 'application counters could not be read in time',
  FACT_UNAVAILABLE: 'a fact a rule needs is unknown',
} as const;

const rule = (
  code: string,
  fact: FactName,
  op: RuleOp,
  value: number | boolean,
  action: RuleAction,
  whenMissing: 'skip' | 'refer',
  description: string,
): PolicyRule => ({ code, fact, op, value, action, whenMissing, description });

/** Policy version 1, inserted when no policy exists. */
export const DEFAULT_POLICY: Policy = {
  rules: [
    rule(
      'CUSTOMER_NOT_ACTIVE',
      'customer_active',
      'eq',
      false,
      'decline',
      'refer',
      'account locked or closed',
    ),
    rule('AGE_BELOW_MIN', 'age_years', 'lt', 18, 'decline', 'refer', 'younger than 18'),
    rule('AGE_ABOVE_MAX', 'age_years', 'gt', 65, 'decline', 'refer', 'older than 65'),
    rule(
      'DENY_LISTED',
      'deny_listed',
      'eq',
      true,
      'decline',
      'refer',
      'phone or national id on the deny list',
    ),
    rule(
      'TOO_MANY_INQUIRIES',
      'bureau_inquiries_6m',
      'gt',
      6,
      'decline',
      'skip',
      'over 6 lender inquiries in 6 months',
    ),
    rule(
      'SERIOUS_DELINQUENCY',
      'current_dpd',
      'gte',
      30,
      'decline',
      'refer',
      'an installment on the platform is 30+ days past due',
    ),
    rule(
      'VELOCITY_PHONE_HOUR',
      'velocity_phone_hour',
      'gt',
      3,
      'decline',
      'skip',
      'over 3 applications per phone in an hour',
    ),
    rule(
      'VELOCITY_PHONE_DAY',
      'velocity_phone_day',
      'gt',
      6,
      'decline',
      'skip',
      'over 6 applications per phone in a day',
    ),
    rule(
      'VELOCITY_ID_HOUR',
      'velocity_id_hour',
      'gt',
      3,
      'decline',
      'skip',
      'over 3 applications per national id in an hour',
    ),
    rule(
      'VELOCITY_ID_DAY',
      'velocity_id_day',
      'gt',
      6,
      'decline',
      'skip',
      'over 6 applications per national id in a day',
    ),
    rule(
      'VELOCITY_DEVICE_HOUR',
      'velocity_device_hour',
      'gt',
      5,
      'refer',
      'skip',
      'over 5 applications per device in an hour',
    ),
    rule(
      'VELOCITY_DEVICE_DAY',
      'velocity_device_day',
      'gt',
      10,
      'refer',
      'skip',
      'over 10 applications per device in a day',
    ),
  ],
  approveGrades: ['A', 'B', 'C'],
  referGrades: ['D'],
  degradation: {
    score: { referMarginPoints: 10, lineFactorBp: 8000 },
    bureau: { referMarginPoints: 20, lineFactorBp: 5000 },
    velocity: { referMarginPoints: 10, lineFactorBp: 7000 },
  },
  line: {
    incomeMultipleBp: { A: 60_000, B: 40_000, C: 25_000, D: 15_000, E: 0 },
    minLineMinor: '50000',
    maxLineMinor: '5000000',
    roundMinor: '10000',
  },
};

export class PolicyError extends Error {
  override name = 'PolicyError';
}

const ACTIONS = ['decline', 'refer'];
const OPS = ['lt', 'lte', 'gt', 'gte', 'eq', 'ne'];
const GRADE_SET = ['A', 'B', 'C', 'D', 'E'];

/** Checks a policy document before it is stored or used; a broken policy must never go live. */
export function parsePolicy(json: unknown): Policy {
  const p = json as Partial<Policy> | null;
  const fail = (why: string): never => {
    throw new PolicyError(`invalid policy: ${why}`);
  };
  if (!p || typeof p !== 'object') fail('not an object');
  if (!Array.isArray(p!.rules)) fail('rules must be an array');
  const codes = new Set<string>();
  for (const r of p!.rules!) {
    if (!r || typeof r.code !== 'string' || !/^[A-Z][A-Z0-9_]{1,63}$/.test(r.code)) fail('rule code');
    if (codes.has(r.code)) fail(`duplicate rule code ${r.code}`);
    codes.add(r.code);
    if (!(FACT_NAMES as readonly string[]).includes(r.fact)) fail(`rule ${r.code}: unknown fact ${r.fact}`);
    if (!OPS.includes(r.op)) fail(`rule ${r.code}: unknown op`);
    if (typeof r.value !== 'number' && typeof r.value !== 'boolean') fail(`rule ${r.code}: value`);
    if (!ACTIONS.includes(r.action)) fail(`rule ${r.code}: action`);
    if (r.whenMissing !== 'skip' && r.whenMissing !== 'refer') fail(`rule ${r.code}: whenMissing`);
  }
  for (const key of ['approveGrades', 'referGrades'] as const) {
    if (!Array.isArray(p![key]) || !p![key]!.every((g) => GRADE_SET.includes(g))) fail(key);
  }
  for (const source of ['score', 'bureau', 'velocity'] as const) {
    const d = p!.degradation?.[source];
    if (!d || !Number.isFinite(d.referMarginPoints) || !(d.lineFactorBp >= 0 && d.lineFactorBp <= 10_000)) {
      fail(`degradation.${source}`);
    }
  }
  const line = p!.line;
  if (!line || !GRADE_SET.every((g) => Number.isInteger(line.incomeMultipleBp?.[g as Grade]))) fail('line');
  for (const k of ['minLineMinor', 'maxLineMinor', 'roundMinor'] as const) {
    if (typeof line![k] !== 'string' || !/^\d{1,18}$/.test(line![k])) fail(`line.${k}`);
  }
  if (BigInt(line!.roundMinor) <= 0n) fail('line.roundMinor must be positive');
  const byGrade = line!.maxLineMinorByGrade;
  if (byGrade !== undefined) {
    if (!byGrade || typeof byGrade !== 'object' || Array.isArray(byGrade)) fail('line.maxLineMinorByGrade');
    for (const [g, v] of Object.entries(byGrade!)) {
      if (!GRADE_SET.includes(g) || typeof v !== 'string' || !/^\d{1,18}$/.test(v))
        fail(`line.maxLineMinorByGrade.${g}`);
    }
  }
  return p as Policy;
}

/** The facts rules test, from the decision inputs; an unknown fact is null. */
/** Bounds a published policy must keep, beyond parsePolicy's shape checks (see checkPolicy). */
export const POLICY_RULES_MAX = 100;
export const POLICY_RULE_DESCRIPTION_MAX_LENGTH = 200;
/** Rule thresholds are counts, ages and days: anything beyond this is a typo. */
export const POLICY_RULE_VALUE_MAX = 1_000_000_000_000;
export const POLICY_MARGIN_POINTS_MAX = 100_000;
/** 100 times the monthly income. */
export const POLICY_INCOME_MULTIPLE_BP_MAX = 1_000_000;

function checkRules(p: Policy, fail: (why: string) => never): void {
  if (p.rules.length > POLICY_RULES_MAX) fail(`at most ${POLICY_RULES_MAX} rules`);
  for (const r of p.rules) {
    if (typeof r.value === 'number' && !(Math.abs(r.value) <= POLICY_RULE_VALUE_MAX)) {
      fail(`rule ${r.code}: value must be a number within ±${POLICY_RULE_VALUE_MAX}`);
    }
    if (typeof r.description !== 'string' || r.description.length > POLICY_RULE_DESCRIPTION_MAX_LENGTH) {
      fail(
        `rule ${r.code}: description must be text of at most ${POLICY_RULE_DESCRIPTION_MAX_LENGTH} characters`,
      );
    }
  }
}

/**
 * Everything a policy must be before it may go live: parsePolicy's shape checks plus the bounds the
 * decision path relies on (whole basis points, a line range that is a range, disjoint grade lists,
 * finite thresholds). Returns a copy holding only the policy's own fields, so nothing unknown is
 * stored. Throws PolicyError with the reason.
 */
export function checkPolicy(json: unknown): Policy {
  const p = parsePolicy(json);
  const fail = (why: string): never => {
    throw new PolicyError(`invalid policy: ${why}`);
  };
  checkRules(p, fail);
  for (const key of ['approveGrades', 'referGrades'] as const) {
    if (new Set(p[key]).size !== p[key].length) fail(`${key} lists a grade twice`);
  }
  const both = p.approveGrades.filter((g) => p.referGrades.includes(g));
  if (both.length > 0) fail(`grade ${both.join(', ')} is both approved and referred`);
  for (const source of ['score', 'bureau', 'velocity'] as const) {
    const d = p.degradation[source];
    if (!Number.isInteger(d.referMarginPoints) || Math.abs(d.referMarginPoints) > POLICY_MARGIN_POINTS_MAX) {
      fail(
        `degradation.${source}.referMarginPoints must be a whole number within ±${POLICY_MARGIN_POINTS_MAX}`,
      );
    }
    if (!Number.isInteger(d.lineFactorBp))
      fail(`degradation.${source}.lineFactorBp must be whole basis points`);
  }
  for (const g of GRADES) {
    const bp = p.line.incomeMultipleBp[g];
    if (bp < 0 || bp > POLICY_INCOME_MULTIPLE_BP_MAX) {
      fail(`line.incomeMultipleBp.${g} must be 0..${POLICY_INCOME_MULTIPLE_BP_MAX}`);
    }
  }
  if (BigInt(p.line.minLineMinor) > BigInt(p.line.maxLineMinor))
    fail('line.minLineMinor is above line.maxLineMinor');
  for (const [g, v] of Object.entries(p.line.maxLineMinorByGrade ?? {})) {
    const max = BigInt(v);
    if (max < BigInt(p.line.minLineMinor) || max > BigInt(p.line.maxLineMinor))
      fail(`line.maxLineMinorByGrade.${g} must be within line.minLineMinor..line.maxLineMinor`);
  }
  return ownFields(p);
}

/** A copy of a parsed policy holding only the policy's own fields. */
function ownFields(p: Policy): Policy {
  const degradation = (d: Policy['degradation']['score']) => ({
    referMarginPoints: d.referMarginPoints,
    lineFactorBp: d.lineFactorBp,
  });
  return {
    rules: p.rules.map((r) => ({
      code: r.code,
      fact: r.fact,
      op: r.op,
      value: r.value,
      action: r.action,
      whenMissing: r.whenMissing,
      description: r.description,
    })),
    approveGrades: [...p.approveGrades],
    referGrades: [...p.referGrades],
    degradation: {
      score: degradation(p.degradation.score),
      bureau: degradation(p.degradation.bureau),
      velocity: degradation(p.degradation.velocity),
    },
    line: {
      incomeMultipleBp: Object.fromEntries(GRADES.map((g) => [g, p.line.incomeMultipleBp[g]])) as Record<
        Grade,
        number
      >,
      minLineMinor: p.line.minLineMinor,
      maxLineMinor: p.line.maxLineMinor,
      ...(p.line.maxLineMinorByGrade
        ? {
            maxLineMinorByGrade: Object.fromEntries(
              GRADES.filter((g) => p.line.maxLineMinorByGrade?.[g] !== undefined).map((g) => [
                g,
                p.line.maxLineMinorByGrade![g]!,
              ]),
            ),
          }
        : {}),
      roundMinor: p.line.roundMinor,
    },
  };
}

export function factsOf(inputs: DecisionInputs): Facts {
  const h = inputs.history.value;
  const b = inputs.bureau.value;
  const v = inputs.velocity.value;
  return {
    age_years: h?.ageYears ?? null,
    deny_listed: h ? h.denyListed : null,
    customer_active: h ? h.customerStatus === 'active' : null,
    bureau_inquiries_6m: b?.inquiries6m ?? null,
    bureau_delinquencies_24m: b?.delinquencies24m ?? null,
    current_dpd: h?.currentDpd ?? null,
    velocity_phone_hour: v?.phoneHour ?? null,
    velocity_phone_day: v?.phoneDay ?? null,
    velocity_id_hour: v?.idHour ?? null,
    velocity_id_day: v?.idDay ?? null,
    velocity_device_hour: v?.deviceHour ?? null,
    velocity_device_day: v?.deviceDay ?? null,
  };
}

function holds(op: RuleOp, fact: number | boolean, value: number | boolean): boolean {
  switch (op) {
    case 'lt':
      return fact < value;
    case 'lte':
      return fact <= value;
    case 'gt':
      return fact > value;
    case 'gte':
      return fact >= value;
    case 'eq':
      return fact === value;
    case 'ne':
      return fact !== value;
  }
}

export interface RuleHit {
  code: string;
  action: RuleAction;
  /** The fact's value, or null when the rule fired because the fact was unknown. */
  fact: number | boolean | null;
}

/** Every rule that fires, in policy order. Pure. */
export function evaluateRules(policy: Policy, facts: Facts): RuleHit[] {
  const hits: RuleHit[] = [];
  for (const r of policy.rules) {
    const fact = facts[r.fact];
    if (fact === null || fact === undefined) {
      if (r.whenMissing === 'refer') hits.push({ code: r.code, action: 'refer', fact: null });
      continue;
    }
    if (holds(r.op, fact, r.value)) hits.push({ code: r.code, action: r.action, fact });
  }
  return hits;
}

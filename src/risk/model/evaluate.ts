/**
 * A credit decision as a pure function of what was gathered, a scorecard and a policy: hard rules,
 * then score, grade and line, then the degradation rule for each source that did not answer.
 * The decision service (risk/service/decide.ts) gathers the inputs and records the result.
 */
import { type DecisionInputs, featuresOf } from './features.ts';
import { creditLine } from './line-policy.ts';
import { evaluateRules, factsOf, fired, type Policy, type RuleHit } from './policy.ts';
import { type Grade, type Reason, scoreRow } from './scorecard.ts';
import type { ScorecardModel } from './train.ts';

export type Outcome = 'approve' | 'decline' | 'refer';

export interface Evaluation {
  outcome: Outcome;
  grade: Grade;
  score: number;
  pdBad: number;
  /** Set on approve. */
  lineMinor: bigint | null;
  /** What the line would be if approved (for reviewers); null when the grade gives none. */
  suggestedLineMinor: bigint | null;
  /** Reason codes: rule codes, degradation codes, SCORE_TOO_LOW, SCORE_REVIEW, LINE_TOO_SMALL. */
  reasons: string[];
  ruleHits: RuleHit[];
  /** Sources that did not answer and the rule applied: "bureau:refer", "score:line 8000bp". */
  degraded: string[];
  points: Record<string, number>;
  bins: Record<string, string>;
  scoreReasons: Reason[];
}

/** The lowest score that still earns a grade the policy approves. */
export function approvalCutoff(model: Pick<ScorecardModel, 'grades'>, policy: Policy): number {
  let cutoff = Number.POSITIVE_INFINITY;
  for (const g of model.grades) {
    if (policy.approveGrades.includes(g.grade))
      cutoff = Math.min(cutoff, g.minScore ?? Number.NEGATIVE_INFINITY);
  }
  return cutoff;
}

const DEGRADING_SOURCES = [
  ['score', 'SCORE_UNAVAILABLE'],
  ['bureau', 'BUREAU_UNAVAILABLE'],
  ['velocity', 'VELOCITY_UNAVAILABLE'],
] as const;

/** Declines first, then the grade, then the line, then anything that asks for a person. */
function verdict(
  declines: string[],
  refers: string[],
  approvable: boolean,
  reviewable: boolean,
  lineBelowMinimum: boolean,
): { outcome: Outcome; reasons: string[] } {
  if (declines.length > 0) return { outcome: 'decline', reasons: declines };
  if (!approvable && !reviewable) return { outcome: 'decline', reasons: ['SCORE_TOO_LOW'] };
  if (lineBelowMinimum) return { outcome: 'decline', reasons: ['LINE_TOO_SMALL'] };
  if (refers.length > 0 || reviewable)
    return { outcome: 'refer', reasons: reviewable ? [...refers, 'SCORE_REVIEW'] : refers };
  return { outcome: 'approve', reasons: [] };
}

/**
 * The decision as a pure function of its inputs, a model and a policy: replaying stored inputs
 * through the stored model and policy version gives the same answer, point for point.
 */
export function evaluate(inputs: DecisionInputs, model: ScorecardModel, policy: Policy): Evaluation {
  const ruleHits = evaluateRules(policy, factsOf(inputs));
  const scored = scoreRow(model, featuresOf(inputs));
  const cutoff = approvalCutoff(model, policy);
  const declines = ruleHits.filter((h) => fired(h) && h.action === 'decline').map((h) => h.code);
  const refers = ruleHits.filter((h) => fired(h) && h.action === 'refer').map((h) => h.code);
  const degraded: string[] = [];
  const factorsBp: number[] = [];

  if (inputs.history.status !== 'ok') {
    degraded.push('history:refer');
    refers.push('PLATFORM_DATA_UNAVAILABLE');
  }
  // A rule that could not be checked is not a reason of its own (its code would claim the rule
  // held): one FACT_UNAVAILABLE says a person must look, and ruleHits keep which rules were unknown.
  if (ruleHits.some((h) => !fired(h))) refers.push('FACT_UNAVAILABLE');
  for (const [source, code] of DEGRADING_SOURCES) {
    if (inputs[source].status === 'ok') continue;
    const rule = policy.degradation[source];
    if (scored.score < cutoff + rule.referMarginPoints) {
      degraded.push(`${source}:refer`);
      refers.push(code);
    } else {
      degraded.push(`${source}:line ${rule.lineFactorBp}bp`);
      factorsBp.push(rule.lineFactorBp);
    }
  }

  const approvable = policy.approveGrades.includes(scored.grade);
  const reviewable = policy.referGrades.includes(scored.grade);
  const line =
    approvable || reviewable
      ? creditLine(policy.line, {
          grade: scored.grade,
          statedIncomeMinor: BigInt(inputs.application.statedIncomeMinor),
          factorsBp,
          productCapMinor:
            inputs.history.value?.productCapMinor != null
              ? BigInt(inputs.history.value.productCapMinor)
              : null,
        })
      : null;

  const { outcome, reasons } = verdict(declines, refers, approvable, reviewable, line?.belowMinimum === true);
  return {
    outcome,
    grade: scored.grade,
    score: scored.score,
    pdBad: scored.pdBad,
    lineMinor: outcome === 'approve' ? line!.lineMinor : null,
    suggestedLineMinor: line && !line.belowMinimum ? line.lineMinor : null,
    reasons,
    ruleHits,
    degraded,
    points: scored.points,
    bins: scored.bins,
    scoreReasons: scored.reasons,
  };
}

export interface ChallengerResult {
  modelId: string;
  version: number;
  outcome: Outcome;
  score: number;
  grade: Grade;
  points: Record<string, number>;
}

/** The stored result column: everything the evaluation concluded, JSON-safe. */
export function resultJson(e: Evaluation, challengers: ChallengerResult[], modelVersion: number) {
  return {
    modelVersion,
    pdBad: e.pdBad,
    points: e.points,
    bins: e.bins,
    scoreReasons: e.scoreReasons,
    ruleHits: e.ruleHits,
    degraded: e.degraded,
    suggestedLineMinor: e.suggestedLineMinor === null ? null : e.suggestedLineMinor.toString(),
    challengers,
  };
}

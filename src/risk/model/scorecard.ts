/**
 * Turns a logistic regression on WoE inputs into a points table and scores rows with it.
 *
 * The model says ln(odds of bad) = b0 + sum_j b_j * WoE_j. A scorecard speaks in good:bad odds
 * instead: score = offset + factor * ln(odds of good), with factor = PDO / ln 2 (so every PDO
 * points double the odds) and offset fixed so that basePoints corresponds to baseOdds. Hence
 * score = (offset - factor * b0) + sum_j (-factor * b_j * WoE_j): a base line plus one line per
 * feature, each rounded to whole points, and the score of a row is the plain sum of its lines.
 */
import { assignBin, type Bin, type FeatureBinning } from './binning.ts';
import { isMissing, parseNumber } from './csv.ts';
import { ratioOfRow } from './ratios.ts';

/** Reason codes returned per decision; four is what adverse-action notices customarily carry. */
export const MAX_REASONS = 4;
export const GRADES = ['A', 'B', 'C', 'D', 'E'] as const;
export type Grade = (typeof GRADES)[number];

export interface Scaling {
  /** Score given to a row whose good:bad odds are baseOdds. */
  basePoints: number;
  baseOdds: number;
  /** Points to double the odds. */
  pdo: number;
}

export const DEFAULT_SCALING: Scaling = { basePoints: 600, baseOdds: 50, pdo: 20 };

/**
 * What a missing value scores. 'trained-else-worst': the missing bin's own points when training
 * had missing values, else the worst bin's, so leaving a field blank can never raise a score unless
 * the data said blanks are safer; 'worst': always the worst bin (blanks never help); 'neutral':
 * WoE 0 when training had no missing values (the behaviour before v2, kept for old models).
 */
export type MissingPolicy = 'trained-else-worst' | 'worst' | 'neutral';
export const MISSING_POLICIES: readonly MissingPolicy[] = ['trained-else-worst', 'worst', 'neutral'];
export const DEFAULT_MISSING_POLICY: MissingPolicy = 'trained-else-worst';

export interface ScoredBin extends Bin {
  woe: number;
  points: number;
}

/**
 * How a feature's points were weighted: 'woe' (one weight times each bin's WoE, the classic card;
 * absent in older models), 'bins' (one logistic weight per bin), 'boosted' (the sum of the boosted
 * stumps' values per bin, boost.ts). Either way a bin's points are -factor times its weight.
 */
export type FeatureCoding = 'woe' | 'bins' | 'boosted' | 'bagged';

export interface ScorecardFeature extends Omit<FeatureBinning, 'bins'> {
  iv: number;
  /**
   * 'woe': the weight on WoE. Otherwise the count-weighted slope of the bin weights on WoE, which
   * reads the same way (about -1 when the bins follow their WoE; positive for a suppressor).
   */
  coefficient: number;
  /** Standard error of the WoE weight; 0 for per-bin and boosted coding (see binStdErrors). */
  stdError: number;
  coding?: FeatureCoding;
  /** 'bins' and 'boosted': each bin's weight on ln(odds of bad), centred on the training rows. */
  binWeights?: number[];
  /** 'bins': each bin weight's standard error. */
  binStdErrors?: number[];
  bins: ScoredBin[];
  /** How the missing bin got its points (absent in models before v2: 'neutral'). */
  missingScoredAs?: 'trained' | 'worst' | 'neutral';
}

export interface GradeCut {
  grade: Grade;
  /** Lowest score that still earns this grade; null for the last grade. */
  minScore: number | null;
}

export interface Scorecard {
  scaling: Scaling;
  factor: number;
  offset: number;
  intercept: number;
  interceptStdError: number;
  /** Points every row starts from (offset and intercept). */
  basePoints: number;
  /** Cells read as missing at scoring time (absent before v2: empty cells only). */
  naTokens?: string[];
  missingPolicy?: MissingPolicy;
  features: ScorecardFeature[];
  grades: GradeCut[];
}

export interface Reason {
  feature: string;
  bin: string;
  points: number;
  /** Points lost against the feature's best bin. */
  shortfall: number;
}

export interface ScoreResult {
  score: number;
  grade: Grade;
  /** Probability of bad implied by the score. */
  pdBad: number;
  points: Record<string, number>;
  bins: Record<string, string>;
  reasons: Reason[];
}

export function scalingConstants(s: Scaling): { factor: number; offset: number } {
  if (!(s.pdo > 0 && s.baseOdds > 0)) throw new RangeError('pdo and baseOdds must be positive');
  const factor = s.pdo / Math.LN2;
  return { factor, offset: s.basePoints - factor * Math.log(s.baseOdds) };
}

export interface ScorecardInput {
  binning: FeatureBinning;
  woe: number[];
  iv: number;
  coefficient: number;
  stdError: number;
  /** Per-bin coding: the bins' own weights replace coefficient x WoE. */
  perBin?: { coding: Exclude<FeatureCoding, 'woe'>; weights: number[]; stdErrors?: number[] };
}

/**
 * The count-weighted least-squares slope of per-bin weights on the bins' WoE: one number that
 * says how a per-bin feature leans (about -1 when it follows its WoE), for sign checks and reading.
 */
export function slopeOnWoe(bins: readonly Bin[], woe: readonly number[], weights: readonly number[]): number {
  let n = 0;
  let sx = 0;
  let sy = 0;
  bins.forEach((bin, b) => {
    n += bin.count;
    sx += bin.count * woe[b]!;
    sy += bin.count * weights[b]!;
  });
  if (n === 0) return 0;
  let sxx = 0;
  let sxy = 0;
  bins.forEach((bin, b) => {
    sxx += bin.count * (woe[b]! - sx / n) ** 2;
    sxy += bin.count * (woe[b]! - sx / n) * (weights[b]! - sy / n);
  });
  return sxx > 0 ? sxy / sxx : 0;
}

/** One feature's scored bins, the missing bin set by the policy. */
function scoredFeature(input: ScorecardInput, factor: number, policy: MissingPolicy): ScorecardFeature {
  const { binning, woe, iv, coefficient, stdError, perBin } = input;
  const weight = (b: number): number => (perBin ? perBin.weights[b]! : coefficient * woe[b]!);
  const bins: ScoredBin[] = binning.bins.map((bin, b) => ({
    ...bin,
    woe: woe[b]!,
    // + 0 turns -0 into 0 so the table never shows "-0"
    points: Math.round(-factor * weight(b)) + 0,
  }));
  const missing = bins[binning.missingBin]!;
  const trained = missing.count > 0;
  let missingScoredAs: ScorecardFeature['missingScoredAs'] = trained ? 'trained' : 'neutral';
  const useWorst = policy === 'worst' || (policy === 'trained-else-worst' && !trained);
  let worst: ScoredBin | null = null;
  for (const bin of bins) if (bin.count > 0 && (worst === null || bin.points < worst.points)) worst = bin;
  if (useWorst && worst && (!trained || worst.points < missing.points)) {
    missing.points = worst.points;
    missing.woe = worst.woe;
    missingScoredAs = 'worst';
  }
  const coded = perBin
    ? {
        coding: perBin.coding,
        binWeights: [...perBin.weights],
        ...(perBin.stdErrors ? { binStdErrors: [...perBin.stdErrors] } : {}),
      }
    : {};
  return { ...binning, iv, coefficient, stdError, ...coded, bins, missingScoredAs };
}

export function buildScorecard(
  features: ScorecardInput[],
  intercept: number,
  interceptStdError: number,
  scaling: Scaling = DEFAULT_SCALING,
  missingPolicy: MissingPolicy = DEFAULT_MISSING_POLICY,
): Scorecard {
  const { factor, offset } = scalingConstants(scaling);
  return {
    scaling,
    factor,
    offset,
    intercept,
    interceptStdError,
    basePoints: Math.round(offset - factor * intercept),
    missingPolicy,
    features: features.map((f) => scoredFeature(f, factor, missingPolicy)),
    grades: GRADES.map((grade) => ({ grade, minScore: null })),
  };
}

/**
 * Grade cut-offs at the 80th, 60th, 40th and 20th percentiles of the training scores: A is the
 * safest fifth of the training population, E the riskiest.
 */
export function gradeCuts(trainingScores: readonly number[]): GradeCut[] {
  const sorted = [...trainingScores].sort((a, b) => a - b);
  const quantile = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return GRADES.map((grade, g) => ({
    grade,
    minScore: g === GRADES.length - 1 ? null : quantile(1 - (g + 1) / GRADES.length),
  }));
}

export function gradeOf(card: Pick<Scorecard, 'grades'>, score: number): Grade {
  for (const cut of card.grades) if (cut.minScore === null || score >= cut.minScore) return cut.grade;
  return GRADES[GRADES.length - 1]!;
}

/** A raw cell (as read from CSV or a request) turned into what the feature's bins expect. */
export function featureValue(
  feature: Pick<FeatureBinning, 'type' | 'coded'>,
  raw: unknown,
  naTokens: readonly string[] = [],
): number | string | null {
  if (raw === null || raw === undefined) return null;
  if (feature.type === 'numeric' || feature.coded) {
    const value = typeof raw === 'number' ? (Number.isFinite(raw) ? raw : null) : parseNumber(String(raw));
    // A coded column's categories are its integers as text, whatever the cell spelled ("02", "2.0").
    return feature.coded && value !== null ? String(value) : value;
  }
  const text = String(raw);
  return isMissing(text, naTokens) ? null : text.trim();
}

/** A feature's value in a row of raw cells: its own cell, or a ratio feature's two cells' ratio. */
export function rowFeatureValue(
  feature: Pick<FeatureBinning, 'name' | 'type' | 'coded' | 'ratio'>,
  row: Readonly<Record<string, unknown>>,
  naTokens: readonly string[] = [],
): number | string | null {
  return feature.ratio ? ratioOfRow(feature.ratio, row) : featureValue(feature, row[feature.name], naTokens);
}

/** Best points a feature can give, among bins that held training rows. */
function bestPoints(feature: ScorecardFeature): number {
  let best = Number.NEGATIVE_INFINITY;
  for (const bin of feature.bins) if (bin.count > 0 && bin.points > best) best = bin.points;
  return best === Number.NEGATIVE_INFINITY ? 0 : best;
}

/**
 * Scores one row. Pure and deterministic: the same model and row give the same score, points and
 * reasons, which is what makes a stored decision replayable.
 */
export function scoreRow(
  card: Scorecard,
  row: Readonly<Record<string, unknown>>,
  maxReasons = MAX_REASONS,
): ScoreResult {
  let score = card.basePoints;
  const points: Record<string, number> = {};
  const bins: Record<string, string> = {};
  const reasons: Reason[] = [];
  for (const feature of card.features) {
    const bin = feature.bins[assignBin(feature, rowFeatureValue(feature, row, card.naTokens))]!;
    score += bin.points;
    points[feature.name] = bin.points;
    bins[feature.name] = bin.label;
    const shortfall = bestPoints(feature) - bin.points;
    if (shortfall > 0) reasons.push({ feature: feature.name, bin: bin.label, points: bin.points, shortfall });
  }
  reasons.sort((a, b) => b.shortfall - a.shortfall || (a.feature < b.feature ? -1 : 1));
  const pdBad = 1 / (1 + Math.exp((score - card.offset) / card.factor));
  return { score, grade: gradeOf(card, score), pdBad, points, bins, reasons: reasons.slice(0, maxReasons) };
}

/**
 * The training pipeline: prepare the columns once (one sort per numeric feature, a codes view of
 * low-cardinality integer columns), then per fit (fit.ts): bin, WoE, select on the multivariate
 * model, fit a penalized logistic regression and scale to points, its complexity chosen by inner
 * cross-validation (complexity.ts); or the boosted challenger's stumps on fine bins (boost.ts), also a
 * points table. Cross-validation repeats the whole pipeline, binning included,
 * inside each fold, because bins cut with the held-out rows in view would flatter the score.
 */
import { BAG_CARDS, baggedCard, bags } from './bagging.ts';
import { type BinningOptions, DEFAULT_BINNING, FINE_PREBINS, sortedPresentRows } from './binning.ts';
import { type BoostOptions, DEFAULT_BOOST, fitBoosted } from './boost.ts';
import { type Complexity, tuneComplexity } from './complexity.ts';
import type { Column, Dataset } from './csv.ts';
import { DEFAULT_NA_TOKENS, isPresent, parseNumber } from './csv.ts';
import { stratifiedFolds } from './cv.ts';
import type { FeatureScreen } from './fit.ts';
import { type Coding, codesOf, fitScorecard, type PreparedColumn, type Selection, scoreRows } from './fit.ts';
import { DEFAULT_LOGISTIC } from './logistic.ts';
import { auc, gini, histogram, ks } from './metrics.ts';
import {
  DEFAULT_MISSING_POLICY,
  DEFAULT_SCALING,
  type MissingPolicy,
  type Scaling,
  type Scorecard,
} from './scorecard.ts';
import { DEFAULT_WOE_SMOOTHING } from './woe.ts';

export type { FeatureScreen } from './fit.ts';
export { scoreRows } from './fit.ts';

export const MODEL_FORMAT = 'fenqi-scorecard';
export const MODEL_FORMAT_VERSION = 1;
/** Most folds accepted: beyond this each held-out fold is too small to measure anything. */
export const MAX_FOLDS = 20;
/** Buckets of the stored training score distribution that monitoring compares against (PSI). */
export const SCORE_DISTRIBUTION_BUCKETS = 10;
/** Fewest rows worth training on. */
export const MIN_TRAINING_ROWS = 20;

/** The input cannot be trained on as given (unknown column, one class only, ...). */
export class TrainInputError extends Error {
  override name = 'TrainInputError';
}

/** 'scorecard': WoE (or per-bin) logistic regression; 'boosted': the stump ensemble (boost.ts). */
export type ModelKind = 'scorecard' | 'boosted';
export const MODEL_KINDS: readonly ModelKind[] = ['scorecard', 'boosted'];

export interface TrainOptions {
  target: string;
  /** Target value that marks a bad outcome; every other non-missing value is good. */
  badValue: string;
  exclude: string[];
  /** Number of cross-validation folds; 0 skips cross-validation. */
  folds: number;
  seed: number;
  binning: BinningOptions;
  /** Features with a lower information value are not used. */
  minIv: number;
  l2: number;
  smoothing: number;
  scaling: Scaling;
  /** How features are chosen on the multivariate fit (see fit.ts). */
  selection: Selection;
  /** How bins are weighted when complexity is fixed; with inner CV, 'bins' lets the search pick either (fit.ts). */
  coding: Coding;
  /** 'inner-cv': bins, L2 penalty and coding chosen by cross-validation inside each fit; 'fixed': as given. */
  complexity: 'inner-cv' | 'fixed';
  /** Offer suppressor / partner ratios as candidates (ratios.ts); with inner CV it chooses whether. */
  ratios: boolean;
  /**
   * Cards averaged on subsamples (bagging.ts) when the complexity is tuned and the fit has at most
   * BAG_MAX_ROWS rows; 0 fits one card on all rows.
   */
  bagCards: number;
  /** Which trainer; the boosted model always chooses its rounds by inner CV (boost.ts). */
  model: ModelKind;
  boost: BoostOptions;
  missingPolicy: MissingPolicy;
  /** The cells the data was read with as missing; stored so scoring reads cells the same way. */
  naTokens: readonly string[];
  onProgress?: (message: string) => void;
}

export const DEFAULT_TRAIN: Omit<TrainOptions, 'target' | 'badValue'> = {
  model: 'scorecard',
  boost: DEFAULT_BOOST,
  exclude: [],
  folds: 5,
  seed: 42,
  binning: DEFAULT_BINNING,
  minIv: 0.02,
  l2: DEFAULT_LOGISTIC.l2,
  smoothing: DEFAULT_WOE_SMOOTHING,
  scaling: DEFAULT_SCALING,
  selection: 'l2',
  coding: 'woe',
  complexity: 'inner-cv',
  ratios: true,
  bagCards: BAG_CARDS,
  missingPolicy: DEFAULT_MISSING_POLICY,
  naTokens: DEFAULT_NA_TOKENS,
};

export interface Discrimination {
  auc: number;
  gini: number;
  ks: number;
}

export interface FoldMetrics extends Discrimination {
  fold: number;
  rows: number;
  bads: number;
  /** The complexity inner cross-validation chose for this fold. */
  maxBins?: number;
  l2?: number;
  coding?: Coding;
  /** Whether ratio candidates were offered, as inner cross-validation chose. */
  ratios?: boolean;
  /** The boosted model: rounds inner cross-validation chose for this fold. */
  rounds?: number;
  /** Cards averaged on half-samples for this fold (bagging.ts; absent when one card was fitted). */
  bagCards?: number;
}

export interface ScoreDistribution {
  /** Ascending cut points: bucket i holds cuts[i-1] <= score < cuts[i]. */
  cuts: number[];
  counts: number[];
  goods: number[];
  bads: number[];
}

export interface ScorecardModel extends Scorecard {
  format: typeof MODEL_FORMAT;
  formatVersion: typeof MODEL_FORMAT_VERSION;
  /** Which trainer wrote the points table (absent before the boosted model: 'scorecard'). */
  modelType?: ModelKind;
  /** A bagged card's one-card counterpart, for the coefficient table (ReferenceCard). */
  reference?: ReferenceCard;
  trainedAt: string;
  target: { column: string; badValue: string };
  rows: number;
  bads: number;
  /** The training options that shape the model (not the target, exclusions or scaling). */
  options: Pick<TrainOptions, 'folds' | 'seed' | 'binning' | 'minIv' | 'l2' | 'smoothing'> &
    Partial<
      Pick<
        TrainOptions,
        'selection' | 'missingPolicy' | 'complexity' | 'coding' | 'ratios' | 'bagCards' | 'boost'
      >
    >;
  /** What inner cross-validation chose for the final model (null when complexity is fixed). */
  complexity?: Complexity | null;
  screening: FeatureScreen[];
  metrics: { training: Discrimination; cv: { folds: FoldMetrics[]; mean: Discrimination } | null };
  scoreDistribution: ScoreDistribution;
}

export interface TrainResult {
  model: ScorecardModel;
  /** Held-out scores from cross-validation, one per training row (null without CV). */
  outOfFold: { scores: number[]; good: boolean[] } | null;
  /** Each fold's model features, in fold order (null without CV). */
  foldFeatures?: FoldFeature[][] | null;
  training: { scores: number[]; good: boolean[] };
}

/** 1 for bad, 0 for good, per dataset row; and the rows whose target is present. */
export function targetOf(data: Dataset, column: string, badValue: string): { y: Uint8Array; rows: number[] } {
  const target = data.columns.find((c) => c.name === column);
  if (!target) throw new TrainInputError(`unknown target column "${column}"`);
  const y = new Uint8Array(data.rowCount);
  const rows: number[] = [];
  const badNumber = parseNumber(badValue);
  let bads = 0;
  for (let r = 0; r < data.rowCount; r++) {
    const v = target.values[r];
    if (!isPresent(v)) continue;
    const bad = target.kind === 'numeric' ? badNumber !== null && v === badNumber : v === badValue.trim();
    y[r] = bad ? 1 : 0;
    if (bad) bads++;
    rows.push(r);
  }
  if (rows.length < MIN_TRAINING_ROWS) {
    throw new TrainInputError(`only ${rows.length} rows have a target value; need ${MIN_TRAINING_ROWS}`);
  }
  if (bads === 0) throw new TrainInputError(`no row has ${column} = ${badValue}`);
  if (bads === rows.length) throw new TrainInputError(`every row has ${column} = ${badValue}; no goods`);
  return { y, rows };
}

/** A copy on shared memory: a worker thread is then sent the same bytes, not a copy. */
function shared(a: Int32Array): Int32Array {
  const out = new Int32Array(new SharedArrayBuffer(a.byteLength));
  out.set(a);
  return out;
}

/**
 * Sort orders and codes views, computed once for every fit on the data, on shared memory: the
 * training's worker threads are sent these (parallel.ts) instead of each sorting for itself, which
 * held a second copy of every sort order (4 bytes a row per column).
 */
export function prepareColumns(
  features: Column[],
  binning: BinningOptions,
  rows: readonly number[],
): PreparedColumn[] {
  return features.map((column) => ({
    column,
    sorted:
      column.kind === 'numeric'
        ? shared(sortedPresentRows(column.values, rows, binning.specialValues))
        : null,
    codes: codesOf(column),
  }));
}

/** What one fit gives the folds and the final model, whichever trainer made it. */
export interface FitOutcome {
  card: Scorecard;
  screening: FeatureScreen[];
  complexity: Complexity | null;
  /** When `card` is a bag: the one card fitted on the same rows with the same settings. */
  reference?: Scorecard;
}

/**
 * A bagged card's points average cards fitted on halves, and an average of cards has no standard
 * errors: the report's coefficient table (weights, standard errors, z, p, VIF) is that of the one
 * card fitted on all the rows with the same settings, kept in the model for it.
 */
export type ReferenceCard = Pick<Scorecard, 'intercept' | 'interceptStdError' | 'features'>;

/** One fit, its complexity (bins, penalty, coding; or boosting rounds) chosen by inner CV when asked. */
function fitOnce(
  prepared: PreparedColumn[],
  y: Uint8Array,
  rows: number[],
  opts: TrainOptions,
  seed: number,
): FitOutcome {
  try {
    if (opts.model === 'boosted') {
      const { card, screening, rounds, innerAuc } = fitBoosted(prepared, y, rows, opts, seed);
      return {
        card,
        screening,
        complexity: { maxBins: FINE_PREBINS, l2: opts.boost.leafL2, rounds, innerAuc },
      };
    }
    const complexity = opts.complexity === 'inner-cv' ? tuneComplexity(prepared, y, rows, opts, seed) : null;
    const tuned = complexity
      ? {
          ...opts,
          binning: { ...opts.binning, maxBins: complexity.maxBins },
          l2: complexity.l2,
          coding: complexity.coding ?? opts.coding,
          ratios: complexity.ratios ?? opts.ratios,
        }
      : opts;
    const { card, screening } = fitScorecard(prepared, y, rows, tuned);
    // Bagged only where inner CV tuned the card: the small sets whose bins move with a few rows.
    if (!complexity || !bags(y, rows, opts.bagCards)) return { card, screening, complexity };
    const bagged = baggedCard(prepared, y, rows, tuned, seed, opts.bagCards);
    return {
      card: bagged,
      reference: card,
      screening,
      complexity: { ...complexity, bagCards: opts.bagCards },
    };
  } catch (err) {
    if (err instanceof RangeError) throw new TrainInputError(err.message);
    throw err;
  }
}

function discrimination(scores: number[], good: boolean[]): Discrimination {
  const a = auc(scores, good);
  return { auc: a, gini: gini(a), ks: ks(scores, good) };
}

function scoreDistribution(scores: number[], good: boolean[]): ScoreDistribution {
  const sorted = [...scores].sort((a, b) => a - b);
  const cuts: number[] = [];
  for (let q = 1; q < SCORE_DISTRIBUTION_BUCKETS; q++) {
    const cut = sorted[Math.floor((q * sorted.length) / SCORE_DISTRIBUTION_BUCKETS)]!;
    if (cuts.length === 0 || cut > cuts.at(-1)!) cuts.push(cut);
  }
  return {
    cuts,
    counts: histogram(scores, cuts),
    goods: histogram(
      scores.filter((_, i) => good[i]),
      cuts,
    ),
    bads: histogram(
      scores.filter((_, i) => !good[i]),
      cuts,
    ),
  };
}

/** What every fold and the final fit share: prepared columns, outcomes, rows and fold numbers. */
export interface Prepared {
  opts: TrainOptions;
  features: PreparedColumn[];
  y: Uint8Array;
  rows: number[];
  good: boolean[];
  /** Fold of each training row (position in `rows`); null without cross-validation. */
  folds: Int32Array | null;
}

/** One feature of one fold's model: what the report's bin-stability table compares across folds. */
export interface FoldFeature {
  feature: string;
  /** Bins besides the missing-value bin (every feature has one). */
  bins: number;
  /** Cut points of a numeric feature (null for categorical). */
  cuts: number[] | null;
  iv: number;
  coefficient: number;
}

/** One fold's held-out scores, by position in Prepared.rows, and the features of its model. */
export interface FoldOutcome {
  metrics: FoldMetrics;
  testPos: number[];
  scores: number[];
  features: FoldFeature[];
}

/** What a worker thread is sent of a Prepared: the options stay behind (onProgress is a function). */
export type SharedPreparation = Omit<Prepared, 'opts' | 'good'>;

export function sharedPreparation({ features, y, rows, folds }: Prepared): SharedPreparation {
  return { features, y, rows, folds };
}

/** A Prepared from what another thread prepared (the same data and options). */
export function fromShared(
  prepared: SharedPreparation,
  options: Partial<TrainOptions> & Pick<TrainOptions, 'target' | 'badValue'>,
): Prepared {
  const opts: TrainOptions = { ...DEFAULT_TRAIN, ...options };
  return { ...prepared, opts, good: prepared.rows.map((r) => prepared.y[r] === 0) };
}

export function prepareTraining(
  data: Dataset,
  options: Partial<TrainOptions> & Pick<TrainOptions, 'target' | 'badValue'>,
): Prepared {
  const opts: TrainOptions = { ...DEFAULT_TRAIN, ...options };
  const names = new Set(data.columns.map((c) => c.name));
  for (const name of opts.exclude) {
    if (!names.has(name)) throw new TrainInputError(`--exclude names unknown column "${name}"`);
  }
  if (!Number.isInteger(opts.folds) || opts.folds < 0 || opts.folds === 1 || opts.folds > MAX_FOLDS) {
    throw new TrainInputError(`folds must be 0 (no cross-validation) or 2..${MAX_FOLDS}`);
  }
  const { y, rows } = targetOf(data, opts.target, opts.badValue);
  const excluded = new Set([opts.target, ...opts.exclude]);
  const columns = data.columns.filter((c) => !excluded.has(c.name));
  if (columns.length === 0) throw new TrainInputError('no feature columns left to train on');
  let folds: Int32Array | null = null;
  if (opts.folds >= 2) {
    try {
      folds = stratifiedFolds(
        rows.map((r) => y[r]!),
        opts.folds,
        opts.seed,
      );
    } catch (err) {
      throw new TrainInputError((err as Error).message);
    }
  }
  const features = prepareColumns(columns, opts.binning, rows);
  return { opts, features, y, rows, good: rows.map((r) => y[r] === 0), folds };
}

/** Fits on every fold but k and scores fold k: the unit of work a worker thread takes. */
export function runFold(prep: Prepared, k: number): FoldOutcome {
  const { features, y, rows, good, opts } = prep;
  const folds = prep.folds!;
  const fitIdx = rows.filter((_, i) => folds[i] !== k);
  const testPos: number[] = [];
  for (let i = 0; i < rows.length; i++) if (folds[i] === k) testPos.push(i);
  const { card, complexity } = fitOnce(features, y, fitIdx, opts, opts.seed + k + 1);
  const scores = Array.from(
    scoreRows(
      card,
      features,
      testPos.map((i) => rows[i]!),
    ),
  );
  const testGood = testPos.map((i) => good[i]!);
  const metrics: FoldMetrics = {
    fold: k + 1,
    rows: testPos.length,
    bads: testGood.filter((g) => !g).length,
    ...discrimination(scores, testGood),
    ...(complexity
      ? {
          maxBins: complexity.maxBins,
          l2: complexity.l2,
          ...(complexity.coding ? { coding: complexity.coding } : {}),
          ...(complexity.ratios !== undefined ? { ratios: complexity.ratios } : {}),
          ...(complexity.rounds ? { rounds: complexity.rounds } : {}),
          ...(complexity.bagCards ? { bagCards: complexity.bagCards } : {}),
        }
      : {}),
  };
  const foldFeatures = card.features.map((f) => ({
    feature: f.name,
    bins: f.bins.length - 1,
    cuts: f.type === 'numeric' ? [...f.cuts] : null,
    iv: f.iv,
    coefficient: f.coefficient,
  }));
  return { metrics, testPos, scores, features: foldFeatures };
}

/** Fold outcomes (in any order) into per-fold metrics, their mean and out-of-fold scores. */
function collectFolds(
  prep: Prepared,
  outcomes: FoldOutcome[],
): { cv: ScorecardModel['metrics']['cv']; outOfFold: TrainResult['outOfFold'] } {
  const oofScores = new Array<number>(prep.rows.length).fill(0);
  for (const o of outcomes) {
    o.testPos.forEach((i, t) => {
      oofScores[i] = o.scores[t]!;
    });
  }
  const foldMetrics = outcomes.map((o) => o.metrics).sort((a, b) => a.fold - b.fold);
  const mean = (key: keyof Discrimination): number =>
    foldMetrics.reduce((s, f) => s + f[key], 0) / foldMetrics.length;
  return {
    cv: { folds: foldMetrics, mean: { auc: mean('auc'), gini: mean('gini'), ks: mean('ks') } },
    outOfFold: { scores: oofScores, good: prep.good },
  };
}

/** The final fit on all rows: independent of the folds, so it can run while they do. */
export function fitFinal(prep: Prepared): FitOutcome {
  const fitted = fitOnce(prep.features, prep.y, prep.rows, prep.opts, prep.opts.seed);
  fitted.card.naTokens = [...prep.opts.naTokens];
  return fitted;
}

/** The model file and result from the final fit and the fold outcomes (all folds, any order). */
export function finishTraining(
  prep: Prepared,
  outcomes: FoldOutcome[],
  final: FitOutcome = fitFinal(prep),
): TrainResult {
  const { opts, features, rows, good } = prep;
  const { cv, outOfFold } = prep.folds ? collectFolds(prep, outcomes) : { cv: null, outOfFold: null };
  const { card, screening, complexity, reference } = final;
  const trainingScores = Array.from(scoreRows(card, features, rows));
  const model: ScorecardModel = {
    format: MODEL_FORMAT,
    formatVersion: MODEL_FORMAT_VERSION,
    modelType: opts.model,
    trainedAt: new Date().toISOString(),
    target: { column: opts.target, badValue: opts.badValue },
    rows: rows.length,
    bads: good.filter((g) => !g).length,
    options: {
      folds: opts.folds,
      seed: opts.seed,
      binning: opts.binning,
      minIv: opts.minIv,
      l2: opts.l2,
      smoothing: opts.smoothing,
      selection: opts.selection,
      missingPolicy: opts.missingPolicy,
      complexity: opts.complexity,
      coding: opts.coding,
      ratios: opts.ratios,
      bagCards: opts.bagCards,
      ...(opts.model === 'boosted' ? { boost: opts.boost } : {}),
    },
    complexity,
    ...card,
    ...(reference
      ? {
          reference: {
            intercept: reference.intercept,
            interceptStdError: reference.interceptStdError,
            features: reference.features,
          },
        }
      : {}),
    screening: screening.sort((a, b) => b.iv - a.iv),
    metrics: { training: discrimination(trainingScores, good), cv },
    scoreDistribution: scoreDistribution(trainingScores, good),
  };
  const foldFeatures = prep.folds
    ? [...outcomes].sort((a, b) => a.metrics.fold - b.metrics.fold).map((o) => o.features)
    : null;
  return { model, outOfFold, foldFeatures, training: { scores: trainingScores, good } };
}

/** Trains on one thread: every fold, then the final model (src/risk/train runs folds in parallel). */
export function train(
  data: Dataset,
  options: Partial<TrainOptions> & Pick<TrainOptions, 'target' | 'badValue'>,
): TrainResult {
  const prep = prepareTraining(data, options);
  const progress = prep.opts.onProgress ?? (() => {});
  const outcomes: FoldOutcome[] = [];
  for (let k = 0; k < (prep.folds ? prep.opts.folds : 0); k++) {
    progress(`fold ${k + 1}/${prep.opts.folds}: binning and fitting`);
    outcomes.push(runFold(prep, k));
  }
  progress('final model on all rows');
  return finishTraining(prep, outcomes);
}

/** Checks that parsed JSON looks like a model this code can score with. */
export function parseModel(json: unknown): ScorecardModel {
  const m = json as Partial<ScorecardModel> | null;
  if (!m || typeof m !== 'object' || m.format !== MODEL_FORMAT)
    throw new TrainInputError('not a fenqi scorecard model');
  if (m.formatVersion !== MODEL_FORMAT_VERSION) {
    throw new TrainInputError(`model format version ${String(m.formatVersion)} is not supported`);
  }
  if (!Array.isArray(m.features) || !Array.isArray(m.grades) || typeof m.basePoints !== 'number') {
    throw new TrainInputError('model is missing features, grades or base points');
  }
  return m as ScorecardModel;
}

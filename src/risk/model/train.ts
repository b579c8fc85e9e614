/**
 * The training pipeline: bin every feature, compute WoE and IV, keep features whose IV clears the
 * threshold, fit a penalized logistic regression on their WoE, drop any feature whose weight comes
 * out with the wrong sign, and scale to points. Cross-validation repeats the whole pipeline, binning
 * included, inside each fold, because bins cut with the held-out rows in view would flatter the score.
 */
import {
  assignBin,
  type BinningOptions,
  binCategorical,
  binNumeric,
  DEFAULT_BINNING,
  type FeatureBinning,
} from './binning.ts';
import type { Column, Dataset } from './csv.ts';
import { parseNumber } from './csv.ts';
import { stratifiedFolds } from './cv.ts';
import { DEFAULT_LOGISTIC, fitLogistic } from './logistic.ts';
import { auc, gini, histogram, ks } from './metrics.ts';
import {
  buildScorecard,
  DEFAULT_SCALING,
  gradeCuts,
  type Scaling,
  type Scorecard,
  scoreRow,
} from './scorecard.ts';
import { DEFAULT_WOE_SMOOTHING, woeTable } from './woe.ts';

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
  onProgress?: (message: string) => void;
}

export const DEFAULT_TRAIN: Omit<TrainOptions, 'target' | 'badValue'> = {
  exclude: [],
  folds: 5,
  seed: 42,
  binning: DEFAULT_BINNING,
  minIv: 0.02,
  l2: DEFAULT_LOGISTIC.l2,
  smoothing: DEFAULT_WOE_SMOOTHING,
  scaling: DEFAULT_SCALING,
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
}

export interface FeatureScreen {
  feature: string;
  type: 'numeric' | 'categorical';
  iv: number;
  selected: boolean;
  /** Why a feature is out: "iv below 0.02", "wrong sign", or "" when selected. */
  note: string;
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
  trainedAt: string;
  target: { column: string; badValue: string };
  rows: number;
  bads: number;
  /** The training options that shape the model (not the target, exclusions or scaling). */
  options: Pick<TrainOptions, 'folds' | 'seed' | 'binning' | 'minIv' | 'l2' | 'smoothing'>;
  screening: FeatureScreen[];
  metrics: { training: Discrimination; cv: { folds: FoldMetrics[]; mean: Discrimination } | null };
  scoreDistribution: ScoreDistribution;
}

export interface TrainResult {
  model: ScorecardModel;
  /** Held-out scores from cross-validation, one per training row (null without CV). */
  outOfFold: { scores: number[]; good: boolean[] } | null;
  training: { scores: number[]; good: boolean[] };
}

interface Fitted {
  card: Scorecard;
  screening: FeatureScreen[];
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
    if (v === null || v === undefined) continue;
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

function binFeature(column: Column, y: Uint8Array, rows: number[], opts: BinningOptions): FeatureBinning {
  return column.kind === 'numeric'
    ? binNumeric(column.name, column.values, y, rows, opts)
    : binCategorical(column.name, column.values, y, rows, opts);
}

function rowObject(features: readonly Column[], r: number): Record<string, number | string | null> {
  const row: Record<string, number | string | null> = {};
  for (const c of features) row[c.name] = c.values[r] ?? null;
  return row;
}

function fitOnce(features: Column[], y: Uint8Array, rows: number[], opts: TrainOptions): Fitted {
  const candidates = features.map((column) => {
    const binning = binFeature(column, y, rows, opts.binning);
    const { woe, iv } = woeTable(binning.bins, opts.smoothing);
    const binOfRow = rows.map((r) => assignBin(binning, column.values[r] ?? null));
    return { column, binning, woe, iv, binOfRow };
  });
  const screening: FeatureScreen[] = candidates.map((c) => ({
    feature: c.column.name,
    type: c.column.kind,
    iv: c.iv,
    selected: c.iv >= opts.minIv,
    note: c.iv >= opts.minIv ? '' : `iv below ${opts.minIv}`,
  }));
  let chosen = candidates.filter((_, i) => screening[i]!.selected);
  const yRows = rows.map((r) => y[r]!);
  for (;;) {
    if (chosen.length === 0) throw new TrainInputError(`no feature reaches the IV threshold ${opts.minIv}`);
    const x = rows.map((_, i) => chosen.map((c) => c.woe[c.binOfRow[i]!]!));
    const fit = fitLogistic(x, yRows, { l2: opts.l2 });
    // WoE grows with safety, so a weight on P(bad) must be negative; a positive one is collinearity
    // talking, and a scorecard that rewards risk in one line cannot be explained to anyone.
    let worst = -1;
    let worstZ = 0;
    fit.coefficients.forEach((b, j) => {
      const z = b / fit.stdErrors[j]!;
      if (b > 0 && z > worstZ) {
        worst = j;
        worstZ = z;
      }
    });
    if (worst >= 0) {
      const name = chosen[worst]!.column.name;
      const entry = screening.find((s) => s.feature === name)!;
      entry.selected = false;
      entry.note = 'wrong sign';
      chosen = chosen.filter((_, j) => j !== worst);
      continue;
    }
    const card = buildScorecard(
      chosen.map((c, j) => ({
        binning: c.binning,
        woe: c.woe,
        iv: c.iv,
        coefficient: fit.coefficients[j]!,
        stdError: fit.stdErrors[j]!,
      })),
      fit.intercept,
      fit.interceptStdError,
      opts.scaling,
    );
    const scores = rows.map((r) => scoreRow(card, rowObject(features, r), 0).score);
    card.grades = gradeCuts(scores);
    return { card, screening };
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

/** Scores each fold with a model fitted on the others: honest discrimination and out-of-fold scores. */
function crossValidate(
  features: Column[],
  y: Uint8Array,
  rows: number[],
  good: boolean[],
  opts: TrainOptions,
): { cv: ScorecardModel['metrics']['cv']; outOfFold: TrainResult['outOfFold'] } {
  const progress = opts.onProgress ?? (() => {});
  let folds: Int32Array;
  try {
    folds = stratifiedFolds(
      rows.map((r) => y[r]!),
      opts.folds,
      opts.seed,
    );
  } catch (err) {
    throw new TrainInputError((err as Error).message);
  }
  const oofScores = new Array<number>(rows.length).fill(0);
  const foldMetrics: FoldMetrics[] = [];
  for (let k = 0; k < opts.folds; k++) {
    progress(`fold ${k + 1}/${opts.folds}: binning and fitting`);
    const fitIdx = rows.filter((_, i) => folds[i] !== k);
    const testPos = rows.map((_, i) => i).filter((i) => folds[i] === k);
    const { card } = fitOnce(features, y, fitIdx, opts);
    const scores = testPos.map((i) => scoreRow(card, rowObject(features, rows[i]!), 0).score);
    testPos.forEach((i, t) => {
      oofScores[i] = scores[t]!;
    });
    const testGood = testPos.map((i) => good[i]!);
    foldMetrics.push({
      fold: k + 1,
      rows: testPos.length,
      bads: testGood.filter((g) => !g).length,
      ...discrimination(scores, testGood),
    });
  }
  const mean = (key: keyof Discrimination): number =>
    foldMetrics.reduce((s, f) => s + f[key], 0) / foldMetrics.length;
  return {
    cv: { folds: foldMetrics, mean: { auc: mean('auc'), gini: mean('gini'), ks: mean('ks') } },
    outOfFold: { scores: oofScores, good },
  };
}

export function train(
  data: Dataset,
  options: Partial<TrainOptions> & Pick<TrainOptions, 'target' | 'badValue'>,
): TrainResult {
  const opts: TrainOptions = { ...DEFAULT_TRAIN, ...options };
  const progress = opts.onProgress ?? (() => {});
  const names = new Set(data.columns.map((c) => c.name));
  for (const name of opts.exclude) {
    if (!names.has(name)) throw new TrainInputError(`--exclude names unknown column "${name}"`);
  }
  if (!Number.isInteger(opts.folds) || opts.folds < 0 || opts.folds === 1 || opts.folds > MAX_FOLDS) {
    throw new TrainInputError(`folds must be 0 (no cross-validation) or 2..${MAX_FOLDS}`);
  }
  const { y, rows } = targetOf(data, opts.target, opts.badValue);
  const excluded = new Set([opts.target, ...opts.exclude]);
  const features = data.columns.filter((c) => !excluded.has(c.name));
  if (features.length === 0) throw new TrainInputError('no feature columns left to train on');
  const good = rows.map((r) => y[r] === 0);

  const { cv, outOfFold } =
    opts.folds >= 2 ? crossValidate(features, y, rows, good, opts) : { cv: null, outOfFold: null };

  progress('final model on all rows');
  const { card, screening } = fitOnce(features, y, rows, opts);
  const trainingScores = rows.map((r) => scoreRow(card, rowObject(features, r), 0).score);
  const model: ScorecardModel = {
    format: MODEL_FORMAT,
    formatVersion: MODEL_FORMAT_VERSION,
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
    },
    ...card,
    screening: screening.sort((a, b) => b.iv - a.iv),
    metrics: { training: discrimination(trainingScores, good), cv },
    scoreDistribution: scoreDistribution(trainingScores, good),
  };
  return { model, outOfFold, training: { scores: trainingScores, good } };
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

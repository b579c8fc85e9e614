/**
 * The boosted additive challenger: gradient boosting of depth-1 trees (stumps) on finely binned
 * features, fitted by Newton steps on the logistic loss. Each stump splits one feature's ordered
 * bins in two, so the sum of stumps is, feature by feature, a step function over that feature's
 * bins: the model is still a points table (one line per feature, one value per bin), scored,
 * explained (reason codes from each feature's shortfall) and served exactly like the scorecard.
 * It is the ceiling the scorecard is measured against: what an unconstrained additive model finds
 * in the same features, without WoE's one-weight-per-feature restriction.
 *
 * Monotone constraints ('auto'): a numeric feature whose optimal scorecard binning follows a trend
 * (ascending or descending bad rate) only takes stumps that keep its contribution moving that way
 * along its values; a peak or valley, codes and categories stay free. The number of rounds is
 * chosen by inner cross-validation inside each fit (so inside each outer fold), like the
 * scorecard's complexity; the bins, bad-rate order of categories and trend directions are learnt
 * on the whole fit, a small optimism that touches only the choice of rounds, never the outer AUC.
 */
import {
  assignBin,
  type BinningOptions,
  binCategorical,
  binNumeric,
  type FeatureBinning,
  FINE_PREBINS,
} from './binning.ts';
import { stratifiedFolds } from './cv.ts';
import { type FeatureScreen, type FitOptions, fitScorecard, type PreparedColumn } from './fit.ts';
import { sigmoid } from './logistic.ts';
import { auc } from './metrics.ts';
import { buildScorecard, gradeCuts, type Scorecard, slopeOnWoe } from './scorecard.ts';
import { woeTable } from './woe.ts';

export type BoostMonotone = 'auto' | 'none';
export const BOOST_MONOTONE: readonly BoostMonotone[] = ['auto', 'none'];

export interface BoostOptions {
  /** Shrinkage of every stump's values: small steps, many rounds, less overfitting. */
  learningRate: number;
  /** Most stumps; inner cross-validation chooses how many of them to keep. */
  maxRounds: number;
  /** L2 penalty on a leaf's value (XGBoost's lambda): a leaf of few rows moves little. */
  leafL2: number;
  /** Smallest share of the fit rows on either side of a stump. */
  minLeafShare: number;
  monotone: BoostMonotone;
}

export const DEFAULT_BOOST: BoostOptions = {
  learningRate: 0.1,
  maxRounds: 1000,
  leafL2: 1,
  minLeafShare: 0.01,
  monotone: 'auto',
};
/** Rounds between the inner held-out AUC checks that choose the number of rounds. */
export const BOOST_CHECKPOINT_ROUNDS = 10;
export const BOOST_INNER_FOLDS = 3;
/** Checkpoints without a new best inner AUC after which boosting stops growing (200 rounds). */
export const BOOST_PATIENCE_CHECKPOINTS = 20;
/** A stump must reduce the loss by at least this much (second-order gain) to be taken. */
const MIN_SPLIT_GAIN = 1e-9;

/** One feature as the booster sees it: ordered fine bins, and each fit row's bin. */
interface BoostFeature {
  prepared: PreparedColumn;
  binning: FeatureBinning;
  /** Bin of each fit row (position in the fit's rows). */
  binOfRow: Int32Array;
  /** Bins [0, valueBins) are ordered values (or categories by bad rate); specials and missing follow. */
  valueBins: number;
  /** +1: the contribution to ln(odds of bad) may not fall along the value bins; -1 may not rise; 0 free. */
  direction: number;
}

export interface BoostFitOptions extends FitOptions {
  boost: BoostOptions;
}

/** The trend the optimal scorecard binning finds, as a constraint direction (0: none). */
function trendOf(
  p: PreparedColumn,
  y: Uint8Array,
  rows: number[],
  opts: BoostFitOptions,
  reversed: ReadonlySet<string>,
): number {
  if (opts.boost.monotone === 'none' || p.column.kind !== 'numeric' || p.codes) return 0;
  // A suppressor's trend on its own is the opposite of its effect given the others: no constraint.
  if (reversed.has(p.column.name)) return 0;
  const { shape } = binNumeric(p.column.name, p.column.values, y, rows, {
    ...opts.binning,
    method: 'optimal',
  });
  return shape === 'ascending' ? 1 : shape === 'descending' ? -1 : 0;
}

function boostFeatures(
  prepared: PreparedColumn[],
  y: Uint8Array,
  rows: number[],
  opts: BoostFitOptions,
  reversed: ReadonlySet<string>,
) {
  const fine: BinningOptions = { ...opts.binning, method: 'fine', maxBins: FINE_PREBINS };
  return prepared.map((p): BoostFeature => {
    const c = p.column;
    const binning =
      c.kind === 'categorical'
        ? binCategorical(c.name, c.values, y, rows, fine)
        : p.ratio
          ? { ...binNumeric(c.name, c.values, y, rows, { ...fine, specialValues: [] }), ratio: p.ratio }
          : binNumeric(c.name, c.values, y, rows, fine);
    const numericValueBins = binning.bins.length - (binning.specials?.length ?? 0) - 1;
    const valueBins = c.kind === 'categorical' ? binning.bins.length - 1 : numericValueBins;
    const binOfRow = Int32Array.from(rows, (r) => assignBin(binning, c.values[r] ?? null));
    return { prepared: p, binning, binOfRow, valueBins, direction: trendOf(p, y, rows, opts, reversed) };
  });
}

interface Stump {
  feature: number;
  /** Bins [0, at) take `left`, the rest `right`. */
  at: number;
  left: number;
  right: number;
  gain: number;
}

/** The best stump on one feature for gradients g and Hessians h of the fit rows. */
function bestStumpOf(
  f: BoostFeature,
  index: number,
  g: Float64Array,
  h: Float64Array,
  minLeafRows: number,
  lambda: number,
): Stump | null {
  const bins = f.binning.bins.length;
  const gb = new Float64Array(bins);
  const hb = new Float64Array(bins);
  const nb = new Int32Array(bins);
  for (let i = 0; i < f.binOfRow.length; i++) {
    const b = f.binOfRow[i]!;
    gb[b]! += g[i]!;
    hb[b]! += h[i]!;
    nb[b]!++;
  }
  let gAll = 0;
  let hAll = 0;
  for (let b = 0; b < bins; b++) {
    gAll += gb[b]!;
    hAll += hb[b]!;
  }
  const parent = (gAll * gAll) / (hAll + lambda);
  let best: Stump | null = null;
  let gl = 0;
  let hl = 0;
  let nl = 0;
  for (let at = 1; at < bins; at++) {
    gl += gb[at - 1]!;
    hl += hb[at - 1]!;
    nl += nb[at - 1]!;
    const nr = f.binOfRow.length - nl;
    if (nl < minLeafRows || nr < minLeafRows) continue;
    const gr = gAll - gl;
    const hr = hAll - hl;
    const left = -gl / (hl + lambda);
    const right = -gr / (hr + lambda);
    // Both sides hold value bins: the step must go the feature's way.
    if (f.direction !== 0 && at < f.valueBins && f.direction * (right - left) < 0) continue;
    const gain = (gl * gl) / (hl + lambda) + (gr * gr) / (hr + lambda) - parent;
    if (gain > MIN_SPLIT_GAIN && (best === null || gain > best.gain))
      best = { feature: index, at, left, right, gain };
  }
  return best;
}

/** A booster's state: per-feature bin values, and its log-odds of bad on the rows it learns from. */
interface Booster {
  base: number;
  values: Float64Array[];
  stumps: number[];
  eta: Float64Array;
}

function startBooster(features: BoostFeature[], yRows: Uint8Array): Booster {
  let bads = 0;
  for (const v of yRows) bads += v;
  const rate = Math.min(Math.max(bads / yRows.length, 1e-6), 1 - 1e-6);
  const base = Math.log(rate / (1 - rate));
  return {
    base,
    values: features.map((f) => new Float64Array(f.binning.bins.length)),
    stumps: features.map(() => 0),
    eta: new Float64Array(yRows.length).fill(base),
  };
}

/**
 * One round: the best stump over all features, added with shrinkage; false when none helps.
 * `learning` are the features restricted to the `learn` positions (the stump is chosen on them);
 * the step is applied to every row's log-odds, so held-out rows are scored as the booster grows.
 */
function boostRound(
  features: BoostFeature[],
  learning: BoostFeature[],
  state: Booster,
  learn: Int32Array,
  yRows: Uint8Array,
  opts: BoostOptions,
): boolean {
  const g = new Float64Array(learn.length);
  const h = new Float64Array(learn.length);
  for (let i = 0; i < learn.length; i++) {
    const p = sigmoid(state.eta[learn[i]!]!);
    g[i] = p - yRows[learn[i]!]!;
    h[i] = p * (1 - p);
  }
  const minLeafRows = Math.max(1, Math.ceil(opts.minLeafShare * learn.length));
  let best: Stump | null = null;
  for (const [j, f] of learning.entries()) {
    const s = bestStumpOf(f, j, g, h, minLeafRows, opts.leafL2);
    if (s && (best === null || s.gain > best.gain)) best = s;
  }
  if (best === null) return false;
  const { feature, at, left, right } = best;
  const values = state.values[feature]!;
  for (let b = 0; b < values.length; b++) values[b]! += opts.learningRate * (b < at ? left : right);
  state.stumps[feature]!++;
  const binOfRow = features[feature]!.binOfRow;
  for (let i = 0; i < state.eta.length; i++)
    state.eta[i]! += opts.learningRate * (binOfRow[i]! < at ? left : right);
  return true;
}

function restrictTo(features: BoostFeature[], positions: Int32Array): BoostFeature[] {
  return features.map((f) => ({ ...f, binOfRow: Int32Array.from(positions, (i) => f.binOfRow[i]!) }));
}

/**
 * Mean held-out AUC per checkpoint (every BOOST_CHECKPOINT_ROUNDS rounds) over inner folds grown
 * side by side, then the number of rounds with the best of them (the fewest on a tie). Growing stops
 * once BOOST_PATIENCE_CHECKPOINTS checkpoints in a row have not beaten the best (early stopping):
 * the rounds past a peak that long are not chosen, and their cost was most of the training time.
 */
function innerRounds(
  features: BoostFeature[],
  yRows: Uint8Array,
  opts: BoostOptions,
  seed: number,
): { rounds: number; innerAuc: number } {
  const folds = stratifiedFolds(yRows, BOOST_INNER_FOLDS, seed);
  const checkpoints = Math.max(1, Math.floor(opts.maxRounds / BOOST_CHECKPOINT_ROUNDS));
  const inner = Array.from({ length: BOOST_INNER_FOLDS }, (_, k) => {
    const positions = Array.from(yRows, (_, i) => i);
    const learn = Int32Array.from(positions.filter((i) => folds[i] !== k));
    const test = positions.filter((i) => folds[i] === k);
    return {
      learn,
      test,
      testGood: test.map((i) => yRows[i] === 0),
      learning: restrictTo(features, learn),
      state: startBooster(features, yRows),
      live: true,
    };
  });
  let best = 0;
  let bestTotal = Number.NEGATIVE_INFINITY;
  for (let c = 0; c < checkpoints && c - best <= BOOST_PATIENCE_CHECKPOINTS; c++) {
    let total = 0;
    for (const f of inner) {
      for (let r = 0; r < BOOST_CHECKPOINT_ROUNDS && f.live; r++)
        f.live = boostRound(features, f.learning, f.state, f.learn, yRows, opts);
      // scores rise with safety, as points do: the negative log-odds of bad
      total += auc(
        f.test.map((i) => -f.state.eta[i]!),
        f.testGood,
      );
    }
    if (total > bestTotal + 1e-12) {
      best = c;
      bestTotal = total;
    }
  }
  return { rounds: (best + 1) * BOOST_CHECKPOINT_ROUNDS, innerAuc: bestTotal / BOOST_INNER_FOLDS };
}

export interface BoostedFit {
  card: Scorecard;
  screening: FeatureScreen[];
  /** Rounds boosted, as inner cross-validation chose, and its mean inner held-out AUC. */
  rounds: number;
  innerAuc: number;
}

/**
 * What the WoE scorecard fit on the same rows tells the booster: which features are suppressors
 * (their univariate trend is no constraint) and the ratio features it offered for them (extra
 * features the stumps may split on, when ratios are on).
 */
function scorecardGuide(
  prepared: PreparedColumn[],
  y: Uint8Array,
  rows: number[],
  opts: BoostFitOptions,
): { reversed: Set<string>; ratios: PreparedColumn[] } {
  const needed = opts.ratios || opts.boost.monotone === 'auto';
  if (!needed) return { reversed: new Set(), ratios: [] };
  let fitted: ReturnType<typeof fitScorecard>;
  try {
    fitted = fitScorecard(prepared, y, rows, { ...opts, selection: 'l2', coding: 'woe' });
  } catch (err) {
    // No feature the scorecard could use: the booster goes unguided (and finds no stump either).
    if (err instanceof RangeError) return { reversed: new Set(), ratios: [] };
    throw err;
  }
  return {
    reversed: new Set(fitted.screening.filter((s) => s.partner !== undefined).map((s) => s.feature)),
    ratios: fitted.chosen.filter((c) => c.prepared.ratio).map((c) => c.prepared),
  };
}

/** Boosts on `rows`, the rounds chosen by inner cross-validation, and writes the points table. */
export function fitBoosted(
  prepared: PreparedColumn[],
  y: Uint8Array,
  rows: number[],
  opts: BoostFitOptions,
  seed: number,
): BoostedFit {
  const guide = scorecardGuide(prepared, y, rows, opts);
  const features = boostFeatures([...prepared, ...guide.ratios], y, rows, opts, guide.reversed);
  const yRows = Uint8Array.from(rows, (r) => y[r]!);
  const { rounds, innerAuc } = innerRounds(features, yRows, opts.boost, seed);
  const state = startBooster(features, yRows);
  const all = Int32Array.from(rows, (_, i) => i);
  for (let r = 0; r < rounds && boostRound(features, features, state, all, yRows, opts.boost); r++);
  return { ...boostedCard(features, state, rows, opts), rounds, innerAuc };
}

/** The booster's bin values as a points table: each feature centred, its centre in the base line. */
function boostedCard(
  features: BoostFeature[],
  state: Booster,
  rows: number[],
  opts: BoostFitOptions,
): { card: Scorecard; screening: FeatureScreen[] } {
  let intercept = state.base;
  const used = features.filter((_, j) => state.stumps[j]! > 0);
  const inputs = used.map((f) => {
    const j = features.indexOf(f);
    const bins = f.binning.bins;
    const centre = bins.reduce((s, bin, b) => s + bin.count * state.values[j]![b]!, 0) / rows.length;
    intercept += centre;
    const weights = bins.map((bin, b) => (bin.count > 0 ? state.values[j]![b]! - centre : 0));
    const { woe, iv } = woeTable(bins);
    const coefficient = slopeOnWoe(bins, woe, weights);
    return {
      binning: f.binning,
      woe,
      iv,
      coefficient,
      stdError: 0,
      perBin: { coding: 'boosted' as const, weights },
    };
  });
  if (inputs.length === 0) throw new RangeError('no stump improved the fit: no feature carries signal');
  const card = buildScorecard(inputs, intercept, 0, opts.scaling, opts.missingPolicy);
  const scores = new Float64Array(rows.length).fill(card.basePoints);
  card.features.forEach((cf, u) => {
    const binOfRow = used[u]!.binOfRow;
    for (let i = 0; i < rows.length; i++) scores[i]! += cf.bins[binOfRow[i]!]!.points;
  });
  card.grades = gradeCuts(Array.from(scores));
  const screening = features.map((f, j): FeatureScreen => {
    const stumps = state.stumps[j]!;
    const direction =
      f.direction > 0 ? '; risk rises with it' : f.direction < 0 ? '; risk falls with it' : '';
    return {
      feature: f.prepared.column.name,
      type: f.prepared.column.kind,
      iv: woeTable(f.binning.bins).iv,
      selected: stumps > 0,
      note: stumps > 0 ? `${stumps} stumps${direction}` : 'no stump',
    };
  });
  return { card, screening };
}

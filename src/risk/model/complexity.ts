/**
 * Complexity chosen by the data: the number of bins, the L2 penalty and the coding (WoE or one
 * weight per bin) that give the best held-out log-likelihood under an inner cross-validation of the
 * rows a fit is given (inside each outer fold, so the outer AUC stays honest). The log-likelihood of
 * each held-out row's PD (from its integer score) is a proper scoring rule: it rewards shrinkage
 * that makes the card's odds right, where a third of a small set's AUC only sees the ranking and
 * jumps with a few pairs of rows. On german_credit (5 folds) choosing by it raised the outer AUC
 * with seeds 42 and 1-5 in five of six (mean +0.0012) over choosing by mean inner AUC. Small data sets get fewer bins and more
 * shrinkage; large ones are not overfit by the defaults and skip the search (INNER_CV_MAX_ROWS),
 * which would only cost time there. Whether suppressor ratios are offered (ratios.ts) is tried once,
 * at the best setting of the grid.
 */
import type { BinningOptions } from './binning.ts';
import { stratifiedFolds } from './cv.ts';
import {
  type Candidate,
  type Coding,
  candidatesOf,
  type FitOptions,
  fitCandidates,
  type PreparedColumn,
  scoreRows,
} from './fit.ts';
import { auc } from './metrics.ts';

export interface Complexity {
  maxBins: number;
  l2: number;
  /** How the bins are weighted (absent in models before per-bin coding: 'woe'). */
  coding?: Coding;
  /** Whether suppressor ratios were offered as candidates (absent in models before ratios: no). */
  ratios?: boolean;
  /** The boosted model: stumps kept (its bins are FINE_PREBINS quantile groups, l2 the leaf penalty). */
  rounds?: number;
  /** Cards averaged on subsamples at this complexity (bagging.ts; absent when one card was fitted). */
  bagCards?: number;
  /** Mean inner cross-validated AUC of the choice (null when the search was skipped). */
  innerAuc: number | null;
  /** Mean held-out log-likelihood per row of the choice, what chose it (absent when skipped, and before). */
  innerLogLikelihood?: number;
}

/** The grid, simplest first: among equal AUCs the first wins. */
export const MAX_BINS_GRID: readonly number[] = [4, 5, 6, 8];
export const L2_GRID: readonly number[] = [1, 3, 10, 30];
/** WoE first: one weight per feature is simpler than one per bin. */
export const CODING_GRID: readonly Coding[] = ['woe', 'bins'];
export const INNER_FOLDS = 3;
/** Above this many rows the search is skipped and the given complexity is used, with at least LARGE_SET_MAX_BINS. */
export const INNER_CV_MAX_ROWS = 20_000;
/** Bins at most (at least this many allowed) for a set above INNER_CV_MAX_ROWS: the grid's richest. */
export const LARGE_SET_MAX_BINS = MAX_BINS_GRID[MAX_BINS_GRID.length - 1]!;

/** One inner fold: bins learnt on `learn` once, then every coding and penalty fitted on them. */
interface InnerFold {
  learn: number[];
  test: number[];
  testGood: boolean[];
}

function innerFolds(y: Uint8Array, rows: number[], seed: number): InnerFold[] {
  const folds = stratifiedFolds(
    rows.map((r) => y[r]!),
    INNER_FOLDS,
    seed,
  );
  return Array.from({ length: INNER_FOLDS }, (_, k) => {
    const test = rows.filter((_, i) => folds[i] === k);
    return { learn: rows.filter((_, i) => folds[i] !== k), test, testGood: test.map((r) => y[r] === 0) };
  });
}

interface HeldOut {
  /** Mean AUC over the inner folds. */
  auc: number;
  /** Log-likelihood of the held-out rows' outcomes under their PDs, per row, over all inner folds. */
  logLikelihood: number;
}

function heldOut(
  candidates: Candidate[][],
  prepared: PreparedColumn[],
  y: Uint8Array,
  folds: InnerFold[],
  opts: FitOptions,
): HeldOut {
  let aucs = 0;
  let ll = 0;
  let rows = 0;
  folds.forEach((fold, k) => {
    const { card } = fitCandidates(candidates[k]!, y, fold.learn, opts);
    const scores = scoreRows(card, prepared, fold.test);
    aucs += auc(Array.from(scores), fold.testGood);
    scores.forEach((score, i) => {
      // the PD a score implies (scorecard.ts), as the card would state it
      const pdBad = 1 / (1 + Math.exp((score - card.offset) / card.factor));
      ll += Math.log(fold.testGood[i] ? 1 - pdBad : pdBad);
    });
    rows += fold.test.length;
  });
  return { auc: aucs / folds.length, logLikelihood: ll / rows };
}

export function tuneComplexity(
  prepared: PreparedColumn[],
  y: Uint8Array,
  rows: number[],
  opts: FitOptions,
  seed: number,
): Complexity {
  const given: Complexity = {
    maxBins: opts.binning.maxBins,
    l2: opts.l2,
    coding: opts.coding,
    ratios: opts.ratios,
    innerAuc: null,
  };
  // A large set is not overfit by the grid's richest bins (at 24,000 rows a 5 % bin holds 1,200),
  // and fewer would only cost it shape: on the synthetic credit-default set (30,000 rows) 6 -> 8
  // bins raised the 5-fold AUC 0.7610 -> 0.7625; 10 and 12 gave no more.
  if (rows.length > INNER_CV_MAX_ROWS)
    return { ...given, maxBins: Math.max(given.maxBins, LARGE_SET_MAX_BINS) };
  const folds = innerFolds(y, rows, seed);
  let best: Complexity | null = null;
  let bestCandidates: Candidate[][] = [];
  for (const maxBins of MAX_BINS_GRID) {
    const binning: BinningOptions = { ...opts.binning, maxBins };
    // Binning depends on the rows and the bins allowed, not on the penalty or coding: once per fold.
    const candidates = folds.map((f) => candidatesOf(prepared, y, f.learn, { ...opts, binning }));
    // Per-bin weights are offered to the search only when asked (--coding bins): on german_credit
    // (5 folds, seed 42) offering them cost 0.003 AUC (0.7935 -> 0.7908), one fold choosing them.
    for (const coding of opts.coding === 'bins' ? CODING_GRID : CODING_GRID.slice(0, 1)) {
      for (const l2 of L2_GRID) {
        const inner = heldOut(candidates, prepared, y, folds, {
          ...opts,
          binning,
          l2,
          coding,
          ratios: false,
        });
        if (best === null || inner.logLikelihood > best.innerLogLikelihood! + 1e-12) {
          best = {
            maxBins,
            l2,
            coding,
            ratios: false,
            innerAuc: inner.auc,
            innerLogLikelihood: inner.logLikelihood,
          };
          bestCandidates = candidates;
        }
      }
    }
  }
  if (best === null || !opts.ratios) return best ?? given;
  // Ratios are tried at the best bins, penalty and coding only (a staged search: the grid once,
  // then one more setting), and kept when they beat it: 3 more fits instead of a second grid.
  const binning: BinningOptions = { ...opts.binning, maxBins: best.maxBins };
  const withRatios = heldOut(bestCandidates, prepared, y, folds, {
    ...opts,
    binning,
    l2: best.l2,
    coding: best.coding ?? opts.coding,
    ratios: true,
  });
  return withRatios.logLikelihood > best.innerLogLikelihood! + 1e-12
    ? { ...best, ratios: true, innerAuc: withRatios.auc, innerLogLikelihood: withRatios.logLikelihood }
    : best;
}

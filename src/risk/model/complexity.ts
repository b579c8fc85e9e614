/**
 * Complexity chosen by the data: the number of bins and the L2 penalty that give the best AUC under
 * an inner cross-validation of the rows a fit is given (inside each outer fold, so the outer AUC
 * stays honest). Small data sets get fewer bins and more shrinkage; large ones are not overfit by
 * the defaults and skip the search (INNER_CV_MAX_ROWS), which would only cost time there.
 */
import type { BinningOptions } from './binning.ts';
import { stratifiedFolds } from './cv.ts';
import { type FitOptions, fitScorecard, type PreparedColumn, scoreRows } from './fit.ts';
import { auc } from './metrics.ts';

export interface Complexity {
  maxBins: number;
  l2: number;
  /** Mean inner cross-validated AUC of the choice (null when the search was skipped). */
  innerAuc: number | null;
}

/** The grid, simplest first: among equal AUCs the first wins. */
export const MAX_BINS_GRID: readonly number[] = [4, 5, 6, 8];
export const L2_GRID: readonly number[] = [1, 3, 10, 30];
export const INNER_FOLDS = 3;
/** Above this many rows the search is skipped and the given complexity is used. */
export const INNER_CV_MAX_ROWS = 20_000;

function innerAuc(
  prepared: PreparedColumn[],
  y: Uint8Array,
  rows: number[],
  folds: Int32Array,
  opts: FitOptions,
): number {
  let total = 0;
  for (let k = 0; k < INNER_FOLDS; k++) {
    const learn = rows.filter((_, i) => folds[i] !== k);
    const test = rows.filter((_, i) => folds[i] === k);
    const { card } = fitScorecard(prepared, y, learn, opts);
    const scores = Array.from(scoreRows(card, prepared, test));
    total += auc(
      scores,
      test.map((r) => y[r] === 0),
    );
  }
  return total / INNER_FOLDS;
}

export function tuneComplexity(
  prepared: PreparedColumn[],
  y: Uint8Array,
  rows: number[],
  opts: FitOptions,
  seed: number,
): Complexity {
  const given: Complexity = { maxBins: opts.binning.maxBins, l2: opts.l2, innerAuc: null };
  if (rows.length > INNER_CV_MAX_ROWS) return given;
  const folds = stratifiedFolds(
    rows.map((r) => y[r]!),
    INNER_FOLDS,
    seed,
  );
  let best: Complexity | null = null;
  for (const maxBins of MAX_BINS_GRID) {
    for (const l2 of L2_GRID) {
      const binning: BinningOptions = { ...opts.binning, maxBins };
      const value = innerAuc(prepared, y, rows, folds, { ...opts, binning, l2 });
      if (best === null || value > best.innerAuc! + 1e-12) best = { maxBins, l2, innerAuc: value };
    }
  }
  return best ?? given;
}

/**
 * Discrimination and stability measures. Every function takes scores and a flag per row saying
 * whether the row is a "positive"; AUC is then the chance that a random positive scores above a
 * random negative. For a scorecard (high score = safe) pass positive = good; for a probability of
 * default pass positive = bad.
 */

/** Share floor for PSI so an empty bin gives a large but finite term instead of infinity. */
export const PSI_FLOOR = 1e-4;

export interface Counts {
  positives: number;
  negatives: number;
}

function check(scores: ArrayLike<number>, positive: ArrayLike<boolean>): Counts {
  if (scores.length !== positive.length) throw new RangeError('scores and labels differ in length');
  let positives = 0;
  for (let i = 0; i < positive.length; i++) if (positive[i]) positives++;
  const negatives = positive.length - positives;
  if (positives === 0 || negatives === 0) throw new RangeError('need at least one positive and one negative');
  return { positives, negatives };
}

function order(scores: ArrayLike<number>): number[] {
  return Array.from({ length: scores.length }, (_, i) => i).sort((a, b) => scores[a]! - scores[b]!);
}

/** Mann-Whitney AUC: ranks in ascending score, ties given their average rank. */
export function auc(scores: ArrayLike<number>, positive: ArrayLike<boolean>): number {
  const { positives, negatives } = check(scores, positive);
  const idx = order(scores);
  let rankSum = 0;
  let i = 0;
  while (i < idx.length) {
    let j = i;
    while (j + 1 < idx.length && scores[idx[j + 1]!] === scores[idx[i]!]) j++;
    const averageRank = (i + j + 2) / 2; // ranks are 1-based: i+1 .. j+1
    for (let k = i; k <= j; k++) if (positive[idx[k]!]) rankSum += averageRank;
    i = j + 1;
  }
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

export function gini(aucValue: number): number {
  return 2 * aucValue - 1;
}

/**
 * Kolmogorov-Smirnov: the largest gap between the cumulative score distributions of positives and
 * negatives, taken only between distinct scores (tied rows cannot be separated by any cut-off).
 */
export function ks(scores: ArrayLike<number>, positive: ArrayLike<boolean>): number {
  const { positives, negatives } = check(scores, positive);
  const idx = order(scores);
  let cumPos = 0;
  let cumNeg = 0;
  let best = 0;
  for (let i = 0; i < idx.length; i++) {
    if (positive[idx[i]!]) cumPos++;
    else cumNeg++;
    const last = i + 1 === idx.length || scores[idx[i + 1]!] !== scores[idx[i]!];
    if (last) best = Math.max(best, Math.abs(cumPos / positives - cumNeg / negatives));
  }
  return best;
}

export interface RocPoint {
  /** False positive rate: share of negatives at or above the threshold. */
  fpr: number;
  /** True positive rate: share of positives at or above the threshold. */
  tpr: number;
}

/** The ROC curve from the highest threshold down, one point per distinct score. */
export function rocCurve(scores: ArrayLike<number>, positive: ArrayLike<boolean>): RocPoint[] {
  const { positives, negatives } = check(scores, positive);
  const idx = order(scores).reverse();
  const points: RocPoint[] = [{ fpr: 0, tpr: 0 }];
  let tp = 0;
  let fp = 0;
  for (let i = 0; i < idx.length; i++) {
    if (positive[idx[i]!]) tp++;
    else fp++;
    if (i + 1 === idx.length || scores[idx[i + 1]!] !== scores[idx[i]!]) {
      points.push({ fpr: fp / negatives, tpr: tp / positives });
    }
  }
  return points;
}

/**
 * Population stability index between an expected (training) and an actual distribution over the
 * same bins, given as counts or shares: sum (a_i - e_i) * ln(a_i / e_i) over shares, each share
 * floored at PSI_FLOOR. Rules of thumb: under 0.1 stable, 0.1 to 0.25 drifting, over 0.25 shifted.
 */
export function psi(expected: readonly number[], actual: readonly number[], floor = PSI_FLOOR): number {
  if (expected.length !== actual.length || expected.length === 0) {
    throw new RangeError('expected and actual need the same, non-zero number of bins');
  }
  const te = expected.reduce((s, v) => s + v, 0);
  const ta = actual.reduce((s, v) => s + v, 0);
  if (!(te > 0 && ta > 0)) throw new RangeError('distributions must have positive totals');
  let total = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = Math.max(expected[i]! / te, floor);
    const a = Math.max(actual[i]! / ta, floor);
    total += (a - e) * Math.log(a / e);
  }
  return total;
}

/** Counts of values per bin for ascending cut points: bin i holds cuts[i-1] <= v < cuts[i]. */
export function histogram(values: ArrayLike<number>, cuts: readonly number[]): number[] {
  const counts = new Array<number>(cuts.length + 1).fill(0);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    let lo = 0;
    let hi = cuts.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (v >= cuts[mid]!) lo = mid + 1;
      else hi = mid;
    }
    counts[lo]!++;
  }
  return counts;
}

export interface GainsRow {
  /** Lowest score of the band (the cut-off that approves it and everything above). */
  minScore: number;
  rows: number;
  goods: number;
  bads: number;
  cumGoods: number;
  cumBads: number;
  /** Share of all rows approved at this cut-off. */
  approvalRate: number;
  /** Bad rate among the rows approved at this cut-off. */
  cumBadRate: number;
  /** Good:bad odds within the band. */
  odds: number;
}

/**
 * The gains table: score bands from the highest down, cut at `cuts` (a band holds scores >= its
 * cut and below the previous one), with what approving down to each cut-off means.
 */
export function gainsTable(
  scores: readonly number[],
  good: readonly boolean[],
  cuts: readonly number[],
): GainsRow[] {
  const bands = [...cuts].sort((a, b) => b - a);
  const rows: GainsRow[] = bands.map((minScore) => ({
    minScore,
    rows: 0,
    goods: 0,
    bads: 0,
    cumGoods: 0,
    cumBads: 0,
    approvalRate: 0,
    cumBadRate: 0,
    odds: 0,
  }));
  scores.forEach((s, i) => {
    const band = bands.findIndex((cut) => s >= cut);
    const row = rows[band < 0 ? rows.length - 1 : band]!;
    row.rows++;
    if (good[i]) row.goods++;
    else row.bads++;
  });
  let cumGoods = 0;
  let cumBads = 0;
  for (const row of rows) {
    cumGoods += row.goods;
    cumBads += row.bads;
    row.cumGoods = cumGoods;
    row.cumBads = cumBads;
    row.approvalRate = (cumGoods + cumBads) / scores.length;
    row.cumBadRate = cumGoods + cumBads > 0 ? cumBads / (cumGoods + cumBads) : 0;
    row.odds = row.bads > 0 ? row.goods / row.bads : Number.POSITIVE_INFINITY;
  }
  return rows;
}

export interface CalibrationBucket {
  rows: number;
  /** Mean predicted probability of bad in the bucket. */
  predicted: number;
  /** Observed bad rate in the bucket. */
  observed: number;
}

/**
 * Calibration over equal-count buckets of predicted PD (ascending), and the expected calibration
 * error: the row-weighted mean of |predicted - observed| over the buckets.
 */
export function calibration(
  pdBad: readonly number[],
  good: readonly boolean[],
  bucketCount: number,
): { buckets: CalibrationBucket[]; error: number } {
  const order = pdBad.map((_, i) => i).sort((a, b) => pdBad[a]! - pdBad[b]! || a - b);
  const buckets: CalibrationBucket[] = [];
  let error = 0;
  for (let b = 0; b < bucketCount; b++) {
    const from = Math.floor((b * order.length) / bucketCount);
    const to = Math.floor(((b + 1) * order.length) / bucketCount);
    if (to <= from) continue;
    let predicted = 0;
    let bads = 0;
    for (let k = from; k < to; k++) {
      predicted += pdBad[order[k]!]!;
      if (!good[order[k]!]) bads++;
    }
    const bucket = { rows: to - from, predicted: predicted / (to - from), observed: bads / (to - from) };
    buckets.push(bucket);
    error += (bucket.rows / order.length) * Math.abs(bucket.predicted - bucket.observed);
  }
  return { buckets, error };
}

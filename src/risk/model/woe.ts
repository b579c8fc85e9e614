/**
 * Weight of evidence and information value.
 *
 * WoE_i = ln(g_i / b_i) where g_i and b_i are bin i's shares of all goods and of all bads, so a
 * positive WoE marks a bin safer than average. IV = sum (g_i - b_i) * WoE_i.
 *
 * Smoothing: a bin with no goods or no bads would give an infinite WoE. Every non-empty bin gets
 * `smoothing` pseudo-observations added to both its good and its bad count, and the totals grow by
 * the same amount per bin, so the shares still sum to one: g_i = (good_i + a) / (G + k a),
 * b_i = (bad_i + a) / (B + k a), with k the number of non-empty bins. A bin nobody fell into in
 * training (typically the missing-value bin of a column that had no gaps) is left out of the sums
 * and gets WoE 0: it carries no evidence either way.
 */

/** Half an observation per cell: the Haldane-Anscombe correction, small next to any real bin. */
export const DEFAULT_WOE_SMOOTHING = 0.5;

export interface GoodBad {
  good: number;
  bad: number;
}

export interface WoeResult {
  woe: number[];
  /** Each bin's contribution to the information value. */
  ivPerBin: number[];
  iv: number;
}

export function woeTable(cells: GoodBad[], smoothing = DEFAULT_WOE_SMOOTHING): WoeResult {
  if (!(smoothing >= 0)) throw new RangeError('smoothing must be >= 0');
  const nonEmpty = cells.filter((c) => c.good + c.bad > 0);
  const k = nonEmpty.length;
  const goods = nonEmpty.reduce((s, c) => s + c.good, 0) + k * smoothing;
  const bads = nonEmpty.reduce((s, c) => s + c.bad, 0) + k * smoothing;
  const woe: number[] = [];
  const ivPerBin: number[] = [];
  for (const cell of cells) {
    if (cell.good + cell.bad === 0 || goods === 0 || bads === 0) {
      woe.push(0);
      ivPerBin.push(0);
      continue;
    }
    const g = (cell.good + smoothing) / goods;
    const b = (cell.bad + smoothing) / bads;
    // Only reachable with smoothing 0 and an all-good or all-bad bin: report it, do not hide it.
    const w = Math.log(g / b);
    woe.push(w);
    ivPerBin.push((g - b) * w);
  }
  return { woe, ivPerBin, iv: ivPerBin.reduce((s, v) => s + v, 0) };
}

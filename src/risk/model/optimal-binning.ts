/**
 * Exact optimal binning: given ordered fine groups ("atoms", ~20 quantile groups of a numeric
 * feature, or categories sorted by bad rate), the partition into contiguous bins that maximises
 * information value subject to
 *   - at most maxBins bins, each holding at least minCount rows, and
 *   - a bad-rate shape: ascending, descending, one peak (up then down), one valley, or none.
 * Solved by dynamic programming over (bins used, last bin [i, j), phase), so the answer is the true
 * optimum, not a greedy one, and the loops run in a fixed order with strict comparisons, so equal
 * inputs always give equal bins. With n atoms and K bins it costs O(K n^3): nothing at n = 20.
 *
 * IV is additive over bins once the totals are fixed: bin i adds (g_i - b_i) ln(g_i / b_i) with
 * g_i, b_i its smoothed shares of all goods and of all bads.
 */
import { invariant } from '../../domain/errors.ts';
import { DEFAULT_WOE_SMOOTHING } from './woe.ts';

export type Shape = 'ascending' | 'descending' | 'peak' | 'valley' | 'none';

export interface Counts {
  good: number;
  bad: number;
}

export interface Segmentation {
  /** Contiguous [start, end) runs of atoms, in order, covering all atoms. */
  segments: [number, number][];
  iv: number;
}

/** Most atoms the solver accepts: O(n^3) beyond this stops being "nothing". */
export const MAX_OPTIMAL_ATOMS = 64;

const NO_VALUE = Number.NEGATIVE_INFINITY;

interface Prefix {
  good: Float64Array;
  bad: Float64Array;
  goods: number;
  bads: number;
}

function prefixOf(atoms: readonly Counts[]): Prefix {
  const good = new Float64Array(atoms.length + 1);
  const bad = new Float64Array(atoms.length + 1);
  atoms.forEach((a, i) => {
    good[i + 1] = good[i]! + a.good;
    bad[i + 1] = bad[i]! + a.bad;
  });
  return { good, bad, goods: good[atoms.length]!, bads: bad[atoms.length]! };
}

/** Bad rate of atoms [i, j), smoothed so an all-good bin still has a rate to compare. */
function rateOf(p: Prefix, i: number, j: number): number {
  const g = p.good[j]! - p.good[i]!;
  const b = p.bad[j]! - p.bad[i]!;
  return (b + DEFAULT_WOE_SMOOTHING) / (g + b + 2 * DEFAULT_WOE_SMOOTHING);
}

function ivOf(p: Prefix, i: number, j: number): number {
  const g = (p.good[j]! - p.good[i]! + DEFAULT_WOE_SMOOTHING) / (p.goods + DEFAULT_WOE_SMOOTHING);
  const b = (p.bad[j]! - p.bad[i]! + DEFAULT_WOE_SMOOTHING) / (p.bads + DEFAULT_WOE_SMOOTHING);
  return (g - b) * Math.log(g / b);
}

/**
 * Whether a bin of rate `next` may follow one of rate `last` in `phase` (0 before the turn, 1
 * after), and the phase it leaves. Peak: rising then falling; valley: falling then rising.
 */
function step(shape: Shape, phase: number, last: number, next: number): number {
  if (shape === 'none') return 0;
  if (shape === 'ascending') return next >= last ? 0 : -1;
  if (shape === 'descending') return next <= last ? 0 : -1;
  const rising = shape === 'peak' ? phase === 0 : phase === 1;
  if (rising) return next >= last ? phase : phase === 0 ? 1 : -1;
  return next <= last ? phase : phase === 0 ? 1 : -1;
}

/** The IV-maximising segmentation of `atoms` under the shape and size limits (exact). */
export function optimalSegments(
  atoms: readonly Counts[],
  maxBins: number,
  minCount: number,
  shape: Shape,
): Segmentation {
  const n = atoms.length;
  invariant(n <= MAX_OPTIMAL_ATOMS, `at most ${MAX_OPTIMAL_ATOMS} atoms`);
  if (n === 0) return { segments: [], iv: 0 };
  const p = prefixOf(atoms);
  const size = (i: number, j: number): number => p.good[j]! - p.good[i]! + p.bad[j]! - p.bad[i]!;
  const width = n + 1;
  // value[phase][i * width + j]: best IV of atoms [0, j) ending with the bin [i, j), in this phase.
  // One table per number of bins used, so the limit on bins is exact.
  const layers: { value: Float64Array[]; parent: Int32Array[] }[] = [];
  const fresh = () => ({
    value: [new Float64Array(width * width).fill(NO_VALUE), new Float64Array(width * width).fill(NO_VALUE)],
    parent: [new Int32Array(width * width).fill(-1), new Int32Array(width * width).fill(-1)],
  });
  const first = fresh();
  for (let j = 1; j <= n; j++) if (size(0, j) >= minCount) first.value[0]![j] = ivOf(p, 0, j);
  layers.push(first);
  for (let k = 1; k < maxBins; k++) {
    const prev = layers[k - 1]!;
    const next = fresh();
    let any = false;
    for (let phase = 0; phase < 2; phase++) {
      for (let i = 0; i < n; i++) {
        for (let j = i + 1; j < n; j++) {
          const base = prev.value[phase]![i * width + j]!;
          if (base === NO_VALUE) continue;
          const lastRate = rateOf(p, i, j);
          for (let l = j + 1; l <= n; l++) {
            if (size(j, l) < minCount) continue;
            const phaseAfter = step(shape, phase, lastRate, rateOf(p, j, l));
            if (phaseAfter < 0) continue;
            const total = base + ivOf(p, j, l);
            const at = j * width + l;
            if (total > next.value[phaseAfter]![at]!) {
              next.value[phaseAfter]![at] = total;
              next.parent[phaseAfter]![at] = phase * width * width + i * width + j;
              any = true;
            }
          }
        }
      }
    }
    if (!any) break;
    layers.push(next);
  }
  return bestPath(layers, n, width);
}

function bestPath(
  layers: { value: Float64Array[]; parent: Int32Array[] }[],
  n: number,
  width: number,
): Segmentation {
  let best = { k: -1, phase: 0, i: 0, iv: NO_VALUE };
  layers.forEach((layer, k) => {
    for (let phase = 0; phase < 2; phase++) {
      for (let i = 0; i < n; i++) {
        const v = layer.value[phase]![i * width + n]!;
        // Strictly better only: among equal IVs the fewest bins (earliest layer) wins.
        if (v > best.iv + 1e-12) best = { k, phase, i, iv: v };
      }
    }
  });
  if (best.k < 0) return { segments: [[0, n]], iv: 0 };
  const segments: [number, number][] = [];
  let { k, phase, i } = best;
  let j = n;
  for (;;) {
    segments.unshift([i, j]);
    if (k === 0) break;
    const parent = layers[k]!.parent[phase]![i * width + j]!;
    phase = Math.floor(parent / (width * width));
    const rest = parent % (width * width);
    j = i;
    i = Math.floor(rest / width);
    k--;
  }
  return { segments, iv: best.iv };
}

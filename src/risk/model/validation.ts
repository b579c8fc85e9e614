/**
 * The numbers of the validation pack (report.ts draws them): significance and collinearity of the
 * weights, the out-of-fold grade table, and the characteristic analysis with PSI that compares the
 * development sample with an out-of-time one. Pure: rows in, tables out.
 */
import { assignBin } from './binning.ts';
import type { Column, Dataset } from './csv.ts';
import { PSI_FLOOR, psi } from './metrics.ts';
import { ratioColumnOf } from './ratios.ts';
import type { GradeCut, ScorecardFeature } from './scorecard.ts';
import type { FoldFeature } from './train.ts';

/** Pivot below which an OLS system is treated as singular (a feature copies the others): VIF is infinite. */
const SINGULAR_PIVOT = 1e-12;

/** Two-sided p-value of a standard normal z (Abramowitz-Stegun 7.1.26 erfc, |error| < 1.5e-7). */
export function twoSidedP(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const poly =
    t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  return Math.min(1, poly * Math.exp(-x * x));
}

export interface CoefficientRow {
  name: string;
  coefficient: number;
  stdError: number;
  z: number;
  p: number;
  /** Variance inflation factor of the feature's WoE among the model's features (null for the intercept). */
  vif: number | null;
}

/** Solves A x = b in place by Gaussian elimination with partial pivoting; null when singular. */
function solve(a: number[][], b: number[]): number[] | null {
  const n = b.length;
  for (let c = 0; c < n; c++) {
    let pivot = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(a[r]![c]!) > Math.abs(a[pivot]![c]!)) pivot = r;
    if (Math.abs(a[pivot]![c]!) < SINGULAR_PIVOT) return null;
    [a[c], a[pivot]] = [a[pivot]!, a[c]!];
    [b[c], b[pivot]] = [b[pivot]!, b[c]!];
    for (let r = c + 1; r < n; r++) {
      const f = a[r]![c]! / a[c]![c]!;
      for (let k = c; k < n; k++) a[r]![k]! -= f * a[c]![k]!;
      b[r]! -= f * b[c]!;
    }
  }
  const x = new Array<number>(n).fill(0);
  for (let r = n - 1; r >= 0; r--) {
    let s = b[r]!;
    for (let k = r + 1; k < n; k++) s -= a[r]![k]! * x[k]!;
    x[r] = s / a[r]![r]!;
  }
  return x;
}

/**
 * VIF of each column: 1 / (1 - R²) of its least-squares regression (with intercept) on the other
 * columns. 1 means independent of the others; above 5-10 the weights share their signal.
 */
export function vif(columns: readonly ArrayLike<number>[]): number[] {
  const n = columns[0]?.length ?? 0;
  return columns.map((target, j) => {
    const others = columns.filter((_, k) => k !== j);
    if (others.length === 0) return 1;
    const p = others.length + 1;
    const xtx = Array.from({ length: p }, () => new Array<number>(p).fill(0));
    const xty = new Array<number>(p).fill(0);
    const row = new Array<number>(p);
    let mean = 0;
    for (let i = 0; i < n; i++) mean += target[i]!;
    mean /= n;
    for (let i = 0; i < n; i++) {
      row[0] = 1;
      for (let k = 0; k < others.length; k++) row[k + 1] = others[k]![i]!;
      for (let a = 0; a < p; a++) {
        xty[a]! += row[a]! * target[i]!;
        for (let b = 0; b < p; b++) xtx[a]![b]! += row[a]! * row[b]!;
      }
    }
    const beta = solve(xtx, xty);
    if (!beta) return Number.POSITIVE_INFINITY;
    let ssRes = 0;
    let ssTot = 0;
    for (let i = 0; i < n; i++) {
      let fitted = beta[0]!;
      for (let k = 0; k < others.length; k++) fitted += beta[k + 1]! * others[k]![i]!;
      ssRes += (target[i]! - fitted) ** 2;
      ssTot += (target[i]! - mean) ** 2;
    }
    if (ssTot === 0) return Number.POSITIVE_INFINITY;
    const r2 = 1 - ssRes / ssTot;
    return r2 >= 1 ? Number.POSITIVE_INFINITY : 1 / (1 - r2);
  });
}

/** Each feature's bin per row of `rows` (indices into the dataset). */
export function binIndexes(f: ScorecardFeature, data: Dataset, rows: readonly number[]): Int32Array {
  const column = f.ratio
    ? ratioColumnOf(data.columns, f.ratio)
    : data.columns.find((c: Column) => c.name === f.name);
  const out = new Int32Array(rows.length);
  rows.forEach((r, i) => {
    out[i] = assignBin(f, column ? (column.values[r] ?? null) : null);
  });
  return out;
}

/**
 * The coefficient table: weight, standard error, Wald z, two-sided p and the VIF of each feature's
 * column (its WoE, or its bin weights under per-bin or boosted coding: the feature's contribution).
 * A per-bin feature gives one row per bin that held training rows, its centred weight beside the
 * standard error of the fitted one (so z is approximate); a boosted feature's weights have none.
 */
export function coefficientTable(
  card: { intercept: number; interceptStdError: number; features: ScorecardFeature[] },
  data: Dataset,
  rows: readonly number[],
): CoefficientRow[] {
  const columns = card.features.map((f) => {
    const bins = binIndexes(f, data, rows);
    return Float64Array.from(bins, (b) => (f.binWeights ? f.binWeights[b]! : f.bins[b]!.woe));
  });
  const vifs = vif(columns);
  const row = (name: string, coefficient: number, stdError: number, v: number | null): CoefficientRow => {
    const z = stdError > 0 ? coefficient / stdError : Number.NaN;
    return { name, coefficient, stdError, z, p: Number.isFinite(z) ? twoSidedP(z) : Number.NaN, vif: v };
  };
  return [
    row('(intercept)', card.intercept, card.interceptStdError, null),
    ...card.features.flatMap((f, j) => {
      const weights = f.binWeights;
      if (!weights) return [row(f.name, f.coefficient, f.stdError, vifs[j]!)];
      return f.bins.flatMap((bin, b) =>
        bin.count > 0
          ? [
              row(
                `${f.name}: ${bin.label}`,
                weights[b]!,
                f.binStdErrors?.[b] ?? Number.NaN,
                b === 0 ? vifs[j]! : null,
              ),
            ]
          : [],
      );
    }),
  ];
}

export interface GradeRow {
  grade: string;
  rows: number;
  bads: number;
  badRate: number;
}

/** Rows and bad rate per grade for the given (out-of-fold) scores, grades cut by the final model. */
export function gradeTable(
  scores: readonly number[],
  good: readonly boolean[],
  cuts: readonly GradeCut[],
): GradeRow[] {
  const table = cuts.map((c) => ({ grade: c.grade, rows: 0, bads: 0, badRate: 0 }));
  scores.forEach((s, i) => {
    let g = cuts.findIndex((c) => c.minScore === null || s >= c.minScore);
    if (g < 0) g = cuts.length - 1;
    table[g]!.rows++;
    if (!good[i]) table[g]!.bads++;
  });
  for (const t of table) t.badRate = t.rows > 0 ? t.bads / t.rows : Number.NaN;
  return table;
}

export interface CharacteristicRow {
  bin: string;
  points: number;
  expectedShare: number;
  actualShare: number;
  /** Points the average score moves by through this bin: (actual - expected) share times points. */
  scoreShift: number;
}

export interface Characteristic {
  feature: string;
  rows: CharacteristicRow[];
  /** Total average score shift from this feature between the two samples. */
  scoreShift: number;
  psi: number;
}

/** Shares of rows per bin. */
function shares(bins: Int32Array, binCount: number): number[] {
  const counts = new Array<number>(binCount).fill(0);
  for (const b of bins) counts[b]!++;
  return counts.map((c) => (bins.length > 0 ? c / bins.length : 0));
}

/**
 * Characteristic analysis of one feature: how the share of rows in each bin moved from the
 * development sample to the out-of-time one, what that does to the average score, and its PSI.
 */
export function characteristic(
  f: ScorecardFeature,
  expected: Int32Array,
  actual: Int32Array,
  floor = PSI_FLOOR,
): Characteristic {
  const e = shares(expected, f.bins.length);
  const a = shares(actual, f.bins.length);
  const rows = f.bins.map((bin, b) => ({
    bin: bin.label,
    points: bin.points,
    expectedShare: e[b]!,
    actualShare: a[b]!,
    scoreShift: (a[b]! - e[b]!) * bin.points,
  }));
  return {
    feature: f.name,
    rows,
    scoreShift: rows.reduce((s, r) => s + r.scoreShift, 0),
    psi: psi(e, a, floor),
  };
}

/** A `column>=value` out-of-time split: rows at or after `value` are out of time. */
export interface OotSplit {
  column: string;
  from: string;
}

/** Parses `column>=value`; null when the text is not of that form. */
export function parseOotSplit(text: string): OotSplit | null {
  const at = text.indexOf('>=');
  if (at <= 0 || at + 2 >= text.length) return null;
  return { column: text.slice(0, at).trim(), from: text.slice(at + 2).trim() };
}

function pick(data: Dataset, rows: readonly number[]): Dataset {
  return {
    rowCount: rows.length,
    columns: data.columns.map(
      (c) =>
        ({
          ...c,
          values:
            c.values instanceof Float64Array
              ? Float64Array.from(rows, (r) => c.values[r] as number)
              : rows.map((r) => c.values[r]!),
        }) as Column,
    ),
  };
}

/**
 * Splits a data set into development rows and out-of-time rows by one column: numbers compare as
 * numbers, text (ISO dates, periods like 2024-07) as text. Rows with the column blank stay in development.
 */
export function splitOutOfTime(data: Dataset, split: OotSplit): { development: Dataset; outOfTime: Dataset } {
  const column = data.columns.find((c) => c.name === split.column);
  if (!column) throw new RangeError(`unknown out-of-time column "${split.column}"`);
  const from = column.kind === 'numeric' ? Number(split.from) : split.from;
  if (column.kind === 'numeric' && !Number.isFinite(from)) {
    throw new RangeError(`"${split.from}" is not a number, and ${split.column} is numeric`);
  }
  const dev: number[] = [];
  const oot: number[] = [];
  for (let r = 0; r < data.rowCount; r++) {
    const v = column.values[r];
    if (v !== null && v !== undefined && v >= from) oot.push(r);
    else dev.push(r);
  }
  if (dev.length === 0 || oot.length === 0) {
    throw new RangeError(
      `${split.column}>=${split.from} leaves ${dev.length} development and ${oot.length} out-of-time rows`,
    );
  }
  return { development: pick(data, dev), outOfTime: pick(data, oot) };
}

export interface BinStability {
  feature: string;
  inFinal: boolean;
  /** Folds whose model kept the feature. */
  selectedIn: number;
  folds: number;
  /** Ranges over the folds that kept the feature (NaN when none did). */
  binsMin: number;
  binsMax: number;
  ivMin: number;
  ivMax: number;
  /** Folds whose weight has the other sign than most folds' (a weight that flips is not estimated). */
  signFlips: number;
  /** Each fold's numeric cuts (null when categorical or not selected in that fold). */
  cuts: (number[] | null)[];
}

/** How much each feature's binning and weight move from fold to fold: an unstable one is overfit. */
export function binStability(
  finalFeatures: readonly string[],
  folds: readonly FoldFeature[][],
): BinStability[] {
  const names = [...new Set([...finalFeatures, ...folds.flatMap((f) => f.map((x) => x.feature))])];
  return names.map((feature) => {
    const seen = folds.map((fold) => fold.find((x) => x.feature === feature) ?? null);
    const kept = seen.filter((x): x is FoldFeature => x !== null);
    const negative = kept.filter((x) => x.coefficient < 0).length;
    // Math.min() of nothing is Infinity, which would read as a range; no fold, no range.
    const range = (values: number[]): [number, number] =>
      values.length > 0 ? [Math.min(...values), Math.max(...values)] : [Number.NaN, Number.NaN];
    const [binsMin, binsMax] = range(kept.map((x) => x.bins));
    const [ivMin, ivMax] = range(kept.map((x) => x.iv));
    return {
      feature,
      inFinal: finalFeatures.includes(feature),
      selectedIn: kept.length,
      folds: folds.length,
      binsMin,
      binsMax,
      ivMin,
      ivMax,
      signFlips: Math.min(negative, kept.length - negative),
      cuts: seen.map((x) => x?.cuts ?? null),
    };
  });
}

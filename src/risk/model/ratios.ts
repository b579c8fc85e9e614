/**
 * Ratio features for suppressor pairs. A suppressor is a feature whose weight comes out reversed
 * given another (fit.ts): a balance that looks safe on its own, because big balances come with big
 * limits, is risky at a given limit. Its univariate bins are cut for the wrong question, so the card
 * reads it poorly; the ratio (balance / limit: utilisation) says the same thing in one feature whose
 * own bins carry the signal. The trainer offers `suppressor / partner` as a candidate feature, and
 * inner cross-validation (complexity.ts) decides whether offering ratios pays.
 *
 * A ratio is defined when both parts are present, neither is a declared special value and the
 * denominator is positive; otherwise it is missing (and scored by its missing bin). It is a
 * deterministic function of the row's own cells, so it is computed the same way in training, in
 * cross-validation's held-out rows and at scoring time: the model file stores only the two names.
 */
import { type Column, isPresent, type NumericColumn, parseNumber } from './csv.ts';

/** The two columns a ratio feature is computed from, and the part values that mean "no value". */
export interface RatioOf {
  numerator: string;
  denominator: string;
  /** Declared special values (--special-values): a part holding one makes the ratio missing. */
  specialValues: number[];
}

/** Partners tried per suppressor: the normally signed features its WoE correlates with most. */
export const RATIO_PARTNERS = 3;
/** Most suppressor pairs one fit computes a ratio for (the largest reversed weights first). */
export const MAX_RATIO_PAIRS = 8;
/** Most ratio candidates one fit offers: those of the highest information value. */
export const MAX_RATIO_CANDIDATES = 3;

export function ratioName(r: Pick<RatioOf, 'numerator' | 'denominator'>): string {
  return `${r.numerator}/${r.denominator}`;
}

/** The ratio of two parts, or null when it is not defined (see the module comment). */
export function ratioValue(
  numerator: number | null | undefined,
  denominator: number | null | undefined,
  specialValues: readonly number[],
): number | null {
  if (!isPresent(numerator) || !isPresent(denominator)) return null;
  if (denominator <= 0 || specialValues.includes(numerator) || specialValues.includes(denominator))
    return null;
  const value = numerator / denominator;
  return Number.isFinite(value) ? value : null;
}

/** The ratio of two numeric columns for every dataset row (NaN where it is not defined). */
export function ratioColumn(numerator: NumericColumn, denominator: NumericColumn, r: RatioOf): NumericColumn {
  const n = numerator.values.length;
  const values = new Float64Array(n);
  const specials = r.specialValues;
  for (let i = 0; i < n; i++)
    values[i] = ratioValue(numerator.values[i], denominator.values[i], specials) ?? Number.NaN;
  return { name: ratioName(r), kind: 'numeric', values };
}

/** A ratio's column from the dataset's columns, or null when a part is missing or not numeric. */
export function ratioColumnOf(columns: readonly Column[], r: RatioOf): NumericColumn | null {
  const parts = ratioParts(columns, r);
  return parts && ratioColumn(parts[0], parts[1], r);
}

function ratioParts(columns: readonly Column[], r: RatioOf): [NumericColumn, NumericColumn] | null {
  const num = columns.find((c) => c.name === r.numerator);
  const den = columns.find((c) => c.name === r.denominator);
  if (num?.kind !== 'numeric' || den?.kind !== 'numeric') return null;
  return [num, den];
}

/**
 * The ratio on some rows only, as a column of its own: values[i] is the ratio of rows[i] (NaN where
 * it is not defined), so its rows are 0..n-1. Ranking ratio candidates on a sample and scoring a
 * fold need no column as long as the data set (8 bytes a dataset row each).
 */
export function ratioOnRows(
  numerator: NumericColumn,
  denominator: NumericColumn,
  r: RatioOf,
  rows: ArrayLike<number>,
): { values: Float64Array; rows: Int32Array } {
  const values = new Float64Array(rows.length);
  const specials = r.specialValues;
  for (let i = 0; i < rows.length; i++) {
    const at = rows[i]!;
    values[i] = ratioValue(numerator.values[at], denominator.values[at], specials) ?? Number.NaN;
  }
  return { values, rows: Int32Array.from({ length: rows.length }, (_, i) => i) };
}

/** ratioOnRows from the dataset's columns, or null when a part is missing or not numeric. */
export function ratioOnRowsOf(
  columns: readonly Column[],
  r: RatioOf,
  rows: ArrayLike<number>,
): { values: Float64Array; rows: Int32Array } | null {
  const parts = ratioParts(columns, r);
  return parts && ratioOnRows(parts[0], parts[1], r, rows);
}

/** A ratio from the raw cells of a scored row (CSV text or request values). */
export function ratioOfRow(r: RatioOf, row: Readonly<Record<string, unknown>>): number | null {
  const part = (raw: unknown): number | null =>
    raw === null || raw === undefined
      ? null
      : typeof raw === 'number'
        ? Number.isFinite(raw)
          ? raw
          : null
        : parseNumber(String(raw));
  return ratioValue(part(row[r.numerator]), part(row[r.denominator]), r.specialValues);
}

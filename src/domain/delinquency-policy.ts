/**
 * A product's delinquency policy, as numbers (kept apart from delinquency.ts so product.ts can
 * validate them without an import cycle): where the buckets end and when a loan is written off.
 */

/** Upper bound (inclusive) of days past due of M1, M2 and M3 unless the product says otherwise. */
export const DEFAULT_BUCKET_MAX_DPD: readonly [number, number, number] = [30, 60, 90];
/** Days past due at which a loan is written off unless the product or the run says otherwise. */
export const DEFAULT_WRITE_OFF_DPD = 180;
/** A threshold beyond ten years is a typing error, not a policy. */
export const MAX_WRITE_OFF_DPD = 3650;

/** The problems of a bucket bound list: three whole, increasing numbers of days from 1. */
export function bucketBoundProblems(bounds: unknown): string[] {
  if (
    !Array.isArray(bounds) ||
    bounds.length !== 3 ||
    !bounds.every(
      (b, k) => Number.isInteger(b) && b >= 1 && b <= MAX_WRITE_OFF_DPD && (k === 0 || b > bounds[k - 1]),
    )
  ) {
    return ['bucketMaxDpd must be three increasing whole numbers of days (the last day of M1, M2 and M3)'];
  }
  return [];
}

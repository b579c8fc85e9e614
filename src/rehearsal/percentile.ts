/**
 * Nearest-rank percentile of ascending values (p in 0..100; 0 for none): what the rehearsal's
 * samples, its per-hop summary and the benches all report, so their figures compare.
 */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

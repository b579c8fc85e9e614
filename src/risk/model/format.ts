/** How the risk reports print numbers: a dash where a figure does not exist (a fold without bads). */

export function fixed(x: number, digits = 3): string {
  return Number.isFinite(x) ? x.toFixed(digits) : '–';
}

export function pct(x: number): string {
  return Number.isFinite(x) ? `${(100 * x).toFixed(1)}%` : '–';
}

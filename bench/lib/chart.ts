/** A self-contained HTML page with an inline SVG line chart (no scripts, no downloads). */
import { writeFileSync } from 'node:fs';

export interface Series {
  name: string;
  color: string;
  /** One value per second. */
  values: number[];
  /** Drawn against the right-hand axis. */
  right?: boolean;
}

const W = 900;
const H = 380;
const PAD = { left: 70, right: 80, top: 40, bottom: 50 };

function path(values: number[], max: number, xStep: number): string {
  const plotH = H - PAD.top - PAD.bottom;
  return values
    .map(
      (v, i) =>
        `${i === 0 ? 'M' : 'L'}${(PAD.left + i * xStep).toFixed(1)},${(PAD.top + plotH - (v / (max || 1)) * plotH).toFixed(1)}`,
    )
    .join(' ');
}

export interface Panel {
  title: string;
  series: Series[];
}

/** One page: a chart per panel (each with its own time axis), then the summary table. */
export function writeChart(
  file: string,
  title: string,
  panels: Panel[],
  summary: Record<string, unknown>,
): void {
  const svgs = panels.map((p) => `<h2>${p.title}</h2>${svgOf(p.series)}`).join('\n');
  const rows = Object.entries(summary)
    .map(
      ([k, v]) => `<tr><td>${k}</td><td>${typeof v === 'object' ? JSON.stringify(v) : String(v)}</td></tr>`,
    )
    .join('\n');
  writeFileSync(
    file,
    `<!doctype html><meta charset="utf-8"><title>${title}</title><h1>${title}</h1>${svgs}<table>${rows}</table>\n`,
  );
}

function svgOf(series: Series[]): string {
  const seconds = Math.max(2, ...series.map((s) => s.values.length));
  const xStep = (W - PAD.left - PAD.right) / (seconds - 1);
  const leftMax = Math.max(1, ...series.filter((s) => !s.right).flatMap((s) => s.values));
  const rightMax = Math.max(1, ...series.filter((s) => s.right).flatMap((s) => s.values));
  const lines = series
    .map(
      (s) =>
        `<path d="${path(s.values, s.right ? rightMax : leftMax, xStep)}" fill="none" stroke="${s.color}" stroke-width="2"/>`,
    )
    .join('\n');
  const legend = series
    .map(
      (s, i) =>
        `<text x="${PAD.left + i * 220}" y="24" fill="${s.color}" font-size="13">■ ${s.name}${s.right ? ' (right axis)' : ''}</text>`,
    )
    .join('\n');
  const ticks = [0, 0.25, 0.5, 0.75, 1]
    .map((f) => {
      const y = PAD.top + (H - PAD.top - PAD.bottom) * (1 - f);
      return `<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${y}" y2="${y}" stroke="#eee"/>
<text x="${PAD.left - 6}" y="${y + 4}" font-size="11" text-anchor="end">${Math.round(leftMax * f)}</text>
<text x="${W - PAD.right + 6}" y="${y + 4}" font-size="11">${Math.round(rightMax * f)}</text>`;
    })
    .join('\n');
  const xTicks = Array.from({ length: Math.min(seconds, 12) }, (_, i) =>
    Math.round((i * (seconds - 1)) / Math.max(1, Math.min(seconds, 12) - 1)),
  )
    .map(
      (s) =>
        `<text x="${PAD.left + s * xStep}" y="${H - PAD.bottom + 16}" font-size="11" text-anchor="middle">${s}s</text>`,
    )
    .join('\n');
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif">
<rect width="${W}" height="${H}" fill="white"/>${legend}${ticks}${xTicks}
<text x="${PAD.left - 50}" y="${PAD.top - 8}" font-size="11">per second</text>
<text x="${W - PAD.right}" y="${PAD.top - 8}" font-size="11">orders</text>
${lines}</svg>`;
  return svg;
}

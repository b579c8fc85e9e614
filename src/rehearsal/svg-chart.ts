/**
 * A line chart as inline SVG, for reports that must open anywhere (no script, no CDN): time in
 * seconds along x, one or more series on a shared y axis with its unit, a legend, and gaps where a
 * second has no value.
 */
import { escapeHtml } from '../domain/html.ts';

export interface Series {
  name: string;
  color: string;
  values: readonly (number | null)[];
}

const WIDTH_PX = 720;
const HEIGHT_PX = 240;
const PAD = { left: 64, right: 16, top: 28, bottom: 40 };
const Y_TICKS = 4;

/** 1, 2 or 5 times a power of ten at or above `x`: ticks people read at a glance. */
export function niceCeiling(x: number): number {
  if (x <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(x));
  for (const step of [1, 2, 5, 10]) if (step * power >= x) return step * power;
  return 10 * power;
}

function formatTick(v: number): string {
  if (v >= 1_000_000) return `${(v / 1_000_000).toFixed(v % 1_000_000 === 0 ? 0 : 1)}M`;
  if (v >= 10_000) return `${(v / 1000).toFixed(0)}k`;
  return Number.isInteger(v) ? String(v) : v.toFixed(1);
}

function path(
  values: readonly (number | null)[],
  x: (i: number) => number,
  y: (v: number) => number,
): string {
  let d = '';
  let pen = false;
  values.forEach((v, i) => {
    if (v === null) {
      pen = false;
      return;
    }
    d += `${pen ? 'L' : 'M'}${x(i).toFixed(1)},${y(v).toFixed(1)}`;
    pen = true;
  });
  return d;
}

export function lineChart(title: string, unit: string, series: readonly Series[]): string {
  const n = Math.max(1, ...series.map((s) => s.values.length));
  const max = niceCeiling(
    Math.max(0, ...series.flatMap((s) => s.values.filter((v): v is number => v !== null))),
  );
  const plotW = WIDTH_PX - PAD.left - PAD.right;
  const plotH = HEIGHT_PX - PAD.top - PAD.bottom;
  const x = (i: number) => PAD.left + (n === 1 ? 0 : (i / (n - 1)) * plotW);
  const y = (v: number) => PAD.top + plotH - (v / max) * plotH;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${WIDTH_PX} ${HEIGHT_PX}" role="img" aria-label="${escapeHtml(title)}">`,
    `<text x="${PAD.left}" y="16" font-size="13" font-weight="600">${escapeHtml(title)}</text>`,
  ];
  for (let t = 0; t <= Y_TICKS; t++) {
    const v = (max * t) / Y_TICKS;
    parts.push(
      `<line x1="${PAD.left}" x2="${WIDTH_PX - PAD.right}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/>`,
      `<text x="${PAD.left - 6}" y="${y(v) + 4}" font-size="11" text-anchor="end">${formatTick(v)}</text>`,
    );
  }
  const xStep = Math.max(1, Math.ceil(n / 8));
  for (let i = 0; i < n; i += xStep) {
    parts.push(`<text x="${x(i)}" y="${HEIGHT_PX - 22}" font-size="11" text-anchor="middle">${i}s</text>`);
  }
  parts.push(
    `<text x="12" y="${PAD.top + plotH / 2}" font-size="11" transform="rotate(-90 12 ${PAD.top + plotH / 2})" text-anchor="middle">${escapeHtml(unit)}</text>`,
  );
  series.forEach((s, k) => {
    parts.push(`<path d="${path(s.values, x, y)}" fill="none" stroke="${s.color}" stroke-width="2"/>`);
    const lx = PAD.left + k * 170;
    parts.push(
      `<rect x="${lx}" y="${HEIGHT_PX - 12}" width="12" height="4" fill="${s.color}"/>`,
      `<text x="${lx + 16}" y="${HEIGHT_PX - 7}" font-size="11">${escapeHtml(s.name)}</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('');
}

const BAR_ROW_PX = 16;
const BAR_GROUP_GAP_PX = 12;
const BAR_LABEL_PX = 190;

/**
 * Horizontal bars as inline SVG: one group per category (e.g. a hop), one bar per series in it,
 * each with its value printed at its end, on a shared axis with its unit.
 */
export function barChart(
  title: string,
  unit: string,
  categories: readonly string[],
  series: readonly Series[],
): string {
  const groupH = series.length * BAR_ROW_PX + BAR_GROUP_GAP_PX;
  const top = PAD.top;
  const height = top + categories.length * groupH + PAD.bottom;
  const left = BAR_LABEL_PX;
  const plotW = WIDTH_PX - left - PAD.right - 56;
  const max = niceCeiling(
    Math.max(0, ...series.flatMap((s) => s.values.filter((v): v is number => v !== null))),
  );
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${WIDTH_PX} ${height}" role="img" aria-label="${escapeHtml(title)}">`,
    `<text x="${PAD.left}" y="16" font-size="13" font-weight="600">${escapeHtml(title)}</text>`,
  ];
  categories.forEach((name, c) => {
    const y0 = top + c * groupH;
    parts.push(
      `<text x="${left - 8}" y="${y0 + (series.length * BAR_ROW_PX) / 2 + 4}" font-size="11" text-anchor="end">${escapeHtml(name)}</text>`,
    );
    series.forEach((s, k) => {
      const v = s.values[c] ?? null;
      if (v === null) return;
      const w = (v / max) * plotW;
      const y = y0 + k * BAR_ROW_PX;
      parts.push(
        `<rect x="${left}" y="${y}" width="${w.toFixed(1)}" height="${BAR_ROW_PX - 3}" fill="${s.color}"/>`,
        `<text x="${(left + w + 4).toFixed(1)}" y="${y + BAR_ROW_PX - 5}" font-size="10">${formatTick(v)}</text>`,
      );
    });
  });
  const axisY = top + categories.length * groupH;
  parts.push(
    `<line x1="${left}" x2="${left + plotW}" y1="${axisY}" y2="${axisY}" stroke="#999"/>`,
    `<text x="${left + plotW}" y="${axisY + 14}" font-size="11" text-anchor="end">${formatTick(max)} ${escapeHtml(unit)}</text>`,
  );
  series.forEach((s, k) => {
    const lx = PAD.left + k * 170;
    parts.push(
      `<rect x="${lx}" y="${height - 12}" width="12" height="4" fill="${s.color}"/>`,
      `<text x="${lx + 16}" y="${height - 7}" font-size="11">${escapeHtml(s.name)}</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('');
}

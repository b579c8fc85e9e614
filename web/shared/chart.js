/**
 * Small SVG charts for the console: bars (vertical, one per category), horizontal bars of points
 * per feature (each against the score and its best) and lines (one series per key over days).
 * Each chart is an <svg role="img"> with a title, a <title> per mark for pointer users, and a data
 * table beside it for screen readers and anyone who wants the numbers. Values are counts or
 * points, never money.
 *
 * Labels are never cut: a category label wraps onto as many lines as its slot needs, and a
 * feature's label sits on its own line above its bar, the full width of the chart.
 */
import { register, t } from './i18n.js';

register({
  'zh-CN': {
    'chart.numbers': '{title}：数据',
    'chart.item': '项目',
    'chart.count': '数量',
    'chart.date': '日期',
    'chart.points': '得分',
    'chart.best': '最高可得',
    'chart.score': '总分 {score}',
  },
  en: {
    'chart.numbers': '{title}: the numbers',
    'chart.item': 'Item',
    'chart.count': 'Count',
    'chart.date': 'Date',
    'chart.points': 'Points',
    'chart.best': 'Best possible',
    'chart.score': 'Score {score}',
  },
});

const SVG = 'http://www.w3.org/2000/svg';
export const SERIES_COLOURS = ['#1b6e3c', '#b3261e', '#8a5a00', '#1f4e99', '#6b3fa0'];
/** Width of one character of chart text, in viewBox units (CJK glyphs are about twice a Latin one). */
const CHAR_W = 6.5;
const LINE_H = 13;
/** The most lines a category label may take under a bar. */
const LABEL_LINES_MAX = 3;

function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined) el.setAttribute(k, String(v));
  for (const c of children.flat(Infinity))
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

/** How wide `text` is drawn, in viewBox units. */
export const textWidth = (text) =>
  [...String(text)].reduce((w, ch) => w + (ch.charCodeAt(0) > 0x2e80 ? 2 : 1) * CHAR_W, 0);

/** Splits a label into lines of at most `width`: at spaces when it has them, else between characters. */
export function wrapLabel(text, width) {
  const words = String(text).includes(' ') ? String(text).split(' ') : [...String(text)];
  const joiner = String(text).includes(' ') ? ' ' : '';
  const lines = [];
  let line = '';
  for (const w of words) {
    const next = line ? `${line}${joiner}${w}` : w;
    if (line && textWidth(next) > width) {
      lines.push(line);
      line = w;
    } else line = next;
  }
  if (line) lines.push(line);
  return lines;
}

/** The narrowest a chart is drawn (viewBox units): below it text would have to shrink. */
const CHART_MIN_WIDTH = 300;
/** Room around a chart inside the page (padding of main and of the figure), in CSS px. */
const CHART_GUTTER_PX = 56;

/**
 * The chart's width in viewBox units: as asked, but no wider than the window allows, so on a phone
 * the chart is drawn for the phone (text at its real size) instead of a desktop chart scaled down.
 */
const fitWidth = (asked) =>
  Math.round(Math.min(asked, Math.max(CHART_MIN_WIDTH, (globalThis.innerWidth ?? asked) - CHART_GUTTER_PX)));

let serial = 0;
function frame(title, width, height) {
  const id = `chart-${++serial}`;
  return s(
    'svg',
    { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-labelledby': `${id}-t`, class: 'chart' },
    s('title', { id: `${id}-t` }, title),
  );
}

/** A "nice" upper bound for an axis: 1, 2 or 5 times a power of ten, at least `max`. */
export function niceMax(max) {
  if (max <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(max));
  return [1, 2, 5, 10].map((m) => m * p).find((v) => v >= max);
}

function dataTable(title, headings, rows) {
  const details = document.createElement('details');
  details.className = 'chart-data';
  const summary = document.createElement('summary');
  summary.textContent = t('chart.numbers', { title });
  const table = document.createElement('table');
  const head = table.createTHead().insertRow();
  for (const text of headings) {
    const th = document.createElement('th');
    th.scope = 'col';
    th.textContent = text;
    head.append(th);
  }
  const body = table.createTBody();
  for (const r of rows) {
    const tr = body.insertRow();
    for (const c of r) tr.insertCell().textContent = String(c);
  }
  details.append(summary, table);
  return details;
}

function figure(svg, title, table) {
  const fig = document.createElement('figure');
  fig.className = 'chart-figure';
  const caption = document.createElement('figcaption');
  caption.textContent = title;
  fig.append(caption, svg, table);
  return fig;
}

/** Multi-line centred text at x, first baseline y. */
const lines = (x, y, texts, attrs = {}) =>
  s(
    'text',
    { x, y, 'text-anchor': 'middle', ...attrs },
    texts.map((line, i) => s('tspan', { x, dy: i === 0 ? 0 : LINE_H }, line)),
  );

/**
 * Vertical bars, one per item: [{ label, value, key? }]. Each bar is a <rect class="bar"> with
 * data-label (the item's key, else its label) and data-value. `headings` name the data table's
 * columns (default: item, count).
 */
export function barChart(
  title,
  items,
  { width: asked = 480, height = 220, colour = SERIES_COLOURS[3], headings } = {},
) {
  const width = fitWidth(asked);
  const slot = (width - 52) / Math.max(1, items.length);
  const wrapped = items.map((i) => wrapLabel(i.label, slot - 6).slice(0, LABEL_LINES_MAX));
  const labelLines = Math.max(1, ...wrapped.map((w) => w.length));
  const pad = { top: 18, right: 12, bottom: 14 + labelLines * LINE_H, left: 40 };
  const svg = frame(title, width, height + (labelLines - 1) * LINE_H);
  const fullH = height + (labelLines - 1) * LINE_H;
  const max = niceMax(Math.max(0, ...items.map((i) => i.value)));
  const plotH = fullH - pad.top - pad.bottom;
  svg.append(axis(pad, width, fullH, max));
  items.forEach((item, i) => {
    const h = (item.value / max) * plotH;
    const x = pad.left + i * slot + slot * 0.15;
    const y = pad.top + plotH - h;
    svg.append(
      s(
        'rect',
        {
          class: 'bar',
          x,
          y,
          width: slot * 0.7,
          height: Math.max(h, 0),
          fill: item.colour ?? colour,
          'data-label': item.key ?? item.label,
          'data-value': item.value,
        },
        s('title', {}, `${item.label}: ${item.value}`),
      ),
      s('text', { x: x + slot * 0.35, y: y - 4, 'text-anchor': 'middle', class: 'value' }, item.value),
      lines(x + slot * 0.35, fullH - pad.bottom + 14, wrapped[i]),
    );
  });
  return figure(
    svg,
    title,
    dataTable(
      title,
      headings ?? [t('chart.item'), t('chart.count')],
      items.map((i) => [i.label, i.value]),
    ),
  );
}

/** One feature of a points chart: its label on a line of its own, its bar, its best outline, its value. */
function featureRow(item, y, { xOf, zeroX, plotW, left }) {
  const barY = y + 18;
  const x = Math.min(xOf(item.value), zeroX);
  const w = Math.abs(xOf(item.value) - zeroX);
  // a label wider than the chart is drawn narrower, never cut (textLength squeezes the glyphs)
  const squeeze =
    textWidth(item.label) > plotW ? { textLength: plotW, lengthAdjust: 'spacingAndGlyphs' } : {};
  const best =
    item.best !== undefined && item.best !== item.value
      ? s(
          'rect',
          {
            class: 'best',
            x: Math.min(xOf(item.best), zeroX),
            y: barY,
            width: Math.abs(xOf(item.best) - zeroX),
            height: 14,
            fill: 'none',
            stroke: '#9aa5ae',
            'stroke-dasharray': '3 2',
          },
          s('title', {}, `${t('chart.best')}: ${item.best}`),
        )
      : null;
  const bar = s(
    'rect',
    {
      class: 'bar',
      x,
      y: barY,
      width: Math.max(w, 1),
      height: 14,
      fill: item.value >= 0 ? SERIES_COLOURS[0] : SERIES_COLOURS[1],
      'data-label': item.label,
      'data-value': item.value,
    },
    s('title', {}, `${item.label}: ${item.value}`),
  );
  const valueX = Math.max(xOf(item.value), xOf(item.best ?? item.value), zeroX) + 4;
  return [
    s('text', { x: left, y: y + 13, class: 'label', ...squeeze }, item.label),
    best,
    bar,
    s('text', { x: valueX, y: barY + 11, class: 'value' }, item.value > 0 ? `+${item.value}` : item.value),
  ].filter(Boolean);
}

/**
 * Points per feature: one row per item [{ label, value, best? }], the label on its own line (never
 * cut) and under it a bar of the points the feature added (green) or took away (red), with a grey
 * outline up to the best the feature could have scored. `total` (the score) is drawn last, so each
 * feature reads against it. Each bar is a <rect class="bar"> with data-label and data-value.
 */
export function signedBarChart(title, items, { width: asked = 560, total = null, headings } = {}) {
  const width = fitWidth(asked);
  const rowH = 40;
  const pad = { top: 6, right: 48, bottom: total === null ? 6 : 24, left: 8 };
  const height = pad.top + pad.bottom + rowH * Math.max(1, items.length);
  const svg = frame(title, width, height);
  const ends = items.flatMap((i) => [i.value, i.best ?? i.value]);
  const lo = Math.min(0, ...ends);
  const hi = Math.max(0, ...ends);
  const span = hi - lo || 1;
  const plotW = width - pad.left - pad.right;
  const xOf = (v) => pad.left + ((v - lo) / span) * plotW;
  const zeroX = xOf(0);
  svg.append(s('line', { x1: zeroX, x2: zeroX, y1: pad.top + 14, y2: height - pad.bottom, class: 'axis' }));
  for (const [i, item] of items.entries()) {
    svg.append(...featureRow(item, pad.top + i * rowH, { xOf, zeroX, plotW, left: pad.left }));
  }
  if (total !== null) {
    svg.append(
      s(
        'text',
        { x: width - pad.right + 40, y: height - 6, 'text-anchor': 'end', class: 'total' },
        t('chart.score', { score: total }),
      ),
    );
  }
  return figure(
    svg,
    title,
    dataTable(
      title,
      headings ?? [t('chart.item'), t('chart.points')],
      items.map((i) => [i.label, i.value]),
    ),
  );
}

/**
 * Lines over categories (days): labels ['2026-11-01', ...], series [{ name, values, key? }]. Each
 * series is a <polyline class="series"> with data-series (its key, else its name), with a dot per
 * point. Axis labels are spaced so they never overlap; the legend sits on its own row.
 */
export function lineChart(
  title,
  labels,
  series,
  { width: asked = 560, height = 250, formatLabel = (l) => l.slice(5) } = {},
) {
  const width = fitWidth(asked);
  const pad = { top: 16, right: 24, bottom: 52, left: 40 };
  const svg = frame(title, width, height);
  const max = niceMax(Math.max(0, ...series.flatMap((x) => x.values)));
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const step = labels.length > 1 ? plotW / (labels.length - 1) : 0;
  const xAt = (i) => pad.left + (labels.length > 1 ? i * step : plotW / 2);
  const yAt = (v) => pad.top + plotH - (v / max) * plotH;
  svg.append(axis(pad, width, height, max));
  const widest = Math.max(1, ...labels.map((l) => textWidth(formatLabel(l))));
  const every = Math.max(1, Math.ceil((widest + 12) / Math.max(step, 1)));
  // every `every`-th day, and always the last one: it replaces the one before it when they would touch
  const shown = labels.map((_l, i) => i).filter((i) => i % every === 0);
  const lastIndex = labels.length - 1;
  if (lastIndex > 0 && shown.at(-1) !== lastIndex) {
    if (lastIndex - shown.at(-1) < every) shown.pop();
    shown.push(lastIndex);
  }
  for (const i of shown) {
    svg.append(
      s('text', { x: xAt(i), y: height - pad.bottom + 16, 'text-anchor': 'middle' }, formatLabel(labels[i])),
    );
  }
  series.forEach((line, k) => {
    const colour = SERIES_COLOURS[k % SERIES_COLOURS.length];
    const points = line.values.map((v, i) => `${xAt(i)},${yAt(v)}`).join(' ');
    svg.append(
      s('polyline', {
        class: 'series',
        points,
        fill: 'none',
        stroke: colour,
        'stroke-width': 2,
        'data-series': line.key ?? line.name,
      }),
      line.values.map((v, i) =>
        s(
          'circle',
          { cx: xAt(i), cy: yAt(v), r: 3, fill: colour },
          s('title', {}, `${line.name} ${labels[i]}: ${v}`),
        ),
      ),
    );
  });
  svg.append(...legend(series, pad.left, height));
  return figure(
    svg,
    title,
    dataTable(
      title,
      [t('chart.date'), ...series.map((x) => x.name)],
      labels.map((l, i) => [l, ...series.map((x) => x.values[i])]),
    ),
  );
}

/** The series' colours and names in one row along the bottom, each as wide as its name. */
function legend(series, left, height) {
  const marks = [];
  let x = left;
  for (const [k, line] of series.entries()) {
    marks.push(
      s('rect', {
        x,
        y: height - 16,
        width: 10,
        height: 10,
        fill: SERIES_COLOURS[k % SERIES_COLOURS.length],
      }),
      s('text', { x: x + 14, y: height - 7 }, line.name),
    );
    x += 14 + textWidth(line.name) + 18;
  }
  return marks;
}

function axis(pad, width, height, max) {
  const g = s('g', { class: 'axis' });
  const plotH = height - pad.top - pad.bottom;
  // whole-number ticks only: counts have no halves
  for (const f of max % 2 === 0 ? [0, 0.5, 1] : [0, 1]) {
    const y = pad.top + plotH - f * plotH;
    g.append(
      s('line', { x1: pad.left, x2: width - pad.right, y1: y, y2: y, class: 'grid' }),
      s('text', { x: pad.left - 6, y: y + 4, 'text-anchor': 'end' }, Math.round(max * f)),
    );
  }
  return g;
}

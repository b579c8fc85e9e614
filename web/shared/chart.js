/**
 * Small SVG charts for the console: bars (vertical, one per category), horizontal bars for signed
 * values (points per feature) and lines (one series per key over days). Each chart is an <svg
 * role="img"> with a title, a <title> per mark for pointer users, and a data table beside it for
 * screen readers and anyone who wants the numbers. Values are plain counts or points, never money.
 */

const SVG = 'http://www.w3.org/2000/svg';
export const SERIES_COLOURS = ['#1b6e3c', '#b3261e', '#8a5a00', '#1f4e99', '#6b3fa0'];

function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined) el.setAttribute(k, String(v));
  for (const c of children.flat(Infinity))
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

/** Longest label drawn beside a bar; the whole one is in the bar's title and the data table. */
const LABEL_MAX = 26;

let serial = 0;
function frame(title, width, height) {
  const id = `chart-${++serial}`;
  const svg = s(
    'svg',
    { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-labelledby': `${id}-t`, class: 'chart' },
    s('title', { id: `${id}-t` }, title),
  );
  return svg;
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
  summary.textContent = `${title}: the numbers`;
  const table = document.createElement('table');
  const head = table.createTHead().insertRow();
  for (const t of headings) {
    const th = document.createElement('th');
    th.scope = 'col';
    th.textContent = t;
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

/** The figure of a chart of labelled values, with those values as its table. */
const itemsFigure = (svg, title, items) =>
  figure(
    svg,
    title,
    dataTable(
      title,
      ['', 'value'],
      items.map((i) => [i.label, i.value]),
    ),
  );

/**
 * Vertical bars, one per item: [{ label, value }]. Each bar is a <rect class="bar"> with
 * data-label and data-value.
 */
export function barChart(title, items, { width = 480, height = 220, colour = SERIES_COLOURS[3] } = {}) {
  const pad = { top: 16, right: 12, bottom: 36, left: 40 };
  const svg = frame(title, width, height);
  const max = niceMax(Math.max(0, ...items.map((i) => i.value)));
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const slot = plotW / Math.max(1, items.length);
  svg.append(axis(pad, width, height, max));
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
          'data-label': item.label,
          'data-value': item.value,
        },
        s('title', {}, `${item.label}: ${item.value}`),
      ),
      s('text', { x: x + slot * 0.35, y: y - 4, 'text-anchor': 'middle', class: 'value' }, item.value),
      s('text', { x: x + slot * 0.35, y: height - pad.bottom + 16, 'text-anchor': 'middle' }, item.label),
    );
  });
  return itemsFigure(svg, title, items);
}

/**
 * Horizontal bars for signed values (e.g. scorecard points per feature): positive to the right of
 * zero, negative to the left. Each bar is a <rect class="bar">.
 */
export function signedBarChart(title, items, { width = 560, rowHeight = 26 } = {}) {
  const labelW = 180;
  const gutter = 40; // room for a value's text on either side of the bars
  const pad = { top: 8, right: gutter, bottom: 8 };
  const height = pad.top + pad.bottom + rowHeight * Math.max(1, items.length);
  const svg = frame(title, width, height);
  const lo = Math.min(0, ...items.map((i) => i.value));
  const hi = Math.max(0, ...items.map((i) => i.value));
  const span = hi - lo || 1;
  const plotW = width - labelW - gutter - pad.right;
  const zeroX = labelW + gutter + ((0 - lo) / span) * plotW;
  svg.append(s('line', { x1: zeroX, x2: zeroX, y1: pad.top, y2: height - pad.bottom, class: 'axis' }));
  items.forEach((item, i) => {
    const y = pad.top + i * rowHeight;
    const w = (Math.abs(item.value) / span) * plotW;
    const x = item.value >= 0 ? zeroX : zeroX - w;
    svg.append(
      s(
        'text',
        { x: labelW - 8, y: y + rowHeight * 0.65, 'text-anchor': 'end' },
        item.label.length > LABEL_MAX ? `${item.label.slice(0, LABEL_MAX - 1)}…` : item.label,
      ),
      s(
        'rect',
        {
          class: 'bar',
          x,
          y: y + 4,
          width: Math.max(w, 1),
          height: rowHeight - 8,
          fill: item.value >= 0 ? SERIES_COLOURS[0] : SERIES_COLOURS[1],
          'data-label': item.label,
          'data-value': item.value,
        },
        s('title', {}, `${item.label}: ${item.value}`),
      ),
      s(
        'text',
        {
          x: item.value >= 0 ? x + w + 4 : x - 4,
          y: y + rowHeight * 0.65,
          'text-anchor': item.value >= 0 ? 'start' : 'end',
          class: 'value',
        },
        item.value,
      ),
    );
  });
  return itemsFigure(svg, title, items);
}

/**
 * Lines over categories (days): labels ['2026-11-01', ...], series [{ name, values }]. Each
 * series is a <polyline class="series"> with data-series, with a dot per point.
 */
export function lineChart(title, labels, series, { width = 560, height = 240 } = {}) {
  const pad = { top: 16, right: 24, bottom: 44, left: 40 };
  const svg = frame(title, width, height);
  const max = niceMax(Math.max(0, ...series.flatMap((x) => x.values)));
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const step = labels.length > 1 ? plotW / (labels.length - 1) : 0;
  const xAt = (i) => pad.left + (labels.length > 1 ? i * step : plotW / 2);
  const yAt = (v) => pad.top + plotH - (v / max) * plotH;
  svg.append(axis(pad, width, height, max));
  const every = Math.max(1, Math.ceil(labels.length / 7));
  labels.forEach((label, i) => {
    if (i % every === 0 || i === labels.length - 1) {
      svg.append(
        s('text', { x: xAt(i), y: height - pad.bottom + 16, 'text-anchor': 'middle' }, label.slice(5)),
      );
    }
  });
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
        'data-series': line.name,
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
  // legend under the axis labels
  series.forEach((line, k) => {
    const x = pad.left + k * 110;
    svg.append(
      s('rect', {
        x,
        y: height - 14,
        width: 10,
        height: 10,
        fill: SERIES_COLOURS[k % SERIES_COLOURS.length],
      }),
      s('text', { x: x + 14, y: height - 5 }, line.name),
    );
  });
  return figure(
    svg,
    title,
    dataTable(
      title,
      ['date', ...series.map((x) => x.name)],
      labels.map((l, i) => [l, ...series.map((x) => x.values[i])]),
    ),
  );
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

/**
 * A one-file HTML report for the analyst who signs off a scorecard: how well it separates (ROC,
 * score distributions, KS), whether grades rank risk (bad rate by grade), what drives it (IV per
 * feature) and exactly how it scores (the points table). Charts are inline SVG and styles inline,
 * so the file opens anywhere, offline, and can be archived next to the model it describes.
 */
import { escapeHtml } from '../../domain/html.ts';
import { fixed, pct } from './format.ts';
import { calibration, gainsTable, rocCurve } from './metrics.ts';
import { GRADES, gradeOf } from './scorecard.ts';
import type { TrainResult } from './train.ts';
import {
  binStabilityHtml,
  characteristicHtml,
  coefficientHtml,
  dataDescriptionHtml,
  gradeTableHtml,
  type ValidationInputs,
} from './validation-report.ts';

/** Points drawn per ROC curve; more adds bytes, not information, at the size it is drawn. */
const MAX_ROC_POINTS = 400;
const HISTOGRAM_BUCKETS = 24;
const GOOD_COLOUR = '#2b7a3d';
const BAD_COLOUR = '#b8332a';
const ACCENT = '#2f5597';

/**
 * A chart's opening tag: its natural size on a wide screen, and a viewBox so that on a phone it
 * shrinks to the screen's width (the stylesheet caps it) instead of widening the page.
 */
function svgOpen(widthPx: number, heightPx: number, label?: string): string {
  const name = label ? ` aria-label="${escapeHtml(label)}"` : '';
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${widthPx}" height="${heightPx}" viewBox="0 0 ${widthPx} ${heightPx}" role="img"${name}>`;
}

function thin<T>(points: T[]): T[] {
  if (points.length <= MAX_ROC_POINTS) return points;
  const step = points.length / MAX_ROC_POINTS;
  const out: T[] = [];
  for (let i = 0; i < MAX_ROC_POINTS; i++) out.push(points[Math.floor(i * step)]!);
  out.push(points.at(-1)!);
  return out;
}

function rocSvg(curves: { name: string; colour: string; scores: number[]; good: boolean[] }[]): string {
  const size = 320;
  const pad = 36;
  const inner = size - 2 * pad;
  const x = (v: number): string => (pad + v * inner).toFixed(1);
  const y = (v: number): string => (size - pad - v * inner).toFixed(1);
  const lines = curves.map((c, i) => {
    // positive = good: the curve traces goods accepted against bads accepted as the cut-off drops.
    const pts = thin(rocCurve(c.scores, c.good));
    const d = pts.map((p) => `${x(p.fpr)},${y(p.tpr)}`).join(' ');
    return (
      `<polyline fill="none" stroke="${c.colour}" stroke-width="2" points="${d}"/>` +
      `<text x="${pad + inner - 4}" y="${size - pad - 10 - 16 * i}" text-anchor="end" fill="${c.colour}">${escapeHtml(c.name)}</text>`
    );
  });
  return `${svgOpen(size, size, 'ROC curve')}
<rect x="${pad}" y="${pad}" width="${inner}" height="${inner}" fill="#fafafa" stroke="#999"/>
<line x1="${x(0)}" y1="${y(0)}" x2="${x(1)}" y2="${y(1)}" stroke="#bbb" stroke-dasharray="4 4"/>
${[0, 0.5, 1].map((t) => `<text x="${x(t)}" y="${size - pad + 14}" text-anchor="middle">${t}</text><text x="${pad - 4}" y="${Number(y(t)) + 4}" text-anchor="end">${t}</text>`).join('')}
${lines.join('\n')}
<text x="${size / 2}" y="${size - 8}" text-anchor="middle">share of bads above cut-off</text>
<text x="12" y="${size / 2}" text-anchor="middle" transform="rotate(-90 12 ${size / 2})">share of goods above cut-off</text>
</svg>`;
}

function histogramSvg(scores: number[], good: boolean[]): string {
  const width = 560;
  const height = 260;
  const pad = 36;
  const lo = Math.min(...scores);
  const hi = Math.max(...scores);
  const span = hi - lo || 1;
  const bucketOf = (s: number): number =>
    Math.min(HISTOGRAM_BUCKETS - 1, Math.floor(((s - lo) / span) * HISTOGRAM_BUCKETS));
  const goods = new Array<number>(HISTOGRAM_BUCKETS).fill(0);
  const bads = new Array<number>(HISTOGRAM_BUCKETS).fill(0);
  scores.forEach((s, i) => {
    if (good[i]) goods[bucketOf(s)]!++;
    else bads[bucketOf(s)]!++;
  });
  // Shares within each class, so a minority of bads is still visible next to the goods.
  const totalGood = goods.reduce((a, b) => a + b, 0) || 1;
  const totalBad = bads.reduce((a, b) => a + b, 0) || 1;
  const shareG = goods.map((g) => g / totalGood);
  const shareB = bads.map((b) => b / totalBad);
  const top = Math.max(...shareG, ...shareB) || 1;
  const slot = (width - 2 * pad) / HISTOGRAM_BUCKETS;
  const bar = (share: number, i: number, offset: number, colour: string): string => {
    const h = (share / top) * (height - 2 * pad);
    return `<rect x="${(pad + i * slot + offset).toFixed(1)}" y="${(height - pad - h).toFixed(1)}" width="${(slot / 2 - 1).toFixed(1)}" height="${h.toFixed(1)}" fill="${colour}"/>`;
  };
  const bars = shareG.map((s, i) => bar(s, i, 0, GOOD_COLOUR) + bar(shareB[i]!, i, slot / 2, BAD_COLOUR));
  return `${svgOpen(width, height, 'score distribution')}
<line x1="${pad}" y1="${height - pad}" x2="${width - pad}" y2="${height - pad}" stroke="#999"/>
${bars.join('\n')}
<text x="${pad}" y="${height - pad + 16}">${Math.round(lo)}</text>
<text x="${width - pad}" y="${height - pad + 16}" text-anchor="end">${Math.round(hi)}</text>
<text x="${width / 2}" y="${height - 6}" text-anchor="middle">score</text>
<rect x="${width - pad - 110}" y="${pad - 24}" width="10" height="10" fill="${GOOD_COLOUR}"/><text x="${width - pad - 96}" y="${pad - 15}">goods</text>
<rect x="${width - pad - 50}" y="${pad - 24}" width="10" height="10" fill="${BAD_COLOUR}"/><text x="${width - pad - 36}" y="${pad - 15}">bads</text>
</svg>`;
}

function barsSvg(
  rows: { label: string; value: number; text: string; colour: string }[],
  maxValue: number,
): string {
  const labelWidth = 190;
  const barWidth = 300;
  const rowHeight = 22;
  const height = rows.length * rowHeight + 8;
  const body = rows.map((r, i) => {
    const w = maxValue > 0 ? (Math.max(0, r.value) / maxValue) * barWidth : 0;
    const yTop = 4 + i * rowHeight;
    return (
      `<text x="${labelWidth - 6}" y="${yTop + 15}" text-anchor="end">${escapeHtml(r.label)}</text>` +
      `<rect x="${labelWidth}" y="${yTop + 3}" width="${w.toFixed(1)}" height="${rowHeight - 6}" fill="${r.colour}"/>` +
      `<text x="${labelWidth + w + 6}" y="${yTop + 15}">${escapeHtml(r.text)}</text>`
    );
  });
  return `${svgOpen(labelWidth + barWidth + 130, height)}\n${body.join('\n')}\n</svg>`;
}

/** Bad rate per grade on the training rows, as bars. */
function gradeBarsSvg(result: TrainResult): string {
  const { model } = result;
  const byGrade = GRADES.map((grade) => ({ grade, rows: 0, bads: 0 }));
  result.training.scores.forEach((s, i) => {
    const g = byGrade[GRADES.indexOf(gradeOf(model, s))]!;
    g.rows++;
    if (!result.training.good[i]) g.bads++;
  });
  const worstRate = Math.max(...byGrade.map((g) => (g.rows ? g.bads / g.rows : 0)));
  return barsSvg(
    byGrade.map((g, i) => {
      const cut = model.grades[i]!.minScore;
      return {
        label: `${g.grade} (${cut === null ? 'below' : `score ≥ ${cut}`})`,
        value: g.rows ? g.bads / g.rows : 0,
        text: `${pct(g.rows ? g.bads / g.rows : Number.NaN)} of ${g.rows}`,
        colour: BAD_COLOUR,
      };
    }),
    worstRate,
  );
}

/** AUC, Gini and KS per fold, their mean, and on the training rows. */
function metricsTableHtml(model: TrainResult['model']): string {
  const cv = model.metrics.cv;
  const foldRows = (cv?.folds ?? [])
    .map(
      (f) =>
        `<tr><td>${f.fold}</td><td>${f.rows}</td><td>${f.bads}</td><td>${fixed(f.auc)}</td><td>${fixed(f.gini)}</td><td>${fixed(f.ks)}</td></tr>`,
    )
    .join('\n');
  return `<table><tr><th>fold</th><th>rows</th><th>bads</th><th>AUC</th><th>Gini</th><th>KS</th></tr>
${foldRows}
${cv ? `<tr class="total"><td>mean</td><td></td><td></td><td>${fixed(cv.mean.auc)}</td><td>${fixed(cv.mean.gini)}</td><td>${fixed(cv.mean.ks)}</td></tr>` : ''}
<tr><td>training</td><td>${model.rows}</td><td>${model.bads}</td><td>${fixed(model.metrics.training.auc)}</td><td>${fixed(model.metrics.training.gini)}</td><td>${fixed(model.metrics.training.ks)}</td></tr>
</table>`;
}

/** One table per model feature: its bins with counts, bad rate, WoE and points. */
function pointsTableHtml(model: TrainResult['model']): string {
  return model.features
    .map((f) => {
      const rows = f.bins
        .map(
          (b) =>
            `<tr><td>${escapeHtml(b.label)}</td><td>${b.count}</td><td>${pct(b.count / model.rows)}</td><td>${pct(b.count ? b.bad / b.count : Number.NaN)}</td><td>${fixed(b.woe)}</td><td class="pts">${b.points}</td></tr>`,
        )
        .join('\n');
      const weight = f.binWeights
        ? `${f.coding === 'boosted' ? 'boosted stumps' : f.coding === 'bagged' ? 'cards averaged on halves' : 'one weight per bin'}, slope on WoE ${fixed(f.coefficient)}`
        : `weight ${fixed(f.coefficient)} ± ${fixed(f.stdError)}`;
      return `<h3>${escapeHtml(f.name)} <small>IV ${fixed(f.iv)} · ${weight} (${f.type})</small></h3>
<table><tr><th>bin</th><th>rows</th><th>share</th><th>bad rate</th><th>WoE</th><th>points</th></tr>
${rows}
</table>`;
    })
    .join('\n');
}

/** Buckets of the calibration table and score bands of the gains table. */
const CALIBRATION_BUCKETS = 10;
const GAINS_BANDS = 10;

/** Out-of-fold gains by score band (training scores without cross-validation). */
function gainsHtml(result: TrainResult): string {
  const { scores, good } = result.outOfFold ?? result.training;
  const sorted = [...scores].sort((a, b) => a - b);
  const cuts = [
    ...new Set(
      Array.from({ length: GAINS_BANDS }, (_, b) => sorted[Math.floor((b * sorted.length) / GAINS_BANDS)]!),
    ),
  ];
  const rows = gainsTable(scores, good, cuts)
    .map(
      (g) =>
        `<tr><td>&ge; ${g.minScore}</td><td>${g.rows}</td><td>${g.goods}</td><td>${g.bads}</td><td>${fixed(g.odds, 1)}</td><td>${g.cumGoods}</td><td>${g.cumBads}</td><td>${pct(g.approvalRate)}</td><td>${pct(g.cumBadRate)}</td></tr>`,
    )
    .join('\n');
  return `<table><tr><th>score band</th><th>rows</th><th>goods</th><th>bads</th><th>odds</th><th>cum. goods</th><th>cum. bads</th><th>approval rate</th><th>bad rate approved</th></tr>
${rows}</table>`;
}

/** Predicted against observed bad rate over PD buckets, out of fold, and the calibration error. */
function calibrationHtml(result: TrainResult): string {
  const { model } = result;
  const { scores, good } = result.outOfFold ?? result.training;
  const pd = scores.map((s) => 1 / (1 + Math.exp((s - model.offset) / model.factor)));
  const { buckets, error } = calibration(pd, good, CALIBRATION_BUCKETS);
  const size = 260;
  const pad = 30;
  const top = Math.max(0.05, ...buckets.map((b) => Math.max(b.predicted, b.observed)));
  const at = (v: number): number => pad + (v / top) * (size - 2 * pad);
  const dots = buckets
    .map(
      (b) =>
        `<circle cx="${at(b.predicted).toFixed(1)}" cy="${(size - at(b.observed)).toFixed(1)}" r="4" fill="${ACCENT}"/>`,
    )
    .join('');
  const svg = `${svgOpen(size, size, 'calibration')}
<rect x="${pad}" y="${pad}" width="${size - 2 * pad}" height="${size - 2 * pad}" fill="#fafafa" stroke="#999"/>
<line x1="${pad}" y1="${size - pad}" x2="${size - pad}" y2="${pad}" stroke="#bbb" stroke-dasharray="4 4"/>${dots}
<text x="${size / 2}" y="${size - 8}" text-anchor="middle">predicted PD (0–${pct(top)})</text>
<text x="10" y="${size / 2}" text-anchor="middle" transform="rotate(-90 10 ${size / 2})">observed bad rate</text></svg>`;
  const rows = buckets
    .map((b) => `<tr><td>${b.rows}</td><td>${pct(b.predicted)}</td><td>${pct(b.observed)}</td></tr>`)
    .join('\n');
  return `<p>Expected calibration error: <b>${fixed(error, 4)}</b> (row-weighted mean gap over ${buckets.length} equal-count buckets).</p>
${svg}
<table><tr><th>rows</th><th>predicted PD</th><th>observed bad rate</th></tr>${rows}</table>`;
}

/** How a blank scores per feature, and which features are read as codes or as suppressors. */
function policyHtml(model: TrainResult['model']): string {
  const rows = model.features
    .map((f) => {
      const bin = f.bins[f.missingBin]!;
      const screen = model.screening.find((s) => s.feature === f.name);
      const notes = [
        f.coded ? 'integer codes read as categories' : '',
        f.shape ? `shape ${f.shape}` : '',
        screen?.note ?? '',
      ]
        .filter((n) => n !== '')
        .join('; ');
      return `<tr><td>${escapeHtml(f.name)}</td><td>${bin.count}</td><td>${pct(bin.count / model.rows)}</td><td>${escapeHtml(f.missingScoredAs ?? 'neutral')}</td><td class="pts">${bin.points}</td><td>${escapeHtml(notes)}</td></tr>`;
    })
    .join('\n');
  const complexity = model.complexity
    ? `Complexity: ${model.complexity.maxBins} bins at most, L2 ${model.complexity.l2}, ${model.complexity.coding === 'bins' ? 'one weight per bin' : 'WoE coding'}${model.complexity.innerAuc === null ? ' (given; inner search skipped above 20,000 rows)' : ` (inner cross-validated AUC ${fixed(model.complexity.innerAuc)})`}.`
    : '';
  return `<p>Missing-value policy: <b>${escapeHtml(model.missingPolicy ?? 'neutral')}</b>; cells read as missing: ${(model.naTokens ?? ['']).map((t) => `<code>${escapeHtml(t || '(empty)')}</code>`).join(' ')}. Selection: ${escapeHtml(model.options.selection ?? 'iv')}. ${escapeHtml(complexity)}</p>
<table><tr><th>feature</th><th>missing rows</th><th>share</th><th>blank scored as</th><th>points</th><th>notes</th></tr>
${rows}</table>`;
}

/** The validation pack's own sections, when the training data is at hand. */
function validationHtml(result: TrainResult, pack: ValidationInputs): string {
  return `<h2>Data description</h2>
${dataDescriptionHtml(result.model, pack)}
<h2>Grades${result.outOfFold ? ' (out of fold)' : ''}</h2>
<p>Rows and bad rate per grade, each row scored by the fold model that did not see it; grades cut by the final model.</p>
${gradeTableHtml(result)}
<h2>Coefficients</h2>
<p>Weights on each feature's WoE in the logistic regression for P(bad) (WoE is ln(goods/bads), so a weight near −1 is expected; a positive one marks a suppressor), Wald z and two-sided p, and the variance inflation factor of each feature's column (above 5 the features share their signal). Under per-bin coding each bin has its own weight (centred on the training rows; z approximate), and boosted weights carry no standard errors. A bagged card's points average cards fitted on halves of the rows, which have no standard errors as an average: its table is that of the one card fitted on all the rows with the same settings (its own features and bins).</p>
${coefficientHtml(result.model, pack)}
<h2>Bin stability across folds</h2>
<p>Each fold refits binning and weights on four fifths of the rows. A feature kept in every fold with the same bins, a narrow IV range and no sign flips is stable; one that comes and goes is fitted to noise.</p>
${binStabilityHtml(result)}
<h2>Characteristic analysis and PSI (out of time)</h2>
${characteristicHtml(result.model, pack)}`;
}

export function renderReport(
  result: TrainResult,
  title = 'Scorecard report',
  pack?: ValidationInputs,
): string {
  const { model } = result;
  const cv = model.metrics.cv;
  const curves = [{ name: 'training', colour: '#888', ...result.training }];
  if (result.outOfFold) curves.unshift({ name: 'cross-validated', colour: ACCENT, ...result.outOfFold });
  const headline = cv?.mean ?? model.metrics.training;

  const gradeBars = gradeBarsSvg(result);
  const ivBars = barsSvg(
    model.screening.map((s) => ({
      label: s.feature,
      value: s.iv,
      text: `${fixed(s.iv)}${s.selected ? '' : ` (${s.note})`}`,
      colour: s.selected ? ACCENT : '#bbb',
    })),
    Math.max(...model.screening.map((s) => s.iv)),
  );

  const metricsTable = metricsTableHtml(model);

  const pointsTable = pointsTableHtml(model);

  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${escapeHtml(title)}</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:980px;color:#222;padding:0 1em}
h1{margin-bottom:.2em} h2{margin-top:2em;border-bottom:1px solid #ddd} h3 small{font-weight:normal;color:#666}
table{border-collapse:collapse;margin:.5em 0} td,th{padding:3px 10px;border-bottom:1px solid #eee;text-align:right}
td:first-child,th:first-child{text-align:left;max-width:480px} tr.total td{font-weight:bold}
td.pts{font-weight:bold} .kpi{display:inline-block;margin-right:2em;font-size:20px} .kpi b{display:block;font-size:12px;color:#666}
svg text{font:12px system-ui,sans-serif} svg{max-width:100%;height:auto}
table{display:block;max-width:100%;overflow-x:auto}
</style></head><body>
<h1>${escapeHtml(title)}</h1>
<p>Target <code>${escapeHtml(model.target.column)}</code>, bad when <code>${escapeHtml(model.target.badValue)}</code>: ${model.bads} bads in ${model.rows} rows (${pct(model.bads / model.rows)}). Trained ${escapeHtml(model.trainedAt)}; ${model.features.length} of ${model.screening.length} features in the model.</p>
<div><span class="kpi"><b>AUC${cv ? ' (cv mean)' : ''}</b>${fixed(headline.auc)}</span><span class="kpi"><b>Gini</b>${fixed(headline.gini)}</span><span class="kpi"><b>KS</b>${fixed(headline.ks)}</span></div>
<h2>Discrimination</h2>
${metricsTable}
<p>ROC curve: the higher it bows above the diagonal, the better the score separates goods from bads.${result.outOfFold ? ' The cross-validated curve pools held-out scores from every fold; the training curve is the final model on the rows it was fitted on, and the gap between them is the optimism of scoring one’s own training data.' : ''}</p>
${rocSvg(curves)}
<h2>Score distributions</h2>
<p>Share of goods and of bads in each score band (final model, training rows). The less the two overlap, the better; KS is the widest gap between their cumulative curves.</p>
${histogramSvg(result.training.scores, result.training.good)}
<h2>Bad rate by grade</h2>
<p>Grades cut the training population into fifths by score, A the safest. A useful scorecard shows the bad rate rising steadily from A to E.</p>
${gradeBars}
<h2>Gains by score band${result.outOfFold ? ' (out of fold)' : ''}</h2>
<p>Approving everyone down to a band's lowest score approves the cumulative goods and bads shown; the last column is the bad rate of that approved population.</p>
${gainsHtml(result)}
<h2>Calibration${result.outOfFold ? ' (out of fold)' : ''}</h2>
${calibrationHtml(result)}
${pack ? validationHtml(result, pack) : ''}
<h2>Missing values, codes and suppressors</h2>
<p>A suppressor's weight is reversed given another feature (its partner): it is kept because the model needs it, and is a candidate for a ratio with that partner.</p>
${policyHtml(model)}
<h2>Information value per feature</h2>
<p>IV below 0.02 is treated as no signal; 0.1–0.3 is medium, above 0.3 strong (and above 0.5 worth a check for leakage). Grey features are not in the model.</p>
${ivBars}
<h2>Points table</h2>
<p>Every row starts at <b>${model.basePoints}</b> base points and adds one line per feature. Scaling: ${model.scaling.basePoints} points at good:bad odds of ${model.scaling.baseOdds}:1, and every ${model.scaling.pdo} points double the odds. Weights are on the WoE of each feature in the logistic regression for P(bad), with standard errors from the inverse Hessian.</p>
${pointsTable}
</body></html>
`;
}

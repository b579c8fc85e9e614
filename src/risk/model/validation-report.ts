/**
 * The validation-pack sections of the HTML report: data description, out-of-fold grade table,
 * coefficient table with significance and VIF, and the characteristic analysis with PSI against
 * an out-of-time sample. Numbers come from validation.ts; this file only lays them out.
 */
import { escapeHtml } from '../../domain/html.ts';
import { type Dataset, isPresent } from './csv.ts';
import { fixed, pct } from './format.ts';
import { flagOf } from './monitor.ts';
import type { ScorecardModel, TrainResult } from './train.ts';
import { targetOf } from './train.ts';
import { binIndexes, binStability, characteristic, coefficientTable, gradeTable } from './validation.ts';

/** What the report needs besides the training result: the data it was trained on, and an out-of-time sample. */
export interface ValidationInputs {
  data: Dataset;
  source: string;
  exclude: readonly string[];
  oot?: { label: string; data: Dataset } | undefined;
}

export function dataDescriptionHtml(model: ScorecardModel, v: ValidationInputs): string {
  const { rows } = targetOf(v.data, model.target.column, model.target.badValue);
  const missing = v.data.columns
    .map((c) => {
      let n = 0;
      for (let r = 0; r < v.data.rowCount; r++) if (!isPresent(c.values[r])) n++;
      return `<tr><td>${escapeHtml(c.name)}</td><td>${c.kind}</td><td>${n}</td><td>${pct(n / v.data.rowCount)}</td></tr>`;
    })
    .join('\n');
  return `<table>
<tr><td>source</td><td>${escapeHtml(v.source)}</td></tr>
<tr><td>rows read</td><td>${v.data.rowCount}</td></tr>
<tr><td>rows without a target (excluded)</td><td>${v.data.rowCount - rows.length}</td></tr>
<tr><td>rows trained on</td><td>${model.rows}</td></tr>
<tr><td>bad definition</td><td><code>${escapeHtml(model.target.column)} = ${escapeHtml(model.target.badValue)}</code>; every other value is good</td></tr>
<tr><td>bads</td><td>${model.bads} (${pct(model.bads / model.rows)})</td></tr>
<tr><td>columns excluded by the analyst</td><td>${v.exclude.length ? v.exclude.map(escapeHtml).join(', ') : 'none'}</td></tr>
<tr><td>period</td><td>${v.oot ? `development: ${escapeHtml(v.source)}; out of time: ${escapeHtml(v.oot.label)}` : 'one sample (no out-of-time sample given)'}</td></tr>
</table>
<table><tr><th>column</th><th>read as</th><th>missing rows</th><th>missing rate</th></tr>
${missing}</table>`;
}

export function gradeTableHtml(result: TrainResult): string {
  const { scores, good } = result.outOfFold ?? result.training;
  const rows = gradeTable(scores, good, result.model.grades)
    .map((g) => `<tr><td>${g.grade}</td><td>${g.rows}</td><td>${g.bads}</td><td>${pct(g.badRate)}</td></tr>`)
    .join('\n');
  return `<table><tr><th>grade</th><th>rows</th><th>bads</th><th>bad rate</th></tr>
${rows}</table>`;
}

export function coefficientHtml(model: ScorecardModel, v: ValidationInputs): string {
  const { rows } = targetOf(v.data, model.target.column, model.target.badValue);
  const table = coefficientTable(model.reference ?? model, v.data, rows)
    .map(
      (c) =>
        `<tr><td>${escapeHtml(c.name)}</td><td>${fixed(c.coefficient, 4)}</td><td>${fixed(c.stdError, 4)}</td><td>${fixed(c.z, 2)}</td><td>${c.p < 1e-4 ? '&lt;0.0001' : fixed(c.p, 4)}</td><td>${c.vif === null ? '' : fixed(c.vif, 2)}</td></tr>`,
    )
    .join('\n');
  return `<table><tr><th>term</th><th>weight</th><th>std. error</th><th>z</th><th>p</th><th>VIF</th></tr>
${table}</table>`;
}

export function characteristicHtml(model: ScorecardModel, v: ValidationInputs): string {
  if (!v.oot) {
    return '<p>No out-of-time sample given (<code>--oot &lt;file&gt;</code> or <code>--oot-split column&gt;=value</code>): no characteristic analysis.</p>';
  }
  const { rows } = targetOf(v.data, model.target.column, model.target.badValue);
  const ootRows = Array.from({ length: v.oot.data.rowCount }, (_, r) => r);
  const parts = model.features.map((f) => {
    const c = characteristic(f, binIndexes(f, v.data, rows), binIndexes(f, v.oot!.data, ootRows));
    const body = c.rows
      .map(
        (r) =>
          `<tr><td>${escapeHtml(r.bin)}</td><td>${r.points}</td><td>${pct(r.expectedShare)}</td><td>${pct(r.actualShare)}</td><td>${fixed(r.scoreShift, 2)}</td></tr>`,
      )
      .join('\n');
    return {
      c,
      html: `<h3>${escapeHtml(f.name)} <small>PSI ${fixed(c.psi, 4)} (${flagOf(c.psi)}) · average score shift ${fixed(c.scoreShift, 2)} points</small></h3>
<table><tr><th>bin</th><th>points</th><th>development</th><th>out of time</th><th>score shift</th></tr>
${body}</table>`,
    };
  });
  const summary = parts
    .map(
      ({ c }) =>
        `<tr><td>${escapeHtml(c.feature)}</td><td>${fixed(c.psi, 4)}</td><td>${flagOf(c.psi)}</td><td>${fixed(c.scoreShift, 2)}</td></tr>`,
    )
    .join('\n');
  return `<p>Out-of-time sample: <b>${escapeHtml(v.oot.label)}</b>, ${v.oot.data.rowCount} rows. PSI under 0.1 is stable, 0.1–0.25 worth watching, above 0.25 a shift to act on.</p>
<table><tr><th>feature</th><th>PSI</th><th>flag</th><th>score shift</th></tr>
${summary}</table>
${parts.map((p) => p.html).join('\n')}`;
}

export function binStabilityHtml(result: TrainResult): string {
  if (!result.foldFeatures) return '<p>No cross-validation: no fold models to compare.</p>';
  const rows = binStability(
    result.model.features.map((f) => f.name),
    result.foldFeatures,
  )
    .map((b) => {
      const cuts = b.cuts.some((c) => c !== null)
        ? b.cuts.map((c) => (c ? c.map((x) => Number(x.toPrecision(4))).join(' ') : '–')).join('<br>')
        : '';
      return `<tr><td>${escapeHtml(b.feature)}${b.inFinal ? '' : ' <small>(not in final)</small>'}</td><td>${b.selectedIn}/${b.folds}</td><td>${b.selectedIn ? (b.binsMin === b.binsMax ? b.binsMin : `${b.binsMin}–${b.binsMax}`) : '–'}</td><td>${b.selectedIn ? `${fixed(b.ivMin)}–${fixed(b.ivMax)}` : '–'}</td><td>${b.signFlips}</td><td style="text-align:left;font-size:12px">${cuts}</td></tr>`;
    })
    .join('\n');
  return `<table><tr><th>feature</th><th>kept in folds</th><th>bins</th><th>IV range</th><th>sign flips</th><th>numeric cuts per fold (– read as codes, or not kept)</th></tr>
${rows}</table>`;
}

/**
 * `fenqi rehearse report`: one self-contained HTML page per run (charts inline, nothing fetched),
 * from the samples the run stored. The figures are computed here once (summarize) and the page and
 * the command's JSON both print them, so the report and what the test checks cannot disagree.
 */

import { escapeHtml } from '../domain/html.ts';
import type { RehearsalRecord } from '../ops/reports.ts';
import type { RunRecord, RunTraces, SampleRow } from '../store/rehearsals.ts';
import { HOP_LABELS, HOPS, type Hop } from './hops.ts';
import { barChart, lineChart } from './svg-chart.ts';

/**
 * The rule for "first to saturate", in the order checked each second (a one-second blip, such as
 * the first second's warm-up, is not saturation: a signal must hold SUSTAINED_SECONDS in a row):
 *  - intake: answers fall behind sends by more than INTAKE_LAG_SHARE, or p99 is above
 *    P99_JUMP_FACTOR times the run's best second and above P99_FLOOR_MS;
 *  - settlement: the backlog grows;
 *  - PostgreSQL: active backends at or above PG_ACTIVE_LINE (work queued inside the database).
 */
export const INTAKE_LAG_SHARE = 0.1;
export const P99_JUMP_FACTOR = 4;
export const P99_FLOOR_MS = 50;
export const SUSTAINED_SECONDS = 3;
export const PG_ACTIVE_LINE = 32;

export interface Saturation {
  component: 'intake' | 'settlement' | 'PostgreSQL';
  second: number;
  why: string;
}

export interface RunSummary {
  seconds: number;
  sent: number;
  accepted: number;
  refused: number;
  failed: number;
  peakAcceptedPerS: number;
  /** The median accepted rate of the hold phase (or of every second, without one). */
  sustainedAcceptedPerS: number;
  medianP99Ms: number | null;
  worstP99Ms: number | null;
  targetPerS: number;
  /** Sustained rate over the sale's target: above 1 there is room, below 1 there is not. */
  headroom: number;
  firstSaturated: Saturation | null;
  stopReason: string | null;
}

/** The lower median (an observed value), as the report takes it. */
export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)]!;
}

export function firstSaturated(samples: readonly SampleRow[]): Saturation | null {
  const p99s = samples.map((s) => s.p99Us).filter((v): v is number => v !== null);
  const bestP99Ms = p99s.length > 0 ? Math.min(...p99s) / 1000 : null;
  let lagging = 0;
  let slow = 0;
  let growing = 0;
  for (const [i, s] of samples.entries()) {
    const answered = s.accepted + s.refused + s.failed;
    lagging = s.sent > 0 && answered < s.sent * (1 - INTAKE_LAG_SHARE) ? lagging + 1 : 0;
    const p99Ms = s.p99Us === null ? null : s.p99Us / 1000;
    const jumped =
      p99Ms !== null && bestP99Ms !== null && p99Ms > P99_JUMP_FACTOR * bestP99Ms && p99Ms > P99_FLOOR_MS;
    slow = jumped ? slow + 1 : 0;
    const previous = samples[i - 1]?.backlog;
    growing = s.backlog !== null && previous != null && s.backlog > previous ? growing + 1 : 0;
    const at = (component: Saturation['component'], why: string) => ({
      component,
      second: s.secondIndex,
      why,
    });
    if (lagging >= SUSTAINED_SECONDS)
      return at('intake', `answers behind sends ${lagging} s in a row (${answered} of ${s.sent})`);
    if (slow >= SUSTAINED_SECONDS)
      return at(
        'intake',
        `p99 above ${P99_JUMP_FACTOR}x the best second's ${slow} s in a row (${p99Ms?.toFixed(1)} ms)`,
      );
    if (growing >= SUSTAINED_SECONDS)
      return at('settlement', `backlog grew ${growing} s in a row to ${s.backlog}`);
    if (s.pgActive !== null && s.pgActive >= PG_ACTIVE_LINE)
      return at('PostgreSQL', `${s.pgActive} active backends`);
  }
  return null;
}

export function summarize(run: Omit<RunRecord, 'traces'>): RunSummary {
  const s = run.samples;
  const sum = (f: (x: SampleRow) => number) => s.reduce((a, x) => a + f(x), 0);
  const hold = s.filter((x) => x.phase === 'hold');
  const sustained = median((hold.length > 0 ? hold : s).map((x) => x.accepted)) ?? 0;
  const p99s = s
    .map((x) => x.p99Us)
    .filter((v): v is number => v !== null)
    .map((v) => v / 1000);
  const target = run.rehearsal.targetOrdersPerS;
  return {
    seconds: s.length,
    sent: sum((x) => x.sent),
    accepted: sum((x) => x.accepted),
    refused: sum((x) => x.refused),
    failed: sum((x) => x.failed),
    peakAcceptedPerS: Math.max(0, ...s.map((x) => x.accepted)),
    sustainedAcceptedPerS: sustained,
    medianP99Ms: median(p99s),
    worstP99Ms: p99s.length > 0 ? Math.max(...p99s) : null,
    targetPerS: target,
    headroom: target > 0 ? sustained / target : 0,
    firstSaturated: firstSaturated(s),
    stopReason: run.stopReason,
  };
}

/** The run's record kept beside its page, for `fenqi ops reports` (one line of figures). */
export function runRecord(run: Omit<RunRecord, 'traces'>, summary: RunSummary): RehearsalRecord {
  const figures =
    `${summary.accepted} of ${summary.sent} orders accepted in ${summary.seconds} s, sustained ` +
    `${summary.sustainedAcceptedPerS}/s against a target of ${summary.targetPerS}/s ` +
    `(headroom ${summary.headroom.toFixed(2)}), worst p99 ${summary.worstP99Ms ?? '—'} ms`;
  return {
    rehearsal: run.rehearsal.id,
    startedAt: run.startedAt.toISOString(),
    finishedAt: run.finishedAt?.toISOString() ?? null,
    outcome: run.stopReason ? 'stopped' : run.finishedAt ? 'completed' : 'unfinished',
    summary: run.stopReason ? `stopped: ${run.stopReason}; ${figures}` : figures,
  };
}

const ms = (us: number | null) => (us === null ? null : us / 1000);

function charts(s: readonly SampleRow[]): string[] {
  return [
    lineChart('Orders per second', 'orders/s', [
      { name: 'target', color: '#999', values: s.map((x) => x.targetPerS) },
      { name: 'accepted', color: '#1a7f37', values: s.map((x) => x.accepted) },
      { name: 'refused', color: '#bf8700', values: s.map((x) => x.refused) },
      { name: 'failed', color: '#cf222e', values: s.map((x) => x.failed) },
    ]),
    lineChart('Latency per second', 'ms', [
      { name: 'p50', color: '#0969da', values: s.map((x) => ms(x.p50Us)) },
      { name: 'p99', color: '#8250df', values: s.map((x) => ms(x.p99Us)) },
    ]),
    lineChart('Settlement backlog', 'orders waiting', [
      { name: 'backlog', color: '#cf222e', values: s.map((x) => x.backlog) },
    ]),
    lineChart('PostgreSQL', 'per second / backends', [
      { name: 'commits per second', color: '#0969da', values: s.map((x) => x.pgCommitsPerS) },
      { name: 'active backends', color: '#bf8700', values: s.map((x) => x.pgActive) },
    ]),
    lineChart('Redis', 'operations/s', [
      { name: 'operations per second', color: '#1a7f37', values: s.map((x) => x.redisOpsPerS) },
    ]),
  ];
}

function figuresTable(sum: RunSummary): string {
  const f = (v: number | null, digits = 0) =>
    v === null ? '—' : v.toLocaleString('en', { maximumFractionDigits: digits });
  const rows: [string, string][] = [
    ['Seconds run', f(sum.seconds)],
    ['Orders sent', f(sum.sent)],
    ['Accepted / refused / failed', `${f(sum.accepted)} / ${f(sum.refused)} / ${f(sum.failed)}`],
    ['Peak accepted per second', f(sum.peakAcceptedPerS)],
    ['Sustained accepted per second (median of the hold)', f(sum.sustainedAcceptedPerS)],
    ["Sale's target per second", f(sum.targetPerS)],
    ['Capacity headroom (sustained ÷ target)', `${sum.headroom.toFixed(2)}x`],
    ['p99 latency, median second / worst second', `${f(sum.medianP99Ms, 1)} ms / ${f(sum.worstP99Ms, 1)} ms`],
    [
      'First to saturate',
      sum.firstSaturated
        ? `${sum.firstSaturated.component} at ${sum.firstSaturated.second}s (${sum.firstSaturated.why})`
        : 'nothing saturated',
    ],
    ['Stopped by a guard rail', sum.stopReason ?? 'no: the profile ran to its end'],
  ];
  return `<table>${rows.map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`).join('')}</table>`;
}

const PPM = 1_000_000;
const usToMs = (us: number) => us / 1000;

/** The hops in their order along an order's path, each once, as stored. */
function storedHops(traces: RunTraces) {
  return HOPS.flatMap((hop) => {
    const row = traces.hops.find((h) => h.hop === hop);
    return row ? [{ ...row, label: HOP_LABELS[hop as Hop] }] : [];
  });
}

function hopsSection(traces: RunTraces | null): string {
  if (!traces || traces.hops.length === 0) {
    return '<p>No traces were collected for this run, so time per hop is not shown (run with <code>--traces-listen</code> and point the exporters at it, docs/rehearsal.md).</p>';
  }
  const hops = storedHops(traces);
  const cell = (us: number) => `<td>${usToMs(us).toFixed(2)}</td>`;
  const rows = hops
    .map(
      (h) =>
        `<tr><td>${escapeHtml(h.label)}</td><td>${h.traces}</td>${cell(h.p50Us)}${cell(h.p99Us)}${cell(h.meanUs)}${cell(h.maxUs)}<td>${((h.sharePpm / PPM) * 100).toFixed(1)}%</td></tr>`,
    )
    .join('');
  const labels = hops.map((h) => h.label);
  return [
    `<p>From ${traces.spansHeld.toLocaleString('en')} spans of this rehearsal's traces${
      traces.spansDropped > 0
        ? ` (${traces.spansDropped.toLocaleString('en')} more left out: sampled out or past the receiver's bound)`
        : ''
    }. The API's time includes the publish it waits for and the settler's its transaction; the share counts
each hop's own time only, so no time is counted twice. Under batching the settler and transaction are the batch's.</p>`,
    `<table><tr><th>hop</th><th>traces</th><th>p50 ms</th><th>p99 ms</th><th>mean ms</th><th>max ms</th><th>share of time</th></tr>${rows}</table>`,
    barChart('Time per hop', 'ms', labels, [
      { name: 'p50', color: '#0969da', values: hops.map((h) => usToMs(h.p50Us)) },
      { name: 'p99', color: '#8250df', values: hops.map((h) => usToMs(h.p99Us)) },
    ]),
    barChart('Share of the time, per hop', '%', labels, [
      { name: 'share of time', color: '#bf8700', values: hops.map((h) => (h.sharePpm / PPM) * 100) },
    ]),
  ].join('\n');
}

export function renderReport(run: RunRecord): string {
  const sum = summarize(run);
  const title = `Rehearsal ${run.rehearsal.id}`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>body{font:14px/1.5 system-ui,"Noto Sans CJK SC","WenQuanYi Micro Hei",sans-serif;max-width:760px;margin:24px auto;padding:0 12px;color:#1f2328}
table{border-collapse:collapse;margin:8px 0 16px}th,td{border-bottom:1px solid #ddd;padding:4px 8px;text-align:left}svg{width:100%;height:auto;margin:8px 0 16px}</style>
</head><body>
<h1>${escapeHtml(title)}</h1>
<p>Profile <code>${escapeHtml(run.profile)}</code>, started ${escapeHtml(run.startedAt.toISOString())}${
    run.finishedAt ? `, finished ${escapeHtml(run.finishedAt.toISOString())}` : ', not finished'
  }. Rehearsal traffic only: every order below was tagged and settled on the shadow side.</p>
<h2>Figures</h2>
${figuresTable(sum)}
<h2>Charts</h2>
${charts(run.samples).join('\n')}
<h2>Where time goes per hop</h2>
${hopsSection(run.traces)}
<h2>How "first to saturate" is decided</h2>
<p>Each second in order, a signal counting once it has held ${SUSTAINED_SECONDS} seconds in a row: intake, when answers
fall behind sends by more than ${INTAKE_LAG_SHARE * 100}% or p99 is above ${P99_JUMP_FACTOR}x the best second's and above
${P99_FLOOR_MS} ms; settlement, when the backlog grows; PostgreSQL, at ${PG_ACTIVE_LINE} or more active backends.</p>
</body></html>
`;
}

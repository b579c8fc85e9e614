/** What every drill shares: finding or standing up a topology, progress lines, timing, the report. */
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_TOPOLOGY_DIR, down, runningState, type TopologyState, up } from '../cluster.ts';
import { progress } from '../proc.ts';
import { type Check, type DrillReport, verdictOf, writeReport } from '../report.ts';
import type { TopologyParts } from '../topology.ts';
import type { DrillWriter } from './writer.ts';

export interface DrillOptions {
  /** Topology directory; when nothing runs there the drill stands up its own and removes it. */
  dir?: string;
  reportDir?: string;
  /** A state already in hand (tests that started the topology once for the file). */
  state?: TopologyState;
}

export async function withTopology<T>(
  options: DrillOptions,
  parts: TopologyParts,
  body: (state: TopologyState, own: boolean) => Promise<T>,
): Promise<T> {
  const existing = options.state ?? (await runningState(options.dir ?? DEFAULT_TOPOLOGY_DIR));
  if (existing) return await body(existing, false);
  const base = await mkdtemp(path.join(os.tmpdir(), 'fenqi-drill-'));
  progress(`no topology configured: standing up the one-machine topology under ${base}`);
  const state = await up(base, { parts });
  try {
    return await body(state, true);
  } finally {
    progress('tearing down the drill topology');
    await down(state, { graceful: false });
  }
}

/** Calls report() every intervalMs until stopped, so a long wait still shows signs of life. */
export function ticker(report: () => string, intervalMs = 1000): () => void {
  const timer = setInterval(() => progress(report()), intervalMs);
  return () => clearInterval(timer);
}

/** The ticker of a drill under write load: its phase and the writer's counts. */
export function writerTicker(drill: string, writer: DrillWriter, phase: () => string): () => void {
  return ticker(() => {
    const s = writer.stats();
    return `${drill} drill: ${phase()}; writes acked ${s.acked}, failed attempts ${s.errors}`;
  });
}

export function since(startMs: number): number {
  return Date.now() - startMs;
}

/** What a drill records as it goes; finishReport() turns it into the report. */
export interface DrillRecord {
  checks: Check[];
  notes: string[];
  timings: DrillReport['timings'];
  figures: DrillReport['figures'];
}

export function newRecord(figures: DrillReport['figures'] = {}): DrillRecord {
  return { checks: [], notes: [], timings: {}, figures };
}

/**
 * Finds or stands up the topology, runs the drill, and writes its report when a report directory
 * was asked for. The start time is taken before the topology, so a stood-up one counts in the duration.
 */
export async function runDrill(
  options: DrillOptions,
  parts: TopologyParts,
  drill: (state: TopologyState, own: boolean, startedAt: Date) => Promise<DrillReport>,
): Promise<DrillReport> {
  const startedAt = new Date();
  return await withTopology(options, parts, async (state, own) => {
    const report = await drill(state, own, startedAt);
    return options.reportDir ? await writeReport(options.reportDir, report) : report;
  });
}

/** The failed check of a drill that stopped part-way, naming the phase it stopped in. */
export function incompleteCheck(phase: string, err: unknown): Check {
  return { name: 'drill ran to completion', ok: false, detail: `${phase}: ${(err as Error).message}` };
}

export interface ReportSummary {
  /** Only called when every check passed. */
  pass: () => string;
  /** How a failed check is named in the summary. */
  failure?: (check: Check) => string;
}

export function finishReport(
  drill: DrillReport['drill'],
  startedAt: Date,
  own: boolean,
  record: DrillRecord,
  summary: ReportSummary,
): DrillReport {
  const finishedAt = new Date();
  const verdict = verdictOf(record.checks);
  const failure = summary.failure ?? ((c: Check) => `${c.name} (${c.detail})`);
  return {
    drill,
    verdict,
    summary:
      verdict === 'pass'
        ? summary.pass()
        : `failed: ${record.checks
            .filter((c) => !c.ok)
            .map(failure)
            .join('; ')}`,
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    durationMs: finishedAt.getTime() - startedAt.getTime(),
    ownTopology: own,
    timings: record.timings,
    figures: record.figures,
    checks: record.checks,
    notes: record.notes,
  };
}

/**
 * `fenqi rehearse run|report|clean` on the opened sides: the load runs against the API while each
 * second's figures and signals are stored through the shadow role; the report is rendered from
 * what was stored; clean works as the shadow schema's owner.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { rehearsalRecordFile } from '../ops/reports.ts';
import { connectPostgres, type Queryable } from '../store/db.ts';
import {
  finishRun,
  getRehearsal,
  type RunTraces,
  readRun,
  recordHops,
  recordSample,
  startRun,
} from '../store/rehearsals.ts';
import { cleanRehearsal } from './clean.ts';
import { HOPS, hopSummary } from './hops.ts';
import { assertTargetAllowed, type OrderMode, type RunOutcome, runLoad, type SecondSample } from './load.ts';
import { shadowTargets } from './plan.ts';
import { type GuardRails, type Phase, rateAt } from './profile.ts';
import { type RunSummary, renderReport, runRecord, summarize } from './report.ts';
import { type Sides, withSides } from './sides.ts';
import { SignalSampler } from './signals.ts';
import { sampleShareFor, TraceReceiver } from './trace-receiver.ts';

/** After the load, spans are awaited until none of the rehearsal's came for this long... */
export const TRACES_QUIET_MS = 3_000;
/** ...or at most this long (an exporter that never sends must not hold the run). */
export const TRACES_WAIT_MAX_MS = 30_000;
const TRACES_POLL_MS = 100;

export interface RunRequest {
  id: string;
  profile: string;
  phases: Phase[];
  rails: GuardRails;
  apiUrl: string;
  /** `?mode=` of every order (default: none, the deployment's FENQI_SALE_MODE decides). */
  orderMode?: OrderMode;
  /** The run's trace receiver (listening already): per-hop times are kept with the run. */
  traces?: TraceReceiver;
}

/** The orders a profile sends, the traces a run can expect. */
export function profileOrders(phases: readonly Phase[]): number {
  let total = 0;
  for (let t = 0; ; t++) {
    const due = rateAt(phases, t);
    if (!due) return total;
    total += due.perS;
  }
}

export async function runRehearsal(
  req: Omit<RunRequest, 'traces'> & { tracesListen?: string },
  progress: (line: string) => void,
): Promise<RunOutcome> {
  assertTargetAllowed(req.apiUrl, process.env.FENQI_REHEARSAL_ALLOW_REMOTE === '1');
  const traces = req.tracesListen
    ? await TraceReceiver.listen(req.tracesListen, req.id, sampleShareFor(profileOrders(req.phases)))
    : undefined;
  if (traces) progress(`traces: OTLP/HTTP JSON receiver at ${traces.url}/v1/traces`);
  try {
    return await withSides((sides) => runOnSides(sides, { ...req, traces }, progress));
  } finally {
    await traces?.close();
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Waits for the rehearsal's last spans (the exporters send in batches, the settler finishes the
 * backlog after the load), then summarizes them per hop, in whole microseconds.
 */
export async function collectHops(receiver: TraceReceiver): Promise<RunTraces> {
  const started = Date.now();
  for (;;) {
    const last = receiver.counts.lastSpanAtMs;
    const now = Date.now();
    if (last > 0 && now - last >= TRACES_QUIET_MS) break;
    if (now - started >= TRACES_WAIT_MAX_MS) break;
    await sleep(TRACES_POLL_MS);
  }
  const summary = hopSummary([...receiver.spans()]);
  const us = (ms: number) => Math.round(ms * 1000);
  return {
    spansHeld: receiver.counts.held,
    spansDropped: receiver.counts.dropped,
    hops: HOPS.filter((hop) => summary[hop].count > 0).map((hop) => {
      const f = summary[hop];
      return {
        hop,
        traces: f.count,
        meanUs: us(f.meanMs),
        p50Us: us(f.p50Ms),
        p99Us: us(f.p99Ms),
        maxUs: us(f.maxMs),
        sharePpm: Math.round(f.share * 1_000_000),
      };
    }),
  };
}

function progressLine(s: SecondSample): string {
  const p99 = s.p99Us === null ? '-' : (s.p99Us / 1000).toFixed(1);
  return (
    `${s.secondIndex}s ${s.phase} target ${s.targetPerS}/s: accepted ${s.accepted} refused ${s.refused} ` +
    `failed ${s.failed} p99 ${p99} ms backlog ${s.backlog ?? '-'}`
  );
}

export async function runOnSides(
  { shadow, rehearsal, tokenSecret }: Pick<Sides, 'shadow' | 'rehearsal' | 'tokenSecret'>,
  req: RunRequest,
  progress: (line: string) => void,
): Promise<RunOutcome> {
  const open = await getRehearsal(shadow.db.sql, req.id);
  if (!open || open.closedAt || open.closesAt.getTime() <= Date.now()) {
    throw new Error(`rehearsal ${req.id} is not open (plan it first)`);
  }
  const targets = await shadowTargets(shadow.db.sql);
  if (targets.customers.length === 0 || targets.goods.length === 0) {
    throw new Error(`rehearsal ${req.id} has no shadow customers or goods (plan it first)`);
  }
  if (!(await startRun(shadow.db.sql, req.id, req.profile))) {
    throw new Error(`rehearsal ${req.id} has run already; plan a new one for another run`);
  }
  // the statistics views get a connection of their own: a reading must not queue behind the load
  const statsSql = rehearsal.databaseUrl ? connectPostgres(rehearsal.databaseUrl, 1) : undefined;
  let outcome: RunOutcome;
  try {
    const sampler = new SignalSampler(shadow, statsSql);
    await sampler.sample(); // a first reading, so the first second has rates
    outcome = await runLoad(
      {
        apiUrl: req.apiUrl,
        orderMode: req.orderMode,
        rehearsalId: req.id,
        rehearsalKey: rehearsal.key,
        tokenSecret,
        ...targets,
      },
      req.phases,
      req.rails,
      () => sampler.sample(),
      async (s) => {
        await recordSample(shadow.db.sql, req.id, s);
        progress(progressLine(s));
      },
    );
  } finally {
    await statsSql?.end({ timeout: 5 });
  }
  await finishRun(shadow.db.sql, req.id, outcome.stopReason);
  if (outcome.stopReason) progress(`stopped early: ${outcome.stopReason}`);
  if (req.traces) {
    progress('traces: waiting for the last spans');
    const traces = await collectHops(req.traces);
    await recordHops(shadow.db.sql, req.id, traces);
    progress(`traces: ${traces.spansHeld} spans held, ${traces.hops.length} hops`);
  }
  return outcome;
}

export async function writeRunReport(
  id: string,
  file: string,
): Promise<{ file: string; summary: RunSummary }> {
  return withSides(({ shadow }) => reportOnShadow(shadow.db.sql, id, file));
}

export async function reportOnShadow(
  shadowSql: Queryable,
  id: string,
  file: string,
): Promise<{ file: string; summary: RunSummary }> {
  const run = await readRun(shadowSql, id);
  if (!run) throw new Error(`rehearsal ${id} has no run to report`);
  const target = path.resolve(file);
  await mkdir(path.dirname(target), { recursive: true });
  const summary = summarize(run);
  await writeFile(target, renderReport(run), { mode: 0o640 });
  await writeFile(rehearsalRecordFile(target), `${JSON.stringify(runRecord(run, summary), null, 2)}\n`, {
    mode: 0o640,
  });
  return { file: target, summary };
}

export async function cleanWithSides(id: string) {
  return withSides(async ({ shadow, rehearsal }) => {
    if (!rehearsal.migrationDatabaseUrl)
      throw new Error('FENQI_SHADOW_MIGRATION_DATABASE_URL is needed to clean');
    const owner = connectPostgres(rehearsal.migrationDatabaseUrl, 1);
    try {
      return { rehearsal: id, ...(await cleanRehearsal(owner, shadow.queue, id)) };
    } finally {
      await owner.end({ timeout: 5 });
    }
  });
}

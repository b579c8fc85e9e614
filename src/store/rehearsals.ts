/**
 * Rehearsals, their runs and per-second samples (in the shadow schema, written through the shadow
 * role) and the schedule of rehearsal rounds and drills (in the production schema). SQL only;
 * docs/rehearsal.md says who writes what.
 */
import type { Queryable } from './db.ts';

export interface RehearsalRow {
  id: string;
  openedAt: Date;
  closesAt: Date;
  closedAt: Date | null;
  targetOrdersPerS: number;
}

export async function openRehearsal(
  sql: Queryable,
  r: { id: string; closesAt: Date; targetOrdersPerS: number },
): Promise<boolean> {
  const rows = await sql`
    insert into rehearsals (id, closes_at, target_orders_per_s)
    values (${r.id}, ${r.closesAt}, ${r.targetOrdersPerS}) on conflict (id) do nothing returning id`;
  return rows.length === 1;
}

export async function getRehearsal(sql: Queryable, id: string): Promise<RehearsalRow | undefined> {
  const [row] = await sql<
    { id: string; opened_at: Date; closes_at: Date; closed_at: Date | null; target_orders_per_s: string }[]
  >`select id, opened_at, closes_at, closed_at, target_orders_per_s::text from rehearsals where id = ${id}`;
  if (!row) return undefined;
  return {
    id: row.id,
    openedAt: row.opened_at,
    closesAt: row.closes_at,
    closedAt: row.closed_at,
    targetOrdersPerS: Number(row.target_orders_per_s),
  };
}

/** The most recently opened rehearsal still open at `now`, if any. */
export async function latestOpenRehearsal(sql: Queryable, now: Date): Promise<string | undefined> {
  const [row] = await sql<{ id: string }[]>`
    select id from rehearsals where closed_at is null and closes_at > ${now}
    order by opened_at desc, id limit 1`;
  return row?.id;
}

export async function closeRehearsal(sql: Queryable, id: string): Promise<void> {
  await sql`update rehearsals set closed_at = coalesce(closed_at, ${new Date()}) where id = ${id}`;
}

/** A run starts once per rehearsal; a second run of the same id is refused (false). */
export async function startRun(sql: Queryable, rehearsalId: string, profile: string): Promise<boolean> {
  const rows = await sql`
    insert into rehearsal_runs (rehearsal_id, started_at, profile) values (${rehearsalId}, now(), ${profile})
    on conflict (rehearsal_id) do nothing returning rehearsal_id`;
  return rows.length === 1;
}

export async function finishRun(sql: Queryable, rehearsalId: string, stopReason: string | undefined) {
  await sql`
    update rehearsal_runs set finished_at = now(), stop_reason = ${stopReason ?? null}
    where rehearsal_id = ${rehearsalId}`;
}

export interface SampleRow {
  secondIndex: number;
  phase: 'ramp' | 'hold' | 'burst';
  targetPerS: number;
  sent: number;
  accepted: number;
  refused: number;
  failed: number;
  p50Us: number | null;
  p99Us: number | null;
  backlog: number | null;
  pgActive: number | null;
  pgCommitsPerS: number | null;
  redisOpsPerS: number | null;
  redisMemoryBytes: number | null;
}

export async function recordSample(sql: Queryable, rehearsalId: string, s: SampleRow): Promise<void> {
  await sql`
    insert into rehearsal_samples (rehearsal_id, second_index, phase, target_per_s, sent, accepted, refused,
      failed, p50_us, p99_us, backlog, pg_active, pg_commits_per_s, redis_ops_per_s, redis_memory_bytes)
    values (${rehearsalId}, ${s.secondIndex}, ${s.phase}, ${s.targetPerS}, ${s.sent}, ${s.accepted},
      ${s.refused}, ${s.failed}, ${s.p50Us}, ${s.p99Us}, ${s.backlog}, ${s.pgActive}, ${s.pgCommitsPerS},
      ${s.redisOpsPerS}, ${s.redisMemoryBytes})`;
}

/** One hop's times over the run's traces (rehearsal/hops.ts), as stored (rehearsal_hops). */
export interface HopRow {
  hop: string;
  traces: number;
  meanUs: number;
  p50Us: number;
  p99Us: number;
  maxUs: number;
  /** Share of the time summed over every hop, parts per million. */
  sharePpm: number;
}

/** What the run's trace receiver held and left out (spans), with the per-hop rows. */
export interface RunTraces {
  spansHeld: number;
  spansDropped: number;
  hops: HopRow[];
}

/** Stores the run's per-hop times once; a second call for the same run replaces them. */
export async function recordHops(sql: Queryable, rehearsalId: string, traces: RunTraces): Promise<void> {
  await sql`
    update rehearsal_runs set trace_spans_held = ${traces.spansHeld}, trace_spans_dropped = ${traces.spansDropped}
    where rehearsal_id = ${rehearsalId}`;
  for (const h of traces.hops) {
    await sql`
      insert into rehearsal_hops (rehearsal_id, hop, traces, mean_us, p50_us, p99_us, max_us, share_ppm)
      values (${rehearsalId}, ${h.hop}, ${h.traces}, ${h.meanUs}, ${h.p50Us}, ${h.p99Us}, ${h.maxUs}, ${h.sharePpm})
      on conflict (rehearsal_id, hop) do update set traces = excluded.traces, mean_us = excluded.mean_us,
        p50_us = excluded.p50_us, p99_us = excluded.p99_us, max_us = excluded.max_us,
        share_ppm = excluded.share_ppm`;
  }
}

async function readTraces(
  sql: Queryable,
  rehearsalId: string,
  counts: { held: string | null; dropped: string | null },
): Promise<RunTraces | null> {
  if (counts.held === null) return null;
  const rows = await sql<Record<string, string>[]>`
    select hop, traces::text, mean_us::text, p50_us::text, p99_us::text, max_us::text, share_ppm::text
    from rehearsal_hops where rehearsal_id = ${rehearsalId}`;
  return {
    spansHeld: Number(counts.held),
    spansDropped: Number(counts.dropped ?? 0),
    hops: rows.map((r) => ({
      hop: r.hop as string,
      traces: Number(r.traces),
      meanUs: Number(r.mean_us),
      p50Us: Number(r.p50_us),
      p99Us: Number(r.p99_us),
      maxUs: Number(r.max_us),
      sharePpm: Number(r.share_ppm),
    })),
  };
}

export interface RunRecord {
  rehearsal: RehearsalRow;
  startedAt: Date;
  finishedAt: Date | null;
  profile: string;
  stopReason: string | null;
  samples: SampleRow[];
  /** Null when the run collected no traces (no trace receiver). */
  traces: RunTraces | null;
}

export async function readRun(sql: Queryable, rehearsalId: string): Promise<RunRecord | undefined> {
  const rehearsal = await getRehearsal(sql, rehearsalId);
  const [run] = await sql<
    {
      started_at: Date;
      finished_at: Date | null;
      profile: string;
      stop_reason: string | null;
      held: string | null;
      dropped: string | null;
    }[]
  >`
    select started_at, finished_at, profile, stop_reason, trace_spans_held::text as held,
      trace_spans_dropped::text as dropped
    from rehearsal_runs where rehearsal_id = ${rehearsalId}`;
  if (!rehearsal || !run) return undefined;
  const rows = await sql<Record<string, unknown>[]>`
    select second_index, phase, target_per_s, sent, accepted, refused, failed, p50_us, p99_us, backlog,
      pg_active, pg_commits_per_s, redis_ops_per_s, redis_memory_bytes::float8 as redis_memory_bytes
    from rehearsal_samples where rehearsal_id = ${rehearsalId} order by second_index`;
  const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));
  const samples = rows.map((r) => ({
    secondIndex: Number(r.second_index),
    phase: r.phase as SampleRow['phase'],
    targetPerS: Number(r.target_per_s),
    sent: Number(r.sent),
    accepted: Number(r.accepted),
    refused: Number(r.refused),
    failed: Number(r.failed),
    p50Us: num(r.p50_us),
    p99Us: num(r.p99_us),
    backlog: num(r.backlog),
    pgActive: num(r.pg_active),
    pgCommitsPerS: num(r.pg_commits_per_s),
    redisOpsPerS: num(r.redis_ops_per_s),
    redisMemoryBytes: num(r.redis_memory_bytes),
  }));
  return {
    rehearsal,
    startedAt: run.started_at,
    finishedAt: run.finished_at,
    profile: run.profile,
    stopReason: run.stop_reason,
    samples,
    traces: await readTraces(sql, rehearsalId, run),
  };
}

export type ScheduleKind = 'rehearsal' | 'failover' | 'region' | 'restore';

export interface ScheduleRow {
  id: bigint;
  kind: ScheduleKind;
  months: number[];
  dayOfMonth: number;
  label: string;
  lastRunOn: string | null;
}

export async function addSchedule(
  sql: Queryable,
  s: { kind: ScheduleKind; months: number[]; dayOfMonth: number; label: string },
): Promise<bigint> {
  const [row] = await sql<{ id: bigint }[]>`
    insert into rehearsal_schedules (kind, months, day_of_month, label)
    values (${s.kind}, ${s.months}::bigint[], ${s.dayOfMonth}, ${s.label}) returning id`;
  return row!.id;
}

export async function listSchedules(sql: Queryable): Promise<ScheduleRow[]> {
  const rows = await sql<
    {
      id: bigint;
      kind: ScheduleKind;
      months: number[];
      day_of_month: number;
      label: string;
      last_run_on: string | null;
    }[]
  >`select id, kind, months, day_of_month, label, last_run_on::text from rehearsal_schedules order by id`;
  return rows.map((r) => ({
    id: r.id,
    kind: r.kind,
    months: r.months.map(Number),
    dayOfMonth: r.day_of_month,
    label: r.label,
    lastRunOn: r.last_run_on,
  }));
}

export async function removeSchedule(sql: Queryable, id: bigint): Promise<boolean> {
  const rows = await sql`delete from rehearsal_schedules where id = ${id} returning id`;
  return rows.length === 1;
}

export async function markScheduleRun(sql: Queryable, id: bigint, date: string): Promise<void> {
  await sql`update rehearsal_schedules set last_run_on = ${date}::date where id = ${id}`;
}

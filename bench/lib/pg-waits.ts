/**
 * Where settlement's time goes inside PostgreSQL (bench/flash.bench.ts): pg_stat_activity sampled
 * every `WAIT_SAMPLE_MS` while a phase runs, counting each busy or idle-in-transaction backend of
 * the platform's database by what it was doing. CPU figures cannot show a batch that waits: a lock
 * held by the other batch, a commit's WAL flush, or a transaction idle while its client (the worker)
 * does something else between statements (`client: ClientRead`). The shares say which it is.
 */
import type { Sql } from '../../src/store/db.ts';

export const WAIT_SAMPLE_MS = 50;
/** An idle-in-transaction backend is named by this much of its last statement (whose client waits). */
export const QUERY_PREFIX_CHARS = 60;
/** Kinds reported; the rest are summed as `other`. */
export const WAITS_TOP = 8;

export interface WaitFigures {
  samples: number;
  /** Backends of the platform's database in a transaction, per sample, on average. */
  busy_backends_mean: number;
  /** Share of backend-samples by what they were doing: `cpu` (running, no wait) or `type: event`. */
  share: Record<string, number>;
}

export interface WaitSampler {
  stop(): Promise<WaitFigures>;
}

export function sampleWaits(sql: Sql, database: string): WaitSampler {
  const counts = new Map<string, number>();
  let samples = 0;
  let backendSamples = 0;
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const rows = await sql<{ kind: string }[]>`
        select case
          when state = 'idle in transaction'
            then 'client: idle in transaction after ' || left(regexp_replace(query, '[[:space:]]+', ' ', 'g'), ${QUERY_PREFIX_CHARS})
          when wait_event is null then 'cpu'
          else wait_event_type || ': ' || wait_event end as kind
        from pg_stat_activity
        where datname = ${database} and backend_type = 'client backend' and pid <> pg_backend_pid()
          and state in ('active', 'idle in transaction')`.catch(() => null);
      if (rows) {
        samples++;
        backendSamples += rows.length;
        for (const r of rows) counts.set(r.kind, (counts.get(r.kind) ?? 0) + 1);
      }
      await new Promise((r) => setTimeout(r, WAIT_SAMPLE_MS));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      const ranked = [...counts].sort((a, b) => b[1] - a[1]);
      const share: Record<string, number> = {};
      const total = Math.max(1, backendSamples);
      for (const [kind, n] of ranked.slice(0, WAITS_TOP)) share[kind] = Number((n / total).toFixed(3));
      const rest = ranked.slice(WAITS_TOP).reduce((s, [, n]) => s + n, 0);
      if (rest > 0) share.other = Number((rest / total).toFixed(3));
      return {
        samples,
        busy_backends_mean: Number((backendSamples / Math.max(1, samples)).toFixed(2)),
        share,
      };
    },
  };
}

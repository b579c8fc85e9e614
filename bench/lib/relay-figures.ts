/**
 * The outbox relay against settlement in one sale burst (bench/flash.bench.ts): once every order is
 * settled, how many events still wait in the outbox (the backlog) and how long the relay takes to
 * empty it; then, from the rows themselves, the events relayed per second (first relay to last), the
 * events written per second by settlement, and each event's lag to its relay, counted from the start
 * of the transaction that wrote it (occurred_at is that transaction's now(): a settlement batch's
 * own duration is in it, as the commit time is not recorded).
 */
import type { Sql } from '../../src/store/db.ts';

export interface RelayFigures {
  relay_events: number;
  relay_events_per_s: number;
  relay_events_written_per_s: number;
  relay_backlog_at_settled: number;
  relay_catch_up_after_settled_s: number;
  relay_backlog_at_end: number;
  /** From the start of the transaction that wrote the event (occurred_at = its now()) to its relay. */
  relay_lag_from_tx_start_p50_ms: number;
  relay_lag_from_tx_start_p99_ms: number;
  relay_lag_from_tx_start_max_ms: number;
}

/** Events in the outbox not yet relayed. */
export async function outboxBacklog(sql: Sql): Promise<number> {
  const [row] = await sql<{ n: number }[]>`
    select count(*)::int as n from outbox_events where relayed_at is null`;
  return row!.n;
}

/** Waits (bounded by `maxMs`) for the relay to empty the outbox, then reads the events since `since`. */
export async function relayAgainstSettlement(
  sql: Sql,
  since: Date,
  maxMs: number,
  pollMs: number,
): Promise<RelayFigures> {
  const backlogAtSettled = await outboxBacklog(sql);
  const startMs = Date.now();
  let left = backlogAtSettled;
  while (left > 0 && Date.now() - startMs < maxMs) {
    await new Promise((r) => setTimeout(r, pollMs));
    left = await outboxBacklog(sql);
  }
  const catchUpS = left === 0 ? (Date.now() - startMs) / 1000 : Number.NaN;
  const [r] = await sql<
    {
      events: number;
      relay_span_s: number | null;
      written_span_s: number | null;
      lag_p50_s: number | null;
      lag_p99_s: number | null;
      lag_max_s: number | null;
    }[]
  >`
    select count(*)::int as events,
      extract(epoch from max(relayed_at) - min(relayed_at))::float8 as relay_span_s,
      extract(epoch from max(occurred_at) - min(occurred_at))::float8 as written_span_s,
      (percentile_cont(0.5) within group (order by extract(epoch from relayed_at - occurred_at)))::float8 as lag_p50_s,
      (percentile_cont(0.99) within group (order by extract(epoch from relayed_at - occurred_at)))::float8 as lag_p99_s,
      extract(epoch from max(relayed_at - occurred_at))::float8 as lag_max_s
    from outbox_events where occurred_at >= ${since}`;
  const perS = (n: number, s: number | null) => (s && s > 0 ? Math.round(n / s) : 0);
  const ms = (s: number | null) => Math.round((s ?? 0) * 1000);
  return {
    relay_events: r!.events,
    relay_events_per_s: perS(r!.events, r!.relay_span_s),
    relay_events_written_per_s: perS(r!.events, r!.written_span_s),
    relay_backlog_at_settled: backlogAtSettled,
    relay_catch_up_after_settled_s: Number(catchUpS.toFixed(2)),
    relay_backlog_at_end: left,
    relay_lag_from_tx_start_p50_ms: ms(r!.lag_p50_s),
    relay_lag_from_tx_start_p99_ms: ms(r!.lag_p99_s),
    relay_lag_from_tx_start_max_ms: ms(r!.lag_max_s),
  };
}

/**
 * The steady write load of the drills: one application connection (postgres.js) inserting numbered
 * rows, one at a time, recording every id the database acknowledged. It connects through the
 * multi-host URL with target_session_attrs=read-write, so after a failover it finds the new
 * primary by itself, the way the application does, without a restart.
 */
import type postgres from 'postgres';
import { openPostgres } from '../../store/db.ts';
import { sleep, waitFor } from '../proc.ts';

export const DRILL_TABLE = 'ops_drill_writes';
/** Pause between a failed write and its retry; short so the RTO we measure is the server's. */
const RETRY_PAUSE_MS = 100;
/**
 * An answer already on its way when the kill landed can still be read just after it; writes
 * acknowledged this soon after the kill came from the old primary, not from a new one (Patroni
 * cannot elect within a second: the leader key lives for ttl seconds).
 */
export const STRAGGLER_MS = 1_000;

/**
 * The RTO: milliseconds from the kill to the first write acknowledged after the straggler window,
 * waiting at most limitMs for it.
 */
export async function rtoAfterKill(
  writer: DrillWriter,
  killAtMs: number,
  what: string,
  limitMs: number,
): Promise<number> {
  const firstWriteAtMs = await waitFor(
    what,
    () => writer.firstAckAfter(killAtMs + STRAGGLER_MS),
    limitMs,
    50,
  );
  return firstWriteAtMs - killAtMs;
}

export async function createDrillTable(url: string): Promise<void> {
  const sql = openPostgres(url, { max: 1, onnotice: () => {}, connect_timeout: 5 });
  try {
    await sql.unsafe(`create table if not exists ${DRILL_TABLE} (
      id bigint primary key,
      drill text not null,
      created_at timestamptz not null default clock_timestamp()
    )`);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

export interface WriterStats {
  acked: number;
  errors: number;
  lastError: string | undefined;
}

export class DrillWriter {
  /** id → wall-clock ms at which the commit was acknowledged. */
  readonly acked = new Map<number, number>();
  errors = 0;
  lastError: string | undefined;
  private nextId: number;
  private running = false;
  private paused = false;
  private loop: Promise<void> | undefined;
  private readonly sql: postgres.Sql;

  constructor(
    url: string,
    private readonly drill: string,
    firstId = 1,
    private readonly pauseMs = 20,
  ) {
    this.nextId = firstId;
    // One connection, short timeouts: a dead host is skipped quickly and the next one tried.
    this.sql = openPostgres(url, { max: 1, connect_timeout: 2, idle_timeout: 0, onnotice: () => {} });
  }

  start(): void {
    this.running = true;
    this.loop = this.run();
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
  }

  /** Waits until the write in flight (if any) settles, then returns; the loop stays paused. */
  async quiesce(): Promise<void> {
    this.paused = true;
    while (this.inFlight) await sleep(10);
  }

  private inFlight = false;

  private async run(): Promise<void> {
    while (this.running) {
      if (this.paused) {
        await sleep(20);
        continue;
      }
      const id = this.nextId;
      this.inFlight = true;
      try {
        // Retrying the same id is harmless: a write that committed but whose ack was lost is not
        // counted as acknowledged, and the retry does nothing.
        await this
          .sql`insert into ${this.sql(DRILL_TABLE)} (id, drill) values (${String(id)}::bigint, ${this.drill})
          on conflict (id) do nothing`;
        this.acked.set(id, Date.now());
        this.nextId = id + 1;
        this.inFlight = false;
        if (this.pauseMs > 0) await sleep(this.pauseMs);
      } catch (err) {
        this.inFlight = false;
        this.errors += 1;
        this.lastError = err instanceof Error ? err.message : String(err);
        await sleep(RETRY_PAUSE_MS);
      }
    }
  }

  /** First acknowledgement at or after the given time. */
  firstAckAfter(ms: number): number | undefined {
    let first: number | undefined;
    for (const at of this.acked.values()) if (at >= ms && (first === undefined || at < first)) first = at;
    return first;
  }

  ackedBefore(ms: number): number[] {
    return [...this.acked].filter(([, at]) => at < ms).map(([id]) => id);
  }

  stats(): WriterStats {
    return { acked: this.acked.size, errors: this.errors, lastError: this.lastError };
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
    await this.sql.end({ timeout: 2 }).catch(() => {});
  }
}

/** Which of the given ids are missing from the drill table at url. */
export async function missingIds(url: string, ids: number[]): Promise<number[]> {
  if (ids.length === 0) return [];
  const sql = openPostgres(url, { max: 1, connect_timeout: 5, onnotice: () => {} });
  try {
    const literal = `{${ids.join(',')}}`;
    const rows = await sql<
      { id: string }[]
    >`select id::text from ${sql(DRILL_TABLE)} where id = any(${literal}::bigint[])`;
    const present = new Set(rows.map((r) => Number(r.id)));
    return ids.filter((id) => !present.has(id));
  } finally {
    await sql.end({ timeout: 2 });
  }
}

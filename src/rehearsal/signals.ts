/**
 * Saturation signals read once a second during a rehearsal run, each through the shadow side's own
 * credentials: the settler's backlog (the shadow NATS account), PostgreSQL's active backends and
 * commits per second (statistics views; the shadow role sees the whole server's counts, not rows),
 * Redis's operations per second and memory (INFO, which the shadow ACL user may run). A signal that
 * cannot be read in SIGNAL_TIMEOUT_MS is left out of that second, never waited on.
 */
import { RedisCache } from '../cache/redis-cache.ts';
import type { Platform } from '../platform.ts';
import { ORDER_SETTLER, ORDERS_STREAM } from '../queue/index.ts';
import type { Queryable } from '../store/db.ts';
import type { SampleRow } from '../store/rehearsals.ts';
import { withTimeout } from '../timeout.ts';

export const SIGNAL_TIMEOUT_MS = 500;

/** The part of a stored second (SampleRow) that the sampler reads. */
export type Signals = Pick<
  SampleRow,
  'backlog' | 'pgActive' | 'pgCommitsPerS' | 'redisOpsPerS' | 'redisMemoryBytes'
>;

const bounded = <T>(work: Promise<T>): Promise<T | null> =>
  withTimeout(work, SIGNAL_TIMEOUT_MS, () => new Error('signal timed out')).catch(() => null);

/** `field:value` lines of a Redis INFO section. */
export function infoField(info: string, field: string): number | null {
  const m = new RegExp(`^${field}:([0-9.]+)`, 'm').exec(info);
  return m ? Number(m[1]) : null;
}

export class SignalSampler {
  private lastCommits: { count: number; atMs: number } | undefined;

  /**
   * `statsSql`: a connection of its own for the statistics views, so a reading never queues behind
   * the shadow side's busy pool (the shadow pool's is used when none is given).
   */
  constructor(
    private readonly shadow: Platform,
    private readonly statsSql: Queryable = shadow.db.sql,
  ) {}

  async sample(nowMs = Date.now()): Promise<Signals> {
    const [backlog, pg, redis] = await Promise.all([
      bounded(this.shadow.queue.pending(ORDERS_STREAM, ORDER_SETTLER)),
      bounded(this.postgres()),
      bounded(this.redis()),
    ]);
    let pgCommitsPerS: number | null = null;
    if (pg) {
      if (this.lastCommits && nowMs > this.lastCommits.atMs) {
        pgCommitsPerS = Math.round(
          ((pg.commits - this.lastCommits.count) * 1000) / (nowMs - this.lastCommits.atMs),
        );
      }
      this.lastCommits = { count: pg.commits, atMs: nowMs };
    }
    return {
      backlog: backlog ?? null,
      pgActive: pg?.active ?? null,
      pgCommitsPerS,
      redisOpsPerS: redis?.opsPerS ?? null,
      redisMemoryBytes: redis?.usedBytes ?? null,
    };
  }

  private async postgres(): Promise<{ active: number; commits: number }> {
    const [row] = await this.statsSql<{ active: number; commits: string }[]>`
      select (select count(*)::int from pg_stat_activity
                where datname = current_database() and state = 'active') as active,
             (select xact_commit::text from pg_stat_database where datname = current_database()) as commits`;
    return { active: row?.active ?? 0, commits: Number(row?.commits ?? 0) };
  }

  private async redis(): Promise<{ opsPerS: number | null; usedBytes: number | null } | null> {
    const cache = this.shadow.cache;
    if (!(cache instanceof RedisCache) || cache.clustered) return null;
    const info = String(await cache.client.info());
    return {
      opsPerS: infoField(info, 'instantaneous_ops_per_sec'),
      usedBytes: infoField(info, 'used_memory'),
    };
  }
}

/**
 * pgbench's TPC-B on a bench's own PostgreSQL, in a database of its own: the yardstick a bench's
 * rate is read against (what this server, on this machine, does per second with five statements
 * and one commit per transaction). Connects like the platform does (TLS, a password role).
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import type { PostgresServer } from '../../test/harness/postgres.ts';

export interface PgbenchRun {
  /** Scale factor: branches, 100,000 accounts each. At least `clients`, so branch rows do not serialise them. */
  scale: number;
  clients: number;
  seconds: number;
  /** Database created for it on the server (must not exist yet). */
  database: string;
}

export interface PgbenchResult extends PgbenchRun {
  tps: number;
  /** pgbench's own mean latency, ms. */
  latency_avg_ms: number;
  /** pgbench's worker threads (at most the clients). */
  threads: number;
}

export const PGBENCH_THREADS_MAX = 2;

/** Initialises the TPC-B tables and runs the standard script for `seconds`. */
export async function runPgbench(pg: PostgresServer, run: PgbenchRun): Promise<PgbenchResult> {
  const pgbench = path.join(pg.binDir, 'pgbench');
  const url = await pg.createDatabase(run.database);
  execFileSync(pgbench, ['-i', '-q', '-s', String(run.scale), url], { stdio: 'pipe' });
  const threads = Math.min(run.clients, PGBENCH_THREADS_MAX);
  const out = execFileSync(
    pgbench,
    ['-c', String(run.clients), '-j', String(threads), '-T', String(run.seconds), url],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const tps = Number(/tps = ([\d.]+)/.exec(out)?.[1]);
  if (!Number.isFinite(tps) || tps <= 0) throw new Error(`no tps in pgbench output:\n${out}`);
  const latency = Number(/latency average = ([\d.]+) ms/.exec(out)?.[1]);
  return { ...run, tps: Math.round(tps), latency_avg_ms: latency, threads };
}

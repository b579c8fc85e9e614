/**
 * What the platform's statements cost on each database node, for the PostgreSQL-vs-Citus
 * comparisons of the flash and decisions benches (issue 20 item 7). Counted from
 * pg_stat_statements on every node and, on Citus, citus_stat_statements on the coordinator (a
 * statement Citus routed to one shard names its distribution key, `partition_key`). Only the
 * platform's own role (fenqi_app) is counted: the bench's samplers and checks run as the owner.
 *
 * `partition_key` is set only when a statement names ONE distribution key value; a statement about
 * several customers of one shard (a micro-batch of the decision path) runs on one shard without one.
 * So the coordinator's `citus_stat_counters` (Citus 13.1+, `citus.enable_stat_counters`) are read
 * too: every distributed execution counted as single-shard (one task) or multi-shard, whatever
 * its key; a CTE or subquery planned apart counts as an execution of its own.
 */
import { connectPostgres, type Sql } from '../../src/store/db.ts';
import { DEFAULT_DATABASE_ROLES } from '../../src/store/roles.ts';
import type { CitusCluster } from '../../test/harness/citus.ts';
import type { PostgresServer } from '../../test/harness/postgres.ts';

/** How many of the statements Citus did not route to one shard the result names. */
export const NOT_ROUTED_TOP = 8;
const QUERY_TEXT_CHARS = 90;

/** Server settings that load the statistics modules (merge into the bench's own settings). */
export function statementStatsSettings(citus: boolean): Record<string, string> {
  return citus
    ? {
        shared_preload_libraries: 'citus,pg_stat_statements',
        'citus.stat_statements_track': 'all',
        'citus.enable_stat_counters': 'on',
      }
    : { shared_preload_libraries: 'pg_stat_statements' };
}

export interface NodeStatements {
  statements: number;
  execMs: number;
  meanExecMs: number;
}

export interface StatementFigures {
  per_node: Record<string, NodeStatements>;
  /** Statements the platform sent to the coordinator (Citus) or the server (PostgreSQL). */
  statements: number;
  /** Citus only: how many of them were routed to a single shard by one key, and the share. */
  single_shard?: number;
  single_shard_share?: number;
  /**
   * Citus only, all roles (citus_stat_counters counts per database): distributed executions that
   * ran as one task and as several, and the one-task share.
   */
  executions_single_shard?: number;
  executions_multi_shard?: number;
  executions_single_shard_share?: number;
  by_executor?: Record<string, number>;
  not_routed_top?: Record<string, number>;
}

export interface StatementStats {
  reset(): Promise<void>;
  read(): Promise<StatementFigures>;
  close(): Promise<void>;
}

const APP_ROLE = DEFAULT_DATABASE_ROLES.app;
const round3 = (x: number) => Math.round(x * 1000) / 1000;

export async function openStatementStats(pg: PostgresServer): Promise<StatementStats> {
  const cluster = 'workers' in pg ? (pg as CitusCluster) : undefined;
  const servers = cluster ? [cluster.coordinator, ...cluster.workers] : [pg];
  const labels = cluster ? ['coordinator', ...cluster.workers.map((_, i) => `worker${i + 1}`)] : ['postgres'];
  const nodes: Sql[] = servers.map((s) => connectPostgres(s.urlFor('admin'), 1));
  const [first] = nodes as [Sql, ...Sql[]];
  // on Citus the coordinator creates it on the workers too (a worker refuses it directly)
  await first`create extension if not exists pg_stat_statements`;

  const perNode = async (node: Sql): Promise<NodeStatements> => {
    const [row] = await node<{ calls: bigint; ms: number }[]>`
      select coalesce(sum(calls), 0)::bigint as calls, coalesce(sum(total_exec_time), 0)::float8 as ms
      from pg_stat_statements
      where dbid = (select oid from pg_database where datname = current_database())
        and userid = (select oid from pg_roles where rolname = ${APP_ROLE})`;
    const statements = Number(row?.calls ?? 0n);
    const execMs = round3(row?.ms ?? 0);
    return { statements, execMs, meanExecMs: statements ? round3(execMs / statements) : 0 };
  };

  const citusFigures = async () => {
    const scope = first`dbid = (select oid from pg_database where datname = current_database())
      and userid = (select oid from pg_roles where rolname = ${APP_ROLE})`;
    const rows = await first<{ executor: string; routed: boolean; calls: bigint }[]>`
      select executor::text as executor, partition_key is not null as routed, sum(calls)::bigint as calls
      from citus_stat_statements where ${scope} group by 1, 2`;
    const unrouted = await first<{ query: string; calls: bigint }[]>`
      select regexp_replace(left(query, 200), '[[:space:]]+', ' ', 'g') as query, sum(calls)::bigint as calls
      from citus_stat_statements where ${scope} and partition_key is null
      group by 1 order by 2 desc limit ${NOT_ROUTED_TOP}`;
    const [counters] = await first<{ single: bigint; multi: bigint }[]>`
      select query_execution_single_shard as single, query_execution_multi_shard as multi
      from citus_stat_counters where name = current_database()`;
    const executionsSingle = Number(counters?.single ?? 0n);
    const executionsMulti = Number(counters?.multi ?? 0n);
    const executions = executionsSingle + executionsMulti;
    const by_executor: Record<string, number> = {};
    let statements = 0;
    let single = 0;
    for (const r of rows) {
      const key = `${r.executor}${r.routed ? ' (one shard)' : ''}`;
      by_executor[key] = (by_executor[key] ?? 0) + Number(r.calls);
      statements += Number(r.calls);
      if (r.routed) single += Number(r.calls);
    }
    return {
      single_shard: single,
      single_shard_share: statements ? round3(single / statements) : 0,
      executions_single_shard: executionsSingle,
      executions_multi_shard: executionsMulti,
      executions_single_shard_share: executions ? round3(executionsSingle / executions) : 0,
      by_executor,
      not_routed_top: Object.fromEntries(
        unrouted.map((r) => [r.query.slice(0, QUERY_TEXT_CHARS), Number(r.calls)]),
      ),
    };
  };

  return {
    async reset() {
      await Promise.all(nodes.map((n) => n`select pg_stat_statements_reset()`));
      if (cluster) {
        await first`select citus_stat_statements_reset()`;
        await first`select citus_stat_counters_reset()`;
      }
    },
    async read() {
      const counted = await Promise.all(nodes.map(perNode));
      const per_node = Object.fromEntries(counted.map((c, i) => [labels[i]!, c]));
      return {
        per_node,
        statements: counted[0]!.statements,
        ...(cluster ? await citusFigures() : {}),
      };
    },
    async close() {
      await Promise.allSettled(nodes.map((n) => n.end({ timeout: 2 })));
    },
  };
}

/** The postmaster pid of every node (for the CPU each part costs): one, or the cluster's. */
export function postgresServers(pg: PostgresServer): PostgresServer[] {
  return 'workers' in pg ? [(pg as CitusCluster).coordinator, ...(pg as CitusCluster).workers] : [pg];
}

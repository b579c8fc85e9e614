/**
 * The Citus cluster as operators see it: its nodes and how many shard placements each holds, and
 * growing it online with Citus's own functions (citus_add_node, citus_rebalance_start /
 * citus_rebalance_status, citus_drain_node). Shard moves use logical replication, so writes go on
 * while a shard moves. fenqi does no sharding of its own; these are thin calls. On a database
 * without Citus, `clusterNodes` answers null and the rest refuse (issue 20 item 5, docs/scaling.md).
 */
import type { Queryable } from './db.ts';

export interface ClusterNode {
  nodeId: number;
  host: string;
  port: number;
  /** Citus's group: 0 is the coordinator. */
  groupId: number;
  role: 'coordinator' | 'worker';
  active: boolean;
  /** False once drained (or marked so): the rebalancer moves shards off it and none onto it. */
  shouldHaveShards: boolean;
  /** Shard placements the node holds, over every distributed table. */
  shards: number;
}

export interface RebalanceStatus {
  jobId: string;
  /** Citus's job state: scheduled, running, finished, cancelled, failed... */
  state: string;
  /** Tasks (shard moves) per task state, e.g. { done: 3, runnable: 5 }. */
  taskCounts: Record<string, number>;
}

/** Terminal states of a Citus background job. */
export const REBALANCE_FINAL_STATES = new Set(['finished', 'cancelled', 'failed']);

export async function citusInstalled(sql: Queryable): Promise<boolean> {
  const rows = await sql`select 1 from pg_extension where extname = 'citus'`;
  return rows.length > 0;
}

/** The nodes and their shard placements, coordinator first; null where Citus is not installed. */
export async function clusterNodes(sql: Queryable): Promise<ClusterNode[] | null> {
  if (!(await citusInstalled(sql))) return null;
  const rows = await sql<
    {
      nodeid: number;
      nodename: string;
      nodeport: number;
      groupid: number;
      isactive: boolean;
      shouldhaveshards: boolean;
      shards: number;
    }[]
  >`
    select n.nodeid, n.nodename, n.nodeport, n.groupid, n.isactive, n.shouldhaveshards,
      count(p.placementid)::int as shards
    from pg_dist_node n left join pg_dist_placement p on p.groupid = n.groupid
    where n.noderole = 'primary'
    group by n.nodeid, n.nodename, n.nodeport, n.groupid, n.isactive, n.shouldhaveshards
    order by n.groupid, n.nodeid`;
  return rows.map((r) => ({
    nodeId: r.nodeid,
    host: r.nodename,
    port: r.nodeport,
    groupId: r.groupid,
    role: r.groupid === 0 ? 'coordinator' : 'worker',
    active: r.isactive,
    shouldHaveShards: r.shouldhaveshards,
    shards: r.shards,
  }));
}

async function requireCitus(sql: Queryable): Promise<void> {
  if (!(await citusInstalled(sql))) throw new Error('this database is not a Citus coordinator');
}

/** Adds a worker (a superuser's call); its node id. Adding a node already there is a no-op. */
export async function addNode(sql: Queryable, host: string, port: number): Promise<number> {
  await requireCitus(sql);
  const [row] = await sql<{ id: number }[]>`select citus_add_node(${host}, ${port}) as id`;
  return (row as { id: number }).id;
}

/**
 * Starts a background rebalance (online shard moves); its job id, or null when the shards are
 * already balanced and there is nothing to move.
 */
export async function startRebalance(sql: Queryable): Promise<string | null> {
  await requireCitus(sql);
  const [row] = await sql<{ job_id: bigint | null }[]>`select citus_rebalance_start() as job_id`;
  return row?.job_id === null || row?.job_id === undefined ? null : String(row.job_id);
}

/** The latest rebalance job's state and its tasks per state; null if none ever ran. */
export async function rebalanceStatus(sql: Queryable): Promise<RebalanceStatus | null> {
  const [row] = await sql<{ job_id: bigint; state: string; details: unknown }[]>`
    select job_id, state::text as state, details from citus_rebalance_status()`;
  if (!row) return null;
  const details = (row.details ?? {}) as { task_state_counts?: Record<string, number> };
  return { jobId: String(row.job_id), state: row.state, taskCounts: details.task_state_counts ?? {} };
}

/** Shard moves of the running blocking rebalance or drain: done and total. */
export async function moveProgress(sql: Queryable): Promise<{ done: number; total: number }> {
  const [row] = await sql<{ done: number; total: number }[]>`
    select count(*) filter (where progress = 2)::int as done, count(*)::int as total
    from get_rebalance_progress()`;
  return { done: row?.done ?? 0, total: row?.total ?? 0 };
}

/**
 * Moves every shard off the node (online) and marks it to hold none; returns when done. Run it on
 * its own connection: `moveProgress` on another one shows how far it is.
 */
export async function drainNode(sql: Queryable, host: string, port: number): Promise<void> {
  await requireCitus(sql);
  await sql`select citus_drain_node(${host}, ${port})`;
}

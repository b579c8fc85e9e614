import type { Command } from 'commander';
import type { ClusterNode } from '../../store/citus-cluster.ts';
import type { Sql } from '../../store/db.ts';
import { UsageError } from '../usage-error.ts';

/** How often a waiting rebalance or drain prints its progress. */
export const DB_PROGRESS_INTERVAL_MS = 1_000;
/** Connections a node command opens: one for the work, one to watch a blocking drain. */
const DB_ADMIN_POOL_MAX = 2;
const MAX_PORT = 65_535;

const out = (line: string) => process.stdout.write(`${line}\n`);

/**
 * On the coordinator as DATABASE_ADMIN_URL (Citus lets only a superuser add or drain nodes), else
 * as the schema owner, else the app: `fenqi db nodes` needs no more than reading the catalogue.
 */
async function withCoordinator<T>(work: (sql: Sql) => Promise<T>): Promise<T> {
  const { loadConfig } = await import('../../config.ts');
  const { connectPostgres } = await import('../../store/db.ts');
  const config = loadConfig();
  const url = config.adminDatabaseUrl ?? config.migrationDatabaseUrl ?? config.databaseUrl;
  if (!url)
    throw new UsageError('fenqi db needs DATABASE_ADMIN_URL (or DATABASE_URL) of a Citus coordinator');
  const sql = connectPostgres(url, DB_ADMIN_POOL_MAX, 'fenqi-db');
  try {
    return await work(sql);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

function parsePort(text: string): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 1 || port > MAX_PORT) throw new UsageError(`not a port: ${text}`);
  return port;
}

function printNodes(nodes: ClusterNode[]): void {
  for (const n of nodes) {
    const flags = [n.active ? 'active' : 'inactive', n.shouldHaveShards ? '' : 'takes no new shards']
      .filter(Boolean)
      .join(', ');
    out(
      `${n.role.padEnd(11)} ${`${n.host}:${n.port}`.padEnd(22)} group ${n.groupId}  shards ${n.shards}  ${flags}`,
    );
  }
}

/** Polls the background rebalance until it ends, one progress line per change. */
async function waitForRebalance(sql: Sql): Promise<string> {
  const { rebalanceStatus, REBALANCE_FINAL_STATES } = await import('../../store/citus-cluster.ts');
  let last = '';
  for (;;) {
    const status = await rebalanceStatus(sql);
    if (!status) return 'none';
    const counts = Object.entries(status.taskCounts)
      .map(([state, n]) => `${state} ${n}`)
      .join(', ');
    const line = `rebalance job ${status.jobId}: ${status.state} (shard moves: ${counts || 'none yet'})`;
    if (line !== last) out(line);
    last = line;
    if (REBALANCE_FINAL_STATES.has(status.state)) return status.state;
    await new Promise((resolve) => setTimeout(resolve, DB_PROGRESS_INTERVAL_MS));
  }
}

async function rebalance(wait: boolean): Promise<void> {
  const { startRebalance, clusterNodes } = await import('../../store/citus-cluster.ts');
  await withCoordinator(async (sql) => {
    const job = await startRebalance(sql);
    if (job === null) {
      out('shards are already balanced: nothing to move');
      return;
    }
    out(`rebalance job ${job} started (online shard moves)`);
    if (!wait) return;
    const state = await waitForRebalance(sql);
    printNodes((await clusterNodes(sql)) ?? []);
    if (state !== 'finished') throw new Error(`rebalance job ${job} ended ${state}`);
  });
}

/** citus_drain_node blocks; a second connection prints how many shard moves are done meanwhile. */
async function drain(host: string, port: number): Promise<void> {
  const { drainNode, moveProgress, clusterNodes } = await import('../../store/citus-cluster.ts');
  await withCoordinator(async (sql) => {
    let finished = false;
    const drained = drainNode(sql, host, port).finally(() => {
      finished = true;
    });
    let last = '';
    while (!finished) {
      await Promise.race([drained, new Promise((resolve) => setTimeout(resolve, DB_PROGRESS_INTERVAL_MS))]);
      if (finished) break;
      const p = await moveProgress(sql).catch(() => null);
      const line = p ? `draining ${host}:${port}: ${p.done} of ${p.total} shard moves done` : '';
      if (line && line !== last) out(line);
      last = line;
    }
    await drained;
    out(`drained ${host}:${port}`);
    printNodes((await clusterNodes(sql)) ?? []);
  });
}

/**
 * `fenqi db nodes | add-node | rebalance | drain-node`: the Citus cluster's nodes and shard
 * placement, and growing or shrinking it online with Citus's own functions (docs/scaling.md).
 */
export function register(program: Command): void {
  const db = program.command('db').description('the Citus cluster: nodes, shard placement, online moves');
  db.command('nodes')
    .description("the cluster's nodes and the shard placements each holds")
    .option('--json', 'print the nodes as JSON')
    .action(async (flags: { json?: boolean }) => {
      const { clusterNodes } = await import('../../store/citus-cluster.ts');
      const nodes = await withCoordinator((sql) => clusterNodes(sql));
      if (!nodes) throw new UsageError('the database is not a Citus coordinator');
      if (flags.json) out(JSON.stringify(nodes));
      else printNodes(nodes);
    });
  db.command('add-node <host> <port>')
    .description('add a worker (it holds no shards until a rebalance moves some to it)')
    .option('--rebalance', 'then rebalance and wait for it')
    .action(async (host: string, portText: string, flags: { rebalance?: boolean }) => {
      const port = parsePort(portText);
      const { addNode } = await import('../../store/citus-cluster.ts');
      const id = await withCoordinator((sql) => addNode(sql, host, port));
      out(`added ${host}:${port} as node ${id}`);
      if (flags.rebalance) await rebalance(true);
    });
  db.command('rebalance')
    .description('move shards (online, logical replication) until every worker holds its share')
    .option('--no-wait', 'start the background job and return')
    .action(async (flags: { wait: boolean }) => rebalance(flags.wait));
  db.command('drain-node <host> <port>')
    .description('move every shard off a worker (online) and keep new ones off it')
    .action(async (host: string, portText: string) => drain(host, parsePort(portText)));
}

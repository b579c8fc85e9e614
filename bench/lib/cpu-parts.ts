/**
 * CPU milliseconds per order in each part of the system over one measured run (API processes,
 * workers, PostgreSQL, NATS, Redis, and the process that generated the load), so a benchmark can
 * say what one accepted order costs where, and how many cores a target rate needs.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Servers } from '../../test/flash/lab.ts';
import { processTree, snapshot, usedBetween } from './cpu-usage.ts';
import { postgresServers } from './statement-stats.ts';

/** Each part's process ids, read at the start and at the end of the run (trees change). */
export type Parts = Record<string, () => number[]>;

const round3 = (x: number) => Number(x.toFixed(3));

export const treesOf = (pids: readonly (number | undefined)[]): number[] =>
  pids.filter((p): p is number => p !== undefined).flatMap((p) => processTree(p));

export async function measureCpu<T extends { cpuS: number }>(
  parts: Parts,
  ordersOf: (result: T) => number,
  run: () => Promise<T>,
  generatorName = 'load_generator',
): Promise<{ result: T; cpu_ms_per_order: Record<string, number> }> {
  const before = Object.fromEntries(Object.entries(parts).map(([name, pids]) => [name, snapshot(pids())]));
  const result = await run();
  const orders = Math.max(1, ordersOf(result));
  const cpu_ms_per_order: Record<string, number> = {};
  for (const [name, pids] of Object.entries(parts)) {
    cpu_ms_per_order[name] = round3((1000 * usedBetween(before[name]!, snapshot(pids()))) / orders);
  }
  cpu_ms_per_order[generatorName] = round3((1000 * result.cpuS) / orders);
  return { result, cpu_ms_per_order };
}

/**
 * The servers' parts (every node of a Citus cluster counts as postgres) plus the API and worker
 * processes whose ids `apiPids` and `workerPids` hold when read (processes restart in a run).
 */
export async function serverParts(
  servers: Servers,
  apiPids: () => number[],
  workerPids: () => number[],
): Promise<Parts> {
  const postmasterPids = postgresServers(servers.pg).map((node) =>
    Number(readFileSync(path.join(node.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]),
  );
  let redisPid: number | undefined;
  if (servers.redis.kind === 'single') {
    const probe = servers.redis.client('admin');
    redisPid = Number(/process_id:(\d+)/.exec(await probe.info('server'))?.[1]) || undefined;
    probe.disconnect();
  }
  return {
    api: () => treesOf(apiPids()),
    worker: () => treesOf(workerPids()),
    postgres: () => treesOf(postmasterPids),
    nats: () => treesOf([servers.nats.pid()]),
    redis: () => treesOf([redisPid]),
  };
}

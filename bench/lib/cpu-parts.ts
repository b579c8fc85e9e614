/**
 * CPU milliseconds per order in each part of the system over one measured run (API processes,
 * workers, PostgreSQL, NATS, Redis, and the process that generated the load), so a benchmark can
 * say what one accepted order costs where, and how many cores a target rate needs.
 */
import { processTree, snapshot, usedBetween } from './cpu-usage.ts';

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

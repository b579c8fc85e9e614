/** What every drill shares: finding or standing up a topology, progress lines, timing. */
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_TOPOLOGY_DIR, down, runningState, type TopologyState, up } from '../cluster.ts';
import { progress } from '../proc.ts';
import type { TopologyParts } from '../topology.ts';

export interface DrillOptions {
  /** Topology directory; when nothing runs there the drill stands up its own and removes it. */
  dir?: string;
  reportDir?: string;
  /** A state already in hand (tests that started the topology once for the file). */
  state?: TopologyState;
}

export async function withTopology<T>(
  options: DrillOptions,
  parts: TopologyParts,
  body: (state: TopologyState, own: boolean) => Promise<T>,
): Promise<T> {
  const existing = options.state ?? (await runningState(options.dir ?? DEFAULT_TOPOLOGY_DIR));
  if (existing) return await body(existing, false);
  const base = await mkdtemp(path.join(os.tmpdir(), 'fenqi-drill-'));
  progress(`no topology configured: standing up the one-machine topology under ${base}`);
  const state = await up(base, { parts });
  try {
    return await body(state, true);
  } finally {
    progress('tearing down the drill topology');
    await down(state, { graceful: false });
  }
}

/** Calls report() every intervalMs until stopped, so a long wait still shows signs of life. */
export function ticker(report: () => string, intervalMs = 1000): () => void {
  const timer = setInterval(() => progress(report()), intervalMs);
  return () => clearInterval(timer);
}

export function since(startMs: number): number {
  return Date.now() - startMs;
}

/**
 * Background workers of a fenqi process. Each worker is a loop with a stop(); `fenqi start` runs
 * them beside the API, `fenqi worker` alone. Workers register here as the features land.
 */
import type { Platform } from '../platform.ts';
import { startAutoDebit } from './auto-debit.ts';
import { startCobScheduler } from './cob-scheduler.ts';
import { startEventRelay } from './event-relay.ts';
import { startNotifier } from './notifier.ts';
import { startOrderSettler } from './order-settler.ts';
import type { Worker, WorkerFactory } from './worker.ts';

export type { Worker, WorkerFactory } from './worker.ts';

/** Factories of every worker; each decides from the platform's config whether it runs. */
export const WORKER_FACTORIES: WorkerFactory[] = [
  startOrderSettler,
  startCobScheduler,
  startEventRelay,
  startAutoDebit,
  startNotifier,
];

/**
 * The workers the rehearsal's shadow side runs (docs/rehearsal.md): each declares itself
 * rehearsal-aware, and one that did not would refuse every message it took there.
 */
export const SHADOW_WORKER_FACTORIES: WorkerFactory[] = [startOrderSettler];

export interface RunningWorkers {
  names: string[];
  stop(): Promise<void>;
}

export async function startWorkers(platform: Platform): Promise<RunningWorkers> {
  const workers: Worker[] = [];
  const factories = platform.side.kind === 'shadow' ? SHADOW_WORKER_FACTORIES : WORKER_FACTORIES;
  for (const factory of factories) {
    const worker = await factory(platform);
    if (worker) workers.push(worker);
  }
  if (workers.length > 0)
    platform.logger.info(
      { workers: workers.map((w) => w.name), side: platform.side.kind },
      'workers started',
    );
  return {
    names: workers.map((w) => w.name),
    async stop() {
      await Promise.allSettled(workers.map((w) => w.stop()));
    },
  };
}

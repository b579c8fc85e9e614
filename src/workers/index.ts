/**
 * Background workers of a fenqi process. Each worker is a loop with a stop(); `fenqi start` runs
 * them beside the API, `fenqi worker` alone. Workers register here as the features land.
 */
import type { Platform } from '../platform.ts';
import { AWARE } from '../rehearsal/context.ts';
import { startAutoDebit } from './auto-debit.ts';
import { startCobScheduler } from './cob-scheduler.ts';
import { startEventRelay } from './event-relay.ts';
import { startNotifier } from './notifier.ts';
import { startOrderSettler } from './order-settler.ts';
import type { Worker, WorkerFactory } from './worker.ts';

export type { Worker, WorkerFactory } from './worker.ts';

/**
 * Factories of every worker; each decides from the platform's config whether it runs. The same
 * list runs on the rehearsal's shadow side, where each must be rehearsal-aware (startWorkers).
 */
export const WORKER_FACTORIES: WorkerFactory[] = [
  startOrderSettler,
  startCobScheduler,
  startEventRelay,
  startAutoDebit,
  startNotifier,
];

export interface RunningWorkers {
  names: string[];
  /** Workers refused on the shadow side: they did not declare themselves rehearsal-aware. */
  refused: string[];
  stop(): Promise<void>;
}

/**
 * Starts the workers on the platform's side. On the rehearsal's shadow side (docs/rehearsal.md) a
 * worker must have declared itself rehearsal-aware: one that did not is stopped at once and named
 * in `refused` (it would refuse every tagged message anyway; this way it never runs there at all).
 */
export async function startWorkers(
  platform: Platform,
  factories: readonly WorkerFactory[] = WORKER_FACTORIES,
): Promise<RunningWorkers> {
  const workers: Worker[] = [];
  const refused: string[] = [];
  for (const factory of factories) {
    const worker = await factory(platform);
    if (!worker) continue;
    if (platform.side.kind === 'shadow' && worker.rehearsal !== AWARE) {
      await worker.stop();
      refused.push(worker.name);
      platform.logger.error(
        { worker: worker.name },
        'worker not declared rehearsal-aware: not run on the shadow side',
      );
      continue;
    }
    workers.push(worker);
  }
  if (workers.length > 0)
    platform.logger.info(
      { workers: workers.map((w) => w.name), side: platform.side.kind },
      'workers started',
    );
  return {
    names: workers.map((w) => w.name),
    refused,
    async stop() {
      await Promise.allSettled(workers.map((w) => w.stop()));
    },
  };
}

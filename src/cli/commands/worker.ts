import type { Command } from 'commander';

/** How long a stopping worker waits for its batches in flight (they ack after commit) before exiting. */
export const WORKER_SHUTDOWN_GRACE_MS = 15_000;

async function work(): Promise<void> {
  const { openProcess, stopOnSignal } = await import('../process.ts');
  const { startWorkers } = await import('../../workers/index.ts');

  const { openShadowWorkerSide } = await import('../../rehearsal/serve.ts');

  const { config, logger, platform } = await openProcess();
  const workers = await startWorkers(platform);
  // rehearsal-aware workers on the shadow account too, when rehearsals are configured
  const shadow = await openShadowWorkerSide(config, logger);
  const shadowWorkers = shadow ? await startWorkers(shadow) : undefined;
  process.stdout.write(
    `fenqi worker ready: ${workers.names.join(', ')} (batch ${config.workerBatchSize}, concurrency ${config.workerConcurrency})\n`,
  );

  stopOnSignal(logger, WORKER_SHUTDOWN_GRACE_MS, [
    () => workers.stop(),
    async () => shadowWorkers?.stop(),
    async () => shadow?.close(),
    () => platform.close(),
  ]);
}

export function register(program: Command): void {
  program
    .command('worker')
    .description('run the background workers only (sale-day order settlement; scale out by running several)')
    .action(() => work());
}

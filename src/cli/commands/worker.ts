import type { Command } from 'commander';

/** How long a stopping worker waits for its batches in flight (they ack after commit) before exiting. */
export const WORKER_SHUTDOWN_GRACE_MS = 15_000;

async function work(): Promise<void> {
  const { loadConfig } = await import('../../config.ts');
  const { createLogger } = await import('../../logger.ts');
  const { openPlatform } = await import('../../platform.ts');
  const { startWorkers } = await import('../../workers/index.ts');

  const config = loadConfig();
  const logger = createLogger(config.logLevel);
  const platform = await openPlatform(config, logger);
  const workers = await startWorkers(platform);
  process.stdout.write(
    `fenqi worker ready: ${workers.names.join(', ')} (batch ${config.workerBatchSize}, concurrency ${config.workerConcurrency})\n`,
  );

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    const force = setTimeout(() => process.exit(1), WORKER_SHUTDOWN_GRACE_MS);
    force.unref();
    await workers.stop();
    await platform.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
}

export function register(program: Command): void {
  program
    .command('worker')
    .description('run the background workers only (sale-day order settlement; scale out by running several)')
    .action(() => work());
}

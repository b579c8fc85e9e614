/**
 * A long-running fenqi process (API, workers or both): opening the platform from the environment,
 * and stopping on SIGINT/SIGTERM without dropping work in flight.
 */
import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import type { Platform } from '../platform.ts';

export interface RunningProcess {
  config: Config;
  logger: Logger;
  platform: Platform;
}

/** Imported lazily so that short CLI commands do not load the platform. */
export async function openProcess(): Promise<RunningProcess> {
  const { loadConfig } = await import('../config.ts');
  const { createLogger } = await import('../logger.ts');
  const { openPlatform } = await import('../platform.ts');
  const config = loadConfig();
  const logger = createLogger(config.logLevel);
  const { startTracing } = await import('../telemetry/tracing.ts');
  // OTLP export only when FENQI_OTEL_ENDPOINT / OTEL_EXPORTER_OTLP_ENDPOINT is set (docs/rehearsal.md)
  if (startTracing()) logger.info('tracing on: spans exported over OTLP/HTTP');
  const platform = await openPlatform(config, logger);
  return { config, logger, platform };
}

/**
 * On the first SIGINT or SIGTERM, runs the closers in order and exits 0; exits 1 if they have
 * not finished after graceMs (a stuck request or batch must not keep the process alive).
 */
export function stopOnSignal(logger: Logger, graceMs: number, closers: (() => Promise<unknown>)[]): void {
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    const force = setTimeout(() => process.exit(1), graceMs);
    force.unref();
    for (const close of closers) await close();
    // the last spans (the stop's own batches) still go out
    const { stopTracing } = await import('../telemetry/tracing.ts');
    await stopTracing().catch(() => {});
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
}

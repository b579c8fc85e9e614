import type { Command } from 'commander';

/** How long a stopping process waits for in-flight requests before it exits anyway. */
export const SHUTDOWN_GRACE_MS = 10_000;

async function serve(role: 'start' | 'api'): Promise<void> {
  const { loadConfig } = await import('../../config.ts');
  const { createLogger } = await import('../../logger.ts');
  const { openPlatform } = await import('../../platform.ts');
  const { buildApi } = await import('../../api/server.ts');
  const { startWorkers } = await import('../../workers/index.ts');

  const config = loadConfig();
  const logger = createLogger(config.logLevel);
  const platform = await openPlatform(config, logger);
  const { seedDemo, formatDemoCredentials } = await import('../../store/seed.ts');
  const demo = config.mode === 'embedded' ? await seedDemo(platform) : undefined;
  if (config.mode === 'embedded') {
    // A decision needs a champion scorecard; the demo bootstraps one until the platform has its own history.
    const { ensureChampion } = await import('../../risk/decide.ts');
    await ensureChampion(platform);
  }
  const app = await buildApi(platform);
  const workers = role === 'start' ? await startWorkers(platform) : undefined;
  const address = await app.listen({ host: config.host, port: config.port });

  const mode = config.mode === 'embedded' ? 'embedded (PGlite, in-process cache and queue)' : 'real servers';
  process.stdout.write(`fenqi ${role === 'start' ? 'platform' : 'api'} on ${mode}\n`);
  process.stdout.write(`  API:     ${address}\n  docs:    ${address}/docs\n  ready:   ${address}/ready\n`);
  if (config.mode === 'embedded') process.stdout.write(`  data:    ${config.dataDir}\n`);
  if (demo) process.stdout.write(formatDemoCredentials(demo, config.dataDir));

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    const force = setTimeout(() => process.exit(1), SHUTDOWN_GRACE_MS);
    force.unref();
    await app.close();
    await workers?.stop();
    await platform.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
}

export function register(program: Command): void {
  program
    .command('start')
    .description('run the whole platform (API and workers); embedded defaults when no DATABASE_URL is set')
    .action(() => serve('start'));
  program
    .command('api')
    .description('run the HTTP API only (scale out by running several)')
    .action(() => serve('api'));
}

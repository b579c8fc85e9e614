import type { Command } from 'commander';

/** How long a stopping process waits for in-flight requests before it exits anyway. */
export const SHUTDOWN_GRACE_MS = 10_000;

async function serve(role: 'start' | 'api'): Promise<void> {
  const { openProcess, stopOnSignal } = await import('../process.ts');
  const { buildApi } = await import('../../api/server.ts');
  const { startWorkers } = await import('../../workers/index.ts');

  const { config, logger, platform } = await openProcess();
  const { seedDemo, formatDemoCredentials } = await import('../../store/seed.ts');
  const demo =
    config.mode === 'embedded' ? await seedDemo(platform.db.sql, platform.services.crypto) : undefined;
  if (config.mode === 'embedded') {
    // A decision needs a champion scorecard; the demo bootstraps one until the platform has its own history.
    await platform.services.risk.ensureChampion();
  }
  const { openRehearsalSide } = await import('../../rehearsal/serve.ts');
  const rehearsal = await openRehearsalSide(config, logger);
  const app = await buildApi(platform, rehearsal.options);
  const workers = role === 'start' ? await startWorkers(platform) : undefined;
  // the shadow side's own settler: it pulls from the shadow account's streams only
  const shadowWorkers =
    role === 'start' && rehearsal.shadow ? await startWorkers(rehearsal.shadow) : undefined;
  const address = await app.listen({ host: config.host, port: config.port });
  platform.db.hold?.describe({ url: address });

  const mode = config.mode === 'embedded' ? 'embedded (PGlite, in-process cache and queue)' : 'real servers';
  process.stdout.write(`fenqi ${role === 'start' ? 'platform' : 'api'} on ${mode}\n`);
  process.stdout.write(`  API:     ${address}\n  docs:    ${address}/docs\n  ready:   ${address}/ready\n`);
  if (config.mode === 'embedded') process.stdout.write(`  data:    ${config.dataDir}\n`);
  if (demo) process.stdout.write(formatDemoCredentials(demo, config.dataDir));

  stopOnSignal(logger, SHUTDOWN_GRACE_MS, [
    () => app.close(),
    async () => workers?.stop(),
    async () => shadowWorkers?.stop(),
    () => rehearsal.close(),
    () => platform.close(),
  ]);
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

import type { Command } from 'commander';

/** How long a stopping process waits for in-flight requests before it exits anyway. */
export const SHUTDOWN_GRACE_MS = 10_000;

async function serve(role: 'start' | 'api'): Promise<void> {
  const { openProcess, stopOnSignal } = await import('../process.ts');
  const { buildApi } = await import('../../api/server.ts');
  const { startWorkers } = await import('../../workers/index.ts');

  const { config, logger, platform } = await openProcess();
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
  platform.db.hold?.describe({ url: address });

  const mode = config.mode === 'embedded' ? 'embedded (PGlite, in-process cache and queue)' : 'real servers';
  process.stdout.write(`fenqi ${role === 'start' ? 'platform' : 'api'} on ${mode}\n`);
  process.stdout.write(`  API:     ${address}\n  docs:    ${address}/docs\n  ready:   ${address}/ready\n`);
  if (config.mode === 'embedded') process.stdout.write(`  data:    ${config.dataDir}\n`);
  if (demo) process.stdout.write(formatDemoCredentials(demo, config.dataDir));

  stopOnSignal(logger, SHUTDOWN_GRACE_MS, [
    () => app.close(),
    async () => workers?.stop(),
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

import type { Command } from 'commander';

export function register(program: Command): void {
  program
    .command('migrate')
    .description('apply SQL migrations (also done at every start); safe to run twice or concurrently')
    .action(async () => {
      const { loadConfig } = await import('../../config.ts');
      const { openDatabase } = await import('../../store/db.ts');
      const { migrate } = await import('../../store/migrate.ts');
      const db = await openDatabase(loadConfig());
      try {
        const result = await migrate(db.sql, { log: (line) => process.stdout.write(`${line}\n`) });
        process.stdout.write(
          `migrations: ${result.applied.length} applied, ${result.skipped.length} already in place\n`,
        );
      } finally {
        await db.close();
      }
    });
}

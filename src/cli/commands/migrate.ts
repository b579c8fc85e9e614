import type { Command } from 'commander';

export function register(program: Command): void {
  program
    .command('migrate')
    .description('apply SQL migrations (also done at every start); safe to run twice or concurrently')
    .action(async () => {
      const { loadConfig } = await import('../../config.ts');
      const { openDatabase } = await import('../../store/db.ts');
      const { migrateAsOwner } = await import('../../store/migrate.ts');
      const config = loadConfig();
      const db = await openDatabase(config);
      try {
        const log = (line: string) => process.stdout.write(`${line}\n`);
        const result = await migrateAsOwner(config, db.sql, { log });
        process.stdout.write(
          `migrations: ${result.applied.length} applied, ${result.skipped.length} already in place\n`,
        );
      } finally {
        await db.close();
      }
    });
}

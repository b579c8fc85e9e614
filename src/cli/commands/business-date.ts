import type { Command } from 'commander';
import { withDatabase } from '../database.ts';
import { UsageError } from '../usage-error.ts';

/**
 * `fenqi business-date` prints today's business date; `--set D` sets it on a deployment whose clock
 * is manual (FENQI_BUSINESS_CLOCK=manual). `fenqi cob --date D` then closes D and moves it to D + 1.
 */
export function register(program: Command): void {
  program
    .command('business-date')
    .description("print the platform's business date, or set it (--set) when the clock is manual")
    .option('--set <date>', 'the new business date, YYYY-MM-DD (FENQI_BUSINESS_CLOCK=manual only)')
    .action(async (flags: { set?: string }) => {
      const { loadConfig } = await import('../../config.ts');
      const { createBusinessClock } = await import('../../clock.ts');
      const { isDate } = await import('../../domain/index.ts');
      const config = loadConfig();
      if (flags.set !== undefined) {
        if (!isDate(flags.set)) throw new UsageError(`--set must be a date YYYY-MM-DD, not '${flags.set}'`);
        if (config.businessClock !== 'manual') {
          throw new UsageError(
            'the business date follows FENQI_BUSINESS_TIMEZONE; set FENQI_BUSINESS_CLOCK=manual',
          );
        }
      }
      await withDatabase(async (db) => {
        const clock = createBusinessClock(config, db.sql);
        if (flags.set !== undefined) await clock.set(flags.set);
        process.stdout.write(`${await clock.today()} (${clock.mode} clock)\n`);
      });
    });
}

import type { Command } from 'commander';
import { withDatabase } from '../database.ts';
import { UsageError } from '../usage-error.ts';

/**
 * `fenqi settle --date D`: the merchant settlement of sales date D, as close of business runs it
 * (build, pay every unpaid settlement through the payout rail, write the reconciliation file); safe
 * to rerun, e.g. after a crash or to retry failed payouts. `fenqi payout-sim`: serve the simulated
 * bank over HTTP (FENQI_PAYOUT_URL of the platform's processes points at it).
 */
export function register(program: Command): void {
  program
    .command('settle')
    .description(
      'merchant settlement of one sales date: build, pay (T+1), reconciliation file; safe to rerun',
    )
    .requiredOption('--date <date>', 'sales date to settle, YYYY-MM-DD')
    .option('--json', 'print the summary as one JSON object on the last line')
    .action(async (flags: { date: string; json?: boolean }) => {
      const { isDate, formatAmount } = await import('../../domain/index.ts');
      if (!isDate(flags.date)) throw new UsageError(`--date must be a date YYYY-MM-DD, not '${flags.date}'`);
      const { loadConfig } = await import('../../config.ts');
      const { createPayoutRail } = await import('../../services.ts');
      const { settlementStep } = await import('../../cob/steps.ts');
      const config = loadConfig();
      const payouts = createPayoutRail(config);
      const result = await withDatabase((db) =>
        settlementStep({ sql: db.sql, payouts: () => payouts, config }).run(flags.date),
      );
      process.stdout.write(
        `settled ${flags.date} (paid ${result.value_date}): ${result.built} settlements built ` +
          `(${result.carried} carried, ${result.empty} empty); paid ${result.paid} ` +
          `(${formatAmount(BigInt(result.paid_minor ?? '0'), 2)}), failed ${result.failed}, ` +
          `unknown ${result.unknown}\n  reconciliation ${result.reconciliation_file}\n`,
      );
      if (flags.json) process.stdout.write(`${JSON.stringify({ settle: flags.date, ...result })}\n`);
      if (Number(result.failed) > 0 || Number(result.unknown) > 0) process.exitCode = 1;
    });

  program
    .command('payout-sim')
    .description('serve the simulated payout bank over HTTP on loopback (for development and drills)')
    .option('--port <n>', 'port to listen on', '4100')
    .option('--seed <n>', 'seed of the simulated outcomes', '1')
    .option('--failure-rate <r>', 'share of attempts refused (0..1)', '0')
    .option('--timeout-rate <r>', 'share of attempts answered with no answer (0..1)', '0')
    .action(async (flags: { port: string; seed: string; failureRate: string; timeoutRate: string }) => {
      const { SimulatedPayouts, servePayoutSimulator } = await import('../../payments/payouts.ts');
      const rate = (name: string, text: string) => {
        const v = Number(text);
        if (!(v >= 0 && v <= 1)) throw new UsageError(`${name} must be between 0 and 1`);
        return v;
      };
      const port = Number(flags.port);
      if (!Number.isInteger(port) || port < 0 || port > 65_535)
        throw new UsageError('--port must be 0..65535');
      const rail = new SimulatedPayouts({
        seed: Number(flags.seed) || 1,
        failureRate: rate('--failure-rate', flags.failureRate),
        timeoutRate: rate('--timeout-rate', flags.timeoutRate),
      });
      const served = await servePayoutSimulator(rail, port);
      process.stdout.write(`payout simulator on ${served.url}\n`);
      await new Promise<void>((resolve) => process.once('SIGTERM', resolve));
      await served.close();
    });
}

import type { Command } from 'commander';
import { withDatabase } from '../database.ts';
import { UsageError } from '../usage-error.ts';

interface CobFlags {
  date: string;
  batchSize?: string;
  writeOffDpd?: string;
  force?: boolean;
  json?: boolean;
  api?: string;
  username: string;
}

/** Width of the longest bar in the bucket chart, in characters. */
export const CHART_WIDTH_CHARS = 40;
/** At most one progress line per this many milliseconds (plus the last one). */
export const PROGRESS_INTERVAL_MS = 1000;

type Summary = import('../../cob/run.ts').CobSummary;
type Progress = import('../../cob/run.ts').CobProgress;

function wholeNumber(flag: string, text: string | undefined, min: number, max: number): number | undefined {
  if (text === undefined) return undefined;
  const value = /^\d{1,9}$/.test(text) ? Number(text) : Number.NaN;
  if (!(value >= min && value <= max))
    throw new UsageError(`${flag} must be a whole number from ${min} to ${max}`);
  return value;
}

function formatSeconds(seconds: number): string {
  if (seconds < 60) return `${Math.ceil(seconds)}s`;
  const minutes = Math.floor(seconds / 60);
  return `${minutes}m${String(Math.ceil(seconds - minutes * 60)).padStart(2, '0')}s`;
}

export function progressLine(p: Progress): string {
  const percent = p.loansTotal > 0 ? (100 * p.loansDone) / p.loansTotal : 100;
  const eta = p.etaS === null ? '?' : formatSeconds(p.etaS);
  return (
    `cob ${p.date}: ${p.loansDone}/${p.loansTotal} loans (${percent.toFixed(1)}%)` +
    `  ${Math.round(p.loansPerS)} loans/s  ETA ${eta}`
  );
}

/** Loans per bucket as horizontal bars, scaled to the largest bucket. */
export function bucketChart(buckets: Summary['buckets']): string {
  const entries = Object.entries(buckets) as [string, number][];
  const max = Math.max(1, ...entries.map(([, n]) => n));
  const countWidth = Math.max(...entries.map(([, n]) => String(n).length));
  return entries
    .map(([bucket, n]) => {
      const width = n === 0 ? 0 : Math.max(1, Math.round((n / max) * CHART_WIDTH_CHARS));
      return `  ${bucket.padEnd(7)} ${String(n).padStart(countWidth)} ${'█'.repeat(width)}`;
    })
    .join('\n');
}

/** The summary as people read it, then (with --json) as one JSON line. */
async function printSummary(summary: Summary, json: boolean): Promise<void> {
  const { formatAmount } = await import('../../domain/index.ts');
  const { cobSummaryJson } = await import('../../cob/view.ts');
  const money = (minor: bigint) => formatAmount(minor, 2);
  const head = summary.ran
    ? `closed ${summary.date}${summary.resumed ? ' (resumed)' : ''}: ${summary.loansDone} loans in ` +
      `${summary.seconds.toFixed(1)}s (${Math.round(summary.loansPerS)} loans/s)`
    : `${summary.date} was already closed; nothing changed (--force to walk it again)`;
  process.stdout.write(
    [
      head,
      `  installments newly overdue ${summary.installmentsOverdue}`,
      `  interest earned ${summary.accrualEntries} entries, ${money(summary.interestAccruedMinor)}`,
      `  late fees ${summary.lateFeeEntries} entries, ${money(summary.lateFeesMinor)}`,
      `  written off ${summary.loansWrittenOff} loans, ${money(summary.writtenOffMinor)}`,
      'active loans by bucket:',
      bucketChart(summary.buckets),
      ...summary.steps.map(
        (step) =>
          `${step.name}: ${Object.entries(step.result)
            .map(([k, v]) => `${k} ${v}`)
            .join(', ')}`,
      ),
      '',
    ].join('\n'),
  );
  if (json) process.stdout.write(`${JSON.stringify(cobSummaryJson(summary))}\n`);
}

/** Progress on stderr, at most one line per PROGRESS_INTERVAL_MS (and the last one). */
function progressPrinter(): (p: Progress) => void {
  let lastPrintedMs = 0;
  return (p) => {
    const now = Date.now();
    if (now - lastPrintedMs < PROGRESS_INTERVAL_MS && p.loansDone < p.loansTotal) return;
    lastPrintedMs = now;
    process.stderr.write(`${progressLine(p)}\n`);
  };
}

export function register(program: Command): void {
  program
    .command('cob')
    .description(
      'close of business for one date: overdue, days past due, late fees, write-offs; safe to rerun',
    )
    .requiredOption('--date <date>', 'business date to close, YYYY-MM-DD')
    .option('--batch-size <n>', 'loans per transaction (default 2000)')
    .option(
      '--write-off-dpd <n>',
      'days past due at which loans are written off (default 180; a product may set its own)',
    )
    .option('--force', 'close a date before the last closed one, or while another date is unfinished')
    .option('--json', 'print the summary as one JSON object on the last line')
    .option(
      '--api <url>',
      'close through a running fenqi API (e.g. the embedded platform, which holds its data directory)',
    )
    .option(
      '--username <name>',
      'with --api: the ops staff user (password from FENQI_PASSWORD or stdin)',
      'ops',
    )
    .action(async (flags: CobFlags) => {
      const { runCob } = await import('../../cob/run.ts');
      const { CobRefusedError } = await import('../../store/cob.ts');
      const { MAX_COB_BATCH_SIZE } = await import('../../domain/cob.ts');
      const { MAX_WRITE_OFF_DPD } = await import('../../domain/delinquency.ts');
      const { isDate } = await import('../../domain/index.ts');
      if (!isDate(flags.date)) throw new UsageError(`--date must be a date YYYY-MM-DD, not '${flags.date}'`);
      const batchSize = wholeNumber('--batch-size', flags.batchSize, 1, MAX_COB_BATCH_SIZE);
      const writeOffDpd = wholeNumber('--write-off-dpd', flags.writeOffDpd, 1, MAX_WRITE_OFF_DPD);

      if (flags.api) {
        if (batchSize !== undefined || writeOffDpd !== undefined)
          throw new UsageError("--batch-size and --write-off-dpd are the server's settings; not with --api");
        const { cobThroughApi } = await import('../cob-api.ts');
        const summary = await cobThroughApi({
          apiUrl: flags.api,
          username: flags.username,
          date: flags.date,
          force: flags.force === true,
          onProgress: progressPrinter(),
        });
        await printSummary(summary, flags.json === true);
        return;
      }
      const { loadConfig } = await import('../../config.ts');
      // a manually driven clock closes dates in whatever order the driver goes (docs/cob.md)
      const config = loadConfig();
      const manualClock = config.businessClock === 'manual';
      const { closeOfBusinessSteps } = await import('../../cob/steps.ts');
      const { createPayoutRail } = await import('../../services.ts');
      const payouts = createPayoutRail(config);
      await withDatabase(async (db) => {
        const summary = await runCob(db.sql, {
          steps: closeOfBusinessSteps({ sql: db.sql, payouts: () => payouts, config }),
          date: flags.date,
          batchSize,
          writeOffDpd,
          force: flags.force === true || manualClock,
          onProgress: progressPrinter(),
        }).catch((err: unknown) => {
          if (err instanceof CobRefusedError) throw new UsageError(err.message);
          throw err;
        });
        await printSummary(summary, flags.json === true);
      });
    });
}

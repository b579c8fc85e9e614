/**
 * `fenqi orders dead list|replay`: the orders the settler dead-lettered (FENQI_DEAD), and their
 * replay once the cause is fixed (orders/dead-letters.ts; runbook in docs/operations.md). Talks to
 * NATS only: settlement itself is done by the running `fenqi worker`, which keeps each order to one
 * settlement. Progress and the replay log (ids only) go to stderr, results to stdout.
 */
import type { Command } from 'commander';
import { UsageError } from '../usage-error.ts';

/** At most one progress line per this many milliseconds (plus the last one). */
export const PROGRESS_INTERVAL_MS = 1_000;

interface ListFlags {
  after?: string;
  limit?: string;
  json?: boolean;
}

interface ReplayFlags {
  all?: boolean;
  seq?: string[];
  json?: boolean;
}

type DeadLetters = import('../../orders/dead-letters.ts').DeadLetters;
type ReplaySummary = import('../../orders/dead-letters.ts').ReplaySummary;

function wholeNumber(flag: string, text: string, min: number, max: number): number {
  const value = /^\d{1,15}$/.test(text) ? Number(text) : Number.NaN;
  if (!(value >= min && value <= max))
    throw new UsageError(`${flag} must be a whole number from ${min} to ${max}`);
  return value;
}

/** Opens the queue of NATS_URL, runs `work`, always closes. */
async function withDeadLetters<T>(work: (dead: DeadLetters) => Promise<T>): Promise<T> {
  const { loadConfig } = await import('../../config.ts');
  const { REDACT_PATHS, logCensor } = await import('../../logger.ts');
  const { JetStreamQueue, natsLinkOf } = await import('../../queue/index.ts');
  const { DeadLetters } = await import('../../orders/dead-letters.ts');
  const { default: pino } = await import('pino');
  const config = loadConfig();
  if (!config.natsUrl) {
    throw new UsageError(
      'NATS_URL is not set: dead letters live in NATS (the embedded queue is inside `fenqi start`; use its API: /v1/ops/dead-letters)',
    );
  }
  // The replay log goes to stderr so stdout stays the command's answer.
  const logger = pino(
    { name: 'fenqi', level: config.logLevel, redact: { paths: REDACT_PATHS, censor: logCensor } },
    pino.destination(2),
  );
  const queue = new JetStreamQueue(config.natsUrl, 'fenqi-orders-dead', natsLinkOf(config));
  try {
    return await work(new DeadLetters(queue, logger));
  } finally {
    await queue.close();
    logger.flush();
  }
}

async function list(flags: ListFlags): Promise<void> {
  const { DEAD_LETTER_PAGE_DEFAULT, DEAD_LETTER_PAGE_MAX } = await import('../../orders/dead-letters.ts');
  const limit =
    flags.limit === undefined
      ? DEAD_LETTER_PAGE_DEFAULT
      : wholeNumber('--limit', flags.limit, 1, DEAD_LETTER_PAGE_MAX);
  const afterSeq =
    flags.after === undefined ? 0 : wholeNumber('--after', flags.after, 0, Number.MAX_SAFE_INTEGER);
  const page = await withDeadLetters((dead) => dead.list({ afterSeq, limit }));
  const nextAfter = page.nextAfterSeq === null ? null : String(page.nextAfterSeq);
  if (flags.json) {
    process.stdout.write(
      `${JSON.stringify({ items: page.items, total: page.total, next_after: nextAfter })}\n`,
    );
    return;
  }
  const out = (line: string) => process.stdout.write(`${line}\n`);
  out(`${page.total} dead letter(s) held in FENQI_DEAD`);
  if (page.items.length > 0) {
    out(
      `${'seq'.padEnd(8)} ${'order'.padEnd(20)} ${'customer'.padEnd(20)} tries  dead-lettered at          reason`,
    );
    for (const d of page.items) {
      const mark = d.replayable ? '' : ' [not replayable]';
      out(
        `${d.seq.padEnd(8)} ${(d.order_id ?? '-').padEnd(20)} ${(d.customer_id ?? '-').padEnd(20)} ` +
          `${String(d.deliveries).padStart(5)}  ${d.dead_lettered_at.padEnd(24)}  ${d.reason}${mark}`,
      );
    }
  }
  if (nextAfter) out(`more: fenqi orders dead list --after ${nextAfter}`);
}

function printSummary(summary: ReplaySummary, json: boolean | undefined): void {
  if (json) {
    process.stdout.write(
      `${JSON.stringify({
        replayed: summary.replayed,
        not_found: summary.notFound,
        unreplayable: summary.unreplayable,
        items: summary.results.map((r) => ({
          seq: String(r.seq),
          order_id: r.orderId,
          outcome: r.outcome,
          replay_seq: r.replaySeq === null ? null : String(r.replaySeq),
        })),
      })}\n`,
    );
    return;
  }
  for (const r of summary.results) {
    if (r.outcome !== 'replayed')
      process.stdout.write(`dead letter ${r.seq}: ${r.outcome.replace('_', ' ')}\n`);
  }
  process.stdout.write(
    `replayed ${summary.replayed}, not found ${summary.notFound}, not replayable ${summary.unreplayable}\n`,
  );
}

async function replay(flags: ReplayFlags): Promise<void> {
  const { REPLAY_SEQS_MAX } = await import('../../orders/dead-letters.ts');
  const named = flags.seq ?? [];
  if (flags.all && named.length > 0) throw new UsageError('give either --all or --seq, not both');
  if (!flags.all && named.length === 0) throw new UsageError('give --all or at least one --seq N');
  if (named.length > REPLAY_SEQS_MAX)
    throw new UsageError(`at most ${REPLAY_SEQS_MAX} --seq at once; use --all for more`);
  const seqs = named.map((s) => wholeNumber('--seq', s, 1, Number.MAX_SAFE_INTEGER));
  const summary = await withDeadLetters(async (dead) => {
    if (!flags.all) return dead.replay(seqs);
    const startedMs = Date.now();
    let lastLineMs = 0;
    return dead.replayAll({
      onProgress: (p) => {
        const now = Date.now();
        const walked = p.replayed + p.skipped;
        if (now - lastLineMs < PROGRESS_INTERVAL_MS && walked < p.total) return;
        lastLineMs = now;
        const rate = Math.round((p.replayed * 1000) / Math.max(1, now - startedMs));
        const share = p.total === 0 ? 100 : Math.min(100, Math.round((100 * walked) / p.total));
        process.stderr.write(
          `replayed ${p.replayed}/${p.total} dead letters (${share}%), ${p.skipped} skipped, ${rate}/s\n`,
        );
      },
    });
  });
  printSummary(summary, flags.json);
  // Something asked for was not replayed: say so in the exit code too.
  if (summary.unreplayable > 0 || (!flags.all && summary.notFound > 0)) process.exitCode = 1;
}

export function register(program: Command): void {
  const orders = program.command('orders').description('sale-day orders');
  const dead = orders
    .command('dead')
    .description('orders the settler could not process (FENQI_DEAD): list them, replay them once fixed');
  dead
    .command('list')
    .description('dead-lettered orders, oldest first: sequence, order, customer, deliveries, reason')
    .option('--after <seq>', 'start after this dead-letter sequence (the last sequence of the previous page)')
    .option('--limit <n>', 'dead letters per page (default 50, at most 200)')
    .option('--json', 'print the page as one JSON object')
    .action((flags: ListFlags) => list(flags));
  dead
    .command('replay')
    .description('send dead-lettered orders back to settlement; each settles at most once')
    .option('--all', 'every dead letter held now, oldest first, with progress on stderr')
    .option(
      '--seq <seq>',
      'one dead letter by sequence (repeat for several)',
      (v: string, acc: string[] | undefined) => [...(acc ?? []), v],
    )
    .option('--json', 'print the summary as one JSON object')
    .action((flags: ReplayFlags) => replay(flags));
}

import type { Command } from 'commander';
import { UsageError } from '../usage-error.ts';

/**
 * `fenqi rehearse plan|run|report|clean|schedule`: a sale rehearsal against the running deployment,
 * on the shadow side only (docs/rehearsal.md). Needs the process's production configuration plus
 * the rehearsal key and shadow credentials (FENQI_REHEARSAL_KEY_FILE, FENQI_SHADOW_*).
 */

const DEFAULT_API = 'http://127.0.0.1:3000';
const DEFAULT_REPORT_DIR = '.fenqi/rehearsals';
const DEFAULT_OPEN_HOURS = 24;
const MAX_OPEN_HOURS = 24 * 30;

function wholeNumber(value: string, flag: string, min: number, max: number): number {
  if (!/^[0-9]{1,9}$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new UsageError(`${flag} must be a whole number from ${min} to ${max}`);
  }
  return Number(value);
}

function share(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || n > 1) throw new UsageError(`${flag} must be between 0 and 1`);
  return n;
}

function rehearsalId(value: string): string {
  if (!/^[a-z0-9][a-z0-9-]{0,39}$/.test(value)) {
    throw new UsageError('a rehearsal id is 1-40 lowercase letters, digits and dashes, e.g. autumn-2027');
  }
  return value;
}

const out = (line: string) => process.stdout.write(`${line}\n`);
const progress = (line: string) => process.stderr.write(`${line}\n`);

export function register(program: Command): void {
  const rehearse = program
    .command('rehearse')
    .description(
      'sale rehearsals on the shadow side of the live deployment: plan, run, report, clean, schedule',
    );

  rehearse
    .command('plan')
    .description(
      'open a rehearsal and build its shadow customers (made-up identities, production shapes) and goods',
    )
    .requiredOption('--id <id>', 'the rehearsal id, e.g. autumn-2027')
    .requiredOption('--size <n>', 'shadow customers to create')
    .requiredOption(
      '--target-rate <n>',
      "the sale's target orders per second (the report's headroom is against it)",
    )
    .option('--hours <n>', 'how long the rehearsal stays open', String(DEFAULT_OPEN_HOURS))
    .action(async (f: { id: string; size: string; targetRate: string; hours: string }) => {
      const id = rehearsalId(f.id);
      const size = wholeNumber(f.size, '--size', 1, 200_000);
      const targetOrdersPerS = wholeNumber(f.targetRate, '--target-rate', 1, 1_000_000);
      const hours = wholeNumber(f.hours, '--hours', 1, MAX_OPEN_HOURS);
      const { withSides } = await import('../../rehearsal/sides.ts');
      const { planRehearsal } = await import('../../rehearsal/plan.ts');
      const summary = await withSides(async ({ production, shadow }) =>
        planRehearsal(
          production.sql,
          { sql: shadow.db.sql, crypto: shadow.services.crypto },
          { id, size, targetOrdersPerS, closesAt: new Date(Date.now() + hours * 3_600_000) },
          (done, total) => progress(`plan ${id}: ${done}/${total} shadow customers`),
        ),
      );
      out(JSON.stringify(summary));
    });

  rehearse
    .command('run <id>')
    .description(
      'send tagged orders to the API along a load profile, with guard rails; stores a sample a second',
    )
    .requiredOption(
      '--profile <phases>',
      'e.g. ramp:60s:0-200,hold:120s:200,burst:15s:1000 (orders per second)',
    )
    .option('--api <url>', 'the API to rehearse against', DEFAULT_API)
    .option('--max-error-rate <share>', 'stop when more than this share fails over the window', '0.01')
    .option('--max-p99-ms <ms>', 'stop when p99 stays above this', '1000')
    .option('--max-backlog <orders>', 'stop when the settlement backlog stays above this', '100000')
    .option(
      '--traces-listen <host:port>',
      "receive the rehearsal's spans here (OTLP/HTTP JSON) and keep time per hop with the run",
    )
    .option('--order-mode <mode>', "queued or sync (default: the deployment's FENQI_SALE_MODE)")
    .action(async (idText: string, f: Record<string, string | undefined>) => {
      const id = rehearsalId(idText);
      if (f.orderMode !== undefined && f.orderMode !== 'queued' && f.orderMode !== 'sync') {
        throw new UsageError('--order-mode is queued or sync');
      }
      if (
        f.tracesListen !== undefined &&
        !/^(\[[0-9a-f:]+\]|[a-z0-9.-]+):[0-9]{1,5}$/i.test(f.tracesListen)
      ) {
        throw new UsageError('--traces-listen is host:port, e.g. 0.0.0.0:4319');
      }
      const { parseProfile, ProfileError, DEFAULT_GUARD_RAILS } = await import('../../rehearsal/profile.ts');
      let phases: ReturnType<typeof parseProfile>;
      try {
        phases = parseProfile(f.profile!);
      } catch (err) {
        if (err instanceof ProfileError) throw new UsageError(`--profile: ${err.message}`);
        throw err;
      }
      const rails = {
        ...DEFAULT_GUARD_RAILS,
        maxErrorRate: share(f.maxErrorRate!, '--max-error-rate'),
        maxP99Ms: wholeNumber(f.maxP99Ms!, '--max-p99-ms', 1, 600_000),
        maxBacklog: wholeNumber(f.maxBacklog!, '--max-backlog', 1, 100_000_000),
      };
      const { runRehearsal } = await import('../../rehearsal/run.ts');
      const outcome = await runRehearsal(
        {
          id,
          profile: f.profile!,
          phases,
          rails,
          apiUrl: f.api!,
          orderMode: f.orderMode as 'queued' | 'sync' | undefined,
          tracesListen: f.tracesListen,
        },
        progress,
      );
      out(JSON.stringify(outcome));
      if (outcome.stopReason) process.exitCode = 3;
    });

  rehearse
    .command('report <id>')
    .description('write the run as one HTML page with charts; prints its figures as JSON')
    .option('--out <file>', 'where the page goes (default .fenqi/rehearsals/<id>.html)')
    .action(async (idText: string, f: { out?: string }) => {
      const id = rehearsalId(idText);
      const { writeRunReport } = await import('../../rehearsal/run.ts');
      const { file, summary } = await writeRunReport(id, f.out ?? `${DEFAULT_REPORT_DIR}/${id}.html`);
      progress(`report: ${file}`);
      out(JSON.stringify(summary));
    });

  rehearse
    .command('clean <id>')
    .description('close the rehearsal and empty the shadow schema and stream (its report data stays)')
    .action(async (idText: string) => {
      const id = rehearsalId(idText);
      const { cleanWithSides } = await import('../../rehearsal/run.ts');
      out(JSON.stringify(await cleanWithSides(id)));
    });

  registerSchedule(rehearse);
}

function registerSchedule(rehearse: Command): void {
  const schedule = rehearse
    .command('schedule')
    .description('rehearsal rounds and disaster-recovery drills on a calendar');
  schedule
    .command('add')
    .requiredOption('--kind <kind>', 'rehearsal, failover, region or restore')
    .requiredOption('--months <list>', 'month numbers, e.g. 3,8,10')
    .requiredOption('--day <n>', 'day of the month, 1-28')
    .requiredOption('--label <text>', 'what a person calls it, e.g. "autumn sale round 2"')
    .action(async (f: { kind: string; months: string; day: string; label: string }) => {
      const { SCHEDULE_KINDS, parseMonths } = await import('../../rehearsal/schedule.ts');
      if (!(SCHEDULE_KINDS as readonly string[]).includes(f.kind)) {
        throw new UsageError(`--kind must be one of ${SCHEDULE_KINDS.join(', ')}`);
      }
      let months: number[];
      try {
        months = parseMonths(f.months);
      } catch (err) {
        throw new UsageError((err as Error).message);
      }
      const dayOfMonth = wholeNumber(f.day, '--day', 1, 28);
      if (f.label.length < 1 || f.label.length > 100) throw new UsageError('--label is 1-100 characters');
      const { withDatabase } = await import('../database.ts');
      const { addSchedule } = await import('../../store/rehearsals.ts');
      const kind = f.kind as Parameters<typeof addSchedule>[1]['kind'];
      const id = await withDatabase((db) =>
        addSchedule(db.sql, { kind, months, dayOfMonth, label: f.label }),
      );
      out(JSON.stringify({ id: id.toString(), kind, months, day_of_month: dayOfMonth, label: f.label }));
    });
  schedule.command('list').action(async () => {
    const { withDatabase } = await import('../database.ts');
    const { listSchedules } = await import('../../store/rehearsals.ts');
    for (const s of await withDatabase((db) => listSchedules(db.sql))) out(JSON.stringify(scheduleJson(s)));
  });
  schedule.command('remove <id>').action(async (idText: string) => {
    if (!/^[0-9]{1,18}$/.test(idText)) throw new UsageError('a schedule id is digits');
    const { withDatabase } = await import('../database.ts');
    const { removeSchedule } = await import('../../store/rehearsals.ts');
    if (!(await withDatabase((db) => removeSchedule(db.sql, BigInt(idText))))) {
      throw new UsageError(`no schedule ${idText}`);
    }
    out(JSON.stringify({ removed: idText }));
  });
  schedule
    .command('due')
    .description('what is due today (or --date), as JSON lines; --mark records them as run')
    .option('--date <yyyy-mm-dd>', 'the day to check (default: today)')
    .option('--mark', 'record the due ones as run on that day')
    .action(async (f: { date?: string; mark?: boolean }) => {
      const date = f.date ?? new Date().toISOString().slice(0, 10);
      if (!/^[0-9]{4}-[0-9]{2}-[0-9]{2}$/.test(date)) throw new UsageError('--date is yyyy-mm-dd');
      const { withDatabase } = await import('../database.ts');
      const { listSchedules, markScheduleRun } = await import('../../store/rehearsals.ts');
      const { dueOn } = await import('../../rehearsal/schedule.ts');
      await withDatabase(async (db) => {
        for (const s of dueOn(await listSchedules(db.sql), date)) {
          if (f.mark) await markScheduleRun(db.sql, s.id, date);
          out(JSON.stringify(scheduleJson(s)));
        }
      });
    });
}

function scheduleJson(s: {
  id: bigint;
  kind: string;
  months: number[];
  dayOfMonth: number;
  label: string;
  lastRunOn: string | null;
}) {
  return {
    id: s.id.toString(),
    kind: s.kind,
    months: s.months,
    day_of_month: s.dayOfMonth,
    label: s.label,
    last_run_on: s.lastRunOn,
  };
}

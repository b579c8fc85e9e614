/**
 * Runs the daily close of business by itself: once a business day has ended (in the business
 * time zone), the scheduler closes every date from the day after the last closed one up to
 * yesterday, in order. Only one process in a deployment closes a date at a time (a PostgreSQL
 * advisory lock); the others skip. `fenqi cob --date` remains the manual way, e.g. after an outage.
 */

import { runCob } from '../cob/run.ts';
import { platformCobSteps } from '../cob/steps.ts';
import { addDays } from '../domain/dates.ts';
import type { Platform } from '../platform.ts';
import { AWARE } from '../rehearsal/context.ts';
import { onWorkerSide } from '../rehearsal/worker-context.ts';
import { nextDateToClose } from '../store/cob.ts';
import type { Worker } from './worker.ts';

export const COB_CHECK_INTERVAL_MS = 60_000;
/** A scheduler that finds many missed days closes at most this many per wake-up, then yields. */
export const COB_MAX_DATES_PER_WAKE = 31;
/**
 * "cob!" — shared by every fenqi process. Advisory locks are per database, not per schema: the
 * shadow side's close takes its own key ("cob~"), so a rehearsal's close never holds production's.
 */
const COB_LOCK_KEY = 0x636f6221n;
const SHADOW_COB_LOCK_KEY = 0x636f627en;

/** Dates to close now: from the day after the last closed one through yesterday. */
export function datesToClose(
  lastClosedNext: string | null,
  today: string,
  max = COB_MAX_DATES_PER_WAKE,
): string[] {
  const yesterday = addDays(today, -1);
  const dates: string[] = [];
  // A platform that has never closed starts with yesterday, not with the beginning of time.
  for (let d = lastClosedNext ?? yesterday; d <= yesterday && dates.length < max; d = addDays(d, 1))
    dates.push(d);
  return dates;
}

export async function closePendingDates(platform: Platform, today: string): Promise<string[]> {
  const { sql } = platform.db;
  const closed: string[] = [];
  // Embedded mode is one process with one connection: no one to race, and a reserved connection
  // would starve the API.
  const lockKey = (platform.side.kind === 'shadow' ? SHADOW_COB_LOCK_KEY : COB_LOCK_KEY).toString();
  // nothing may throw between reserving the connection and the try that releases it
  const lock = platform.db.embedded ? undefined : await sql.reserve();
  try {
    if (lock) {
      const [row] = await lock<{ ok: boolean }[]>`select pg_try_advisory_lock(${lockKey}::bigint) as ok`;
      if (!row?.ok) return closed;
    }
    for (const date of datesToClose(await nextDateToClose(sql), today)) {
      const summary = await runCob(sql, { date, steps: platformCobSteps(platform) });
      platform.logger.info(
        { date, loans: summary.loansDone, writtenOff: summary.loansWrittenOff, seconds: summary.seconds },
        'close of business done',
      );
      closed.push(date);
    }
    return closed;
  } finally {
    if (lock) {
      await lock`select pg_advisory_unlock(${lockKey}::bigint)`.catch(() => {});
      lock.release();
    }
  }
}

export async function startCobScheduler(platform: Platform): Promise<Worker | undefined> {
  // A manual business clock is driven by whoever sets it (`fenqi cob --date`), never by the wall clock.
  if (!platform.config.cobAuto || platform.services.clock.mode === 'manual') return undefined;
  const { clock } = platform.services;
  let running: Promise<unknown> = Promise.resolve();
  const wake = () => {
    // on the shadow side, the shadow schema's close as the open rehearsal's work (none open: none)
    running = clock
      .today()
      .then((today) => onWorkerSide(platform, [], () => closePendingDates(platform, today)))
      .catch((err: Error) => {
        platform.logger.error({ err: err.message }, 'scheduled close of business failed; will retry');
      });
  };
  const timer = setInterval(wake, COB_CHECK_INTERVAL_MS);
  timer.unref();
  wake();
  return {
    name: 'cob-scheduler',
    rehearsal: AWARE,
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}

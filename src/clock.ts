/**
 * The one business clock of a fenqi process: what "today" is for every date a request stamps (a
 * loan's start, a repayment's value date, an order's business date, a quote's default start) and
 * for the scheduler that closes ended days. Two modes (FENQI_BUSINESS_CLOCK):
 *   - `zone` (default): the calendar day in FENQI_BUSINESS_TIMEZONE now;
 *   - `manual`: the date stored in the database (business_clock), set by ops through
 *     PUT /v1/ops/business-date or `fenqi business-date --set`, and moved to D + 1 by the close of
 *     D (`fenqi cob --date D`). For test deployments and drills that drive time themselves.
 * Domain code never reads a clock: it is given the date.
 */
import { businessDate, type Config } from './config.ts';
import { setStoredBusinessDate, storedBusinessDate } from './store/business-clock.ts';
import type { Queryable } from './store/db.ts';

export type BusinessClockMode = 'zone' | 'manual';
export const BUSINESS_CLOCK_MODES: readonly BusinessClockMode[] = ['zone', 'manual'];

export interface BusinessClock {
  readonly mode: BusinessClockMode;
  /** Today's business date, YYYY-MM-DD. */
  today(): Promise<string>;
  /**
   * Sets the business date (manual mode only; the caller checks the mode and the role), in `tx`
   * when given so that the change and its audit row commit together.
   */
  set(date: string, tx?: Queryable): Promise<void>;
}

export function createBusinessClock(
  config: Pick<Config, 'businessTimeZone' | 'businessClock'>,
  sql: Queryable,
  now: () => Date = () => new Date(),
): BusinessClock {
  const zoneToday = () => businessDate(config, now());
  if (config.businessClock === 'zone') {
    return {
      mode: 'zone',
      today: async () => zoneToday(),
      set: async () => {
        throw new Error('the business clock follows the time zone; set FENQI_BUSINESS_CLOCK=manual');
      },
    };
  }
  return {
    mode: 'manual',
    // a manual clock never set yet starts at the time zone's day, as the first close would see it
    today: async () => (await storedBusinessDate(sql)) ?? zoneToday(),
    set: (date, tx) => setStoredBusinessDate(tx ?? sql, date),
  };
}

/**
 * Business dates are calendar days written 'YYYY-MM-DD', with no time of day and no zone: a due
 * date is the same day in Shanghai and on a UTC server. Arithmetic goes through a day number
 * (days since 1970-01-01), which is a count, not money, so a JS number is fine.
 */
import { DomainError } from './errors.ts';

export type FrequencyUnit = 'day' | 'week' | 'month';
export const FREQUENCY_UNITS: readonly FrequencyUnit[] = ['day', 'week', 'month'];

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
const MS_PER_DAY = 86_400_000;

export function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

export function daysInMonth(year: number, month: number): number {
  return [31, isLeapYear(year) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1] ?? 0;
}

interface Ymd {
  year: number;
  month: number;
  day: number;
}

function split(date: string): Ymd {
  const m = DATE_RE.exec(date);
  const year = Number(m?.[1]);
  const month = Number(m?.[2]);
  const day = Number(m?.[3]);
  if (
    !m ||
    year < 1900 ||
    year > 9999 ||
    month < 1 ||
    month > 12 ||
    day < 1 ||
    day > daysInMonth(year, month)
  ) {
    throw new DomainError('INVALID_DATE', `not a calendar date (YYYY-MM-DD): '${date}'`, { value: date });
  }
  return { year, month, day };
}

function join({ year, month, day }: Ymd): string {
  // Arithmetic may not leave the range every date is read in (a 5-digit year is no date).
  if (year < 1900 || year > 9999) {
    throw new DomainError(
      'DATE_OUT_OF_RANGE',
      `a date past the year ${year < 1900 ? 1900 : 9999} is out of range`,
      {
        year: String(year),
      },
    );
  }
  return `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
}

export function parseDate(date: string): string {
  split(date);
  return date;
}

export function isDate(date: string): boolean {
  try {
    split(date);
    return true;
  } catch {
    return false;
  }
}

export function toDayNumber(date: string): number {
  const { year, month, day } = split(date);
  return Date.UTC(year, month - 1, day) / MS_PER_DAY;
}

export function fromDayNumber(dayNumber: number): string {
  const d = new Date(dayNumber * MS_PER_DAY);
  return join({ year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() });
}

export function addDays(date: string, days: number): string {
  return fromDayNumber(toDayNumber(date) + days);
}

/**
 * Calendar months with month-end roll: a day that does not exist in the target month becomes its
 * last day (Jan 31 + 1 month = Feb 29 2024, Feb 28 2023). Always add to the original date, never
 * chain: Jan 31 + 2 months is Mar 31, while (Jan 31 + 1) + 1 would drift to Mar 29.
 */
export function addMonths(date: string, months: number): string {
  const { year, month, day } = split(date);
  const index = year * 12 + (month - 1) + months;
  const y = Math.floor(index / 12);
  const m = index - y * 12 + 1;
  return join({ year: y, month: m, day: Math.min(day, daysInMonth(y, m)) });
}

/** Start date plus `count` steps of `every` units. */
export function addPeriods(date: string, every: number, unit: FrequencyUnit, count: number): string {
  switch (unit) {
    case 'day':
      return addDays(date, every * count);
    case 'week':
      return addDays(date, 7 * every * count);
    case 'month':
      return addMonths(date, every * count);
  }
}

/** Actual calendar days from `from` to `to` (negative when `to` is earlier). */
export function daysBetween(from: string, to: string): number {
  return toDayNumber(to) - toDayNumber(from);
}

/**
 * The calendar date at a moment in a time zone, as YYYY-MM-DD. Intl is part of the language, not
 * I/O: the answer depends only on the arguments.
 */
export function dateInZone(timeZone: string, at: Date): string {
  // Every zone's offset is a whole number of seconds, so the date changes only on a second's
  // boundary: the last answer holds for the rest of its second (formatting showed in the profile
  // of the decision path, which asks for today's date on every history read).
  const second = Math.floor(at.getTime() / 1000);
  const last = lastZoneDate;
  if (last && last.second === second && last.timeZone === timeZone) return last.date;
  const date = zoneFormatter(timeZone).format(at);
  lastZoneDate = { timeZone, second, date };
  return date;
}

/** The last date formatted: one zone and one second (see dateInZone). */
let lastZoneDate: { timeZone: string; second: number; date: string } | undefined;

/**
 * Formatters by zone, made once: building an Intl.DateTimeFormat costs about half a millisecond,
 * which every sale-day order paid when it was made per call. A process knows a handful of zones.
 */
const zoneFormatters = new Map<string, Intl.DateTimeFormat>();

function zoneFormatter(timeZone: string): Intl.DateTimeFormat {
  let formatter = zoneFormatters.get(timeZone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-CA', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
    });
    zoneFormatters.set(timeZone, formatter);
  }
  return formatter;
}

/** Today's date in UTC; callers that need a settable clock pass the date in instead. */
export function todayUtc(now: Date = new Date()): string {
  return fromDayNumber(Math.floor(now.getTime() / MS_PER_DAY));
}

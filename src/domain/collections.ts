/**
 * Rules of collections work, pure: how far ahead a promise to pay or a hardship pause may reach.
 */
import { daysBetween } from './dates.ts';

/** A promise to pay is for a date within this many days, or it is no promise. */
export const MAX_PROMISE_DAYS = 30;
/** A delinquency pause (hardship) lasts at most this many days at a time. */
export const MAX_PAUSE_DAYS = 90;
/** The work queue lists at most this many loans a page. */
export const MAX_QUEUE_ITEMS = 200;

export const CONTACT_CHANNELS = ['call', 'sms', 'visit', 'letter'] as const;
export const CONTACT_OUTCOMES = [
  'no_answer',
  'promise_to_pay',
  'refused',
  'wrong_number',
  'paid',
  'hardship',
  'dispute',
] as const;

/** Why a date from today up to `maxDays` ahead is refused, or null. */
export function forwardDateRefusal(date: string, today: string, maxDays: number): 'DATE_NOT_AHEAD' | null {
  const ahead = daysBetween(today, date);
  return ahead < 0 || ahead > maxDays ? 'DATE_NOT_AHEAD' : null;
}

/** A loan paused through `pausedThrough` is left as it stands by the close of `date`. */
export function isPaused(pausedThrough: string | null, date: string): boolean {
  return pausedThrough !== null && date <= pausedThrough;
}

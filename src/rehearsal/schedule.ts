/**
 * When scheduled rehearsal rounds and drills fall due: on `dayOfMonth` of each listed month, and
 * still due on a later day of that month if the day was missed, until it is marked run.
 */
import type { ScheduleKind, ScheduleRow } from '../store/rehearsals.ts';

export const SCHEDULE_KINDS: readonly ScheduleKind[] = ['rehearsal', 'failover', 'region', 'restore'];

export function parseMonths(text: string): number[] {
  const months = text.split(',').map((m) => Number(m.trim()));
  if (months.length === 0 || months.some((m) => !Number.isInteger(m) || m < 1 || m > 12)) {
    throw new Error('--months is a list of month numbers 1-12, e.g. 3,8,10');
  }
  return [...new Set(months)].sort((a, b) => a - b);
}

/** The schedules due on `today` (YYYY-MM-DD). */
export function dueOn(schedules: readonly ScheduleRow[], today: string): ScheduleRow[] {
  const [year, month, day] = today.split('-').map(Number) as [number, number, number];
  return schedules.filter((s) => {
    if (!s.months.includes(month) || day < s.dayOfMonth) return false;
    const dueDate = `${year}-${String(month).padStart(2, '0')}-${String(s.dayOfMonth).padStart(2, '0')}`;
    return s.lastRunOn === null || s.lastRunOn < dueDate;
  });
}

/**
 * The stored business date (migration 0110) of a deployment whose clock is set by hand. Setting it
 * is an operator's act; a completed close of business moves it forward to the day after the date
 * it closed (never backward, so closing an earlier date again does not rewind the clock).
 */
import { addDays } from '../domain/index.ts';
import type { Queryable } from './db.ts';

export async function storedBusinessDate(sql: Queryable): Promise<string | null> {
  const [row] = await sql<{ d: string }[]>`select business_date::text as d from business_clock`;
  return row?.d ?? null;
}

// updated_at from the inserted row's default: Citus refuses now() in ON CONFLICT DO UPDATE on a
// distributed or reference table (docs/scaling.md, "The rule").
export async function setStoredBusinessDate(sql: Queryable, date: string): Promise<void> {
  await sql`
    insert into business_clock (id, business_date) values (true, ${date}::date)
    on conflict (id) do update set business_date = excluded.business_date, updated_at = excluded.updated_at`;
}

/** After the close of `closedDate` the business date is at least the next day. */
export async function advanceAfterClose(sql: Queryable, closedDate: string): Promise<void> {
  const next = addDays(closedDate, 1);
  await sql`
    insert into business_clock (id, business_date) values (true, ${next}::date)
    on conflict (id) do update set business_date = greatest(business_clock.business_date, excluded.business_date),
      updated_at = excluded.updated_at`;
}

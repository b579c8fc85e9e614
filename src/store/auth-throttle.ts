/**
 * The SQL of the log-in and registration throttles (migrations/0075_auth_throttle.sql): each
 * statement is one atomic step on one subject's row, so concurrent attempts are counted one by one
 * before any of them is checked. Policy (which subjects, which limits) lives in auth/throttle.ts.
 */
import type { Queryable } from './db.ts';

interface WindowCount {
  /** Attempts in the current window, this one included. */
  attempts: number;
  windowEndsAt: Date;
}

/** One attempt counted in a fixed window (a new window starts once the old one is over). */
export async function countInWindow(sql: Queryable, subject: Buffer, windowMs: number): Promise<WindowCount> {
  const [row] = await sql<{ attempts: number; window_ends_at: Date }[]>`
    insert into auth_throttle as t (subject, attempts, window_started_at)
    values (${subject}, 1, now())
    on conflict (subject) do update set
      attempts = case when t.window_started_at <= now() - make_interval(secs => ${windowMs / 1000})
                      then 1 else t.attempts + 1 end,
      window_started_at = case when t.window_started_at <= now() - make_interval(secs => ${windowMs / 1000})
                               then now() else t.window_started_at end
    returning attempts::integer as attempts, window_started_at + make_interval(secs => ${windowMs / 1000}) as window_ends_at`;
  return { attempts: row!.attempts, windowEndsAt: row!.window_ends_at };
}

export interface BackoffRule {
  windowMs: number;
  /** Attempts in a window before the backoff starts (at least 1). */
  freeAttempts: number;
  /** The wait after the first attempt past the free ones; it doubles with each further one. */
  baseMs: number;
  maxMs: number;
}

interface BackoffAttempt {
  /** False while an earlier attempt's backoff runs (this one was then not counted). */
  allowed: boolean;
  /** When the next attempt may be checked (null: at once). */
  blockedUntil: Date | null;
}

/**
 * One attempt under exponential backoff: refused and not counted while blocked (so waiting is never
 * prolonged by the refused attempts themselves); otherwise counted, and past `freeAttempts` it sets
 * the wait before the next one, min(maxMs, baseMs * 2^(attempts - freeAttempts - 1)).
 */
export async function reserveWithBackoff(
  sql: Queryable,
  subject: Buffer,
  rule: BackoffRule,
): Promise<BackoffAttempt> {
  const windowS = rule.windowMs / 1000;
  const [row] = await sql<{ last_refused: boolean; blocked_until: Date | null }[]>`
    insert into auth_throttle as t (subject, attempts, window_started_at)
    values (${subject}, 1, now())
    on conflict (subject) do update set
      last_refused = coalesce(t.blocked_until > now(), false),
      attempts = case when t.blocked_until > now() then t.attempts
                      when t.window_started_at <= now() - make_interval(secs => ${windowS}) then 1
                      else t.attempts + 1 end,
      window_started_at = case when t.blocked_until > now() then t.window_started_at
                               when t.window_started_at <= now() - make_interval(secs => ${windowS}) then now()
                               else t.window_started_at end,
      blocked_until = case
        when t.blocked_until > now() then t.blocked_until
        when t.window_started_at <= now() - make_interval(secs => ${windowS}) then null
        when t.attempts + 1 > ${rule.freeAttempts} then now() + make_interval(secs => least(
          ${rule.maxMs / 1000}::float8,
          ${rule.baseMs / 1000}::float8 * power(2, t.attempts - ${rule.freeAttempts})))
        else null end
    returning last_refused, blocked_until`;
  return { allowed: !row!.last_refused, blockedUntil: row!.blocked_until };
}

/** Gives back one attempt counted in a window (it turned out to be a success, or was never checked). */
export async function giveBack(sql: Queryable, subject: Buffer): Promise<void> {
  await sql`update auth_throttle set attempts = greatest(attempts - 1, 0) where subject = ${subject}`;
}

/** Forgets a subject's count and backoff (a successful log-in). */
export async function forget(sql: Queryable, subjects: readonly Buffer[]): Promise<void> {
  if (subjects.length > 0) await sql`delete from auth_throttle where subject in ${sql(subjects as Buffer[])}`;
}

export async function rememberSource(sql: Queryable, subject: Buffer, rememberMs: number): Promise<void> {
  await sql`
    insert into auth_known_source (subject, remembered_until)
    values (${subject}, now() + make_interval(secs => ${rememberMs / 1000}))
    on conflict (subject) do update set remembered_until = excluded.remembered_until`;
}

export async function isKnownSource(sql: Queryable, subject: Buffer): Promise<boolean> {
  const [row] = await sql<{ known: boolean }[]>`
    select exists (select 1 from auth_known_source where subject = ${subject} and remembered_until > now()) as known`;
  return row!.known;
}

/**
 * Deletes up to `batchRows` counters whose window started more than `longestWindowMs` ago and that
 * block nothing: the next attempt on such a subject would start a fresh window anyway (the upserts
 * above), so deleting the row changes no answer. Returns how many went.
 */
export async function purgeThrottleBatch(
  sql: Queryable,
  longestWindowMs: number,
  batchRows: number,
): Promise<number> {
  const rows = await sql`
    delete from auth_throttle where subject in (
      select subject from auth_throttle
      where window_started_at < now() - make_interval(secs => ${longestWindowMs / 1000})
        and (blocked_until is null or blocked_until < now())
      limit ${batchRows}
      for update skip locked)`;
  return rows.count;
}

/** Deletes up to `batchRows` known sources no longer remembered; how many. */
export async function purgeKnownSourceBatch(sql: Queryable, batchRows: number): Promise<number> {
  const rows = await sql`
    delete from auth_known_source where subject in (
      select subject from auth_known_source where remembered_until < now()
      limit ${batchRows}
      for update skip locked)`;
  return rows.count;
}

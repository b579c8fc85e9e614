/**
 * The numbers behind the operations console's overview: credit decisions by outcome per business
 * day, active loans per delinquency bucket, open reviews, the last close of business, and a check
 * that the most recent journal entries balance. Reads are bounded: decisions by a window of days
 * (created_at index), journal entries by an id range (ids embed their creation time) and a row cap,
 * and the whole read by a statement timeout, so a dashboard refresh never loads the database. The
 * bucket counts group the active loans; past millions of them they belong in a counter kept by COB.
 */
import { invariant } from '../domain/index.ts';
import { owedByBucket } from './back-office.ts';
import type { Queryable, Sql } from './db.ts';
import { ID_EPOCH_MS } from './id-generator.ts';

export const SUMMARY_DAYS_DEFAULT = 14;
export const SUMMARY_DAYS_MAX = 90;
/** The ledger check looks at entries made within this many hours... */
export const LEDGER_WINDOW_HOURS = 24;
/** ...and at most this many of them (the newest), so a busy day still reads in milliseconds. */
export const LEDGER_ENTRIES_MAX = 50_000;
/** The whole summary must read within this; past it the caller gets a retryable refusal. */
export const SUMMARY_STATEMENT_TIMEOUT_MS = 3_000;

export const BUCKETS = ['current', 'M1', 'M2', 'M3', 'M3+'] as const;
export type Bucket = (typeof BUCKETS)[number];

export interface DecisionDay {
  date: string;
  approve: number;
  decline: number;
  refer: number;
}

export interface BucketCount {
  bucket: Bucket;
  loans: number;
  principalMinor: bigint;
  /** What those loans' unpaid installments still owe, every component. */
  owedMinor: bigint;
}

export interface LedgerWindow {
  status: 'balanced' | 'unbalanced';
  windowHours: number;
  entries: number;
  truncated: boolean;
  debitsMinor: bigint;
  creditsMinor: bigint;
  unbalancedEntries: number;
}

export interface OpsSummary {
  days: number;
  timeZone: string;
  decisionsByDay: DecisionDay[];
  loansByBucket: BucketCount[];
  openReviews: number;
  lastCob: { businessDate: string; status: string; loansDone: number; loansTotal: number } | null;
  ledger: LedgerWindow;
}

/** The smallest id fenqi_next_id() could have made at `ms` (Unix epoch milliseconds). */
export function firstIdAt(ms: number): bigint {
  return BigInt(Math.max(0, ms - ID_EPOCH_MS)) << 22n;
}

/** Calendar days from `first` to `last` inclusive (YYYY-MM-DD), oldest first. */
export function daysBetween(first: string, last: string): string[] {
  const out: string[] = [];
  const end = Date.parse(`${last}T00:00:00Z`);
  for (let t = Date.parse(`${first}T00:00:00Z`); t <= end; t += 86_400_000) {
    out.push(new Date(t).toISOString().slice(0, 10));
  }
  return out;
}

export async function readOpsSummary(
  sql: Sql,
  options: { days: number; timeZone: string; nowMs?: number },
): Promise<OpsSummary> {
  const { days, timeZone } = options;
  invariant(Number.isInteger(days) && days >= 1 && days <= SUMMARY_DAYS_MAX, 'summary days out of range');
  const nowMs = options.nowMs ?? Date.now();
  return sql.begin(async (tx) => {
    await tx.unsafe(`set local statement_timeout = ${SUMMARY_STATEMENT_TIMEOUT_MS}`);
    const [today] = await tx<{ d: string }[]>`
      select to_char((to_timestamp(${nowMs / 1000}) at time zone ${timeZone})::date, 'YYYY-MM-DD') as d`;
    const last = today!.d;
    const first = new Date(Date.parse(`${last}T00:00:00Z`) - (days - 1) * 86_400_000)
      .toISOString()
      .slice(0, 10);
    return {
      days,
      timeZone,
      decisionsByDay: await decisionsByDay(tx, first, last, timeZone),
      loansByBucket: await loansByBucket(tx),
      openReviews: await openReviews(tx),
      lastCob: await lastCob(tx),
      ledger: await recentLedger(tx, nowMs),
    };
  });
}

async function decisionsByDay(
  tx: Queryable,
  first: string,
  last: string,
  timeZone: string,
): Promise<DecisionDay[]> {
  // The window's bounds in UTC, so the created_at index does the range and the zone only groups.
  const rows = await tx<{ d: string; outcome: string; n: bigint }[]>`
    select to_char((created_at at time zone ${timeZone})::date, 'YYYY-MM-DD') as d, outcome,
           count(*)::bigint as n
    from credit_decisions
    where created_at >= (${first}::date)::timestamp at time zone ${timeZone}
      and created_at < (${last}::date + 1)::timestamp at time zone ${timeZone}
    group by 1, 2`;
  const byDay = new Map(
    daysBetween(first, last).map((d) => [d, { date: d, approve: 0, decline: 0, refer: 0 }]),
  );
  for (const r of rows) {
    const day = byDay.get(r.d);
    if (day && (r.outcome === 'approve' || r.outcome === 'decline' || r.outcome === 'refer')) {
      day[r.outcome] = Number(r.n);
    }
  }
  return [...byDay.values()];
}

async function loansByBucket(tx: Queryable): Promise<BucketCount[]> {
  const rows = await tx<{ bucket: Bucket; n: bigint; principal: bigint }[]>`
    select l.bucket, count(*)::bigint as n,
           coalesce(sum(l.principal_minor), 0)::bigint as principal
    from loans l where l.status = 'active' group by l.bucket`;
  const found = new Map(rows.map((r) => [r.bucket, r]));
  const owed = await owedByBucket(tx);
  return BUCKETS.map((bucket) => ({
    bucket,
    loans: Number(found.get(bucket)?.n ?? 0n),
    principalMinor: found.get(bucket)?.principal ?? 0n,
    owedMinor: owed.get(bucket) ?? 0n,
  }));
}

async function openReviews(tx: Queryable): Promise<number> {
  const [row] = await tx<
    { n: bigint }[]
  >`select count(*)::bigint as n from risk_reviews where status = 'open'`;
  return Number(row?.n ?? 0n);
}

async function lastCob(tx: Queryable): Promise<OpsSummary['lastCob']> {
  const [row] = await tx<
    { business_date: string; status: string; loans_done: number; loans_total: number }[]
  >`
    select to_char(business_date, 'YYYY-MM-DD') as business_date, status, loans_done, loans_total
    from cob_runs order by business_date desc limit 1`;
  return row
    ? {
        businessDate: row.business_date,
        status: row.status,
        loansDone: row.loans_done,
        loansTotal: row.loans_total,
      }
    : null;
}

async function recentLedger(tx: Queryable, nowMs: number): Promise<LedgerWindow> {
  const since = firstIdAt(nowMs - LEDGER_WINDOW_HOURS * 3_600_000);
  const [row] = await tx<
    { entries: bigint; debits: bigint; credits: bigint; unbalanced: bigint; more: boolean }[]
  >`
    with recent as (
      select id from journal_entries where id >= ${since.toString()}::bigint
      order by id desc limit ${LEDGER_ENTRIES_MAX + 1}
    ), checked as (
      select id from recent order by id desc limit ${LEDGER_ENTRIES_MAX}
    ), per_entry as (
      select c.id, coalesce(sum(l.debit_minor), 0) as debits, coalesce(sum(l.credit_minor), 0) as credits,
             count(l.id) as lines
      from checked c left join journal_lines l on l.entry_id = c.id
      group by c.id
    )
    select count(*)::bigint as entries,
           coalesce(sum(debits), 0)::bigint as debits,
           coalesce(sum(credits), 0)::bigint as credits,
           count(*) filter (where debits <> credits or lines < 2)::bigint as unbalanced,
           (select count(*) from recent) > ${LEDGER_ENTRIES_MAX} as more
    from per_entry`;
  const unbalanced = Number(row?.unbalanced ?? 0n);
  const debitsMinor = row?.debits ?? 0n;
  const creditsMinor = row?.credits ?? 0n;
  return {
    status: unbalanced === 0 && debitsMinor === creditsMinor ? 'balanced' : 'unbalanced',
    windowHours: LEDGER_WINDOW_HOURS,
    entries: Number(row?.entries ?? 0n),
    truncated: row?.more ?? false,
    debitsMinor,
    creditsMinor,
    unbalancedEntries: unbalanced,
  };
}

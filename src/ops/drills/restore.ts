/**
 * Restore drill: take (or find) the latest backup in the off-site repository, write on, pick a
 * point in time between two bursts of writes, restore into a scratch cluster with PITR to that
 * time, and prove it: every table's row count equals the source's at that time (so nothing
 * committed after it came back), and the ledger balances (when the ledger tables exist).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type postgres from 'postgres';
import { openPostgres } from '../../store/db.ts';
import { backupInfo, backupsIn, runBackup } from '../backup.ts';
import { currentLeader, type TopologyState, waitHealthy } from '../cluster.ts';
import { chownToPostgres, runAsPostgres, sleep } from '../proc.ts';
import type { Check, DrillReport } from '../report.ts';
import { type RestoredServer, restoreInto, sealWal, startRestored } from '../restore.ts';
import { topologyStatus } from '../status.ts';
import {
  APP_DATABASE,
  appDatabaseUrl,
  LOOPBACK,
  memberDatabaseUrl,
  PG_BIN_DIR,
  type TopologySpec,
} from '../topology.ts';
import {
  type DrillOptions,
  finishReport,
  incompleteCheck,
  newRecord,
  runDrill,
  since,
  ticker,
} from './common.ts';
import { createDrillTable, DrillWriter } from './writer.ts';

/** Goal from the issue: the off-site copy is never more than a minute behind. */
export const OFFSITE_WAL_AGE_GOAL_S = 60;
const HEALTHY_LIMIT_MS = 60_000;
const AGE_SAMPLE_EVERY_MS = 1_000;
/** Commits on either side of the target are this far from it, so the cut is unambiguous. */
const TARGET_GAP_MS = 1_000;

export interface RestoreDrillOptions extends DrillOptions {
  /** Seconds of steady load before the target, sampling the age of the newest off-site WAL. */
  loadS?: number;
  repo?: 1 | 2;
  /** Keep the restored directory here instead of a scratch directory that is removed. */
  into?: string;
  /** Also run pgbench with this many clients during the load, in its own database. */
  pgbenchClients?: number;
  /**
   * Apply fenqi's migrations and post balanced journal entries on both sides of the target, so the
   * ledger check has real books to prove. Default: only in a topology the drill stood up itself
   * (an existing one is the application's, and its schema is the deployment's business).
   */
  seedLedger?: boolean;
}

const LEDGER_ENTRIES_BEFORE_TARGET = 50;
const LEDGER_ENTRIES_AFTER_TARGET = 20;

async function migrateAppDatabase(url: string): Promise<number> {
  const { connectPostgres } = await import('../../store/db.ts');
  const { migrate } = await import('../../store/migrate.ts');
  const sql = connectPostgres(url, 1, 'fenqi-ops-drill');
  try {
    return (await migrate(sql)).applied.length;
  } finally {
    await sql.end({ timeout: 2 });
  }
}

/** Balanced entries through the ledger's own posting code, each in its own transaction. */
async function postLedgerEntries(url: string, count: number, tag: string): Promise<void> {
  const { connectPostgres } = await import('../../store/db.ts');
  const { postEntries } = await import('../../store/ledger.ts');
  const { merchantSettlementPostings } = await import('../../domain/postings.ts');
  const sql = connectPostgres(url, 1, 'fenqi-ops-drill');
  const businessDate = new Date().toISOString().slice(0, 10);
  try {
    for (let i = 1; i <= count; i++) {
      const posting = merchantSettlementPostings({ customerId: null, loanId: null }, BigInt(100 * i + 1));
      await sql.begin((tx) =>
        postEntries(tx, [
          { eventKey: `ops-drill-${tag}-${i}`, businessDate, customerId: null, loanId: null, posting },
        ]),
      );
    }
  } finally {
    await sql.end({ timeout: 2 });
  }
}

const LOAD_DATABASE = 'ops_load';
const PGBENCH_SCALE = 10;

/**
 * Heavy write load next to the drill writer, so the off-site WAL age is measured while segments
 * fill by volume and not only by archive_timeout. Its own database keeps the row counts of the
 * application database untouched.
 */
async function pgbenchLoad(
  spec: TopologySpec,
  clients: number,
  seconds: number,
): Promise<{ tps: number; walBytes: number }> {
  const leader = await currentLeader(spec);
  if (!leader) throw new Error('no primary for pgbench');
  const admin = openPostgres(memberDatabaseUrl(spec, leader, 'postgres'), { max: 1, onnotice: () => {} });
  try {
    const [exists] = await admin`select 1 from pg_database where datname = ${LOAD_DATABASE}`;
    if (!exists) await admin.unsafe(`create database ${LOAD_DATABASE}`);
    const env = {
      PGPASSWORD: spec.passwords.superuser,
      PGHOST: LOOPBACK,
      PGPORT: String(leader.pgPort),
      PGUSER: 'postgres',
      PGSSLMODE: 'verify-full',
      PGSSLROOTCERT: spec.tls.caFile,
    };
    await runAsPostgres(
      path.join(PG_BIN_DIR, 'pgbench'),
      ['-i', '-q', '-s', String(PGBENCH_SCALE), LOAD_DATABASE],
      { env },
    );
    const [before] = await admin<{ lsn: string }[]>`select pg_current_wal_lsn()::text as lsn`;
    const { stdout } = await runAsPostgres(
      path.join(PG_BIN_DIR, 'pgbench'),
      ['-n', '-c', String(clients), '-j', '2', '-T', String(seconds), LOAD_DATABASE],
      { env, timeoutMs: (seconds + 60) * 1000 },
    );
    const [wal] = await admin<
      { bytes: string }[]
    >`select pg_wal_lsn_diff(pg_current_wal_lsn(), ${before!.lsn}::pg_lsn)::text as bytes`;
    const tps = Number(/tps = ([\d.]+)/.exec(stdout)?.[1] ?? 0);
    return { tps: Math.round(tps), walBytes: Number(wal!.bytes) };
  } finally {
    await admin.end({ timeout: 2 });
  }
}

export async function runRestoreDrill(options: RestoreDrillOptions = {}): Promise<DrillReport> {
  return await runDrill(options, { postgres: true, nats: false }, (state, own, startedAt) =>
    restoreDrill(state, own, startedAt, options),
  );
}

type Counts = Record<string, number>;

const ARCHIVE_CATCH_UP_MS = 120_000;

/** The segment before a WAL file name (same timeline), to tell when the archiver is caught up. */
function prevSegment(wal: string): string {
  const n = BigInt(`0x${wal.slice(8)}`);
  const log = n >> 32n;
  const seg = n & 0xffffffffn;
  const prev = seg === 0n ? ((log - 1n) << 32n) | 0xffn : (log << 32n) | (seg - 1n);
  return wal.slice(0, 8) + prev.toString(16).toUpperCase().padStart(16, '0');
}

async function tableCounts(sql: postgres.Sql | postgres.TransactionSql): Promise<Counts> {
  const tables = await sql<{ name: string }[]>`
    select format('%I.%I', schemaname, tablename) as name from pg_tables
    where schemaname not in ('pg_catalog', 'information_schema') order by 1`;
  const counts: Counts = {};
  for (const { name } of tables) {
    const [row] = await sql.unsafe<{ n: string }[]>(`select count(*)::text as n from ${name}`);
    counts[name] = Number(row?.n ?? 0);
  }
  return counts;
}

async function ledgerCheck(url: string): Promise<Check> {
  const sql = openPostgres(url, { max: 1, connect_timeout: 5, onnotice: () => {} });
  try {
    const [reg] = await sql<{ t: string | null }[]>`select to_regclass('journal_lines')::text as t`;
    if (!reg?.t) {
      return {
        name: 'ledger balances',
        ok: true,
        detail: 'skipped: no journal_lines table in this database yet',
      };
    }
    const [sum] = await sql<{ debit: string; credit: string; lines: string }[]>`
      select coalesce(sum(debit_minor), 0)::text as debit, coalesce(sum(credit_minor), 0)::text as credit,
             count(*)::text as lines
      from journal_lines`;
    const ok = sum !== undefined && BigInt(sum.debit) === BigInt(sum.credit);
    return {
      name: 'ledger balances',
      ok,
      detail: `${sum?.lines} journal lines: debits ${sum?.debit} ${ok ? '=' : '≠'} credits ${sum?.credit} (minor units)`,
    };
  } finally {
    await sql.end({ timeout: 2 });
  }
}

async function restoreDrill(
  state: TopologyState,
  own: boolean,
  startedAt: Date,
  options: RestoreDrillOptions,
): Promise<DrillReport> {
  const { spec } = state;
  const repo = options.repo ?? 2;
  const loadMs = (options.loadS ?? 35) * 1000;
  const record = newRecord({ repo: `repo${repo}` });
  const { checks, notes, timings, figures } = record;
  let phase = 'waiting for a healthy topology';
  await waitHealthy(spec, HEALTHY_LIMIT_MS);
  const url = appDatabaseUrl(spec);
  // schema changes are the owner's; the load, like the app, only writes rows
  const ownerUrl = appDatabaseUrl(spec, APP_DATABASE, 'primary', 'owner');
  const seedLedger = options.seedLedger ?? own;
  if (seedLedger) {
    phase = 'applying fenqi migrations';
    figures.migrationsApplied = await migrateAppDatabase(ownerUrl);
  }
  await createDrillTable(ownerUrl);
  const writer = new DrillWriter(url, `restore-${startedAt.toISOString()}`, Date.now());
  const ages: number[] = [];
  let restored: RestoredServer | undefined;
  const scratch =
    options.into ?? path.join(await mkdtemp(path.join(os.tmpdir(), 'fenqi-restore-')), 'pgdata');
  if (!options.into) chownToPostgres(path.dirname(scratch));
  const stopTicker = ticker(() => {
    const s = writer.stats();
    const age = ages.at(-1);
    return `restore drill: ${phase}; writes acked ${s.acked}${age === undefined ? '' : `, newest off-site WAL ${age} s old`}`;
  });
  const source = openPostgres(url, { max: 1, connect_timeout: 5, onnotice: () => {} });
  try {
    writer.start();
    let backups = backupsIn(await backupInfo(spec), repo);
    if (backups.length === 0) {
      phase = `no backup in repo${repo} yet: taking a full backup`;
      const t0 = Date.now();
      await runBackup(spec, 'full', repo);
      timings.backupMs = since(t0);
      backups = backupsIn(await backupInfo(spec), repo);
    }
    const backup = backups.at(-1)!;
    figures.backupLabel = backup.label;
    figures.backupType = backup.type;
    figures.backupStoppedAt = backup.stopAt;

    phase = 'steady load, sampling the age of the newest archived WAL';
    const heavy =
      options.pgbenchClients && loadMs > 0
        ? pgbenchLoad(spec, options.pgbenchClients, loadMs / 1000)
        : undefined;
    const loadEnd = Date.now() + loadMs;
    while (Date.now() < loadEnd) {
      const status = await topologyStatus(state);
      if (status.archive?.ageS != null) ages.push(status.archive.ageS);
      await sleep(AGE_SAMPLE_EVERY_MS);
    }
    if (heavy) {
      const { tps, walBytes } = await heavy;
      figures.pgbenchClients = options.pgbenchClients!;
      figures.pgbenchTps = tps;
      figures.walMbPerS = Math.round((walBytes / 1024 / 1024 / (loadMs / 1000)) * 10) / 10;
      // Sample on until the archiver has caught up with what pgbench wrote.
      const catchUpEnd = Date.now() + ARCHIVE_CATCH_UP_MS;
      while (Date.now() < catchUpEnd) {
        const status = await topologyStatus(state);
        if (status.archive?.ageS != null) ages.push(status.archive.ageS);
        if (
          status.archive?.lastArchivedWal &&
          status.archive.currentWal &&
          status.archive.lastArchivedWal >= prevSegment(status.archive.currentWal)
        )
          break;
        await sleep(AGE_SAMPLE_EVERY_MS);
      }
    }
    figures.offsiteWalAgeMaxS = ages.length ? Math.max(...ages) : null;
    figures.offsiteWalAgeSamples = ages.length;

    const tag = startedAt.getTime().toString(36);
    if (seedLedger) {
      phase = 'posting journal entries before the target';
      await postLedgerEntries(url, LEDGER_ENTRIES_BEFORE_TARGET, `${tag}-before`);
    }

    phase = 'choosing the recovery target';
    await writer.quiesce();
    const snapshot = await source.begin('isolation level repeatable read', async (tx) => {
      const counts = await tableCounts(tx);
      const [t] = await tx<{ t: string }[]>`select clock_timestamp()::text as t`;
      return { counts, target: t!.t };
    });
    figures.target = snapshot.target;
    figures.tables = Object.keys(snapshot.counts).length;
    figures.drillRowsAtTarget = snapshot.counts[`public.${'ops_drill_writes'}`] ?? null;
    await sleep(TARGET_GAP_MS);
    writer.resume();
    phase = 'writing past the target';
    if (seedLedger) await postLedgerEntries(url, LEDGER_ENTRIES_AFTER_TARGET, `${tag}-after`);
    await sleep(2_000);
    await writer.quiesce();
    const after = await tableCounts(source);
    figures.drillRowsWrittenAfterTarget =
      (after['public.ops_drill_writes'] ?? 0) - (figures.drillRowsAtTarget as number);

    phase = 'waiting for the WAL past the target to reach the repositories';
    timings.archiveAfterSwitchMs = await sealWal(spec);

    phase = `restoring from repo${repo} to ${snapshot.target}`;
    const r0 = Date.now();
    await restoreInto(spec, { target: snapshot.target, into: scratch, repo });
    timings.restoreMs = since(r0);
    phase = 'replaying WAL to the target in the scratch cluster';
    const p0 = Date.now();
    restored = await startRestored(spec, scratch);
    timings.recoveryMs = since(p0);
    timings.totalRestoreMs = since(r0);

    const restoredSql = openPostgres(restored.url('fenqi'), { max: 1, onnotice: () => {} });
    let restoredCounts: Counts;
    try {
      restoredCounts = await tableCounts(restoredSql);
    } finally {
      await restoredSql.end({ timeout: 2 });
    }
    const differences = Object.keys({ ...snapshot.counts, ...restoredCounts })
      .filter((t) => snapshot.counts[t] !== restoredCounts[t])
      .map(
        (t) => `${t}: source ${snapshot.counts[t] ?? 'absent'}, restored ${restoredCounts[t] ?? 'absent'}`,
      );
    checks.push({
      name: 'row counts equal the source at the target time',
      ok: differences.length === 0,
      detail:
        differences.length === 0
          ? `${figures.tables} tables match; ${figures.drillRowsAtTarget} drill rows, none of the ${figures.drillRowsWrittenAfterTarget} written after the target`
          : differences.join('; '),
    });
    checks.push(await ledgerCheck(restored.url('fenqi')));
    if (figures.offsiteWalAgeMaxS !== null) {
      checks.push({
        name: `off-site WAL never older than ${OFFSITE_WAL_AGE_GOAL_S} s`,
        ok: (figures.offsiteWalAgeMaxS as number) <= OFFSITE_WAL_AGE_GOAL_S,
        detail: `max age ${figures.offsiteWalAgeMaxS} s over ${ages.length} samples under load`,
      });
    }
    notes.push(
      `Restored with pgbackrest --repo=${repo} --type=time --target='${snapshot.target}' --target-action=promote.`,
      'The age of the newest archived WAL is now minus pg_stat_archiver.last_archived_time on the primary; archive-push returns success only after both repositories hold the segment.',
    );
  } catch (err) {
    checks.push(incompleteCheck(phase, err));
  } finally {
    stopTicker();
    await writer.stop();
    await source.end({ timeout: 2 });
    await restored?.stop();
    if (!options.into) await rm(path.dirname(scratch), { recursive: true, force: true });
  }
  return finishReport('restore', startedAt, own, record, {
    pass: () =>
      `restored from repo${repo} to ${figures.target} in ${timings.totalRestoreMs} ms; counts match and the ledger check is ${checks.find((c) => c.name === 'ledger balances')?.detail.startsWith('skipped') ? 'skipped' : 'balanced'}`,
  });
}

/**
 * `fenqi ops status`: who is primary, how far behind each standby is (bytes and seconds), how old
 * the newest archived WAL is (an archived segment is in both repositories: archive-push returns
 * success only once each repository holds it), and the last backup in each repository.
 */
import { openPostgres } from '../store/db.ts';
import { type BackupSummary, backupInfo, lastBackupPerRepo } from './backup.ts';
import { clusterView, isRunning, type TopologyState, tcpOpen } from './cluster.ts';
import { memberDatabaseUrl } from './topology.ts';

export interface MemberStatus {
  name: string;
  region: string;
  role: string;
  state: string;
  timeline: number | null;
  syncState: string | null;
  lagBytes: number | null;
  lagS: number | null;
}

export interface TopologyStatus {
  at: string;
  primary: string | null;
  members: MemberStatus[];
  archive: {
    lastArchivedWal: string | null;
    lastArchivedAt: string | null;
    ageS: number | null;
    currentWal: string | null;
    failedCount: number | null;
    lastFailedWal: string | null;
  } | null;
  backups: { repo1: BackupSummary | null; repo2: BackupSummary | null };
  nats: { name: string; port: number; up: boolean }[];
}

interface ReplicationRow {
  name: string;
  sync_state: string;
  lag_bytes: string | null;
  lag_s: number | null;
}

export async function topologyStatus(state: TopologyState): Promise<TopologyStatus> {
  const { spec } = state;
  const view = (await clusterView(spec)) ?? [];
  const leaderView = view.find((m) => m.role === 'leader' && isRunning(m));
  const leader = spec.members.find((m) => m.name === leaderView?.name);
  const replication = new Map<string, ReplicationRow>();
  let archive: TopologyStatus['archive'] = null;
  if (leader) {
    const sql = openPostgres(memberDatabaseUrl(spec, leader, 'postgres'), {
      max: 1,
      connect_timeout: 3,
      onnotice: () => {},
    });
    try {
      // replay_lag is null once a standby has caught up and nothing new was written: that is 0 s.
      const rows = await sql<ReplicationRow[]>`
        select application_name as name, sync_state,
               pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::text as lag_bytes,
               coalesce(extract(epoch from replay_lag)::float8, 0) as lag_s
        from pg_stat_replication`;
      for (const row of rows) replication.set(row.name, row);
      const [a] = await sql<
        {
          last_archived_wal: string | null;
          last_archived_time: Date | null;
          age_s: number | null;
          current_wal: string;
          failed_count: string;
          last_failed_wal: string | null;
        }[]
      >`select last_archived_wal, last_archived_time,
               extract(epoch from clock_timestamp() - last_archived_time)::float8 as age_s,
               pg_walfile_name(pg_current_wal_lsn()) as current_wal,
               failed_count::text, last_failed_wal
        from pg_stat_archiver`;
      if (a) {
        archive = {
          lastArchivedWal: a.last_archived_wal,
          lastArchivedAt: a.last_archived_time?.toISOString() ?? null,
          ageS: a.age_s === null ? null : Math.round(a.age_s * 10) / 10,
          currentWal: a.current_wal,
          failedCount: Number(a.failed_count),
          lastFailedWal: a.last_failed_wal,
        };
      }
    } finally {
      await sql.end({ timeout: 2 });
    }
  }
  const members: MemberStatus[] = spec.members.map((m) => {
    const v = view.find((x) => x.name === m.name);
    const r = replication.get(m.name);
    const isLeader = v?.role === 'leader';
    return {
      name: m.name,
      region: m.region,
      role: v?.role ?? 'unreachable',
      state: v?.state ?? 'unreachable',
      timeline: v?.timeline ?? null,
      syncState: r?.sync_state ?? null,
      lagBytes: isLeader ? 0 : r?.lag_bytes == null ? null : Number(r.lag_bytes),
      lagS: isLeader ? 0 : r ? Math.round((r.lag_s ?? 0) * 1000) / 1000 : null,
    };
  });
  let backups: TopologyStatus['backups'] = { repo1: null, repo2: null };
  try {
    backups = lastBackupPerRepo(await backupInfo(spec));
  } catch {
    // pgBackRest unreachable or no stanza yet: shown as no backup
  }
  const nats = await Promise.all(
    spec.nats.map(async (n) => ({
      name: n.name,
      port: n.clientPort,
      up: (await tcpOpen(n.clientPort)) === true,
    })),
  );
  return { at: new Date().toISOString(), primary: leader?.name ?? null, members, archive, backups, nats };
}

export function formatStatus(s: TopologyStatus): string {
  const lines = [
    `primary: ${s.primary ?? 'NONE'}`,
    '',
    'member  region   role          state      lag bytes   lag s',
  ];
  for (const m of s.members) {
    lines.push(
      `${m.name.padEnd(8)}${m.region.padEnd(9)}${m.role.padEnd(14)}${m.state.padEnd(11)}${String(m.lagBytes ?? '-').padStart(9)}${String(m.lagS ?? '-').padStart(8)}`,
    );
  }
  const a = s.archive;
  lines.push(
    '',
    a
      ? `last archived WAL: ${a.lastArchivedWal ?? 'none'} at ${a.lastArchivedAt ?? '-'} (age ${a.ageS ?? '-'} s; current ${a.currentWal}; failures ${a.failedCount})`
      : 'last archived WAL: unknown (no primary)',
  );
  for (const repo of ['repo1', 'repo2'] as const) {
    const b = s.backups[repo];
    lines.push(
      b
        ? `last backup ${repo}: ${b.type} ${b.label} at ${b.stopAt} (age ${b.ageS} s)`
        : `last backup ${repo}: none`,
    );
  }
  if (s.nats.length > 0) {
    lines.push(`nats: ${s.nats.map((n) => `${n.name}:${n.port} ${n.up ? 'up' : 'DOWN'}`).join(', ')}`);
  }
  return lines.join('\n');
}

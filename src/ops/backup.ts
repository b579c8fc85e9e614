/**
 * Backups through pgBackRest: full, differential and incremental, to the local repository (repo1)
 * or the off-site one (repo2), always taken from the current primary.
 */
import { currentLeader, pgbackrest } from './cluster.ts';
import type { TopologySpec } from './topology.ts';

export type BackupType = 'full' | 'diff' | 'incr';

export interface BackupSummary {
  label: string;
  type: string;
  repo: number;
  startAt: string;
  stopAt: string;
  ageS: number;
  sizeBytes: number | null;
  walStart: string | null;
  walStop: string | null;
}

interface InfoBackup {
  label: string;
  type: string;
  database: { 'repo-key': number };
  timestamp: { start: number; stop: number };
  info?: { size?: number; repository?: { size?: number } };
  archive?: { start?: string; stop?: string };
}

interface InfoStanza {
  name: string;
  backup: InfoBackup[];
  archive: { id: string; min: string | null; max: string | null; database?: { 'repo-key': number } }[];
  status: { code: number; message: string };
}

export async function backupInfo(spec: TopologySpec): Promise<InfoStanza[]> {
  return JSON.parse(await pgbackrest(spec, undefined, ['info', '--output=json'], 60_000)) as InfoStanza[];
}

function summarize(b: InfoBackup): BackupSummary {
  return {
    label: b.label,
    type: b.type,
    repo: b.database['repo-key'],
    startAt: new Date(b.timestamp.start * 1000).toISOString(),
    stopAt: new Date(b.timestamp.stop * 1000).toISOString(),
    ageS: Math.round(Date.now() / 1000 - b.timestamp.stop),
    sizeBytes: b.info?.size ?? null,
    walStart: b.archive?.start ?? null,
    walStop: b.archive?.stop ?? null,
  };
}

export function backupsIn(info: InfoStanza[], repo: number): BackupSummary[] {
  return (info[0]?.backup ?? []).filter((b) => b.database['repo-key'] === repo).map(summarize);
}

export function lastBackupPerRepo(info: InfoStanza[]): {
  repo1: BackupSummary | null;
  repo2: BackupSummary | null;
} {
  return { repo1: backupsIn(info, 1).at(-1) ?? null, repo2: backupsIn(info, 2).at(-1) ?? null };
}

export async function runBackup(spec: TopologySpec, type: BackupType, repo: 1 | 2): Promise<BackupSummary> {
  const leader = await currentLeader(spec);
  if (!leader) throw new Error('no primary: a backup needs a running primary');
  await pgbackrest(spec, leader, ['backup', `--type=${type}`, `--repo=${repo}`]);
  const latest = backupsIn(await backupInfo(spec), repo).at(-1);
  if (!latest) throw new Error(`pgbackrest reported success but repo${repo} lists no backup`);
  return latest;
}

/**
 * Point-in-time restore from a pgBackRest repository into a directory, and a scratch PostgreSQL
 * on it that replays WAL up to the target and is then promoted, so the result can be queried.
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { openPostgres } from '../store/db.ts';
import { currentLeader, pgbackrest } from './cluster.ts';
import { GiveUp, isAlive, killTree, mkdirOwned, progress, sleep, spawnDaemon, waitFor } from './proc.ts';
import {
  freePort,
  LOOPBACK,
  memberDatabaseUrl,
  PG_BIN_DIR,
  type TopologySpec,
  tlsQuery,
} from './topology.ts';

const RECOVERY_LIMIT_MS = 180_000;
const STOP_LIMIT_MS = 30_000;

const ARCHIVED_LIMIT_MS = 90_000;

/**
 * Makes everything committed so far recoverable from the repositories: a commit record after the
 * target (PostgreSQL only stops a time-targeted recovery on a commit past the target and refuses
 * to end short of it), then a WAL switch, then a wait until archive-push has put that segment in
 * both repositories. Returns how long the archiving took.
 */
export async function sealWal(spec: TopologySpec): Promise<number> {
  const leader = await currentLeader(spec);
  if (!leader) throw new Error('no primary to switch WAL on');
  const sql = openPostgres(memberDatabaseUrl(spec, leader, 'postgres'), { max: 1, onnotice: () => {} });
  try {
    await sql`select txid_current()`;
    const [sw] = await sql<{ wal: string }[]>`select pg_walfile_name(pg_switch_wal()) as wal`;
    const started = Date.now();
    await waitFor(
      `WAL ${sw!.wal} in both repositories`,
      async () => {
        const [a] = await sql<{ w: string | null }[]>`select last_archived_wal as w from pg_stat_archiver`;
        return a?.w && a.w.length === 24 && a.w >= sw!.wal ? true : undefined;
      },
      ARCHIVED_LIMIT_MS,
      200,
    );
    return Date.now() - started;
  } finally {
    await sql.end({ timeout: 2 });
  }
}

export interface RestoreOptions {
  /** recovery_target_time, e.g. 2026-11-24 23:19:40.123+00 */
  target: string;
  into: string;
  repo: 1 | 2;
}

export async function restoreInto(spec: TopologySpec, options: RestoreOptions): Promise<void> {
  const into = path.resolve(options.into);
  if (existsSync(into) && readdirSync(into).length > 0) throw new Error(`${into} is not empty`);
  await mkdirOwned(into);
  progress(`pgbackrest restore from repo${options.repo} to ${options.target} into ${into}`);
  await pgbackrest(spec, undefined, [
    `--repo=${options.repo}`,
    `--pg1-path=${into}`,
    '--type=time',
    `--target=${options.target}`,
    '--target-action=promote',
    'restore',
  ]);
}

export interface RestoredServer {
  pid: number;
  port: number;
  dataDir: string;
  url(database: string): string;
  stop(): Promise<void>;
}

/**
 * Starts PostgreSQL on a restored directory. The configuration inside came from a Patroni member,
 * so whatever would reach back into the live topology (archiving into its repositories, waiting
 * for its synchronous standby, its ports and paths) is overridden on the command line.
 */
export async function startRestored(spec: TopologySpec, dataDir: string): Promise<RestoredServer> {
  const port = await freePort();
  const logPath = path.join(path.dirname(dataDir), `${path.basename(dataDir)}.log`);
  const overrides = {
    port: String(port),
    listen_addresses: LOOPBACK,
    unix_socket_directories: '',
    archive_mode: 'off',
    synchronous_standby_names: '',
    primary_conninfo: '',
    primary_slot_name: '',
    hba_file: path.join(dataDir, 'pg_hba.conf'),
    ident_file: path.join(dataDir, 'pg_ident.conf'),
    cluster_name: 'fenqi-restore',
    shared_buffers: '32MB',
    max_connections: '60',
  };
  const args = ['-D', dataDir, ...Object.entries(overrides).flatMap(([k, v]) => ['-c', `${k}=${v}`])];
  const pid = spawnDaemon(path.join(PG_BIN_DIR, 'postgres'), args, logPath, { cwd: path.dirname(dataDir) });
  const password = encodeURIComponent(spec.passwords.superuser);
  const url = (database: string) =>
    `postgres://postgres:${password}@${LOOPBACK}:${port}/${database}?${tlsQuery(spec)}`;
  const server: RestoredServer = {
    pid,
    port,
    dataDir,
    url,
    async stop() {
      if (isAlive(pid)) process.kill(pid, 'SIGINT');
      const deadline = Date.now() + STOP_LIMIT_MS;
      while (isAlive(pid) && Date.now() < deadline) await sleep(100);
      killTree(pid);
    },
  };
  try {
    await waitFor(
      'the restored server to finish recovery and promote',
      async () => {
        if (!isAlive(pid)) throw new GiveUp(`restored postgres exited; see ${logPath}`);
        const sql = openPostgres(url('postgres'), { max: 1, connect_timeout: 2, onnotice: () => {} });
        try {
          const [row] = await sql<{ r: boolean }[]>`select pg_is_in_recovery() as r`;
          return row?.r === false ? true : undefined;
        } finally {
          await sql.end({ timeout: 1 });
        }
      },
      RECOVERY_LIMIT_MS,
      500,
    );
  } catch (err) {
    await server.stop();
    throw err;
  }
  return server;
}

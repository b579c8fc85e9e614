/**
 * A throwaway PostgreSQL server: initdb into a temp dir, postgres on a free loopback port, run as
 * the `postgres` user when we are root. Tuned for tests (fsync off): durability is not what a
 * unit of the suite checks; the DR drills run their own durable clusters.
 */
import { execFileSync } from 'node:child_process';
import { chownSync, readdirSync } from 'node:fs';
import path from 'node:path';
import postgres from 'postgres';
import { startCitusCluster, testDatabase } from './citus.ts';
import {
  findBinary,
  freePort,
  removeTempDir,
  type SpawnedServer,
  startServer,
  stopChild,
  tempDir,
  unprivilegedUser,
} from './process.ts';

export interface PostgresServer {
  url: string;
  port: number;
  dataDir: string;
  binDir: string;
  /** A fresh database on this server (own name), for test isolation inside one file. */
  createDatabase(name: string): Promise<string>;
  /** Fast shutdown. */
  stop(): Promise<void>;
  /** SIGKILL the postmaster: a crash. */
  kill(): Promise<void>;
  /** Start again on the same port and data. */
  start(): Promise<void>;
  /** Stop and delete everything. */
  destroy(): Promise<void>;
}

export function postgresBinDir(): string {
  if (process.env.PG_BIN) return process.env.PG_BIN;
  const root = '/usr/lib/postgresql';
  let versions: string[] = [];
  try {
    versions = readdirSync(root).sort((a, b) => Number(b) - Number(a));
  } catch {
    // fall through to PATH lookup
  }
  for (const version of versions) {
    try {
      return path.dirname(findBinary([path.join(root, version, 'bin', 'postgres')], 'postgresql'));
    } catch {
      // try an older version
    }
  }
  return path.dirname(findBinary(['postgres'], 'postgresql'));
}

/**
 * The database a test file runs against: one PostgreSQL, or with FENQI_TEST_DB=citus a Citus
 * coordinator and two workers (test/harness/citus.ts) behind the same interface.
 */
export async function startPostgres(
  options: { settings?: Record<string, string> } = {},
): Promise<PostgresServer> {
  if (testDatabase() === 'citus') return startCitusCluster(options);
  return startSinglePostgres(options);
}

export async function startSinglePostgres(
  options: { settings?: Record<string, string> } = {},
): Promise<PostgresServer> {
  const binDir = postgresBinDir();
  const user = unprivilegedUser();
  const root = tempDir('pg');
  const dataDir = path.join(root, 'data');
  if (user) chownSync(root, user.uid, user.gid);
  execFileSync(
    path.join(binDir, 'initdb'),
    ['-D', dataDir, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-sync', '--no-instructions'],
    { ...(user ?? {}), stdio: 'pipe' },
  );
  const port = await freePort();
  const settings: Record<string, string> = {
    listen_addresses: '127.0.0.1',
    unix_socket_directories: root,
    fsync: 'off',
    synchronous_commit: 'off',
    full_page_writes: 'off',
    shared_buffers: '64MB',
    max_connections: '200',
    ...options.settings,
  };
  const args = [
    '-D',
    dataDir,
    '-p',
    String(port),
    ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`]),
  ];
  let server: SpawnedServer | undefined;
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;

  const ping = async (dbUrl: string) => {
    const sql = postgres(dbUrl, { max: 1, connect_timeout: 1, onnotice: () => {} });
    try {
      await sql`select 1`;
      return true;
    } finally {
      await sql.end({ timeout: 1 });
    }
  };

  const start = async () => {
    server = await startServer('postgres', path.join(binDir, 'postgres'), args, () => ping(url), user ?? {});
  };
  await start();

  return {
    url,
    port,
    dataDir,
    binDir,
    async createDatabase(name) {
      const sql = postgres(url, { max: 1, onnotice: () => {} });
      try {
        await sql.unsafe(`create database ${name}`);
      } finally {
        await sql.end();
      }
      return `postgres://postgres@127.0.0.1:${port}/${name}`;
    },
    // SIGINT is PostgreSQL's fast shutdown.
    stop: async () => server && stopChild(server.child, 'SIGINT'),
    kill: async () => server && stopChild(server.child, 'SIGKILL'),
    start,
    async destroy() {
      if (server) await stopChild(server.child, 'SIGINT');
      removeTempDir(root);
    },
  };
}

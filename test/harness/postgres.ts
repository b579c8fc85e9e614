/**
 * A throwaway PostgreSQL server: initdb into a temp dir, postgres on a free loopback port, run as
 * the `postgres` user when we are root. Tuned for tests (fsync off): durability is not what a
 * unit of the suite checks; the DR drills run their own durable clusters.
 *
 * Started as production runs it (docs/security.md): TLS only (`hostssl`, no socket, no plaintext),
 * scram-sha-256 passwords, and three roles — the schema owner (migrations), the app (rows only)
 * and reporting (read-only) — on a database `fenqi`; clients verify the server (verify-full).
 */
import { execFileSync } from 'node:child_process';
import { chownSync, copyFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { openPostgres } from '../../src/store/db.ts';
import { createRolesSql, DEFAULT_DATABASE_ROLES, databaseGrantsSql } from '../../src/store/roles.ts';
import { harnessTls, testCerts, testPassword } from './certs.ts';
import { startCitusCluster, testDatabase } from './citus.ts';
import { type PlatformKeysEnv, platformKeysEnv } from './keys.ts';
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

export type PostgresRole = 'admin' | 'owner' | 'app' | 'report';
export const TEST_DATABASE = 'fenqi';

export interface PostgresServer {
  /** The schema owner on the test database `fenqi`: migrations, test set-up and checks. */
  url: string;
  /** The superuser `postgres` (create databases, look at anything). */
  adminUrl: string;
  /** The app's role: reads and writes rows, no DDL. */
  appUrl: string;
  /** CA that signed the server's certificate (sslrootcert of every URL). */
  caFile: string;
  port: number;
  dataDir: string;
  binDir: string;
  urlFor(role: PostgresRole, database?: string): string;
  /**
   * DATABASE_URL (app role), MIGRATION_DATABASE_URL (owner) and the platform's keys (one set per
   * server, so every process a test starts on it agrees) of a process on `database`.
   */
  env(database?: string): { DATABASE_URL: string; MIGRATION_DATABASE_URL: string } & PlatformKeysEnv;
  /** The keys alone (as `env` gives them), for a process started with DATABASE_URL spelled out. */
  keys: PlatformKeysEnv;
  /** A fresh database on this server (own name), set up like `fenqi`; answers the owner's URL. */
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

/** Only TLS with a password from loopback; no `local` line, so the socket refuses everyone. */
export const TEST_PG_HBA = [
  '# TYPE  DATABASE USER ADDRESS       METHOD',
  'hostssl all      all  127.0.0.1/32  scram-sha-256',
  'hostssl all      all  ::1/128       scram-sha-256',
  '',
].join('\n');

/** FENQI_TEST_TLS=off (the bench's comparison only): the same passwords, no TLS. */
const PLAIN_PG_HBA = TEST_PG_HBA.replaceAll('hostssl', 'host   ');

/** The server's certificate, key and CA, owned by the user PostgreSQL runs as (it checks). */
function installTls(root: string, owner: { uid: number; gid: number } | undefined) {
  const certs = testCerts();
  const files = {
    ssl_cert_file: path.join(root, 'server.crt'),
    ssl_key_file: path.join(root, 'server.key'),
    ssl_ca_file: path.join(root, 'ca.crt'),
  };
  copyFileSync(certs.serverCertFile, files.ssl_cert_file);
  copyFileSync(certs.serverKeyFile, files.ssl_key_file);
  copyFileSync(certs.caFile, files.ssl_ca_file);
  if (owner) for (const file of Object.values(files)) chownSync(file, owner.uid, owner.gid);
  return files;
}

function initCluster(binDir: string, root: string, dataDir: string, adminPassword: string) {
  const user = unprivilegedUser();
  if (user) chownSync(root, user.uid, user.gid);
  const pwfile = path.join(root, 'pwfile');
  writeFileSync(pwfile, `${adminPassword}\n`, { mode: 0o600 });
  if (user) chownSync(pwfile, user.uid, user.gid);
  execFileSync(
    path.join(binDir, 'initdb'),
    [
      '-D',
      dataDir,
      '-U',
      'postgres',
      '-A',
      'scram-sha-256',
      `--pwfile=${pwfile}`,
      '-E',
      'UTF8',
      '--no-sync',
      '--no-instructions',
    ],
    { ...(user ?? {}), stdio: 'pipe' },
  );
  const hbaFile = path.join(root, 'pg_hba.conf');
  writeFileSync(hbaFile, harnessTls() ? TEST_PG_HBA : PLAIN_PG_HBA);
  if (user) chownSync(hbaFile, user.uid, user.gid);
  return { user, hbaFile, tls: installTls(root, user) };
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

export type RolePasswords = Record<PostgresRole, string>;

export function newRolePasswords(): RolePasswords {
  return { admin: testPassword(), owner: testPassword(), app: testPassword(), report: testPassword() };
}

/** One PostgreSQL server; the nodes of a Citus cluster share `passwords` (their links log in with them). */
export async function startSinglePostgres(
  options: { settings?: Record<string, string>; passwords?: RolePasswords } = {},
): Promise<PostgresServer> {
  const binDir = postgresBinDir();
  const root = tempDir('pg');
  const dataDir = path.join(root, 'data');
  const passwords = options.passwords ?? newRolePasswords();
  const { user, hbaFile, tls } = initCluster(binDir, root, dataDir, passwords.admin);
  const port = await freePort();
  const settings: Record<string, string> = {
    listen_addresses: '127.0.0.1',
    unix_socket_directories: root,
    hba_file: hbaFile,
    ssl: harnessTls() ? 'on' : 'off',
    ...tls,
    password_encryption: 'scram-sha-256',
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
  // the copy PostgreSQL's user owns: clients running as that user (pgbench) can read it too
  const caFile = tls.ssl_ca_file;
  const linkQuery = harnessTls()
    ? `sslmode=verify-full&sslrootcert=${encodeURIComponent(caFile)}`
    : 'sslmode=disable';
  const roleNames = { admin: 'postgres', ...DEFAULT_DATABASE_ROLES };
  const urlFor = (role: PostgresRole, database = TEST_DATABASE) =>
    `postgres://${roleNames[role]}:${passwords[role]}@127.0.0.1:${port}/${database}?${linkQuery}`;

  const asAdmin = async (database: string, statements: string[]) => {
    const sql = openPostgres(urlFor('admin', database), { max: 1, connect_timeout: 1, onnotice: () => {} });
    try {
      for (const statement of statements) await sql.unsafe(statement);
    } finally {
      await sql.end({ timeout: 1 });
    }
  };
  let server: SpawnedServer | undefined;
  const start = async () => {
    server = await startServer(
      'postgres',
      path.join(binDir, 'postgres'),
      args,
      () => asAdmin('postgres', ['select 1']).then(() => true),
      // libpq inside the server (Citus's links between nodes) looks for a client certificate under
      // $HOME; root's home is not the postgres user's to read
      { ...(user ?? {}), env: { ...process.env, HOME: root } },
    );
  };
  const createDatabase = async (name: string) => {
    await asAdmin('postgres', [`create database ${name}`]);
    await asAdmin(name, databaseGrantsSql(name, DEFAULT_DATABASE_ROLES));
    return urlFor('owner', name);
  };
  const keys = platformKeysEnv();
  await start();
  await asAdmin('postgres', createRolesSql(DEFAULT_DATABASE_ROLES, passwords));
  await createDatabase(TEST_DATABASE);

  return {
    url: urlFor('owner'),
    adminUrl: urlFor('admin'),
    appUrl: urlFor('app'),
    caFile,
    port,
    dataDir,
    binDir,
    urlFor,
    env: (database = TEST_DATABASE) => ({
      DATABASE_URL: urlFor('app', database),
      MIGRATION_DATABASE_URL: urlFor('owner', database),
      ...keys,
    }),
    keys,
    createDatabase,
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

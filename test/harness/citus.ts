/**
 * A throwaway Citus cluster on loopback: a coordinator and two workers, each a PostgreSQL from
 * postgres.ts with `shared_preload_libraries = citus`, started like the single server (TLS only,
 * scram, the owner/app/report roles, all nodes with the same passwords). Links between nodes are
 * authenticated and encrypted too: `citus.node_conninfo` asks for verify-full against the test CA,
 * and pg_dist_authinfo holds each role's password for connections to any node. Every database the
 * cluster serves (the default one and each createDatabase()) gets the extension on every node and
 * the workers added on the coordinator, since Citus keeps its node list per database. `url` is the
 * coordinator's: the application connects to it exactly as to one PostgreSQL (DATABASE_URL,
 * nothing else changes).
 *
 * FENQI_TEST_DB=citus makes startPostgres() return one of these, so existing test files run
 * unchanged against Citus (the test matrix, see scripts/test.sh and test/citus/).
 */
import { chownSync, existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { citusAuthinfoSql } from '../../src/ops/citus-patroni.ts';
import { openPostgres } from '../../src/store/db.ts';
import { DEFAULT_DATABASE_ROLES } from '../../src/store/roles.ts';
import { harnessTls } from './certs.ts';
import {
  newRolePasswords,
  type PostgresServer,
  postgresBinDir,
  type RolePasswords,
  startSinglePostgres,
  TEST_DATABASE,
} from './postgres.ts';
import { unprivilegedUser } from './process.ts';

export type TestDatabase = 'postgres' | 'citus';

export const CITUS_WORKER_COUNT = 2;
/**
 * Shards per distributed table in tests: far fewer than Citus's default 32 so each database a test
 * creates is distributed quickly (close of business creates one per test), still two shards per
 * worker so co-location is exercised and a rebalance onto a third worker has a shard group to move.
 */
export const TEST_SHARD_COUNT = 4;
/** Two-phase commit needs prepared transactions on every node. */
export const MAX_PREPARED_TRANSACTIONS = 200;
const LOOPBACK = '127.0.0.1';

export function testDatabase(): TestDatabase {
  const value = process.env.FENQI_TEST_DB ?? 'postgres';
  if (value !== 'postgres' && value !== 'citus') {
    throw new Error(`FENQI_TEST_DB must be postgres or citus, not ${JSON.stringify(value)}`);
  }
  return value;
}

/**
 * Why Citus tests cannot run here, or null when they can. scripts/test.sh passes the installer's
 * own reason (no source, no network) in FENQI_CITUS_UNAVAILABLE.
 */
export function citusUnavailableReason(): string | null {
  const reported = process.env.FENQI_CITUS_UNAVAILABLE;
  if (reported) return `Citus is unavailable: ${reported}`;
  const library = path.join(path.dirname(postgresBinDir()), 'lib', 'citus.so');
  if (!existsSync(library)) {
    return `Citus is unavailable: ${library} is not installed (run scripts/install-citus.sh, with FENQI_CITUS_SOURCE=<citus-13.2.2.tar.gz> when offline)`;
  }
  return null;
}

export interface CitusCluster extends PostgresServer {
  coordinator: PostgresServer;
  workers: PostgresServer[];
  /** Starts one more worker like the others (its databases ready), not yet in the cluster. */
  startWorker(): Promise<PostgresServer>;
}

/** How a node reaches the others: TLS that checks the peer's certificate, like every client. */
export function nodeConninfo(caFile: string): string {
  return harnessTls() ? `sslmode=verify-full sslrootcert=${caFile}` : 'sslmode=disable';
}

/** Every login role with its password: the same on every node. */
function loginRoles(passwords: RolePasswords): Record<string, string> {
  return {
    postgres: passwords.admin,
    ...Object.fromEntries(
      (['owner', 'app', 'report'] as const).map((r) => [DEFAULT_DATABASE_ROLES[r], passwords[r]]),
    ),
  };
}

/**
 * The passwords again in the server's own ~/.pgpass (its HOME is its directory, postgres.ts):
 * the subscriptions of an online shard move log in to the source worker through libpq, which
 * reads no pg_dist_authinfo.
 */
function writePgpass(node: PostgresServer, passwords: RolePasswords): void {
  const file = path.join(path.dirname(node.dataDir), '.pgpass');
  const lines = Object.entries(loginRoles(passwords)).flatMap(([role, password]) =>
    [LOOPBACK, 'localhost'].map((host) => `${host}:*:*:${role}:${password}`),
  );
  writeFileSync(file, `${lines.join('\n')}\n`, { mode: 0o600 });
  const user = unprivilegedUser();
  if (user) chownSync(file, user.uid, user.gid);
}

/** Each login role's password for node-to-node connections (nodeid 0: to every node). */
export function authinfoSql(passwords: RolePasswords): string[] {
  return citusAuthinfoSql(Object.entries(loginRoles(passwords)));
}

export async function startCitusCluster(
  options: { settings?: Record<string, string> } = {},
): Promise<CitusCluster> {
  const unavailable = citusUnavailableReason();
  if (unavailable) throw new Error(unavailable);
  const settings = {
    shared_preload_libraries: 'citus',
    max_prepared_transactions: String(MAX_PREPARED_TRANSACTIONS),
    'citus.shard_count': String(TEST_SHARD_COUNT),
    // logical replication for online shard moves (the rebalancer)
    wal_level: 'logical',
    ...options.settings,
  };
  const passwords = newRolePasswords();
  const startNode = async (databases: readonly string[]) => {
    const node = await startSinglePostgres({ settings, passwords });
    writePgpass(node, passwords);
    await runSql(node.adminUrl, [
      `alter system set citus.node_conninfo = '${nodeConninfo(node.caFile)}'`,
      'select pg_reload_conf()',
    ]);
    for (const database of databases.filter((d) => d !== TEST_DATABASE)) await node.createDatabase(database);
    await Promise.all(
      databases.map((d) => runSql(node.urlFor('admin', d), ['create extension if not exists citus'])),
    );
    return node;
  };
  const databases = [TEST_DATABASE];
  const nodes = await Promise.all(Array.from({ length: CITUS_WORKER_COUNT + 1 }, () => startNode(databases)));
  const [coordinator, ...workers] = nodes as [PostgresServer, ...PostgresServer[]];

  const addWorkers = (database: string, toAdd: readonly PostgresServer[]) =>
    runSql(coordinator.urlFor('admin', database), [
      ...authinfoSql(passwords),
      `select citus_set_coordinator_host('${LOOPBACK}', ${coordinator.port})`,
      ...toAdd.map((w) => `select citus_add_node('${LOOPBACK}', ${w.port})`),
    ]);
  await addWorkers(TEST_DATABASE, workers);

  const everyNode = (action: (node: PostgresServer) => Promise<void>) =>
    Promise.all([coordinator, ...workers].map(action)).then(() => {});
  return {
    ...coordinator,
    coordinator,
    workers,
    async createDatabase(name) {
      await Promise.all(
        [coordinator, ...workers].map(async (node) => {
          await node.createDatabase(name);
          await runSql(node.urlFor('admin', name), ['create extension if not exists citus']);
        }),
      );
      databases.push(name);
      await addWorkers(name, workers);
      return coordinator.urlFor('owner', name);
    },
    async startWorker() {
      const worker = await startNode(databases);
      workers.push(worker);
      return worker;
    },
    stop: () => everyNode((node) => node.stop()),
    kill: () => everyNode((node) => node.kill()),
    // workers first: the coordinator's first distributed statement needs them
    async start() {
      await Promise.all(workers.map((w) => w.start()));
      await coordinator.start();
    },
    destroy: () => everyNode((node) => node.destroy()),
  };
}

export async function runSql(url: string, statements: string[]): Promise<void> {
  const sql = openPostgres(url, { max: 1, onnotice: () => {} });
  try {
    for (const statement of statements) await sql.unsafe(statement);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

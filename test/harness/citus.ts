/**
 * A throwaway Citus cluster on loopback: a coordinator and two workers, each a PostgreSQL from
 * postgres.ts with `shared_preload_libraries = citus`. Every database the cluster serves (the
 * default one and each createDatabase()) gets the extension on every node and the workers added
 * on the coordinator, since Citus keeps its node list per database. `url` is the coordinator's: the
 * application connects to it exactly as to one PostgreSQL (DATABASE_URL, nothing else changes).
 *
 * FENQI_TEST_DB=citus makes startPostgres() return one of these, so existing test files run
 * unchanged against Citus (the test matrix, see scripts/test.sh and test/citus/).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import postgres from 'postgres';
import { type PostgresServer, postgresBinDir, startSinglePostgres } from './postgres.ts';

export type TestDatabase = 'postgres' | 'citus';

export const CITUS_WORKER_COUNT = 2;
/**
 * Shards per distributed table in tests: fewer than Citus's default 32 so each database a test
 * creates is distributed quickly, still several shards per worker so co-location is exercised.
 */
export const TEST_SHARD_COUNT = 8;
/** Two-phase commit needs prepared transactions on every node. */
const MAX_PREPARED_TRANSACTIONS = 200;
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
    // the test servers speak plain TCP on loopback; Citus's default between nodes is sslmode=require
    'citus.node_conninfo': 'sslmode=prefer',
    ...options.settings,
  };
  const nodes = await Promise.all(
    Array.from({ length: CITUS_WORKER_COUNT + 1 }, () => startSinglePostgres({ settings })),
  );
  const [coordinator, ...workers] = nodes as [PostgresServer, ...PostgresServer[]];
  const urlOn = (node: PostgresServer, database: string) =>
    `postgres://postgres@${LOOPBACK}:${node.port}/${database}`;

  const bootstrap = async (database: string) => {
    await Promise.all(
      nodes.map((node) => run(urlOn(node, database), ['create extension if not exists citus'])),
    );
    await run(urlOn(coordinator, database), [
      `select citus_set_coordinator_host('${LOOPBACK}', ${coordinator.port})`,
      ...workers.map((w) => `select citus_add_node('${LOOPBACK}', ${w.port})`),
    ]);
  };
  await bootstrap('postgres');

  const everyNode = (action: (node: PostgresServer) => Promise<void>) =>
    Promise.all(nodes.map(action)).then(() => {});
  return {
    url: coordinator.url,
    port: coordinator.port,
    dataDir: coordinator.dataDir,
    binDir: coordinator.binDir,
    coordinator,
    workers,
    async createDatabase(name) {
      await everyNode(async (node) => {
        await node.createDatabase(name);
      });
      await bootstrap(name);
      return urlOn(coordinator, name);
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

async function run(url: string, statements: string[]): Promise<void> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    for (const statement of statements) await sql.unsafe(statement);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

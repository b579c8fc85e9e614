/**
 * `fenqi ops up --citus`: fenqi's scale-out topology on one machine, a Citus coordinator and two
 * workers (issue 20 item 1), set up as the test harness sets up its cluster: every node accepts
 * only TLS with a scram password from loopback, the nodes reach each other over verified TLS
 * (citus.node_conninfo) with the same role passwords (pg_dist_authinfo for Citus's own links,
 * ~/.pgpass for the logical-replication subscriptions of online shard moves). The application
 * connects to the coordinator exactly as to one PostgreSQL: DATABASE_URL, nothing else changes.
 * The state lives in <dir>/citus.json; `fenqi ops down` stops the nodes and removes the directory.
 *
 * With standbys (the default of `ops up --citus`; `--no-standbys` for the plain nodes above) each
 * group, the coordinator and each worker, is its own Patroni cluster of a primary and a synchronous
 * standby on one shared etcd (src/ops/citus-patroni.ts, the test harness's set-up too): the same
 * TLS and roles, DATABASE_URL names both coordinator members and follows a coordinator failover.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { type CertSet, certSetIn, generateDevCerts } from '../link/certs.ts';
import { openPostgres } from '../store/db.ts';
import {
  createRolesSql,
  type DatabaseRoles,
  DEFAULT_DATABASE_ROLES,
  databaseGrantsSql,
} from '../store/roles.ts';
import {
  bootCitusGroups,
  type CitusPatroniPlan,
  citusAuthinfoSql,
  citusPatroniPids,
  citusSharedParameters,
  createFenqiRolesOnGroups,
  planCitusMembers,
  stopCitusGroups,
} from './citus-patroni.ts';
import {
  chownToPostgres,
  isAlive,
  killTree,
  missingBinaries,
  mkdirOwned,
  postmasterPid,
  progress,
  runAsPostgres,
  spawnDaemon,
  waitFor,
  waitForExit,
} from './proc.ts';
import { APP_DATABASE, freePort, LOOPBACK, PG_BIN_DIR } from './topology.ts';

export const CITUS_STATE_FILE = 'citus.json';
export const CITUS_WORKER_COUNT = 2;
export const CITUS_LIBRARY = path.join(path.dirname(PG_BIN_DIR), 'lib', 'citus.so');
/** Two-phase commit (multi-shard writes) needs prepared transactions on every node. */
export const CITUS_MAX_PREPARED_TRANSACTIONS = 200;
const NODE_READY_LIMIT_MS = 60_000;
/** Members per group with standbys: a primary and its synchronous standby. */
export const CITUS_GROUP_MEMBERS = 2;
/**
 * `ops up --citus` with standbys gives up after this long in total (six PostgreSQL, six Patroni and
 * an etcd; 18 to 30 s on a shared two-core machine at load 11 to 20, docs/scaling.md), stopping
 * what it started and keeping the logs.
 */
export const CITUS_PATRONI_UP_LIMIT_MS = 300_000;
const PASSWORD_BYTES = 18;

export type CitusNodeName = 'coordinator' | `worker${number}`;

export interface CitusNode {
  name: CitusNodeName;
  port: number;
  dir: string;
  dataDir: string;
  logPath: string;
}

export interface CitusTopology {
  version: 1;
  kind: 'citus';
  baseDir: string;
  tlsDir: string;
  caFile: string;
  nodes: CitusNode[];
  passwords: { superuser: string; roles: DatabaseRoles };
  startedAt: string;
  /** citus.shard_count on every node, when given (`--shard-count`). */
  shardCount?: number;
}

/** The topology with standbys: every group a Patroni cluster (src/ops/citus-patroni.ts). */
export interface CitusPatroniTopology {
  version: 1;
  kind: 'citus-patroni';
  baseDir: string;
  tlsDir: string;
  caFile: string;
  plan: CitusPatroniPlan;
  startedAt: string;
  /** How long `ops up` took, in milliseconds. */
  upMs?: number;
}

export type CitusState = CitusTopology | CitusPatroniTopology;

const secret = () => randomBytes(PASSWORD_BYTES).toString('base64url');

export async function loadCitusState(baseDir: string): Promise<CitusState | undefined> {
  const file = path.join(path.resolve(baseDir), CITUS_STATE_FILE);
  if (!existsSync(file)) return undefined;
  return JSON.parse(await readFile(file, 'utf8')) as CitusState;
}

/** Whether any server of the topology still runs. */
export function citusRunning(state: CitusState): boolean {
  return state.kind === 'citus-patroni'
    ? citusPatroniPids(state.plan).length > 0
    : state.nodes.some((n) => isAlive(postmasterPid(n.dataDir)));
}

/** A node's URL over verified TLS, as `role` (superuser by default). */
export function citusNodeUrl(
  state: CitusTopology,
  node: CitusNode,
  role: keyof DatabaseRoles | 'superuser' = 'superuser',
  database = APP_DATABASE,
): string {
  const user = role === 'superuser' ? 'postgres' : DEFAULT_DATABASE_ROLES[role];
  const password = role === 'superuser' ? state.passwords.superuser : state.passwords.roles[role];
  const tls = `sslmode=verify-full&sslrootcert=${encodeURIComponent(state.caFile)}`;
  return `postgres://${user}:${encodeURIComponent(password)}@${LOOPBACK}:${node.port}/${database}?${tls}`;
}

/**
 * The application's DATABASE_URL (and, as owner, MIGRATION_DATABASE_URL): the coordinator; with
 * standbys both coordinator members, and the session attribute that skips the standby (postgres.js
 * takes `primary`, see appDatabaseUrl in topology.ts), so the pool follows a coordinator failover.
 */
export function citusAppUrl(state: CitusState, role: keyof DatabaseRoles = 'app'): string {
  if (state.kind === 'citus') return citusNodeUrl(state, state.nodes[0]!, role);
  const { plan } = state;
  const hosts = plan.members
    .filter((m) => m.group === 0)
    .map((m) => `${LOOPBACK}:${m.pgPort}`)
    .join(',');
  const login = `${DEFAULT_DATABASE_ROLES[role]}:${encodeURIComponent(plan.passwords.roles[role])}`;
  const tls = `sslmode=verify-full&sslrootcert=${encodeURIComponent(state.caFile)}`;
  return `postgres://${login}@${hosts}/${plan.database}?target_session_attrs=primary&${tls}`;
}

async function planCitus(baseDir: string): Promise<CitusTopology> {
  const names: CitusNodeName[] = [
    'coordinator',
    ...Array.from({ length: CITUS_WORKER_COUNT }, (_, i) => `worker${i + 1}` as const),
  ];
  const nodes: CitusNode[] = [];
  for (const name of names) {
    const dir = path.join(baseDir, name);
    nodes.push({
      name,
      port: await freePort(),
      dir,
      dataDir: path.join(dir, 'data'),
      logPath: path.join(dir, 'postgres.log'),
    });
  }
  const tlsDir = path.join(baseDir, 'tls');
  return {
    version: 1,
    kind: 'citus',
    baseDir,
    tlsDir,
    caFile: path.join(tlsDir, 'ca.crt'),
    nodes,
    passwords: { superuser: secret(), roles: { owner: secret(), app: secret(), report: secret() } },
    startedAt: new Date().toISOString(),
  };
}

/** Every login role with its password: the same on every node. */
function loginRoles(state: CitusTopology): [string, string][] {
  return [
    ['postgres', state.passwords.superuser],
    ...(['owner', 'app', 'report'] as const).map(
      (r) => [DEFAULT_DATABASE_ROLES[r], state.passwords.roles[r]] as [string, string],
    ),
  ];
}

function serverSettings(state: CitusTopology, node: CitusNode, certs: CertSet): Record<string, string> {
  return {
    ...(state.shardCount ? { 'citus.shard_count': String(state.shardCount) } : {}),
    port: String(node.port),
    listen_addresses: LOOPBACK,
    unix_socket_directories: node.dir,
    hba_file: path.join(node.dir, 'pg_hba.conf'),
    ssl: 'on',
    ssl_cert_file: certs.serverCertFile,
    ssl_key_file: certs.serverKeyFile,
    ssl_ca_file: certs.caFile,
    password_encryption: 'scram-sha-256',
    shared_preload_libraries: 'citus',
    max_prepared_transactions: String(CITUS_MAX_PREPARED_TRANSACTIONS),
    // logical replication for online shard moves (fenqi db rebalance)
    wal_level: 'logical',
    'citus.node_conninfo': `sslmode=verify-full sslrootcert=${certs.caFile}`,
  };
}

async function writeOwned(file: string, text: string): Promise<void> {
  await writeFile(file, text, { mode: 0o600 });
  chownToPostgres(file);
}

async function sqlOn(url: string, statements: string[]): Promise<void> {
  const sql = openPostgres(url, { max: 1, connect_timeout: 2, onnotice: () => {} });
  try {
    for (const statement of statements) await sql.unsafe(statement);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/** initdb with scram, TLS-only pg_hba, ~/.pgpass; starts the node and waits until it answers. */
async function startNode(state: CitusTopology, node: CitusNode, certs: CertSet): Promise<void> {
  await mkdirOwned(node.dir);
  const pwfile = path.join(node.dir, 'pwfile');
  await writeOwned(pwfile, `${state.passwords.superuser}\n`);
  await runAsPostgres(path.join(PG_BIN_DIR, 'initdb'), [
    '-D',
    node.dataDir,
    '-U',
    'postgres',
    '-A',
    'scram-sha-256',
    `--pwfile=${pwfile}`,
    '-E',
    'UTF8',
    '--no-instructions',
  ]);
  await rm(pwfile);
  await writeOwned(
    path.join(node.dir, 'pg_hba.conf'),
    'hostssl all all 127.0.0.1/32 scram-sha-256\nhostssl all all ::1/128 scram-sha-256\n',
  );
  const pgpass = loginRoles(state).flatMap(([role, password]) =>
    [LOOPBACK, 'localhost'].map((host) => `${host}:*:*:${role}:${password}`),
  );
  await writeOwned(path.join(node.dir, '.pgpass'), `${pgpass.join('\n')}\n`);
  const args = [
    '-D',
    node.dataDir,
    ...Object.entries(serverSettings(state, node, certs)).flatMap(([k, v]) => ['-c', `${k}=${v}`]),
  ];
  // libpq inside the server (Citus's links, shard-move subscriptions) reads $HOME/.pgpass
  spawnDaemon(path.join(PG_BIN_DIR, 'postgres'), args, node.logPath, { env: { HOME: node.dir } });
  await waitFor(
    `${node.name} on port ${node.port}`,
    () =>
      sqlOn(citusNodeUrl(state, node, 'superuser', 'postgres'), ['select 1']).then(
        () => true,
        () => undefined,
      ),
    NODE_READY_LIMIT_MS,
    300,
  );
  await sqlOn(citusNodeUrl(state, node, 'superuser', 'postgres'), [
    ...createRolesSql(DEFAULT_DATABASE_ROLES, state.passwords.roles),
    `create database ${APP_DATABASE}`,
  ]);
  await sqlOn(citusNodeUrl(state, node), [
    'create extension if not exists citus',
    ...databaseGrantsSql(APP_DATABASE, DEFAULT_DATABASE_ROLES),
  ]);
  progress(`citus ${node.name} on ${LOOPBACK}:${node.port}`);
}

/** An empty directory for a new topology: refuses one that runs, or that holds something else. */
async function prepareDir(base: string): Promise<void> {
  const existing = await loadCitusState(base);
  if (existing && citusRunning(existing)) {
    throw new Error(`a Citus topology already runs under ${base} (fenqi ops down first)`);
  }
  if (existsSync(base) && readdirSync(base).length > 0 && !existing) {
    throw new Error(`${base} is not empty and holds no topology: choose another --dir`);
  }
  await rm(base, { recursive: true, force: true });
  await mkdirOwned(base);
}

/** The plain topology: a coordinator and two workers, no standbys (`ops up --citus --no-standbys`). */
export async function citusUp(
  baseDir: string,
  options: { shardCount?: number } = {},
): Promise<CitusTopology> {
  const missing = missingBinaries([path.join(PG_BIN_DIR, 'postgres')]);
  if (!existsSync(CITUS_LIBRARY)) missing.push(`${CITUS_LIBRARY} missing: run scripts/install-citus.sh`);
  if (missing.length > 0) throw new Error(missing.join('; '));
  const base = path.resolve(baseDir);
  await prepareDir(base);
  const state = {
    ...(await planCitus(base)),
    ...(options.shardCount ? { shardCount: options.shardCount } : {}),
  };
  await writeFile(path.join(base, CITUS_STATE_FILE), JSON.stringify(state, null, 2), { mode: 0o600 });
  const certs = generateDevCerts(state.tlsDir);
  chownToPostgres(state.tlsDir);
  for (const file of readdirSync(state.tlsDir)) chownToPostgres(path.join(state.tlsDir, file));
  try {
    await Promise.all(state.nodes.map((node) => startNode(state, node, certs)));
    const [coordinator, ...workers] = state.nodes as [CitusNode, ...CitusNode[]];
    await sqlOn(citusNodeUrl(state, coordinator), [
      ...citusAuthinfoSql(loginRoles(state)),
      `select citus_set_coordinator_host('${LOOPBACK}', ${coordinator.port})`,
      ...workers.map((w) => `select citus_add_node('${LOOPBACK}', ${w.port})`),
    ]);
  } catch (err) {
    progress(`citus topology failed to come up: ${(err as Error).message}; stopping it`);
    await citusDown(state, { keepFiles: true });
    throw new Error(`citus topology failed to come up (logs under ${base}): ${(err as Error).message}`);
  }
  progress(`citus topology up: coordinator and ${CITUS_WORKER_COUNT} workers`);
  return state;
}

/** Fast shutdown of every node, SIGKILL after a while; then the directory goes. */
export async function citusDown(state: CitusState, options: { keepFiles?: boolean } = {}): Promise<void> {
  if (state.kind === 'citus-patroni') {
    await stopCitusGroups(state.plan, { graceful: true });
    if (!options.keepFiles) await rm(state.baseDir, { recursive: true, force: true });
    return;
  }
  const pids = state.nodes.map((n) => postmasterPid(n.dataDir));
  for (const pid of pids) if (isAlive(pid)) process.kill(pid!, 'SIGINT');
  await waitForExit(pids);
  for (const pid of pids) killTree(pid);
  if (!options.keepFiles) await rm(state.baseDir, { recursive: true, force: true });
}

export interface CitusPatroniUpOptions {
  /** citus.shard_count for tables distributed later; Citus's default (32) when absent. */
  shardCount?: number;
  limitMs?: number;
}

/**
 * `fenqi ops up --citus`: every group (coordinator, worker 1, worker 2) a Patroni cluster of a
 * primary and a synchronous standby, on one etcd, all under `baseDir`; bounded by `limitMs`.
 */
export async function citusUpWithStandbys(
  baseDir: string,
  options: CitusPatroniUpOptions = {},
): Promise<CitusPatroniTopology> {
  const started = Date.now();
  const missing = missingBinaries(['/usr/bin/patroni', '/usr/bin/etcd', path.join(PG_BIN_DIR, 'postgres')]);
  if (!existsSync(CITUS_LIBRARY)) missing.push(`${CITUS_LIBRARY} missing: run scripts/install-citus.sh`);
  if (missing.length > 0) throw new Error(missing.join('; '));
  const base = path.resolve(baseDir);
  await prepareDir(base);
  const state = await planCitusPatroni(base);
  const save = () =>
    writeFile(path.join(base, CITUS_STATE_FILE), JSON.stringify(state, null, 2), { mode: 0o600 });
  await save();
  generateDevCerts(state.tlsDir);
  chownToPostgres(state.tlsDir);
  for (const file of readdirSync(state.tlsDir)) chownToPostgres(path.join(state.tlsDir, file));
  const parameters = {
    ...citusSharedParameters(state.plan.tls),
    // logical replication for online shard moves (fenqi db rebalance)
    wal_level: 'logical',
    ...(options.shardCount ? { 'citus.shard_count': options.shardCount } : {}),
  };
  try {
    await bootCitusGroups(state.plan, () => parameters, options.limitMs ?? CITUS_PATRONI_UP_LIMIT_MS);
    await save();
    await createFenqiRolesOnGroups(state.plan);
  } catch (err) {
    progress(`citus topology failed to come up: ${(err as Error).message}; stopping it`);
    await stopCitusGroups(state.plan, { graceful: false });
    throw new Error(`citus topology failed to come up (logs under ${base}): ${(err as Error).message}`);
  }
  state.upMs = Date.now() - started;
  await save();
  progress(
    `citus topology up in ${(state.upMs / 1000).toFixed(1)} s: 3 groups, each a primary and a synchronous standby`,
  );
  return state;
}

async function planCitusPatroni(base: string): Promise<CitusPatroniTopology> {
  const tlsDir = path.join(base, 'tls');
  const plan: CitusPatroniPlan = {
    root: base,
    tls: certSetIn(tlsDir),
    database: APP_DATABASE,
    passwords: {
      superuser: secret(),
      replication: secret(),
      rest: secret(),
      roles: { owner: secret(), app: secret(), report: secret() },
    },
    scope: 'fenqi-citus',
    namespace: `/fenqi-${randomBytes(4).toString('hex')}/`,
    etcd: {
      clientPort: await freePort(),
      peerPort: await freePort(),
      dataDir: path.join(base, 'etcd'),
      logPath: path.join(base, 'etcd.log'),
    },
    members: await planCitusMembers(
      base,
      Array.from({ length: CITUS_WORKER_COUNT + 1 }, () => CITUS_GROUP_MEMBERS),
    ),
  };
  return {
    version: 1,
    kind: 'citus-patroni',
    baseDir: base,
    tlsDir,
    caFile: plan.tls.caFile,
    plan,
    startedAt: new Date().toISOString(),
  };
}

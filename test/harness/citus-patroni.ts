/**
 * A Citus cluster whose every group is a Patroni cluster (Patroni 3.0.2's native Citus mode,
 * `citus: {group, database}`), on one etcd, on loopback: group 0 the coordinator, group 1 a worker
 * with a primary and a synchronous standby, group 2 a worker of one member. The coordinator's
 * Patroni keeps `pg_dist_node` pointing at each worker group's primary (citus_update_node every
 * heartbeat), so when group 1's primary dies its standby is promoted and the coordinator follows,
 * with nothing else to do. Everything is set up as the single test server is (TLS only, scram,
 * fenqi's three roles with the same passwords on every node, verified TLS between nodes); it
 * answers the PostgresServer interface with the coordinator's URLs, so the flash lab runs on it
 * unchanged.
 */

import { copyFileSync, cpSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { type CertSet, certSetIn } from '../../src/link/certs.ts';
import { isRunning, type PatroniMemberView, tlsCall } from '../../src/ops/cluster.ts';
import {
  chownToPostgres,
  killTree,
  mkdirOwned,
  postmasterPid,
  signalAll,
  spawnDaemon,
  treePids,
  waitFor,
} from '../../src/ops/proc.ts';
import {
  etcdArgs,
  LOOPBACK,
  PATRONI_LOOP_WAIT_S,
  PATRONI_REST_USER,
  PATRONI_RETRY_TIMEOUT_S,
  PATRONI_TTL_S,
} from '../../src/ops/topology.ts';
import { openPostgres } from '../../src/store/db.ts';
import { createRolesSql, DEFAULT_DATABASE_ROLES, databaseGrantsSql } from '../../src/store/roles.ts';
import { testCerts, testPassword } from './certs.ts';
import {
  authinfoSql,
  type CitusCluster,
  MAX_PREPARED_TRANSACTIONS,
  nodeConninfo,
  runSql,
  TEST_SHARD_COUNT,
} from './citus.ts';
import { platformKeysEnv } from './keys.ts';
import {
  newRolePasswords,
  type PostgresRole,
  type PostgresServer,
  postgresBinDir,
  TEST_DATABASE,
} from './postgres.ts';
import { freePort, removeTempDir, tempDir } from './process.ts';

/** The group whose primary a test kills: a primary and a synchronous standby. */
export const HA_GROUP = 1;
/** Members per group: the coordinator, the HA worker group, a worker of one. */
const GROUP_MEMBERS = [1, 2, 1] as const;
const MEMBER_LETTERS = ['a', 'b'] as const;
/** A standby further behind than this is not promoted (the synchronous one never is). */
const MAXIMUM_LAG_ON_FAILOVER_BYTES = 1048576;
/** How often the coordinator finishes or rolls back two-phase commits a lost node left prepared. */
const RECOVER_2PC_INTERVAL = '2s';
const BOOT_LIMIT_MS = 180_000;
const REST_TIMEOUT_MS = 2_000;

export interface PatroniMember {
  name: string;
  group: number;
  pgPort: number;
  restPort: number;
  dataDir: string;
  configPath: string;
  logPath: string;
  patroniPid?: number;
}

export interface PatroniCitusCluster extends CitusCluster {
  members: PatroniMember[];
  /** The group's leader as its Patroni members see it (undefined while it has none). */
  leaderOf(group: number): Promise<PatroniMember | undefined>;
  /** The group's synchronous standby, if it has one streaming. */
  syncStandbyOf(group: number): Promise<PatroniMember | undefined>;
  /** SIGKILL a member's Patroni and PostgreSQL at once, as the loss of its machine would. */
  killMember(member: PatroniMember): void;
  /** The superuser's URL on one member. */
  memberUrl(member: PatroniMember, database?: string): string;
  /** The worker host:port the coordinator's pg_dist_node names for a group. */
  registeredPrimary(group: number): Promise<string | undefined>;
}

/** What the DCS links and the etcd launcher of src/ops need: the same shape as a topology's. */
interface Plan {
  root: string;
  tls: CertSet;
  passwords: ReturnType<typeof newRolePasswords>;
  internal: { replication: string; rest: string };
  scope: string;
  /** etcd key prefix, as the ops topology's. */
  namespace: string;
  etcd: { clientPort: number; peerPort: number; dataDir: string; logPath: string; pid?: number };
  members: PatroniMember[];
}

export async function startPatroniCitusCluster(): Promise<PatroniCitusCluster> {
  const plan = await planCluster();
  const { members } = plan;
  const probe = groupProbe(plan);
  const stopAll = () => {
    for (const m of members) {
      killTree(m.patroniPid);
      killTree(postmasterPid(m.dataDir));
    }
    killTree(plan.etcd.pid);
  };
  try {
    await bootGroups(plan, probe);
    await createFenqiRoles(plan, probe);
  } catch (err) {
    stopAll();
    throw new Error(`${(err as Error).message} (logs in ${plan.root})`);
  }
  return clusterHandle(plan, probe, async () => {
    stopAll();
    keepLogs(plan.root);
    removeTempDir(plan.root);
  });
}

/**
 * FENQI_TEST_CITUS_LOGS=<dir>: every member's Patroni and PostgreSQL log and etcd's are copied
 * there when the cluster is destroyed (the cluster's own directory goes), to read a failed run.
 */
function keepLogs(root: string): void {
  const into = process.env.FENQI_TEST_CITUS_LOGS;
  if (!into) return;
  cpSync(root, into, {
    recursive: true,
    filter: (from) => from === root || (path.dirname(from) === root && from.endsWith('.log')),
  });
}

/** Ports, directories, certificates and passwords; nothing started yet. */
async function planCluster(): Promise<Plan> {
  const root = tempDir('citus-patroni');
  await mkdirOwned(root);
  // the test process's CA (testCerts), copied where the servers, running as postgres, own their keys
  const certs = testCerts();
  const tls = certSetIn(path.join(root, 'tls'));
  await mkdirOwned(tls.dir);
  for (const file of [
    'caFile',
    'serverCertFile',
    'serverKeyFile',
    'clientCertFile',
    'clientKeyFile',
  ] as const) {
    copyFileSync(certs[file], tls[file]);
    chownToPostgres(tls[file]);
  }
  const members: PatroniMember[] = [];
  for (const [group, count] of GROUP_MEMBERS.entries()) {
    for (let i = 0; i < count; i++) {
      const name = `g${group}${MEMBER_LETTERS[i]}`;
      members.push({
        name,
        group,
        pgPort: await freePort(),
        restPort: await freePort(),
        dataDir: path.join(root, name, 'data'),
        configPath: path.join(root, `${name}.yml`),
        logPath: path.join(root, `${name}.log`),
      });
    }
  }
  return {
    root,
    tls,
    passwords: newRolePasswords(),
    internal: { replication: testPassword(), rest: testPassword() },
    scope: `fenqi-citus-${path.basename(root).slice(-6).toLowerCase()}`,
    namespace: '/fenqi/',
    etcd: {
      clientPort: await freePort(),
      peerPort: await freePort(),
      dataDir: path.join(root, 'etcd'),
      logPath: path.join(root, 'etcd.log'),
    },
    members,
  };
}

interface GroupProbe {
  leaderOf(group: number): Promise<PatroniMember | undefined>;
  syncStandbyOf(group: number): Promise<PatroniMember | undefined>;
  adminUrl(port: number, database?: string): string;
}

/** Who leads each group, as its members' Patroni REST APIs say (the first that answers). */
function groupProbe(plan: Plan): GroupProbe {
  const { members, tls } = plan;
  const view = async (group: number): Promise<PatroniMemberView[]> => {
    for (const m of members.filter((x) => x.group === group)) {
      try {
        const { status, text } = await tlsCall(plan, m.restPort, '/cluster', { timeoutMs: REST_TIMEOUT_MS });
        const body = status === 200 ? (JSON.parse(text) as { members?: PatroniMemberView[] }) : {};
        if (body.members) return body.members;
      } catch {
        // that member is down: ask the next
      }
    }
    return [];
  };
  const named = (name: string | undefined) => members.find((m) => m.name === name);
  return {
    leaderOf: async (group) =>
      named((await view(group)).find((v) => v.role === 'leader' && isRunning(v))?.name),
    syncStandbyOf: async (group) =>
      named((await view(group)).find((v) => v.role === 'sync_standby' && isRunning(v))?.name),
    adminUrl: (port, database = TEST_DATABASE) =>
      `postgres://postgres:${plan.passwords.admin}@${LOOPBACK}:${port}/${database}?sslmode=verify-full&sslrootcert=${encodeURIComponent(tls.caFile)}`,
  };
}

/**
 * etcd, then each group's first member (it bootstraps the group), then the HA group's standby
 * (it clones the primary), and waits until the coordinator's Patroni has registered every worker
 * group's primary in pg_dist_node.
 */
async function bootGroups(plan: Plan, probe: GroupProbe): Promise<void> {
  const { members, etcd } = plan;
  for (const m of members) {
    writeFileSync(m.configPath, JSON.stringify(patroniConfig(plan, m), null, 2), { mode: 0o600 });
    chownToPostgres(m.configPath);
    await mkdirOwned(path.dirname(m.dataDir));
  }
  await mkdirOwned(etcd.dataDir);
  etcd.pid = spawnDaemon('/usr/bin/etcd', etcdArgs(plan), etcd.logPath);
  await waitFor(
    'etcd',
    async () =>
      (await tlsCall(plan, etcd.clientPort, '/health', { clientCert: true, timeoutMs: REST_TIMEOUT_MS }))
        .status === 200 || undefined,
    BOOT_LIMIT_MS,
  );
  const start = (m: PatroniMember) => {
    m.patroniPid = spawnDaemon('/usr/bin/patroni', [m.configPath], m.logPath, { cwd: plan.root });
  };
  const first = members.filter((m) => m.name.endsWith(MEMBER_LETTERS[0]));
  for (const m of first) start(m);
  for (const [group] of GROUP_MEMBERS.entries()) {
    await waitFor(`group ${group} to have a leader`, () => probe.leaderOf(group), BOOT_LIMIT_MS, 500);
  }
  for (const m of members.filter((x) => !first.includes(x))) start(m);
  await waitFor(
    `group ${HA_GROUP}'s synchronous standby`,
    () => probe.syncStandbyOf(HA_GROUP),
    BOOT_LIMIT_MS,
    500,
  );
  const coordinator = members[0]!;
  await waitFor(
    'the workers in pg_dist_node',
    async () => {
      const rows = await query(
        probe.adminUrl(coordinator.pgPort),
        `select groupid from pg_dist_node where noderole = 'primary' and groupid > 0`,
      );
      return rows.length === GROUP_MEMBERS.length - 1 || undefined;
    },
    BOOT_LIMIT_MS,
    500,
  );
}

/**
 * fenqi's roles on every group's primary (the standby gets them by replication), each node on its
 * own with propagation off, so no node is asked twice; and every role's password for Citus's own
 * links, as the plain harness gives them (Patroni wrote the superuser's at bootstrap).
 */
async function createFenqiRoles(plan: Plan, probe: GroupProbe): Promise<void> {
  const { passwords } = plan;
  for (const [group] of GROUP_MEMBERS.entries()) {
    const leader = (await probe.leaderOf(group))!;
    await runSql(probe.adminUrl(leader.pgPort, 'postgres'), [
      'set citus.enable_ddl_propagation = off',
      ...createRolesSql(DEFAULT_DATABASE_ROLES, passwords),
    ]);
    await runSql(probe.adminUrl(leader.pgPort), [
      'set citus.enable_ddl_propagation = off',
      ...databaseGrantsSql(TEST_DATABASE, DEFAULT_DATABASE_ROLES),
      ...authinfoSql(passwords),
    ]);
  }
}

/** The running cluster behind the PostgresServer interface (the coordinator's URLs). */
function clusterHandle(plan: Plan, probe: GroupProbe, destroy: () => Promise<void>): PatroniCitusCluster {
  const { members, passwords, tls } = plan;
  const coordinator = members[0]!;
  const roleNames = { admin: 'postgres', ...DEFAULT_DATABASE_ROLES };
  const urlFor = (role: PostgresRole, database = TEST_DATABASE) =>
    `postgres://${roleNames[role]}:${passwords[role]}@${LOOPBACK}:${coordinator.pgPort}/${database}?sslmode=verify-full&sslrootcert=${encodeURIComponent(tls.caFile)}`;
  const keys = platformKeysEnv();
  const unsupported = async (): Promise<never> => {
    throw new Error('the Patroni-managed Citus cluster is started and stopped as a whole');
  };
  const node = (m: PatroniMember): PostgresServer => ({
    url: probe.adminUrl(m.pgPort),
    adminUrl: probe.adminUrl(m.pgPort),
    appUrl: probe.adminUrl(m.pgPort),
    caFile: tls.caFile,
    port: m.pgPort,
    dataDir: m.dataDir,
    binDir: postgresBinDir(),
    urlFor: (_role, database) => probe.adminUrl(m.pgPort, database),
    env: () => {
      throw new Error('connect to the coordinator');
    },
    keys,
    createDatabase: unsupported,
    stop: unsupported,
    kill: async () => killTree(postmasterPid(m.dataDir)),
    start: unsupported,
    destroy: unsupported,
  });
  return {
    url: urlFor('owner'),
    adminUrl: urlFor('admin'),
    appUrl: urlFor('app'),
    caFile: tls.caFile,
    port: coordinator.pgPort,
    dataDir: coordinator.dataDir,
    binDir: postgresBinDir(),
    urlFor,
    env: (database = TEST_DATABASE) => ({
      DATABASE_URL: urlFor('app', database),
      MIGRATION_DATABASE_URL: urlFor('owner', database),
      ...keys,
    }),
    keys,
    createDatabase: unsupported,
    stop: unsupported,
    kill: unsupported,
    start: unsupported,
    destroy,
    coordinator: node(coordinator),
    workers: members.filter((m) => m.group > 0).map(node),
    startWorker: unsupported,
    members,
    memberUrl: (m, database) => probe.adminUrl(m.pgPort, database),
    leaderOf: probe.leaderOf,
    syncStandbyOf: probe.syncStandbyOf,
    killMember(member) {
      // collected first, so the kill is one burst and Patroni cannot restart PostgreSQL in between
      signalAll([...treePids(member.patroniPid), ...treePids(postmasterPid(member.dataDir))]);
    },
    async registeredPrimary(group) {
      const [row] = await query(
        probe.adminUrl(coordinator.pgPort),
        `select nodename || ':' || nodeport as at from pg_dist_node where groupid = ${Number(group)} and noderole = 'primary'`,
      );
      return row?.at as string | undefined;
    },
  };
}

/** PostgreSQL settings every node shares (the group's DCS configuration, written at bootstrap). */
function sharedParameters(tls: CertSet): Record<string, string | number> {
  return {
    max_connections: 200,
    max_prepared_transactions: MAX_PREPARED_TRANSACTIONS,
    max_wal_senders: 10,
    max_replication_slots: 10,
    shared_buffers: '32MB',
    wal_keep_size: '128MB',
    hot_standby: 'on',
    synchronous_commit: 'on',
    // a process is killed here, not a machine: what a commit waited for is in the standby's
    // memory and page cache either way (the harness's other test servers run so too)
    fsync: 'off',
    full_page_writes: 'off',
    ssl: 'on',
    ssl_cert_file: tls.serverCertFile,
    ssl_key_file: tls.serverKeyFile,
    ssl_ca_file: tls.caFile,
    password_encryption: 'scram-sha-256',
    'citus.shard_count': TEST_SHARD_COUNT,
    'citus.node_conninfo': nodeConninfo(tls.caFile),
    'citus.recover_2pc_interval': RECOVER_2PC_INTERVAL,
  };
}

function patroniConfig(plan: Plan, m: PatroniMember): Record<string, unknown> {
  const { tls, passwords, internal } = plan;
  const verifyFull = { sslmode: 'verify-full', sslrootcert: tls.caFile };
  return {
    scope: plan.scope,
    namespace: plan.namespace,
    name: m.name,
    citus: { group: m.group, database: TEST_DATABASE },
    log: { level: 'INFO' },
    restapi: {
      listen: `${LOOPBACK}:${m.restPort}`,
      connect_address: `${LOOPBACK}:${m.restPort}`,
      certfile: tls.serverCertFile,
      keyfile: tls.serverKeyFile,
      cafile: tls.caFile,
      authentication: { username: PATRONI_REST_USER, password: internal.rest },
    },
    etcd3: {
      hosts: [`${LOOPBACK}:${plan.etcd.clientPort}`],
      protocol: 'https',
      cacert: tls.caFile,
      cert: tls.clientCertFile,
      key: tls.clientKeyFile,
    },
    bootstrap: {
      dcs: {
        ttl: PATRONI_TTL_S,
        loop_wait: PATRONI_LOOP_WAIT_S,
        retry_timeout: PATRONI_RETRY_TIMEOUT_S,
        maximum_lag_on_failover: MAXIMUM_LAG_ON_FAILOVER_BYTES,
        // a commit is acknowledged once the synchronous standby has it: a promoted standby has
        // every order the old primary acknowledged
        synchronous_mode: true,
        synchronous_mode_strict: false,
        postgresql: { use_pg_rewind: false, use_slots: true, parameters: sharedParameters(tls) },
      },
      initdb: [{ encoding: 'UTF8' }, { locale: 'C.UTF-8' }],
    },
    postgresql: {
      listen: `${LOOPBACK}:${m.pgPort}`,
      connect_address: `${LOOPBACK}:${m.pgPort}`,
      data_dir: m.dataDir,
      bin_dir: postgresBinDir(),
      pgpass: path.join(plan.root, `pgpass-${m.name}`),
      authentication: {
        superuser: { username: 'postgres', password: passwords.admin, ...verifyFull },
        replication: { username: 'replicator', password: internal.replication, ...verifyFull },
      },
      parameters: { unix_socket_directories: plan.root },
      // TLS and a password for every network client; the socket for Patroni (the postgres user)
      pg_hba: [
        'local all postgres peer',
        `hostssl replication replicator ${LOOPBACK}/32 scram-sha-256`,
        `hostssl all all ${LOOPBACK}/32 scram-sha-256`,
      ],
      basebackup: [{ checkpoint: 'fast' }],
    },
    tags: { nofailover: false, noloadbalance: false, clonefrom: false, nosync: false },
  };
}

async function query(url: string, text: string): Promise<Record<string, unknown>[]> {
  const sql = openPostgres(url, { max: 1, onnotice: () => {} });
  try {
    return [...(await sql.unsafe(text))];
  } finally {
    await sql.end({ timeout: 2 });
  }
}

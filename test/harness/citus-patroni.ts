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

import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';
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
import { openPostgres } from '../../src/store/db.ts';
import { createRolesSql, DEFAULT_DATABASE_ROLES, databaseGrantsSql } from '../../src/store/roles.ts';
import { testCerts, testPassword } from './certs.ts';
import type { CitusCluster } from './citus.ts';
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
const SHARD_COUNT = 4;
const MAX_PREPARED_TRANSACTIONS = 200;
const LOOPBACK = '127.0.0.1';
/** Patroni timings as the single-database topology's (src/ops/topology.ts). */
const TTL_S = 10;
const LOOP_WAIT_S = 2;
const RETRY_TIMEOUT_S = 4;
/** How often the coordinator finishes or rolls back two-phase commits a lost node left prepared. */
const RECOVER_2PC_INTERVAL = '2s';
const BOOT_LIMIT_MS = 180_000;
const REST_TIMEOUT_MS = 2_000;
const REST_USER = 'fenqi-ops';

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

interface MemberView {
  name: string;
  role: string;
  state: string;
}

interface Tls {
  ca: string;
  cert: string;
  key: string;
  clientCert: string;
  clientKey: string;
}

interface Plan {
  root: string;
  tls: Tls;
  passwords: ReturnType<typeof newRolePasswords>;
  internal: { replication: string; rest: string };
  scope: string;
  etcd: { clientPort: number; peerPort: number; dataDir: string; pid?: number };
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
    removeTempDir(plan.root);
  });
}

/** Ports, directories, certificates and passwords; nothing started yet. */
async function planCluster(): Promise<Plan> {
  const root = tempDir('citus-patroni');
  await mkdirOwned(root);
  const certs = testCerts();
  // PostgreSQL and Patroni run as postgres and insist on owning their keys
  const tls: Tls = {
    ca: path.join(root, 'ca.crt'),
    cert: path.join(root, 'server.crt'),
    key: path.join(root, 'server.key'),
    clientCert: path.join(root, 'client.crt'),
    clientKey: path.join(root, 'client.key'),
  };
  for (const [from, to] of [
    [certs.caFile, tls.ca],
    [certs.serverCertFile, tls.cert],
    [certs.serverKeyFile, tls.key],
    [certs.clientCertFile, tls.clientCert],
    [certs.clientKeyFile, tls.clientKey],
  ] as const) {
    copyFileSync(from, to);
    chownToPostgres(to);
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
    etcd: { clientPort: await freePort(), peerPort: await freePort(), dataDir: path.join(root, 'etcd') },
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
  const view = async (group: number): Promise<MemberView[]> => {
    for (const m of members.filter((x) => x.group === group)) {
      try {
        const body = (await restGet(m.restPort, '/cluster', tls.ca)) as { members?: MemberView[] };
        if (body.members) return body.members;
      } catch {
        // that member is down: ask the next
      }
    }
    return [];
  };
  const running = (v: MemberView) => v.state === 'running' || v.state === 'streaming';
  const named = (name: string | undefined) => members.find((m) => m.name === name);
  return {
    leaderOf: async (group) =>
      named((await view(group)).find((v) => v.role === 'leader' && running(v))?.name),
    syncStandbyOf: async (group) =>
      named((await view(group)).find((v) => v.role === 'sync_standby' && running(v))?.name),
    adminUrl: (port, database = TEST_DATABASE) =>
      `postgres://postgres:${plan.passwords.admin}@${LOOPBACK}:${port}/${database}?sslmode=verify-full&sslrootcert=${encodeURIComponent(tls.ca)}`,
  };
}

/**
 * etcd, then each group's first member (it bootstraps the group), then the HA group's standby
 * (it clones the primary), and waits until the coordinator's Patroni has registered every worker
 * group's primary in pg_dist_node.
 */
async function bootGroups(plan: Plan, probe: GroupProbe): Promise<void> {
  const { members, tls, etcd } = plan;
  for (const m of members) {
    writeFileSync(m.configPath, JSON.stringify(patroniConfig(plan, m), null, 2), { mode: 0o600 });
    chownToPostgres(m.configPath);
    await mkdirOwned(path.dirname(m.dataDir));
  }
  await mkdirOwned(etcd.dataDir);
  etcd.pid = spawnDaemon('/usr/bin/etcd', etcdArgs(plan), path.join(plan.root, 'etcd.log'));
  await waitFor(
    'etcd',
    () => restGet(etcd.clientPort, '/health', tls.ca, tls).then(() => true),
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
 * own with propagation off, so no node is asked twice; and their passwords for Citus's own links.
 */
async function createFenqiRoles(plan: Plan, probe: GroupProbe): Promise<void> {
  const { passwords } = plan;
  const roleAuth = (['owner', 'app', 'report'] as const).map(
    (r) =>
      `insert into pg_dist_authinfo (nodeid, rolename, authinfo) values (0, '${DEFAULT_DATABASE_ROLES[r]}', 'password=${passwords[r]}')`,
  );
  for (const [group] of GROUP_MEMBERS.entries()) {
    const leader = (await probe.leaderOf(group))!;
    await run(probe.adminUrl(leader.pgPort, 'postgres'), [
      'set citus.enable_ddl_propagation = off',
      ...createRolesSql(DEFAULT_DATABASE_ROLES, passwords),
    ]);
    await run(probe.adminUrl(leader.pgPort), [
      'set citus.enable_ddl_propagation = off',
      ...databaseGrantsSql(TEST_DATABASE, DEFAULT_DATABASE_ROLES),
      ...roleAuth,
    ]);
  }
}

/** The running cluster behind the PostgresServer interface (the coordinator's URLs). */
function clusterHandle(plan: Plan, probe: GroupProbe, destroy: () => Promise<void>): PatroniCitusCluster {
  const { members, passwords, tls } = plan;
  const coordinator = members[0]!;
  const roleNames = { admin: 'postgres', ...DEFAULT_DATABASE_ROLES };
  const urlFor = (role: PostgresRole, database = TEST_DATABASE) =>
    `postgres://${roleNames[role]}:${passwords[role]}@${LOOPBACK}:${coordinator.pgPort}/${database}?sslmode=verify-full&sslrootcert=${encodeURIComponent(tls.ca)}`;
  const keys = platformKeysEnv();
  const unsupported = async (): Promise<never> => {
    throw new Error('the Patroni-managed Citus cluster is started and stopped as a whole');
  };
  const node = (m: PatroniMember): PostgresServer => ({
    url: probe.adminUrl(m.pgPort),
    adminUrl: probe.adminUrl(m.pgPort),
    appUrl: probe.adminUrl(m.pgPort),
    caFile: tls.ca,
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
    caFile: tls.ca,
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

/** etcd over TLS, for holders of a certificate from the CA only. */
function etcdArgs(plan: Plan): string[] {
  const { tls, etcd } = plan;
  const url = (port: number) => `https://${LOOPBACK}:${port}`;
  return [
    `--cert-file=${tls.cert}`,
    `--key-file=${tls.key}`,
    `--trusted-ca-file=${tls.ca}`,
    '--client-cert-auth=true',
    `--peer-cert-file=${tls.cert}`,
    `--peer-key-file=${tls.key}`,
    `--peer-trusted-ca-file=${tls.ca}`,
    '--peer-client-cert-auth=true',
    '--name=etcd1',
    `--data-dir=${etcd.dataDir}`,
    `--listen-client-urls=${url(etcd.clientPort)}`,
    `--advertise-client-urls=${url(etcd.clientPort)}`,
    `--listen-peer-urls=${url(etcd.peerPort)}`,
    `--initial-advertise-peer-urls=${url(etcd.peerPort)}`,
    `--initial-cluster=etcd1=${url(etcd.peerPort)}`,
    '--initial-cluster-state=new',
    '--log-level=warn',
    '--logger=zap',
  ];
}

/** PostgreSQL settings every node shares (the group's DCS configuration, written at bootstrap). */
function sharedParameters(tls: Tls): Record<string, string | number> {
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
    ssl_cert_file: tls.cert,
    ssl_key_file: tls.key,
    ssl_ca_file: tls.ca,
    password_encryption: 'scram-sha-256',
    'citus.shard_count': SHARD_COUNT,
    'citus.node_conninfo': `sslmode=verify-full sslrootcert=${tls.ca}`,
    'citus.recover_2pc_interval': RECOVER_2PC_INTERVAL,
  };
}

function patroniConfig(plan: Plan, m: PatroniMember): Record<string, unknown> {
  const { tls, passwords, internal } = plan;
  const verifyFull = { sslmode: 'verify-full', sslrootcert: tls.ca };
  return {
    scope: plan.scope,
    namespace: '/fenqi/',
    name: m.name,
    citus: { group: m.group, database: TEST_DATABASE },
    log: { level: 'INFO' },
    restapi: {
      listen: `${LOOPBACK}:${m.restPort}`,
      connect_address: `${LOOPBACK}:${m.restPort}`,
      certfile: tls.cert,
      keyfile: tls.key,
      cafile: tls.ca,
      authentication: { username: REST_USER, password: internal.rest },
    },
    etcd3: {
      hosts: [`${LOOPBACK}:${plan.etcd.clientPort}`],
      protocol: 'https',
      cacert: tls.ca,
      cert: tls.clientCert,
      key: tls.clientKey,
    },
    bootstrap: {
      dcs: {
        ttl: TTL_S,
        loop_wait: LOOP_WAIT_S,
        retry_timeout: RETRY_TIMEOUT_S,
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

/** A GET over verified TLS (Patroni's REST API; etcd's with the client certificate). */
function restGet(
  port: number,
  route: string,
  caFile: string,
  client?: { clientCert: string; clientKey: string },
): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const request = https.request(
      {
        host: LOOPBACK,
        port,
        path: route,
        ca: readFileSync(caFile),
        ...(client ? { cert: readFileSync(client.clientCert), key: readFileSync(client.clientKey) } : {}),
        timeout: REST_TIMEOUT_MS,
      },
      (response) => {
        let text = '';
        response.on('data', (chunk) => (text += chunk));
        response.on('end', () => {
          if ((response.statusCode ?? 0) >= 500) reject(new Error(`${route}: ${response.statusCode}`));
          else resolve(text ? JSON.parse(text) : {});
        });
        response.on('error', reject);
      },
    );
    request.on('timeout', () =>
      request.destroy(new Error(`no answer from ${port} in ${REST_TIMEOUT_MS} ms`)),
    );
    request.on('error', reject);
    request.end();
  });
}

async function query(url: string, text: string): Promise<Record<string, unknown>[]> {
  const sql = openPostgres(url, { max: 1, onnotice: () => {} });
  try {
    return [...(await sql.unsafe(text))];
  } finally {
    await sql.end({ timeout: 2 });
  }
}

async function run(url: string, statements: string[]): Promise<void> {
  const sql = openPostgres(url, { max: 1, onnotice: () => {} });
  try {
    for (const statement of statements) await sql.unsafe(statement);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

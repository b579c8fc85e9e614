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

import { copyFileSync, cpSync } from 'node:fs';
import path from 'node:path';
import { certSetIn } from '../../src/link/certs.ts';
import {
  bootCitusGroups,
  type CitusGroupProbe,
  type CitusPatroniMember,
  type CitusPatroniPlan,
  citusGroupProbe,
  citusSharedParameters,
  createFenqiRolesOnGroups,
  planCitusMembers,
  queryRows,
  stopCitusGroups,
} from '../../src/ops/citus-patroni.ts';
import {
  chownToPostgres,
  killTree,
  mkdirOwned,
  postmasterPid,
  signalAll,
  treePids,
} from '../../src/ops/proc.ts';
import { LOOPBACK } from '../../src/ops/topology.ts';
import { DEFAULT_DATABASE_ROLES } from '../../src/store/roles.ts';
import { testCerts, testPassword } from './certs.ts';
import { type CitusCluster, MAX_PREPARED_TRANSACTIONS, TEST_SHARD_COUNT } from './citus.ts';
import { platformKeysEnv } from './keys.ts';
import {
  newRolePasswords,
  type PostgresRole,
  type PostgresServer,
  postgresBinDir,
  type RolePasswords,
  TEST_DATABASE,
} from './postgres.ts';
import { freePort, removeTempDir, tempDir } from './process.ts';

/** The group whose primary a test kills: a primary and a synchronous standby. */
export const HA_GROUP = 1;
/** Members per group: the coordinator, the HA worker group, a worker of one. */
const GROUP_MEMBERS = [1, 2, 1] as const;
/** How often the coordinator finishes or rolls back two-phase commits a lost node left prepared. */
const RECOVER_2PC_INTERVAL = '2s';
const BOOT_LIMIT_MS = 360_000;

export type PatroniMember = CitusPatroniMember;

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

export async function startPatroniCitusCluster(): Promise<PatroniCitusCluster> {
  const { plan, passwords } = await planCluster();
  const probe = citusGroupProbe(plan);
  try {
    await bootCitusGroups(plan, () => testParameters(plan), BOOT_LIMIT_MS);
    await createFenqiRolesOnGroups(plan);
  } catch (err) {
    await stopCitusGroups(plan, { graceful: false });
    throw new Error(`${(err as Error).message} (logs in ${plan.root})`);
  }
  return clusterHandle(plan, passwords, probe, async () => {
    await stopCitusGroups(plan, { graceful: false });
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
async function planCluster(): Promise<{ plan: CitusPatroniPlan; passwords: RolePasswords }> {
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
  const passwords = newRolePasswords();
  const plan: CitusPatroniPlan = {
    root,
    tls,
    database: TEST_DATABASE,
    passwords: {
      superuser: passwords.admin,
      replication: testPassword(),
      rest: testPassword(),
      roles: { owner: passwords.owner, app: passwords.app, report: passwords.report },
    },
    scope: `fenqi-citus-${path.basename(root).slice(-6).toLowerCase()}`,
    namespace: '/fenqi/',
    etcd: {
      clientPort: await freePort(),
      peerPort: await freePort(),
      dataDir: path.join(root, 'etcd'),
      logPath: path.join(root, 'etcd.log'),
    },
    members: await planCitusMembers(root, GROUP_MEMBERS),
  };
  return { plan, passwords };
}

/** The shared settings, with the tests' shard count and a quick two-phase-commit recovery. */
function testParameters(plan: CitusPatroniPlan): Record<string, string | number> {
  return {
    ...citusSharedParameters(plan.tls),
    max_prepared_transactions: MAX_PREPARED_TRANSACTIONS,
    // a process is killed here, not a machine: what a commit waited for is in the standby's
    // memory and page cache either way (the harness's other test servers run so too)
    fsync: 'off',
    full_page_writes: 'off',
    'citus.shard_count': TEST_SHARD_COUNT,
    'citus.recover_2pc_interval': RECOVER_2PC_INTERVAL,
  };
}

/** The running cluster behind the PostgresServer interface (the coordinator's URLs). */
function clusterHandle(
  plan: CitusPatroniPlan,
  passwords: RolePasswords,
  probe: CitusGroupProbe,
  destroy: () => Promise<void>,
): PatroniCitusCluster {
  const { members, tls } = plan;
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
      const [row] = await queryRows(
        probe.adminUrl(coordinator.pgPort),
        `select nodename || ':' || nodeport as at from pg_dist_node where groupid = ${Number(group)} and noderole = 'primary'`,
      );
      return row?.at as string | undefined;
    },
  };
}

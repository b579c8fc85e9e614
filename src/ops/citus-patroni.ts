/**
 * A Citus cluster whose every group is a Patroni cluster (Patroni 3.0.2's native Citus mode,
 * `citus: {group, database}` in each member's configuration), on one etcd, on loopback. Group 0 is
 * the coordinator, groups 1.. the workers; a group of two members has a synchronous standby
 * (`synchronous_mode`), as the single-database topology's primary has. The coordinator's Patroni
 * keeps `pg_dist_node` pointing at each worker group's leader, so a worker failover needs nothing
 * else. Everything is set up as the single-database topology is: TLS only with scram passwords from
 * loopback, verified TLS between nodes (citus.node_conninfo), etcd and the Patroni REST API over
 * TLS, fenqi's three roles with the same passwords on every node.
 *
 * Shared by `fenqi ops up --citus` (src/ops/citus-topology.ts) and the test harness
 * (test/harness/citus-patroni.ts); each chooses the members per group and its PostgreSQL settings.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { CertSet } from '../link/certs.ts';
import { openPostgres } from '../store/db.ts';
import {
  createRolesSql,
  type DatabaseRoles,
  DEFAULT_DATABASE_ROLES,
  databaseGrantsSql,
} from '../store/roles.ts';
import { isRunning, type PatroniMemberView, tlsCall } from './cluster.ts';
import {
  chownToPostgres,
  isAlive,
  mkdirOwned,
  postmasterPid,
  progress,
  signalAll,
  spawnDaemon,
  treePids,
  waitFor,
  waitForExit,
} from './proc.ts';
import {
  etcdArgs,
  freePort,
  LOOPBACK,
  MAXIMUM_LAG_ON_FAILOVER_BYTES,
  PATRONI_LOOP_WAIT_S,
  PATRONI_REST_USER,
  PATRONI_RETRY_TIMEOUT_S,
  PATRONI_TTL_S,
  PG_BIN_DIR,
} from './topology.ts';

const REST_TIMEOUT_MS = 2_000;
const POLL_INTERVAL_MS = 500;
const KILL_WAIT_LIMIT_MS = 10_000;
const KILL_POLL_MS = 100;
const MEMBER_LETTERS = ['a', 'b', 'c'] as const;

export interface CitusPatroniMember {
  /** g<group><letter>: g0a is the coordinator group's first member. */
  name: string;
  group: number;
  pgPort: number;
  restPort: number;
  dataDir: string;
  configPath: string;
  logPath: string;
  patroniPid?: number;
}

export interface CitusPatroniPlan {
  root: string;
  tls: CertSet;
  /** The database Patroni creates with the citus extension in every group. */
  database: string;
  passwords: { superuser: string; replication: string; rest: string; roles: DatabaseRoles };
  /** Patroni's scope (one for every group: Citus mode keys each group under it) and etcd prefix. */
  scope: string;
  namespace: string;
  etcd: { clientPort: number; peerPort: number; dataDir: string; logPath: string; pid?: number };
  members: CitusPatroniMember[];
}

/** Ports and paths of every member: `membersPerGroup[g]` members in group g (1 or 2). */
export async function planCitusMembers(
  root: string,
  membersPerGroup: readonly number[],
): Promise<CitusPatroniMember[]> {
  const members: CitusPatroniMember[] = [];
  for (const [group, count] of membersPerGroup.entries()) {
    if (count < 1 || count > MEMBER_LETTERS.length) throw new Error(`group ${group}: ${count} members`);
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
  return members;
}

export function groupsOf(plan: Pick<CitusPatroniPlan, 'members'>): number[] {
  return [...new Set(plan.members.map((m) => m.group))].sort((a, b) => a - b);
}

/** PostgreSQL settings every member shares (each group's DCS configuration, written at bootstrap). */
export function citusSharedParameters(tls: CertSet): Record<string, string | number> {
  return {
    max_connections: 200,
    // two-phase commit (multi-shard writes) needs prepared transactions on every node
    max_prepared_transactions: 200,
    max_wal_senders: 10,
    max_replication_slots: 10,
    shared_buffers: '32MB',
    wal_keep_size: '128MB',
    hot_standby: 'on',
    synchronous_commit: 'on',
    ssl: 'on',
    ssl_cert_file: tls.serverCertFile,
    ssl_key_file: tls.serverKeyFile,
    ssl_ca_file: tls.caFile,
    password_encryption: 'scram-sha-256',
    'citus.node_conninfo': `sslmode=verify-full sslrootcert=${tls.caFile}`,
  };
}

/** One member's Patroni configuration; `parameters` are the group's PostgreSQL settings. */
export function citusPatroniConfig(
  plan: CitusPatroniPlan,
  m: CitusPatroniMember,
  parameters: Record<string, string | number>,
): Record<string, unknown> {
  const { tls, passwords } = plan;
  const verifyFull = { sslmode: 'verify-full', sslrootcert: tls.caFile };
  return {
    scope: plan.scope,
    namespace: plan.namespace,
    name: m.name,
    citus: { group: m.group, database: plan.database },
    log: { level: 'INFO' },
    restapi: {
      listen: `${LOOPBACK}:${m.restPort}`,
      connect_address: `${LOOPBACK}:${m.restPort}`,
      certfile: tls.serverCertFile,
      keyfile: tls.serverKeyFile,
      cafile: tls.caFile,
      authentication: { username: PATRONI_REST_USER, password: passwords.rest },
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
        // every order the old primary acknowledged; not strict, so a group that lost its standby
        // keeps taking writes
        synchronous_mode: true,
        synchronous_mode_strict: false,
        postgresql: { use_pg_rewind: false, use_slots: true, parameters },
      },
      initdb: [{ encoding: 'UTF8' }, { locale: 'C.UTF-8' }],
    },
    postgresql: {
      listen: `${LOOPBACK}:${m.pgPort}`,
      connect_address: `${LOOPBACK}:${m.pgPort}`,
      data_dir: m.dataDir,
      bin_dir: PG_BIN_DIR,
      pgpass: path.join(plan.root, `pgpass-${m.name}`),
      authentication: {
        superuser: { username: 'postgres', password: passwords.superuser, ...verifyFull },
        replication: { username: 'replicator', password: passwords.replication, ...verifyFull },
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

export interface CitusGroupProbe {
  /** The group as its members' Patroni REST APIs say (the first that answers); [] if none does. */
  view(group: number): Promise<PatroniMemberView[]>;
  leaderOf(group: number): Promise<CitusPatroniMember | undefined>;
  syncStandbyOf(group: number): Promise<CitusPatroniMember | undefined>;
  /** The superuser on a port, over verified TLS. */
  adminUrl(port: number, database?: string): string;
}

export function citusGroupProbe(plan: CitusPatroniPlan): CitusGroupProbe {
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
    view,
    leaderOf: async (group) =>
      named((await view(group)).find((v) => v.role === 'leader' && isRunning(v))?.name),
    syncStandbyOf: async (group) =>
      named((await view(group)).find((v) => v.role === 'sync_standby' && isRunning(v))?.name),
    adminUrl: (port, database = plan.database) =>
      `postgres://postgres:${encodeURIComponent(plan.passwords.superuser)}@${LOOPBACK}:${port}/${database}?sslmode=verify-full&sslrootcert=${encodeURIComponent(tls.caFile)}`,
  };
}

/** Milliseconds left before a deadline, at least one poll (so the last wait still probes once). */
const leftUntil = (deadline: number) => Math.max(POLL_INTERVAL_MS, deadline - Date.now());

/**
 * Writes the configurations, starts etcd, then each group's first member (it bootstraps the group),
 * then the other members (they clone their leader); waits until every group of two has a streaming
 * synchronous standby and the coordinator's Patroni has registered every worker group in
 * pg_dist_node. Everything within `limitMs` in total.
 */
export async function bootCitusGroups(
  plan: CitusPatroniPlan,
  parameters: (m: CitusPatroniMember) => Record<string, string | number>,
  limitMs: number,
): Promise<void> {
  const deadline = Date.now() + limitMs;
  const probe = citusGroupProbe(plan);
  const { members, etcd } = plan;
  for (const m of members) {
    writeFileSync(m.configPath, JSON.stringify(citusPatroniConfig(plan, m, parameters(m)), null, 2), {
      mode: 0o600,
    });
    chownToPostgres(m.configPath);
    await mkdirOwned(path.dirname(m.dataDir));
    writeMemberPgpass(plan, m);
  }
  await mkdirOwned(etcd.dataDir);
  etcd.pid = spawnDaemon('/usr/bin/etcd', etcdArgs(plan), etcd.logPath);
  const etcdHealthy = async () =>
    (await tlsCall(plan, etcd.clientPort, '/health', { clientCert: true, timeoutMs: REST_TIMEOUT_MS }))
      .status === 200 || undefined;
  await waitFor('etcd', etcdHealthy, leftUntil(deadline));
  progress(`etcd on ${LOOPBACK}:${etcd.clientPort}`);
  const start = (m: CitusPatroniMember) => {
    // PostgreSQL inherits Patroni's environment: HOME names the member's ~/.pgpass
    const env = { HOME: path.dirname(m.dataDir) };
    m.patroniPid = spawnDaemon('/usr/bin/patroni', [m.configPath], m.logPath, { cwd: plan.root, env });
  };
  const first = members.filter((m) => m.name.endsWith(MEMBER_LETTERS[0]));
  for (const m of first) start(m);
  for (const group of groupsOf(plan)) {
    const leader = await waitFor(
      `group ${group} to have a leader`,
      () => probe.leaderOf(group),
      leftUntil(deadline),
      POLL_INTERVAL_MS,
    );
    progress(`citus group ${group}: ${leader.name} leads on port ${leader.pgPort}`);
  }
  for (const m of members.filter((x) => !first.includes(x))) start(m);
  for (const group of groupsOf(plan).filter((g) => members.filter((m) => m.group === g).length > 1)) {
    const standby = await waitFor(
      `group ${group}'s synchronous standby`,
      () => probe.syncStandbyOf(group),
      leftUntil(deadline),
      POLL_INTERVAL_MS,
    );
    progress(`citus group ${group}: ${standby.name} is the synchronous standby`);
  }
  await waitWorkersRegistered(plan, probe, deadline);
}

async function waitWorkersRegistered(plan: CitusPatroniPlan, probe: CitusGroupProbe, deadline: number) {
  const workerGroups = groupsOf(plan).filter((g) => g > 0).length;
  await waitFor(
    'the worker groups in pg_dist_node',
    async () => {
      const coordinator = await probe.leaderOf(0);
      if (!coordinator) return undefined;
      const rows = await queryRows(
        probe.adminUrl(coordinator.pgPort),
        `select groupid from pg_dist_node where noderole = 'primary' and groupid > 0`,
      );
      return rows.length === workerGroups || undefined;
    },
    leftUntil(deadline),
    POLL_INTERVAL_MS,
  );
}

/**
 * The role passwords in the member's own ~/.pgpass: the logical-replication subscriptions of an
 * online shard move log in to the source worker through libpq inside the server, which reads no
 * pg_dist_authinfo. (Patroni's own connections use its `pgpass` file through PGPASSFILE.)
 */
function writeMemberPgpass(plan: CitusPatroniPlan, m: CitusPatroniMember): void {
  const file = path.join(path.dirname(m.dataDir), '.pgpass');
  const lines = citusLogins(plan).flatMap(([role, password]) =>
    [LOOPBACK, 'localhost'].map((host) => `${host}:*:*:${role}:${password}`),
  );
  writeFileSync(file, `${lines.join('\n')}\n`, { mode: 0o600 });
  chownToPostgres(file);
}

/** Each login role's password for Citus's node-to-node connections (nodeid 0: to every node). */
export function citusAuthinfoSql(logins: readonly (readonly [role: string, password: string])[]): string[] {
  return logins.map(
    ([role, password]) =>
      `insert into pg_dist_authinfo (nodeid, rolename, authinfo) values (0, '${role}', 'password=${password}')
       on conflict (nodeid, rolename) do update set authinfo = excluded.authinfo`,
  );
}

/** The superuser and fenqi's three roles, each with its password: the same on every node. */
export function citusLogins(plan: CitusPatroniPlan): [string, string][] {
  return [
    ['postgres', plan.passwords.superuser],
    ...(['owner', 'app', 'report'] as const).map(
      (r) => [DEFAULT_DATABASE_ROLES[r], plan.passwords.roles[r]] as [string, string],
    ),
  ];
}

/**
 * fenqi's roles on every group's leader (a standby gets them by replication), each node on its own
 * with propagation off, so no node is asked twice; and every role's password for Citus's own links
 * (Patroni wrote the superuser's at bootstrap).
 */
export async function createFenqiRolesOnGroups(plan: CitusPatroniPlan): Promise<void> {
  const probe = citusGroupProbe(plan);
  for (const group of groupsOf(plan)) {
    const leader = await probe.leaderOf(group);
    if (!leader) throw new Error(`group ${group} has no leader`);
    await runStatements(probe.adminUrl(leader.pgPort, 'postgres'), [
      'set citus.enable_ddl_propagation = off',
      ...createRolesSql(DEFAULT_DATABASE_ROLES, plan.passwords.roles),
    ]);
    await runStatements(probe.adminUrl(leader.pgPort), [
      'set citus.enable_ddl_propagation = off',
      ...databaseGrantsSql(plan.database, DEFAULT_DATABASE_ROLES),
      ...citusAuthinfoSql(citusLogins(plan)),
    ]);
  }
}

/**
 * Every process whose command line names one of `needles` (a configuration file or a data
 * directory of this cluster): finds a Patroni or etcd whose pid was never recorded (the command
 * that started them was killed before it saved its state).
 */
export function pidsMentioning(needles: readonly string[]): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (needles.some((n) => cmdline.includes(n))) found.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return found;
}

/** The configuration files and data directories that name this cluster's processes. */
export function citusPatroniNeedles(plan: CitusPatroniPlan): string[] {
  return [...plan.members.flatMap((m) => [m.configPath, m.dataDir]), plan.etcd.dataDir];
}

/** Every process of the cluster now: each Patroni and PostgreSQL with its children, and etcd. */
export function citusPatroniPids(plan: CitusPatroniPlan): number[] {
  const roots = [
    ...plan.members.flatMap((m) => [m.patroniPid, postmasterPid(m.dataDir)]),
    plan.etcd.pid,
    ...pidsMentioning(citusPatroniNeedles(plan)),
  ];
  return [...new Set(roots.flatMap((pid) => (isAlive(pid) ? treePids(pid) : [])))];
}

/**
 * Stops every member and etcd. Graceful: SIGTERM to each Patroni (it stops its PostgreSQL with a
 * fast shutdown and leaves the leader key) and wait; whatever of the cluster still runs after that,
 * or at once when not graceful, is SIGKILLed with its children, etcd among them.
 */
export async function stopCitusGroups(plan: CitusPatroniPlan, options: { graceful: boolean }): Promise<void> {
  const before = citusPatroniPids(plan);
  if (options.graceful) {
    for (const m of plan.members) if (isAlive(m.patroniPid)) process.kill(m.patroniPid!, 'SIGTERM');
    // etcd is not asked to stop: Patroni needs it to release its keys, and it goes last anyway
    const etcd = new Set(treePids(plan.etcd.pid));
    const servers = before.filter((pid) => !etcd.has(pid));
    await waitForExit(servers);
  }
  // collected at once and killed in one burst, so no Patroni restarts a PostgreSQL meanwhile
  const killed = citusPatroniPids(plan);
  signalAll(killed);
  // a SIGKILL is delivered asynchronously: done only when every process has gone (backends too)
  await waitForExit([...before, ...killed], KILL_WAIT_LIMIT_MS, KILL_POLL_MS);
  const left = [...before, ...killed].filter(isAlive);
  if (left.length > 0) throw new Error(`processes ${left.join(', ')} still run after SIGKILL`);
}

export async function runStatements(url: string, statements: string[]): Promise<void> {
  const sql = openPostgres(url, { max: 1, connect_timeout: 5, onnotice: () => {} });
  try {
    for (const statement of statements) await sql.unsafe(statement);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

export async function queryRows(url: string, text: string): Promise<Record<string, unknown>[]> {
  const sql = openPostgres(url, { max: 1, connect_timeout: 5, onnotice: () => {} });
  try {
    return [...(await sql.unsafe(text))];
  } finally {
    await sql.end({ timeout: 2 });
  }
}

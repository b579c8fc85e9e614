/**
 * The disaster-recovery topology on one machine, as data: three PostgreSQL members under Patroni
 * (dc1a and dc1b in region 1, dc2a in region 2), one etcd, three NATS nodes (one per data center)
 * and a pgBackRest stanza whose two repositories (local and "off-site") sit on a repository host
 * reached over pgBackRest's TLS protocol (a server on each side, client certificates both ways).
 * Everything binds to 127.0.0.1
 * on ports the OS hands out, so several topologies (tests running side by side) never collide.
 *
 * The generated Patroni, NATS and etcd configurations are written as JSON: YAML is a superset of
 * JSON and the NATS configuration parser accepts JSON, so one serializer serves all three.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import path from 'node:path';
import { type CertSet, type ClientCert, certSetIn } from '../link/certs.ts';
import type { NatsLink } from '../queue/jetstream-queue.ts';
import { NATS_USERS, type NatsService, natsInboxPrefix } from '../queue/permissions.ts';
import { NATS_SHADOW_USER, type NatsAccounts, natsAccounts } from '../rehearsal/nats.ts';
import { type DatabaseRoles, DEFAULT_DATABASE_ROLES } from '../store/roles.ts';

export const PG_BIN_DIR = '/usr/lib/postgresql/15/bin';
export const STANZA = 'fenqi';
export const LOOPBACK = '127.0.0.1';
export const APP_DATABASE = 'fenqi';

/** Patroni timings tuned for drills on a small machine; ttl >= loop_wait + 2 * retry_timeout. */
export const PATRONI_TTL_S = 10;
/** A standby further behind than this is not promoted (the synchronous one never is). */
export const MAXIMUM_LAG_ON_FAILOVER_BYTES = 1_048_576;
export const PATRONI_LOOP_WAIT_S = 2;
export const PATRONI_RETRY_TIMEOUT_S = 4;
/** A forced WAL switch at least this often keeps the off-site copy under a minute old. */
export const ARCHIVE_TIMEOUT_S = 15;

export type DcName = 'dc1a' | 'dc1b' | 'dc2a';
export const DCS: readonly DcName[] = ['dc1a', 'dc1b', 'dc2a'];
export const REGION_OF: Record<DcName, 'region1' | 'region2'> = {
  dc1a: 'region1',
  dc1b: 'region1',
  dc2a: 'region2',
};

export interface PgMember {
  name: DcName;
  region: 'region1' | 'region2';
  pgPort: number;
  restPort: number;
  dataDir: string;
  /** dc2a never wins an automatic election and is never the synchronous standby. */
  nofailover: boolean;
  nosync: boolean;
  patroniConfigPath: string;
  logPath: string;
}

export interface NatsNode {
  name: DcName;
  clientPort: number;
  clusterPort: number;
  storeDir: string;
  configPath: string;
  logPath: string;
}

export interface TopologySpec {
  version: 1;
  baseDir: string;
  /** etcd key prefix, unique per topology so a shared etcd could host several. */
  namespace: string;
  scope: string;
  etcd: { clientPort: number; peerPort: number; dataDir: string; logPath: string };
  members: PgMember[];
  nats: NatsNode[];
  pgbackrest: {
    /** The database hosts' configuration: archive-push/get, restore, info, check. */
    configPath: string;
    /** The repository host's: its TLS server, and backup, stanza-create and expire. */
    repoHostConfigPath: string;
    /** pgBackRest TLS servers: the repository host's, and the database hosts' (for backups). */
    repoServerPort: number;
    dbServerPort: number;
    repoLogPath: string;
    repoLockPath: string;
    repo1Path: string;
    repo2Path: string;
    logPath: string;
    lockPath: string;
    spoolPath: string;
  };
  socketDir: string;
  /** The development CA and certificates every link of the topology uses (fenqi ops certs). */
  tls: CertSet;
  passwords: {
    superuser: string;
    replication: string;
    rewind: string;
    repo1Cipher: string;
    repo2Cipher: string;
    /** fenqi's database roles (src/store/roles.ts). */
    roles: DatabaseRoles;
    /** Patroni REST API writes (switchover, config, reload) need this user and password. */
    rest: string;
    nats: Record<NatsTopologyUser, string>;
  };
}

/** `shadow`: the rehearsal's user, alone in its own account (docs/rehearsal.md). */
export type NatsTopologyUser = NatsService | 'admin' | 'shadow';
export const NATS_TOPOLOGY_ADMIN = 'fenqi-admin';
export const PATRONI_REST_USER = 'fenqi-ops';

/** Which parts to start; the NATS test needs only NATS, the database drills need no NATS. */
export interface TopologyParts {
  postgres: boolean;
  nats: boolean;
}

export async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, LOOPBACK, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function distinctPorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort());
  return [...ports];
}

function secret(): string {
  return randomBytes(18).toString('base64url');
}

export async function planTopology(baseDir: string): Promise<TopologySpec> {
  const dir = path.resolve(baseDir);
  const ports = await distinctPorts(4 + DCS.length * 4);
  const take = (): number => ports.shift()!;
  const etcd = { clientPort: take(), peerPort: take(), dataDir: path.join(dir, 'etcd'), logPath: '' };
  etcd.logPath = path.join(dir, 'log', 'etcd.log');
  const members: PgMember[] = DCS.map((name) => ({
    name,
    region: REGION_OF[name],
    pgPort: take(),
    restPort: take(),
    dataDir: path.join(dir, 'pg', name),
    nofailover: name === 'dc2a',
    nosync: name === 'dc2a',
    patroniConfigPath: path.join(dir, 'conf', `patroni-${name}.yml`),
    logPath: path.join(dir, 'log', `patroni-${name}.log`),
  }));
  const nats: NatsNode[] = DCS.map((name) => ({
    name,
    clientPort: take(),
    clusterPort: take(),
    storeDir: path.join(dir, 'nats', name),
    configPath: path.join(dir, 'conf', `nats-${name}.conf`),
    logPath: path.join(dir, 'log', `nats-${name}.log`),
  }));
  return {
    version: 1,
    baseDir: dir,
    namespace: `/fenqi-${randomBytes(4).toString('hex')}/`,
    scope: 'fenqi',
    etcd,
    members,
    nats,
    pgbackrest: {
      configPath: path.join(dir, 'conf', 'pgbackrest.conf'),
      repoHostConfigPath: path.join(dir, 'conf', 'pgbackrest-repo.conf'),
      repoServerPort: take(),
      dbServerPort: take(),
      repoLogPath: path.join(dir, 'log', 'pgbackrest-repo'),
      repoLockPath: path.join(dir, 'run', 'pgbackrest-repo'),
      repo1Path: path.join(dir, 'backup', 'repo1'),
      // Stands in for another host or an S3 bucket; see docs/operations.md for the real settings.
      repo2Path: path.join(dir, 'offsite', 'repo2'),
      logPath: path.join(dir, 'log', 'pgbackrest'),
      lockPath: path.join(dir, 'run', 'pgbackrest'),
      spoolPath: path.join(dir, 'spool'),
    },
    socketDir: path.join(dir, 'run'),
    tls: certSetIn(path.join(dir, 'certs')),
    passwords: {
      superuser: secret(),
      replication: secret(),
      rewind: secret(),
      repo1Cipher: secret() + secret(),
      repo2Cipher: secret() + secret(),
      roles: { owner: secret(), app: secret(), report: secret() },
      rest: secret(),
      nats: { admin: secret(), api: secret(), worker: secret(), platform: secret(), shadow: secret() },
    },
  };
}

/** Each member names its own data directory: pgBackRest checks it against the running server. */
export function archiveCommand(spec: TopologySpec, member: PgMember): string {
  return `${pgbackrestPrefix(spec, member)} archive-push %p`;
}

export function restoreCommand(spec: TopologySpec, member: PgMember): string {
  return `${pgbackrestPrefix(spec, member)} archive-get %f "%p"`;
}

function pgbackrestPrefix(spec: TopologySpec, member: PgMember): string {
  return `pgbackrest --config=${spec.pgbackrest.configPath} --stanza=${STANZA} --pg1-path=${member.dataDir}`;
}

export function patroniConfig(spec: TopologySpec, member: PgMember): Record<string, unknown> {
  return {
    scope: spec.scope,
    namespace: spec.namespace,
    name: member.name,
    log: { level: 'INFO', format: '%(asctime)s %(levelname)s: %(message)s' },
    // TLS for every call; writes (switchover, config, reload) need the password and come from loopback
    restapi: {
      listen: `${LOOPBACK}:${member.restPort}`,
      connect_address: `${LOOPBACK}:${member.restPort}`,
      certfile: spec.tls.serverCertFile,
      keyfile: spec.tls.serverKeyFile,
      cafile: spec.tls.caFile,
      authentication: { username: PATRONI_REST_USER, password: spec.passwords.rest },
      allowlist: [LOOPBACK],
      allowlist_include_members: true,
    },
    // etcd over TLS, and only for holders of a certificate from the CA
    etcd3: {
      hosts: [`${LOOPBACK}:${spec.etcd.clientPort}`],
      protocol: 'https',
      cacert: spec.tls.caFile,
      cert: spec.tls.clientCertFile,
      key: spec.tls.clientKeyFile,
    },
    bootstrap: {
      dcs: {
        ttl: PATRONI_TTL_S,
        loop_wait: PATRONI_LOOP_WAIT_S,
        retry_timeout: PATRONI_RETRY_TIMEOUT_S,
        maximum_lag_on_failover: MAXIMUM_LAG_ON_FAILOVER_BYTES,
        // A commit is acknowledged only once the synchronous standby has flushed it (RPO 0 in
        // region). Not strict: after a failover the survivor keeps taking writes while the old
        // primary is rebuilt, rather than stopping the business until it is back.
        synchronous_mode: true,
        synchronous_mode_strict: false,
        synchronous_node_count: 1,
        postgresql: {
          use_pg_rewind: true,
          use_slots: true,
          parameters: {
            wal_level: 'replica',
            hot_standby: 'on',
            wal_log_hints: 'on',
            max_wal_senders: 10,
            max_replication_slots: 10,
            max_connections: 60,
            shared_buffers: '32MB',
            wal_keep_size: '256MB',
            archive_mode: 'on',
            archive_timeout: ARCHIVE_TIMEOUT_S,
            synchronous_commit: 'on',
            track_commit_timestamp: 'on',
            checkpoint_timeout: '5min',
            ssl: 'on',
            ssl_cert_file: spec.tls.serverCertFile,
            ssl_key_file: spec.tls.serverKeyFile,
            ssl_ca_file: spec.tls.caFile,
            password_encryption: 'scram-sha-256',
            // every schema and role change on record (who, what, when), in the server log
            shared_preload_libraries: 'pgaudit',
            'pgaudit.log': 'ddl, role',
            'pgaudit.log_parameter': 'off',
            // who (role@database) and when on every line, pgaudit's among them
            log_line_prefix: '%m [%p] %u@%d ',
          },
        },
      },
      initdb: [{ encoding: 'UTF8' }, { locale: 'C.UTF-8' }, 'data-checksums'],
    },
    postgresql: {
      listen: `${LOOPBACK}:${member.pgPort}`,
      connect_address: `${LOOPBACK}:${member.pgPort}`,
      data_dir: member.dataDir,
      bin_dir: PG_BIN_DIR,
      pgpass: path.join(spec.baseDir, 'run', `pgpass-${member.name}`),
      // Patroni's own connections (replication, rewind, health) verify the server like any client
      authentication: {
        superuser: { username: 'postgres', password: spec.passwords.superuser, ...verifyFull(spec) },
        replication: { username: 'replicator', password: spec.passwords.replication, ...verifyFull(spec) },
        rewind: { username: 'rewinder', password: spec.passwords.rewind, ...verifyFull(spec) },
      },
      // Local parameters win over the cluster-wide ones, so each member archives with its own path.
      parameters: { unix_socket_directories: spec.socketDir, archive_command: archiveCommand(spec, member) },
      // A standby that fell too far behind fetches the WAL it lacks from the repositories.
      recovery_conf: { restore_command: restoreCommand(spec, member) },
      // TLS and a password for every network client; the socket only for the postgres OS user
      // (pgBackRest's archive-push and backups, which run as that user)
      pg_hba: [
        'local all postgres peer',
        `hostssl replication replicator ${LOOPBACK}/32 scram-sha-256`,
        `hostssl all all ${LOOPBACK}/32 scram-sha-256`,
      ],
      // A replica is built by pg_basebackup from the leader; pgBackRest restore is the documented
      // alternative for large databases (create_replica_methods: [pgbackrest, basebackup]).
      basebackup: [{ checkpoint: 'fast' }],
    },
    tags: {
      nofailover: member.nofailover,
      nosync: member.nosync,
      noloadbalance: false,
      clonefrom: false,
    },
  };
}

function verifyFull(spec: TopologySpec): { sslmode: string; sslrootcert: string } {
  return { sslmode: 'verify-full', sslrootcert: spec.tls.caFile };
}

/** etcd serves clients and peers over TLS and accepts only certificates from the CA. */
export function etcdArgs(spec: Pick<TopologySpec, 'tls' | 'etcd' | 'namespace'>): string[] {
  const peer = `https://${LOOPBACK}:${spec.etcd.peerPort}`;
  const client = `https://${LOOPBACK}:${spec.etcd.clientPort}`;
  const t = spec.tls;
  return [
    `--cert-file=${t.serverCertFile}`,
    `--key-file=${t.serverKeyFile}`,
    `--trusted-ca-file=${t.caFile}`,
    '--client-cert-auth=true',
    `--peer-cert-file=${t.serverCertFile}`,
    `--peer-key-file=${t.serverKeyFile}`,
    `--peer-trusted-ca-file=${t.caFile}`,
    '--peer-client-cert-auth=true',
    '--name=etcd1',
    `--data-dir=${spec.etcd.dataDir}`,
    `--listen-client-urls=${client}`,
    `--advertise-client-urls=${client}`,
    `--listen-peer-urls=${peer}`,
    `--initial-advertise-peer-urls=${peer}`,
    `--initial-cluster=etcd1=${peer}`,
    '--initial-cluster-state=new',
    `--initial-cluster-token=${spec.namespace.replaceAll('/', '')}`,
    '--enable-v2=false',
    '--log-level=warn',
    '--logger=zap',
  ];
}

/**
 * pgBackRest's TLS links. Every client presents a certificate from the CA and the server maps its
 * CN to the stanzas it may touch (tls-server-auth): the database hosts' CN reaches the repositories,
 * the repository host's CN reaches the database hosts (a backup runs on the repository host and
 * reads PostgreSQL through the database host's server). The host is `localhost`: pgBackRest 2.45
 * matches the host name against the certificate's DNS names only, not its IP addresses.
 */
export const PGBACKREST_HOST = 'localhost';
export const PGBACKREST_DB_CLIENT_CN = 'fenqi-pgbackrest-db';
export const PGBACKREST_REPO_CLIENT_CN = 'fenqi-pgbackrest-repo';

export function pgbackrestClientCerts(spec: TopologySpec): { db: ClientCert; repo: ClientCert } {
  const at = (name: string) => ({
    certFile: path.join(spec.tls.dir, `${name}.crt`),
    keyFile: path.join(spec.tls.dir, `${name}.key`),
  });
  return { db: at('pgbackrest-db'), repo: at('pgbackrest-repo') };
}

/** Settings shared by both configurations: how the stanza's repositories are encrypted. */
function repoLines(spec: TopologySpec): string[] {
  const b = spec.pgbackrest;
  return [
    `repo1-path=${b.repo1Path}`,
    'repo1-cipher-type=aes-256-cbc',
    `repo1-cipher-pass=${spec.passwords.repo1Cipher}`,
    `repo2-path=${b.repo2Path}`,
    'repo2-cipher-type=aes-256-cbc',
    `repo2-cipher-pass=${spec.passwords.repo2Cipher}`,
    'compress-type=lz4',
    'compress-level=1',
    'process-max=2',
    'log-level-console=warn',
    'log-level-file=info',
  ];
}

function tlsServerLines(spec: TopologySpec, port: number, clientCn: string): string[] {
  const t = spec.tls;
  return [
    `tls-server-address=${LOOPBACK}`,
    `tls-server-port=${port}`,
    `tls-server-cert-file=${t.serverCertFile}`,
    `tls-server-key-file=${t.serverKeyFile}`,
    `tls-server-ca-file=${t.caFile}`,
    `tls-server-auth=${clientCn}=${STANZA}`,
  ];
}

/** The database hosts' configuration: the repositories are on the repository host, over TLS. */
export function pgbackrestConf(spec: TopologySpec): string {
  const b = spec.pgbackrest;
  const primary = spec.members[0]!;
  const cert = pgbackrestClientCerts(spec).db;
  const remoteRepo = (n: 1 | 2) => [
    `repo${n}-host=${PGBACKREST_HOST}`,
    `repo${n}-host-type=tls`,
    `repo${n}-host-port=${b.repoServerPort}`,
    `repo${n}-host-cert-file=${cert.certFile}`,
    `repo${n}-host-key-file=${cert.keyFile}`,
    `repo${n}-host-ca-file=${spec.tls.caFile}`,
  ];
  return [
    '[global]',
    ...repoLines(spec),
    ...remoteRepo(1),
    ...remoteRepo(2),
    ...tlsServerLines(spec, b.dbServerPort, PGBACKREST_REPO_CLIENT_CN),
    `log-path=${b.logPath}`,
    `lock-path=${b.lockPath}`,
    `spool-path=${b.spoolPath}`,
    'archive-timeout=60',
    '',
    `[${STANZA}]`,
    // The primary changes on failover; commands that need it pass --pg1-path/--pg1-port.
    `pg1-path=${primary.dataDir}`,
    `pg1-port=${primary.pgPort}`,
    `pg1-socket-path=${spec.socketDir}`,
    'pg1-user=postgres',
    '',
  ].join('\n');
}

/** The repository host's configuration: it holds the repositories and reaches PostgreSQL over TLS. */
export function pgbackrestRepoConf(spec: TopologySpec): string {
  const b = spec.pgbackrest;
  const primary = spec.members[0]!;
  const cert = pgbackrestClientCerts(spec).repo;
  return [
    '[global]',
    ...repoLines(spec),
    'repo1-retention-full=2',
    'repo1-retention-diff=6',
    'repo2-retention-full-type=count',
    'repo2-retention-full=4',
    'repo2-retention-diff=14',
    'start-fast=y',
    ...tlsServerLines(spec, b.repoServerPort, PGBACKREST_DB_CLIENT_CN),
    `log-path=${b.repoLogPath}`,
    `lock-path=${b.repoLockPath}`,
    'archive-timeout=60',
    '',
    `[${STANZA}]`,
    `pg1-host=${PGBACKREST_HOST}`,
    'pg1-host-type=tls',
    `pg1-host-port=${b.dbServerPort}`,
    `pg1-host-cert-file=${cert.certFile}`,
    `pg1-host-key-file=${cert.keyFile}`,
    `pg1-host-ca-file=${spec.tls.caFile}`,
    // The primary changes on failover; commands that need it pass --pg1-path/--pg1-port.
    `pg1-path=${primary.dataDir}`,
    `pg1-port=${primary.pgPort}`,
    `pg1-socket-path=${spec.socketDir}`,
    'pg1-user=postgres',
    '',
  ].join('\n');
}

export function natsUserName(as: NatsTopologyUser): string {
  if (as === 'shadow') return NATS_SHADOW_USER;
  return as === 'admin' ? NATS_TOPOLOGY_ADMIN : NATS_USERS[as];
}

/**
 * Who may connect, as two accounts (src/rehearsal/nats.ts): a user per fenqi service with its
 * permissions (src/queue/permissions.ts) and an admin for ops in FENQI, the rehearsal's shadow user
 * alone in FENQI_SHADOW. Accounts are separate subject namespaces with their own JetStream, so the
 * server itself keeps rehearsal traffic off production's subjects and streams, and back.
 */
export function natsTopologyAccounts(spec: TopologySpec): NatsAccounts {
  const { admin, api, worker, platform, shadow } = spec.passwords.nats;
  const adminEntry = {
    user: NATS_TOPOLOGY_ADMIN,
    password: admin,
    permissions: { publish: { allow: ['>'] }, subscribe: { allow: ['>'] } },
  };
  return natsAccounts({ api, worker, platform }, shadow, [adminEntry]);
}

export function natsConfig(spec: TopologySpec, node: NatsNode): Record<string, unknown> {
  const t = spec.tls;
  return {
    server_name: node.name,
    listen: `${LOOPBACK}:${node.clientPort}`,
    jetstream: { store_dir: node.storeDir, max_memory_store: 64 * 1024 * 1024, max_file_store: 1024 ** 3 },
    tls: { cert_file: t.serverCertFile, key_file: t.serverKeyFile, ca_file: t.caFile, timeout: 5 },
    accounts: natsTopologyAccounts(spec),
    cluster: {
      name: 'fenqi',
      listen: `${LOOPBACK}:${node.clusterPort}`,
      // routes between nodes: TLS both ways, each node proving itself with the CA's certificate
      tls: {
        cert_file: t.serverCertFile,
        key_file: t.serverKeyFile,
        ca_file: t.caFile,
        verify: true,
        timeout: 5,
      },
      routes: spec.nats
        .filter((n) => n.name !== node.name)
        .map((n) => `nats-route://${LOOPBACK}:${n.clusterPort}`),
    },
  };
}

export function natsUrl(spec: TopologySpec): string {
  return spec.nats.map((n) => `tls://${LOOPBACK}:${n.clientPort}`).join(',');
}

/** nats.js connection options for a topology user: password, the CA, and the user's inbox. */
export function natsConnectOptions(spec: TopologySpec, as: NatsTopologyUser = 'admin') {
  const user = natsUserName(as);
  return {
    user,
    pass: spec.passwords.nats[as],
    tls: { caFile: spec.tls.caFile },
    inboxPrefix: natsInboxPrefix(user),
  };
}

/** The same for fenqi's own queue client (JetStreamQueue). */
export function natsTopologyLink(spec: TopologySpec, as: NatsTopologyUser = 'admin'): NatsLink {
  return { user: natsUserName(as), pass: spec.passwords.nats[as], tls: { caFile: spec.tls.caFile } };
}

/** NATS_URL, NATS_CA_FILE, NATS_USER and NATS_PASSWORD of a fenqi process on this topology. */
export function natsEnv(spec: TopologySpec, as: NatsService = 'platform'): Record<string, string> {
  return {
    NATS_URL: natsUrl(spec),
    NATS_CA_FILE: spec.tls.caFile,
    NATS_USER: natsUserName(as),
    NATS_PASSWORD: spec.passwords.nats[as],
  };
}

/** The shadow side's NATS credentials for a process that runs rehearsals (src/rehearsal/config.ts). */
export function shadowNatsEnv(spec: TopologySpec): Record<string, string> {
  return {
    FENQI_SHADOW_NATS_USER: natsUserName('shadow'),
    FENQI_SHADOW_NATS_PASSWORD: spec.passwords.nats.shadow,
  };
}

/**
 * The application's connection string: every member, and a session attribute that skips the
 * standbys, so the pool follows the primary after a failover without a restart. libpq (psql,
 * pgbench) takes `read-write`. postgres.js 3.4 must be given `primary`: its `read-write` reads only
 * default_transaction_read_only, which a PostgreSQL 14+ hot standby reports as off, so it would
 * settle on a standby and fail every write with "read-only transaction".
 */
export function appDatabaseUrl(
  spec: TopologySpec,
  database = APP_DATABASE,
  attrs: 'primary' | 'read-write' = 'primary',
  role: keyof DatabaseRoles = 'app',
): string {
  const hosts = spec.members.map((m) => `${LOOPBACK}:${m.pgPort}`).join(',');
  const login = `${DEFAULT_DATABASE_ROLES[role]}:${encodeURIComponent(spec.passwords.roles[role])}`;
  return `postgres://${login}@${hosts}/${database}?target_session_attrs=${attrs}&${tlsQuery(spec)}`;
}

/** libpq's TLS parameters (postgres.js through src/store/db.ts): verify the server against the CA. */
export function tlsQuery(spec: TopologySpec): string {
  return `sslmode=verify-full&sslrootcert=${encodeURIComponent(spec.tls.caFile)}`;
}

/** The superuser on one member, over verified TLS. */
export function memberDatabaseUrl(spec: TopologySpec, member: PgMember, database = APP_DATABASE): string {
  const password = encodeURIComponent(spec.passwords.superuser);
  return `postgres://postgres:${password}@${LOOPBACK}:${member.pgPort}/${database}?${tlsQuery(spec)}`;
}

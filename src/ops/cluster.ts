/**
 * Stands the one-machine topology up and down: writes the generated configurations, starts etcd,
 * the three Patroni members (which run PostgreSQL), pgBackRest's TLS servers and stanza and the NATS cluster as
 * detached processes, and waits for health through Patroni's REST API. The state (spec and pids)
 * is kept in <baseDir>/topology.json so `fenqi ops down` and the drills can find it later.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import { generateDevCerts, issueClientCert } from '../link/certs.ts';
import { openPostgres } from '../store/db.ts';
import { createRolesSql, DEFAULT_DATABASE_ROLES, databaseGrantsSql } from '../store/roles.ts';
import {
  chownToPostgres,
  isAlive,
  killTree,
  missingBinaries,
  mkdirOwned,
  postmasterPid,
  progress,
  runAsPostgres,
  signalAll,
  sleep,
  spawnDaemon,
  treePids,
  waitFor,
  waitForExit,
} from './proc.ts';
import {
  APP_DATABASE,
  type DcName,
  etcdArgs,
  LOOPBACK,
  memberDatabaseUrl,
  natsConfig,
  PATRONI_REST_USER,
  PGBACKREST_DB_CLIENT_CN,
  PGBACKREST_REPO_CLIENT_CN,
  type PgMember,
  patroniConfig,
  pgbackrestClientCerts,
  pgbackrestConf,
  pgbackrestRepoConf,
  planTopology,
  STANZA,
  type TopologyParts,
  type TopologySpec,
} from './topology.ts';

export const STATE_FILE = 'topology.json';
export const DEFAULT_TOPOLOGY_DIR = '.fenqi/topology';

/** Limits on waits while the topology comes up on a slow 2-core machine. */
const ETCD_READY_LIMIT_MS = 30_000;
const BOOTSTRAP_LIMIT_MS = 90_000;
const REPLICAS_READY_LIMIT_MS = 120_000;
const NATS_READY_LIMIT_MS = 30_000;
const PGBACKREST_SERVER_READY_LIMIT_MS = 30_000;
const REST_TIMEOUT_MS = 1_500;

export interface TopologyState {
  spec: TopologySpec;
  parts: TopologyParts;
  pids: {
    etcd?: number;
    patroni: Partial<Record<DcName, number>>;
    nats: Partial<Record<DcName, number>>;
    /** pgBackRest's TLS servers: the repository host's and the database hosts'. */
    pgbackrest?: { repo?: number; db?: number };
  };
  startedAt: string;
}

export const BINARIES_POSTGRES = [
  '/usr/bin/patroni',
  '/usr/bin/etcd',
  '/usr/bin/pgbackrest',
  '/usr/lib/postgresql/15/bin/postgres',
];
export const BINARIES_NATS = ['/usr/sbin/nats-server'];

export async function loadState(baseDir: string): Promise<TopologyState | undefined> {
  const file = path.join(path.resolve(baseDir), STATE_FILE);
  if (!existsSync(file)) return undefined;
  return JSON.parse(await readFile(file, 'utf8')) as TopologyState;
}

export async function saveState(state: TopologyState): Promise<void> {
  const file = path.join(state.spec.baseDir, STATE_FILE);
  await writeFile(file, JSON.stringify(state, null, 2), { mode: 0o600 });
}

/** A topology is "configured" when its state file exists and etcd or a member still runs. */
export async function runningState(baseDir: string): Promise<TopologyState | undefined> {
  const state = await loadState(baseDir);
  if (!state) return undefined;
  const anyAlive =
    isAlive(state.pids.etcd) ||
    Object.values(state.pids.pgbackrest ?? {}).some(isAlive) ||
    Object.values(state.pids.patroni).some(isAlive) ||
    Object.values(state.pids.nats).some(isAlive);
  return anyAlive ? state : undefined;
}

// ---------------------------------------------------------------- Patroni REST

export interface PatroniMemberView {
  name: string;
  role: string;
  state: string;
  host: string;
  port: number;
  timeline?: number;
  lag?: number | string;
  tags?: Record<string, unknown>;
}

export interface TlsCall {
  method?: string;
  body?: unknown;
  /** HTTP basic authentication (Patroni REST writes). */
  auth?: { username: string; password: string };
  /** Present the topology's client certificate (etcd checks it). */
  clientCert?: boolean;
  timeoutMs: number;
}

/** An HTTPS call to a topology service on loopback, verifying its certificate against the CA. */
export function tlsCall(
  spec: Pick<TopologySpec, 'tls'>,
  port: number,
  route: string,
  call: TlsCall,
): Promise<{ status: number; text: string }> {
  const t = spec.tls;
  const payload = call.body === undefined ? undefined : JSON.stringify(call.body);
  return new Promise((resolve, reject) => {
    const request = https.request(
      {
        host: LOOPBACK,
        port,
        path: route,
        method: call.method ?? 'GET',
        ca: readFileSync(t.caFile),
        ...(call.clientCert
          ? { cert: readFileSync(t.clientCertFile), key: readFileSync(t.clientKeyFile) }
          : {}),
        ...(call.auth ? { auth: `${call.auth.username}:${call.auth.password}` } : {}),
        headers: payload ? { 'content-type': 'application/json' } : {},
        timeout: call.timeoutMs,
      },
      (response) => {
        let text = '';
        response.on('data', (chunk) => (text += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, text }));
        response.on('error', reject);
      },
    );
    request.on('timeout', () =>
      request.destroy(new Error(`no answer from ${LOOPBACK}:${port} in ${call.timeoutMs} ms`)),
    );
    request.on('error', reject);
    request.end(payload);
  });
}

export async function restGet<T>(
  spec: TopologySpec,
  port: number,
  route: string,
): Promise<{ status: number; body: T }> {
  const { status, text } = await tlsCall(spec, port, route, { timeoutMs: REST_TIMEOUT_MS });
  return { status, body: (text ? JSON.parse(text) : {}) as T };
}

/** A write to Patroni's REST API: over TLS, with the ops user's password. */
export async function restSend(
  spec: TopologySpec,
  port: number,
  method: string,
  route: string,
  body?: unknown,
): Promise<number> {
  const auth = { username: PATRONI_REST_USER, password: spec.passwords.rest };
  const { status } = await tlsCall(spec, port, route, { method, body, auth, timeoutMs: REST_TIMEOUT_MS * 4 });
  return status;
}

/** The cluster as any reachable member sees it (the first that answers). */
/** Sets a member's nofailover tag in its Patroni config file (Patroni reads it on reload). */
export async function setNofailover(configPath: string, value: boolean): Promise<void> {
  const config = JSON.parse(await readFile(configPath, 'utf8')) as { tags: Record<string, unknown> };
  config.tags.nofailover = value;
  await writeFile(configPath, JSON.stringify(config, null, 2));
}

export async function clusterView(
  spec: TopologySpec,
  preferred: DcName[] = [],
): Promise<PatroniMemberView[] | undefined> {
  const order = [...spec.members].sort(
    (a, b) => Number(preferred.includes(b.name)) - Number(preferred.includes(a.name)),
  );
  for (const member of order) {
    try {
      const { body } = await restGet<{ members?: PatroniMemberView[] }>(spec, member.restPort, '/cluster');
      if (body.members) return body.members;
    } catch {
      // unreachable member: ask the next
    }
  }
  return undefined;
}

export function isRunning(m: PatroniMemberView): boolean {
  return m.state === 'running' || m.state === 'streaming';
}

export async function currentLeader(
  spec: TopologySpec,
  preferred: DcName[] = [],
): Promise<PgMember | undefined> {
  const view = await clusterView(spec, preferred);
  const leader = view?.find((m) => m.role === 'leader' && isRunning(m));
  return spec.members.find((m) => m.name === leader?.name);
}

// ---------------------------------------------------------------- up / down

export interface UpOptions {
  parts?: TopologyParts;
}

export async function up(baseDir: string, options: UpOptions = {}): Promise<TopologyState> {
  const parts = options.parts ?? { postgres: true, nats: true };
  const missing = missingBinaries([
    ...(parts.postgres ? BINARIES_POSTGRES : []),
    ...(parts.nats ? BINARIES_NATS : []),
  ]);
  if (missing.length > 0) throw new Error(missing.join('; '));
  const existing = await runningState(baseDir);
  if (existing)
    throw new Error(`a topology already runs under ${existing.spec.baseDir} (fenqi ops down first)`);

  const base = path.resolve(baseDir);
  // Only ever wipe what a previous topology left behind, never a directory someone pointed us at.
  if (existsSync(base) && readdirSync(base).length > 0 && !existsSync(path.join(base, STATE_FILE))) {
    throw new Error(`${base} is not empty and holds no topology: choose another --dir`);
  }
  await rm(base, { recursive: true, force: true });
  await mkdirOwned(base);
  const spec = await planTopology(base);
  const state: TopologyState = {
    spec,
    parts,
    pids: { patroni: {}, nats: {} },
    startedAt: new Date().toISOString(),
  };
  for (const dir of ['conf', 'log', 'run', 'pg', 'nats', 'backup', 'offsite'])
    await mkdirOwned(path.join(base, dir));
  // Every server runs as postgres and reads its key from here (PostgreSQL insists on owning it).
  generateDevCerts(spec.tls.dir);
  const pgbackrestCerts = pgbackrestClientCerts(spec);
  issueClientCert(spec.tls, PGBACKREST_DB_CLIENT_CN, path.basename(pgbackrestCerts.db.certFile, '.crt'));
  issueClientCert(spec.tls, PGBACKREST_REPO_CLIENT_CN, path.basename(pgbackrestCerts.repo.certFile, '.crt'));
  chownToPostgres(spec.tls.dir);
  for (const file of readdirSync(spec.tls.dir)) chownToPostgres(path.join(spec.tls.dir, file));
  const b = spec.pgbackrest;
  for (const dir of [
    b.repo1Path,
    b.repo2Path,
    b.logPath,
    b.lockPath,
    b.spoolPath,
    b.repoLogPath,
    b.repoLockPath,
  ])
    await mkdirOwned(dir, 0o750);
  await saveState(state);

  try {
    if (parts.postgres) await startPostgres(state);
    if (parts.nats) await startNats(state);
  } catch (err) {
    progress(`topology failed to come up: ${(err as Error).message}; stopping it`);
    // The files stay: the logs are how one finds out why.
    await down(state, { graceful: false, keepFiles: true });
    throw new Error(
      `topology failed to come up (logs in ${path.join(base, 'log')}): ${(err as Error).message}`,
    );
  }
  return state;
}

async function writeOwned(file: string, text: string): Promise<void> {
  await writeFile(file, text, { mode: 0o600 });
  chownToPostgres(file);
}

async function startPostgres(state: TopologyState): Promise<void> {
  const { spec } = state;
  await writeOwned(spec.pgbackrest.configPath, pgbackrestConf(spec));
  await writeOwned(spec.pgbackrest.repoHostConfigPath, pgbackrestRepoConf(spec));
  for (const m of spec.members) {
    await writeOwned(m.patroniConfigPath, JSON.stringify(patroniConfig(spec, m), null, 2));
  }

  progress(`etcd on ${LOOPBACK}:${spec.etcd.clientPort}`);
  await mkdirOwned(spec.etcd.dataDir);
  state.pids.etcd = spawnDaemon('/usr/bin/etcd', etcdArgs(spec), spec.etcd.logPath);
  await saveState(state);
  await waitFor(
    'etcd health',
    async () => {
      const r = await tlsCall(spec, spec.etcd.clientPort, '/health', { clientCert: true, timeoutMs: 1000 });
      return r.status === 200 ? true : undefined;
    },
    ETCD_READY_LIMIT_MS,
  );

  const [first, ...rest] = spec.members;
  progress(`patroni ${first!.name}: bootstrapping the primary on port ${first!.pgPort}`);
  await startMember(state, first!);
  await waitFor(
    `${first!.name} to lead`,
    async () => (await currentLeader(spec))?.name === first!.name || undefined,
    BOOTSTRAP_LIMIT_MS,
    500,
  );

  await startPgbackrestServers(state);
  progress(`pgbackrest: stanza-create on repo1 and repo2 (encrypted, aes-256-cbc, over TLS)`);
  await pgbackrest(spec, first!, ['stanza-create']);

  for (const m of rest) {
    progress(`patroni ${m.name}: cloning from the primary on port ${m.pgPort}`);
    await startMember(state, m);
  }
  await waitHealthy(spec, REPLICAS_READY_LIMIT_MS);

  await createAppDatabase(spec, first!);
  progress('postgres topology healthy: dc1a primary, dc1b synchronous standby, dc2a asynchronous standby');
}

/** The repository host's TLS server (archive-push from every member) and the database hosts' (backups). */
async function startPgbackrestServers(state: TopologyState): Promise<void> {
  const b = state.spec.pgbackrest;
  const serve = (config: string, log: string) =>
    spawnDaemon('/usr/bin/pgbackrest', [`--config=${config}`, 'server'], log, { cwd: state.spec.baseDir });
  state.pids.pgbackrest = {
    repo: serve(b.repoHostConfigPath, path.join(b.repoLogPath, 'server-console.log')),
    db: serve(b.configPath, path.join(b.logPath, 'server-console.log')),
  };
  await saveState(state);
  for (const port of [b.repoServerPort, b.dbServerPort]) {
    await waitFor(`pgbackrest server on ${port}`, () => tcpOpen(port), PGBACKREST_SERVER_READY_LIMIT_MS);
  }
  progress(`pgbackrest TLS servers: repository host ${b.repoServerPort}, database hosts ${b.dbServerPort}`);
}

/** fenqi's roles (owner, app, report) and its database, granted as docs/security.md says. */
async function createAppDatabase(spec: TopologySpec, primary: PgMember): Promise<void> {
  const run = async (database: string, statements: string[]) => {
    const sql = openPostgres(memberDatabaseUrl(spec, primary, database), { max: 1, onnotice: () => {} });
    try {
      for (const statement of statements) await sql.unsafe(statement);
    } finally {
      await sql.end({ timeout: 5 });
    }
  };
  await run('postgres', [
    ...createRolesSql(DEFAULT_DATABASE_ROLES, spec.passwords.roles),
    `create database ${APP_DATABASE}`,
  ]);
  await run(APP_DATABASE, [
    // pgaudit's event triggers add the object to each DDL record
    'create extension if not exists pgaudit',
    ...databaseGrantsSql(APP_DATABASE, DEFAULT_DATABASE_ROLES),
  ]);
}

export async function startMember(state: TopologyState, member: PgMember): Promise<void> {
  state.pids.patroni[member.name] = spawnDaemon(
    '/usr/bin/patroni',
    [member.patroniConfigPath],
    member.logPath,
    {
      cwd: state.spec.baseDir,
    },
  );
  await saveState(state);
}

/** All three members running, one leader, and a synchronous standby in region 1. */
export async function waitHealthy(spec: TopologySpec, limitMs: number): Promise<PatroniMemberView[]> {
  return await waitFor(
    'all members running with a synchronous standby',
    async () => {
      const view = await clusterView(spec);
      if (!view || view.length < spec.members.length) return undefined;
      if (!view.every(isRunning)) return undefined;
      if (!view.some((m) => m.role === 'leader')) return undefined;
      if (!view.some((m) => m.role === 'sync_standby')) return undefined;
      return view;
    },
    limitMs,
    500,
  );
}

async function startNats(state: TopologyState): Promise<void> {
  const { spec } = state;
  for (const node of spec.nats) {
    await mkdirOwned(node.storeDir);
    await writeOwned(node.configPath, JSON.stringify(natsConfig(spec, node), null, 2));
  }
  for (const node of spec.nats) startNatsNode(state, node.name);
  await saveState(state);
  for (const node of spec.nats) {
    await waitFor(`nats ${node.name}`, () => tcpOpen(node.clientPort), NATS_READY_LIMIT_MS);
  }
  progress(`nats cluster up: ${spec.nats.map((n) => `${n.name}:${n.clientPort}`).join(' ')}`);
}

export function startNatsNode(state: TopologyState, name: DcName): void {
  const node = state.spec.nats.find((n) => n.name === name)!;
  state.pids.nats[name] = spawnDaemon('/usr/sbin/nats-server', ['-c', node.configPath], node.logPath);
}

export function tcpOpen(port: number): Promise<boolean | undefined> {
  return new Promise((resolve) => {
    const socket = net.connect(port, LOOPBACK);
    socket.setTimeout(1000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(undefined));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(undefined);
    });
  });
}

/**
 * Every process of a member: Patroni (first, so it cannot restart PostgreSQL) and the postmaster
 * with its backends. Collected before the kill so that the kill itself is one burst of signals
 * and the drills' kill time is exact.
 */
export function memberPids(state: TopologyState, name: DcName): number[] {
  const member = state.spec.members.find((m) => m.name === name)!;
  return [...treePids(state.pids.patroni[name]), ...treePids(postmasterPid(member.dataDir))];
}

export function natsPids(state: TopologyState, name: DcName): number[] {
  return treePids(state.pids.nats[name]);
}

export function killNatsNode(state: TopologyState, name: DcName): void {
  signalAll(natsPids(state, name));
}

export async function down(
  state: TopologyState,
  options: { graceful?: boolean; keepFiles?: boolean } = {},
): Promise<void> {
  const { spec } = state;
  const graceful = options.graceful ?? true;
  if (graceful) {
    for (const pid of [...Object.values(state.pids.patroni), ...Object.values(state.pids.nats)]) {
      if (isAlive(pid)) process.kill(pid!, 'SIGTERM');
    }
    await waitForExit(Object.values(state.pids.patroni));
  }
  for (const pid of [...Object.values(state.pids.patroni), ...Object.values(state.pids.nats)]) killTree(pid);
  for (const m of spec.members) killTree(postmasterPid(m.dataDir));
  for (const pid of Object.values(state.pids.pgbackrest ?? {})) killTree(pid);
  killTree(state.pids.etcd);
  await sleep(100);
  if (!options.keepFiles) await rm(spec.baseDir, { recursive: true, force: true });
  else await saveState({ ...state, pids: { patroni: {}, nats: {} } });
}

// ---------------------------------------------------------------- pgBackRest

/** pgBackRest refuses these anywhere but on the repository host; the rest run on a database host. */
export const REPO_HOST_COMMANDS: ReadonlySet<string> = new Set([
  'backup',
  'expire',
  'stanza-create',
  'stanza-upgrade',
  'stanza-delete',
]);

/** The configuration a pgBackRest command runs with: the repository host's or the database hosts'. */
export function pgbackrestConfigFor(spec: TopologySpec, args: string[]): string {
  const command = args.find((a) => !a.startsWith('-'));
  return command && REPO_HOST_COMMANDS.has(command)
    ? spec.pgbackrest.repoHostConfigPath
    : spec.pgbackrest.configPath;
}

/** Runs pgbackrest as postgres against the given member (the primary for backups). */
export async function pgbackrest(
  spec: TopologySpec,
  member: PgMember | undefined,
  args: string[],
  timeoutMs = 600_000,
): Promise<string> {
  const target = member ? [`--pg1-path=${member.dataDir}`, `--pg1-port=${member.pgPort}`] : [];
  const { stdout } = await runAsPostgres(
    '/usr/bin/pgbackrest',
    [`--config=${pgbackrestConfigFor(spec, args)}`, `--stanza=${STANZA}`, ...target, ...args],
    { timeoutMs, cwd: spec.baseDir },
  );
  return stdout;
}

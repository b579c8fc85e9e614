/**
 * `fenqi ops ...`: the disaster-recovery topology (up, down, status), backups, point-in-time
 * restore and drills. Heavy modules load inside the actions so `fenqi --help` stays fast.
 */
import type { Command } from 'commander';
import type { DrillReport } from '../../ops/report.ts';
import { UsageError } from '../usage-error.ts';

const DEFAULT_DIR = '.fenqi/topology';
const DEFAULT_CERT_DIR = '.fenqi/certs';
const DEFAULT_REPORT_DIR = '.fenqi/drills';

function oneOf<T extends string>(flag: string, value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value)) {
    throw new UsageError(`${flag} must be one of ${allowed.join(', ')} (got ${value})`);
  }
  return value as T;
}

function repoOf(value: string): 1 | 2 {
  return Number(oneOf('--repo', value, ['1', '2'] as const)) as 1 | 2;
}

async function requireTopology(dir: string) {
  const { runningState } = await import('../../ops/cluster.ts');
  const state = await runningState(dir);
  if (!state)
    throw new UsageError(`no topology runs under ${dir} (start one with: fenqi ops up --dir ${dir})`);
  return state;
}

/**
 * `fenqi ops up --citus`: the coordinator and workers, and the URLs the platform connects with.
 * With standbys (the default) every group is a Patroni cluster with a synchronous standby.
 */
async function citusUpCommand(dir: string, standbys: boolean, shardCount: number | undefined): Promise<void> {
  const topology = await import('../../ops/citus-topology.ts');
  const started = Date.now();
  const state = standbys
    ? await topology.citusUpWithStandbys(dir, shardCount ? { shardCount } : {})
    : await topology.citusUp(dir, shardCount ? { shardCount } : {});
  const nodes =
    state.kind === 'citus'
      ? state.nodes.map((n) => `  ${n.name} postgres 127.0.0.1:${n.port}`)
      : state.plan.members.map(
          (m) =>
            `  group ${m.group} ${m.name} postgres 127.0.0.1:${m.pgPort}  patroni REST https://127.0.0.1:${m.restPort}`,
        );
  const lines = [
    `citus topology up under ${state.baseDir} in ${((Date.now() - started) / 1000).toFixed(1)} s (every link TLS from the CA in ${state.tlsDir}, with passwords)`,
    ...nodes,
    ...(state.kind === 'citus-patroni'
      ? [
          `  etcd https://127.0.0.1:${state.plan.etcd.clientPort}; group 0 is the coordinator, each group a primary and a synchronous standby`,
        ]
      : []),
    `  DATABASE_URL='${topology.citusAppUrl(state)}'`,
    `  MIGRATION_DATABASE_URL='${topology.citusAppUrl(state, 'owner')}'`,
    '  fenqi migrate distributes the tables; fenqi db nodes lists the workers (DATABASE_ADMIN_URL: a superuser on the coordinator)',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

function shardCountOf(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 1024)
    throw new UsageError(`--shard-count must be 1..1024 (got ${value})`);
  return n;
}

export function register(program: Command): void {
  const ops = program.command('ops').description('disaster recovery: topology, backups, restore, drills');

  ops
    .command('certs')
    .description(
      'make a private development CA with a server and a client certificate (production brings its own CA)',
    )
    .option(
      '--dir <dir>',
      'directory for the CA, certificates and keys (mode 0700, files 0600)',
      DEFAULT_CERT_DIR,
    )
    .option('--host <name...>', 'DNS names and IP addresses the server certificate is valid for')
    .option('--force', 'replace an existing CA and certificates')
    .action(async (opts: { dir: string; host?: string[]; force?: boolean }) => {
      const { generateDevCerts } = await import('../../link/certs.ts');
      const set = generateDevCerts(opts.dir, {
        ...(opts.host ? { hosts: opts.host } : {}),
        force: opts.force === true,
      });
      const lines = [
        `development CA and certificates under ${set.dir}`,
        `  CA            ${set.caFile}`,
        `  server        ${set.serverCertFile}  key ${set.serverKeyFile}`,
        `  client        ${set.clientCertFile}  key ${set.clientKeyFile}`,
        `  clients: DATABASE_URL=...?sslmode=verify-full&sslrootcert=${set.caFile}`,
        `           REDIS_CA_FILE=${set.caFile}  NATS_CA_FILE=${set.caFile}  (docs/security.md)`,
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
    });

  ops
    .command('up')
    .description('stand up the one-machine topology: 3 PostgreSQL members under Patroni, etcd, 3 NATS nodes')
    .option('--dir <dir>', 'topology directory', DEFAULT_DIR)
    .option('--no-nats', 'PostgreSQL only')
    .option(
      '--citus',
      'instead: a Citus coordinator and two workers (TLS, passwords), each group a Patroni cluster with a synchronous standby; DATABASE_URL is the coordinator',
    )
    .option('--no-standbys', 'with --citus: one PostgreSQL per group, no Patroni (quicker, for development)')
    .option(
      '--shard-count <n>',
      "with --citus: citus.shard_count for the tables fenqi migrate distributes (Citus's default: 32)",
    )
    .action(
      async (opts: {
        dir: string;
        nats: boolean;
        citus?: boolean;
        standbys: boolean;
        shardCount?: string;
      }) => {
        if (!opts.citus && (!opts.standbys || opts.shardCount !== undefined)) {
          throw new UsageError('--no-standbys and --shard-count go with --citus');
        }
        if (opts.citus) return await citusUpCommand(opts.dir, opts.standbys, shardCountOf(opts.shardCount));
        const { up } = await import('../../ops/cluster.ts');
        const { APP_DATABASE, appDatabaseUrl, natsEnv, shadowNatsEnv } = await import(
          '../../ops/topology.ts'
        );
        const state = await up(opts.dir, { parts: { postgres: true, nats: opts.nats } });
        const { spec } = state;
        const nats = natsEnv(spec, 'platform');
        const envLine = (env: Record<string, string>) =>
          Object.entries(env)
            .map(([k, v]) => `${k}=${v}`)
            .join('  ');
        const lines = [
          `topology up under ${spec.baseDir} (every link TLS from the CA in ${spec.tls.dir}, with passwords)`,
          ...spec.members.map(
            (m) =>
              `  ${m.name} (${m.region}) postgres 127.0.0.1:${m.pgPort}  patroni REST https://127.0.0.1:${m.restPort}`,
          ),
          `  etcd https://127.0.0.1:${spec.etcd.clientPort} (client certificate ${spec.tls.clientCertFile})`,
          ...(opts.nats
            ? [
                `  ${envLine(nats)}  NATS_STREAM_REPLICAS=3`,
                `  ${envLine(shadowNatsEnv(spec))}  (rehearsals: the shadow user, alone in account FENQI_SHADOW)`,
              ]
            : []),
          `  DATABASE_URL='${appDatabaseUrl(spec)}'  (postgres.js; libpq: target_session_attrs=read-write)`,
          `  MIGRATION_DATABASE_URL='${appDatabaseUrl(spec, APP_DATABASE, 'primary', 'owner')}'`,
          '  keys: FENQI_TOKEN_SECRET, FENQI_DATA_KEYS, FENQI_BLIND_INDEX_KEY, FENQI_QUEUE_MAC_KEYS (or *_FILE, mode 0600); real mode refuses to start without them (docs/security.md#keys)',
        ];
        process.stdout.write(`${lines.join('\n')}\n`);
      },
    );

  ops
    .command('down')
    .description('stop the one-machine topology and remove its directory')
    .option('--dir <dir>', 'topology directory', DEFAULT_DIR)
    .option('--keep', 'keep data directories and repositories')
    .action(async (opts: { dir: string; keep?: boolean }) => {
      const { citusDown, loadCitusState } = await import('../../ops/citus-topology.ts');
      const citus = await loadCitusState(opts.dir);
      if (citus) {
        await citusDown(citus, { keepFiles: opts.keep === true });
        process.stdout.write(`citus topology under ${citus.baseDir} stopped\n`);
        return;
      }
      const { down, loadState } = await import('../../ops/cluster.ts');
      const state = await loadState(opts.dir);
      if (!state) throw new UsageError(`no topology under ${opts.dir}`);
      await down(state, { graceful: true, keepFiles: opts.keep === true });
      process.stdout.write(`topology under ${state.spec.baseDir} stopped\n`);
    });

  ops
    .command('status')
    .description(
      "primary, replication lag per standby, last archived WAL and its age, last backup per repository; on a Citus topology each group's leader and synchronous standby",
    )
    .option('--dir <dir>', 'topology directory', DEFAULT_DIR)
    .option('--json', 'print JSON')
    .action(async (opts: { dir: string; json?: boolean }) => {
      const { citusRunning, loadCitusState } = await import('../../ops/citus-topology.ts');
      const citus = await loadCitusState(opts.dir);
      if (citus && citusRunning(citus)) {
        const { citusStatus, formatCitusStatus } = await import('../../ops/citus-status.ts');
        const status = await citusStatus(citus);
        process.stdout.write(opts.json ? `${JSON.stringify(status)}\n` : `${formatCitusStatus(status)}\n`);
        return;
      }
      const state = await requireTopology(opts.dir);
      const { formatStatus, topologyStatus } = await import('../../ops/status.ts');
      const status = await topologyStatus(state);
      process.stdout.write(opts.json ? `${JSON.stringify(status)}\n` : `${formatStatus(status)}\n`);
    });

  ops
    .command('backup')
    .description('take a pgBackRest backup from the current primary')
    .option('--type <type>', 'full, diff or incr', 'incr')
    .option('--repo <n>', '1 (local) or 2 (off-site)', '1')
    .option('--dir <dir>', 'topology directory', DEFAULT_DIR)
    .action(async (opts: { type: string; repo: string; dir: string }) => {
      const type = oneOf('--type', opts.type, ['full', 'diff', 'incr'] as const);
      const repo = repoOf(opts.repo);
      const state = await requireTopology(opts.dir);
      const { runBackup } = await import('../../ops/backup.ts');
      const started = Date.now();
      const backup = await runBackup(state.spec, type, repo);
      process.stdout.write(`${JSON.stringify({ ...backup, durationMs: Date.now() - started })}\n`);
    });

  ops
    .command('restore')
    .description('restore to a point in time into a directory, replay to it, and check it came up')
    .requiredOption('--to <timestamp>', 'recovery target time, e.g. "2026-11-24 10:00:00+00"')
    .requiredOption('--into <dir>', 'empty directory for the restored cluster')
    .option('--repo <n>', '1 (local) or 2 (off-site)', '2')
    .option('--dir <dir>', 'topology directory', DEFAULT_DIR)
    .action(async (opts: { to: string; into: string; repo: string; dir: string }) => {
      if (Number.isNaN(Date.parse(opts.to.replace(' ', 'T').replace(/([+-]\d\d)$/, '$1:00')))) {
        throw new UsageError(`--to is not a timestamp: ${opts.to}`);
      }
      const repo = repoOf(opts.repo);
      const state = await requireTopology(opts.dir);
      const { restoreInto, sealWal, startRestored } = await import('../../ops/restore.ts');
      const started = Date.now();
      if (Date.parse(opts.to.replace(' ', 'T').replace(/([+-]\d\d)$/, '$1:00')) > Date.now()) {
        throw new UsageError(`--to is in the future: ${opts.to}`);
      }
      await sealWal(state.spec);
      await restoreInto(state.spec, { target: opts.to, into: opts.into, repo });
      const server = await startRestored(state.spec, (await import('node:path')).resolve(opts.into));
      await server.stop();
      process.stdout.write(
        `${JSON.stringify({ restoredTo: opts.to, into: server.dataDir, repo, durationMs: Date.now() - started, start: `runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_ctl -D ${server.dataDir} -o "-c port=PORT -c archive_mode=off -c synchronous_standby_names=" start` })}\n`,
      );
    });

  ops
    .command('failback')
    .description(
      'after a region loss: rejoin region 1, synchronous mode on, switch the primary back to region 1',
    )
    .option('--dir <dir>', 'topology directory', DEFAULT_DIR)
    .action(async (opts: { dir: string }) => {
      const state = await requireTopology(opts.dir);
      const { failback } = await import('../../ops/failback.ts');
      process.stdout.write(`${JSON.stringify(await failback(state))}\n`);
    });

  ops
    .command('drill')
    .description('run a drill (failover, region or restore), write its report, print the JSON report last')
    .argument('<kind>', 'failover, region or restore')
    .option('--report-dir <dir>', 'where the Markdown and JSON reports go', DEFAULT_REPORT_DIR)
    .option(
      '--dir <dir>',
      'topology directory; with nothing running there the drill stands up its own',
      DEFAULT_DIR,
    )
    .option('--load-s <s>', 'restore drill: seconds of load while sampling the off-site WAL age', '35')
    .option('--pgbench-clients <n>', 'restore drill: add a pgbench load with n clients', '0')
    .option('--async-delay-ms <ms>', 'region drill: hold back WAL to region 2 this long before the loss', '0')
    .action(runDrill);

  ops
    .command('reports')
    .description(
      'every drill and rehearsal run whose report is kept, newest first, as JSON lines: kind, date, outcome, summary, files',
    )
    .option('--drills-dir <dir>', 'where drills write their reports', DEFAULT_REPORT_DIR)
    .option('--rehearsals-dir <dir>', 'where `fenqi rehearse report` writes', '.fenqi/rehearsals')
    .action(async (opts: { drillsDir: string; rehearsalsDir: string }) => {
      const { listReports } = await import('../../ops/reports.ts');
      const reports = await listReports({ drill: opts.drillsDir, rehearsal: opts.rehearsalsDir });
      for (const r of reports) process.stdout.write(`${JSON.stringify(r)}\n`);
    });
}

interface DrillFlags {
  reportDir: string;
  dir: string;
  loadS: string;
  pgbenchClients: string;
  asyncDelayMs: string;
}

function wholeNumber(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`${flag} must be a whole number (got ${value})`);
  return n;
}

async function runDrill(kind: string, opts: DrillFlags): Promise<void> {
  const drill = oneOf('drill', kind, ['failover', 'region', 'restore'] as const);
  const loadS = wholeNumber('--load-s', opts.loadS);
  const pgbenchClients = wholeNumber('--pgbench-clients', opts.pgbenchClients);
  const asyncDelayMs = wholeNumber('--async-delay-ms', opts.asyncDelayMs);
  const options = { dir: opts.dir, reportDir: opts.reportDir };
  let report: Pick<DrillReport, 'drill' | 'verdict' | 'summary' | 'files'>;
  try {
    if (drill === 'failover') {
      report = await (await import('../../ops/drills/failover.ts')).runFailoverDrill(options);
    } else if (drill === 'region') {
      report = await (await import('../../ops/drills/region.ts')).runRegionDrill({
        ...options,
        asyncDelayMs,
      });
    } else {
      const { runRestoreDrill } = await import('../../ops/drills/restore.ts');
      report = await runRestoreDrill({ ...options, loadS, pgbenchClients });
    }
  } catch (err) {
    // The drill could not even start (no binaries, topology did not come up): still a verdict.
    report = { drill, verdict: 'fail', summary: `drill could not run: ${(err as Error).message}` };
  }
  process.stderr.write(`verdict: ${report.verdict.toUpperCase()}: ${report.summary}\n`);
  if (report.files) process.stderr.write(`report: ${report.files.markdown}\n`);
  process.stdout.write(`${JSON.stringify(report)}\n`);
  if (report.verdict !== 'pass') process.exitCode = 1;
}

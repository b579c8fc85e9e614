/**
 * A full-load rehearsal against real servers, checked against bench:flash in the same run
 * (`npm run bench:rehearsal`; docs/rehearsal.md). One machine, one server set:
 *  1. PostgreSQL, Redis and NATS started as bench:flash starts them (TLS, passwords, roles; NATS
 *     with the production and shadow accounts), the shadow side prepared as an operator does (shadow
 *     role, schema and grants, Redis ACL user), production customers seeded, `fenqi api` and
 *     `fenqi worker` started with production and rehearsal configuration.
 *  2. Baseline: bench:flash's own untagged intake (bench/lib/load.ts, closed loop): during a burst
 *     with the workers settling, and alone with the workers stopped; then paced at the hold rate.
 *  3. The rehearsal through the CLI: `fenqi rehearse plan`, `run` (ramp, hold at half the measured
 *     intake, a burst above it), `report`, `clean`, with production's tables, keys and streams
 *     checked byte-identical before and after.
 *  4. The comparison as ratios; the last stdout line is one JSON object (also in
 *     bench/out/rehearsal-bench.json; the report is bench/out/rehearsal.html).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ORDER_SETTLER, ORDERS_STREAM } from '../src/queue/index.ts';
import { JetStreamQueue } from '../src/queue/jetstream-queue.ts';
import { shadowTargets } from '../src/rehearsal/plan.ts';
import { median } from '../src/rehearsal/report.ts';
import { connectPostgres, type Sql } from '../src/store/db.ts';
import { readRun, type SampleRow } from '../src/store/rehearsals.ts';
import {
  connect,
  FENQI_BIN,
  type Proc,
  ROOT,
  SECRETS,
  type Seed,
  type Servers,
  seed,
  serviceEnv,
  startApi,
  startServers,
  startWorker,
  TENOR,
} from '../test/flash/lab.ts';
import { tempDir } from '../test/harness/process.ts';
import {
  type ProductionState,
  prepareShadowServers,
  productionChanges,
  productionState,
  rehearsalEnv,
  type ShadowCredentials,
} from '../test/rehearsal/support.ts';
import { measureCpu, type Parts, serverParts } from './lib/cpu-parts.ts';
import { type LoadResult, type LoadSpec, spawnLoad } from './lib/load.ts';

const { values: args } = parseArgs({
  options: {
    customers: { type: 'string', default: '5000' },
    /** Orders of each baseline burst (bench:flash's default is 100,000; fewer keep the run short). */
    orders: { type: 'string', default: '20000' },
    connections: { type: 'string', default: '64' },
    /** Shadow customers `rehearse plan` builds. */
    size: { type: 'string', default: '5000' },
    'ramp-s': { type: 'string', default: '10' },
    'hold-s': { type: 'string', default: '20' },
    'burst-s': { type: 'string', default: '30' },
    /** The burst's rate as a multiple of the intake measured in this run (above 1: over capacity). */
    'burst-factor': { type: 'string', default: '2' },
    'max-seconds': { type: 'string', default: '120' },
    'fsync-off': { type: 'boolean', default: false },
  },
});

const CUSTOMERS = Number(args.customers);
const ORDERS = Number(args.orders);
const CONNECTIONS = Number(args.connections);
const PLAN_SIZE = Number(args.size);
const RAMP_S = Number(args['ramp-s']);
const HOLD_S = Number(args['hold-s']);
const BURST_S = Number(args['burst-s']);
const BURST_FACTOR = Number(args['burst-factor']);
const MAX_PHASE_SECONDS = Number(args['max-seconds']);
const DURABLE = !args['fsync-off'];
const REHEARSAL_ID = `bench-${Date.now().toString(36)}`;
/** Orders that warm the API (JIT, pools) before anything is measured. */
const WARMUP_ORDERS = 2_000;
/** The first seconds of the burst fill the generator's in-flight window: not the steady state. */
const BURST_SETTLING_S = 3;
/** Production is quiet when two readings this far apart are identical... */
const QUIET_GAP_MS = 3_000;
/** ...tried at most this many times. */
const QUIET_TRIES = 40;
const POLL_MS = 250;
/**
 * The two figures agree when their ratio is off 1 by no more than the run's own noise: the spread of
 * the same untagged intake measured before and after the rehearsal, and at least this.
 */
const NOISE_FLOOR = 0.1;
/** The guard rails of the bench's run: a burst above capacity must run its course. */
const RUN_MAX_P99_MS = 60_000;
const RUN_MAX_ERROR_RATE = 0.5;

const log = (line: string) => process.stderr.write(`${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ratio = (a: number, b: number) => Number((a / Math.max(1e-9, b)).toFixed(3));
const outDir = path.join(ROOT, 'bench', 'out');

/** `./bin/fenqi <args>` with `env`; progress (stderr) passed through; the last stdout line parsed. */
function fenqi(cliArgs: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; json: unknown }> {
  return new Promise((resolve, reject) => {
    log(`$ fenqi ${cliArgs.join(' ')}`);
    const child = execFile(FENQI_BIN, cliArgs, { env, maxBuffer: 64 * 1024 * 1024 }, (err, stdout) => {
      const code = err ? Number((err as { code?: number }).code ?? 1) : 0;
      const last = stdout.trim().split('\n').pop() ?? '';
      try {
        resolve({ code, json: JSON.parse(last) });
      } catch {
        reject(new Error(`fenqi ${cliArgs[0]} ${cliArgs[1]} exited ${code}: ${stdout}`));
      }
    });
    child.stderr?.on('data', (c: Buffer) => process.stderr.write(c));
  });
}

/** Waits until `count()` reaches `want` (or the phase's time is up); returns the last count. */
async function waitCount(count: () => Promise<number>, want: number): Promise<number> {
  const deadline = Date.now() + MAX_PHASE_SECONDS * 1000;
  for (;;) {
    const n = await count();
    if (n >= want || Date.now() > deadline) return n;
    await sleep(POLL_MS);
  }
}

const ordersStored = async (sql: Sql) =>
  Number((await sql<{ n: bigint }[]>`select count(*)::bigint as n from orders`)[0]?.n ?? 0n);

/**
 * Production's state once nothing moves any more (settlement drained, outbox relayed, the
 * notifier's and rate limits' short-lived work done): two readings QUIET_GAP_MS apart identical
 * but for keys expiring by their TTL.
 */
async function quietProductionState(sql: Sql, servers: Servers): Promise<ProductionState> {
  let last = await productionState(sql, servers);
  for (let i = 0; i < QUIET_TRIES; i++) {
    await sleep(QUIET_GAP_MS);
    const now = await productionState(sql, servers);
    // a key expiring by its TTL is production at rest too
    const moved = productionChanges(last, now).changed;
    if (moved.length === 0) return now;
    log(`production still moving: ${moved.slice(0, 8).join(', ')}`);
    last = now;
  }
  throw new Error('production never came to rest');
}

interface Deployment {
  servers: Servers;
  sql: Sql;
  data: Seed;
  credentials: ShadowCredentials;
  keyHex: string;
  env: NodeJS.ProcessEnv;
  procs: Proc[];
  /** CPU of each part (API, workers, servers), read from /proc around a measured phase. */
  parts: Parts;
}

/** Servers as bench:flash starts them, the shadow side as an operator prepares it, customers seeded. */
async function deploy(): Promise<Deployment> {
  const servers = await startServers(
    {
      shared_buffers: '256MB',
      max_wal_size: '2GB',
      checkpoint_timeout: '30min',
      ...(DURABLE ? { fsync: 'on', synchronous_commit: 'on', full_page_writes: 'on' } : {}),
    },
    undefined,
    { shadowAccount: true },
  );
  const credentials = await prepareShadowServers(servers, { shadowNats: true });
  const sql = connect(servers, 4);
  log(`seeding ${CUSTOMERS} production customers`);
  const data = await seed(sql, CUSTOMERS, { tightEvery: 50, tightOrders: 3 });
  const keyFile = path.join(tempDir('rehearsal-key'), 'rehearsal.key');
  const keyHex = randomBytes(32).toString('hex');
  writeFileSync(keyFile, keyHex, { mode: 0o600 });
  const env = serviceEnv(servers, {
    FENQI_RATE_LIMIT_CUSTOMER_PER_S: '1000',
    FENQI_RATE_LIMIT_IP_PER_S: '10000000',
    FENQI_DATA_DIR: tempDir('rehearsal-bench'),
    ...rehearsalEnv(credentials, keyFile),
  });
  const procs: Proc[] = [];
  const pids = (command: string) =>
    procs
      .filter((p) => p.child.spawnargs.at(-1) === command && p.child.exitCode === null)
      .map((p) => p.child.pid!);
  const parts = await serverParts(
    servers,
    () => pids('api'),
    () => pids('worker'),
  );
  return { servers, sql, data, credentials, keyHex, env, procs, parts };
}

function loadSpec(d: Deployment, api: Proc, keyPrefix: string, orders: number, rate?: number): LoadSpec {
  return {
    ports: [api.port],
    path: '/v1/orders',
    orders,
    connections: CONNECTIONS,
    ...(rate ? { rate } : {}),
    maxSeconds: MAX_PHASE_SECONDS,
    customers: d.data.customers.map(String),
    goodsId: d.data.goodsId.toString(),
    productId: d.data.productId.toString(),
    tenor: TENOR,
    tokenSecretHex: SECRETS.FENQI_TOKEN_SECRET,
    keyPrefix,
  };
}

type CpuPerOrder = Record<string, number>;

interface Baseline {
  during: LoadResult;
  alone: LoadResult;
  paced: LoadResult;
  pacedRate: number;
  cpu: { during: CpuPerOrder; alone: CpuPerOrder };
}

/** A load run with each part's CPU per answered order (accepted or refused at intake). */
const measured = (d: Deployment, spec: LoadSpec) =>
  measureCpu(
    d.parts,
    (r: LoadResult) => r.accepted + Object.values(r.refused).reduce((a, n) => a + n, 0),
    () => spawnLoad(spec),
  );

/**
 * bench:flash's intake, untagged, on these servers: a burst with the workers settling, then (workers
 * stopped) intake alone, then the workers back to drain it and a paced run at half the burst's rate.
 */
async function baseline(d: Deployment, api: Proc): Promise<{ figures: Baseline; worker: Proc }> {
  await spawnLoad(loadSpec(d, api, 'warm', Math.min(WARMUP_ORDERS, ORDERS)));
  let worker = await startWorker(d.env);
  d.procs.push(worker);
  log(`baseline: intake during the burst, ${ORDERS} orders, ${CONNECTIONS} connections`);
  const { result: during, cpu_ms_per_order: duringCpu } = await measured(d, loadSpec(d, api, 'sale', ORDERS));
  log(`intake during the burst: ${during.rate_per_s}/s, p50 ${during.p50_ms} ms, p99 ${during.p99_ms} ms`);
  const settled = await ordersStored(d.sql);
  await waitCount(() => ordersStored(d.sql), settled + during.accepted);
  await worker.kill('SIGTERM');
  log(`baseline: intake alone (workers stopped), ${ORDERS} orders`);
  const { result: alone, cpu_ms_per_order: aloneCpu } = await measured(d, loadSpec(d, api, 'fill', ORDERS));
  log(`intake alone: ${alone.rate_per_s}/s, p50 ${alone.p50_ms} ms, p99 ${alone.p99_ms} ms`);
  worker = await startWorker(d.env);
  d.procs.push(worker);
  const before = await ordersStored(d.sql);
  await waitCount(() => ordersStored(d.sql), before + alone.accepted);
  const pacedRate = Math.max(1, Math.round(during.rate_per_s / 2));
  log(`baseline: paced at ${pacedRate}/s (half the burst's intake) for ${HOLD_S} s`);
  const paced = await spawnLoad(loadSpec(d, api, 'paced', pacedRate * HOLD_S, pacedRate));
  log(`paced: ${paced.rate_per_s}/s, p50 ${paced.p50_ms} ms, p99 ${paced.p99_ms} ms`);
  const pacedBefore = await ordersStored(d.sql);
  await waitCount(() => ordersStored(d.sql), pacedBefore + paced.accepted);
  return {
    figures: { during, alone, paced, pacedRate, cpu: { during: duringCpu, alone: aloneCpu } },
    worker,
  };
}

/** The shadow settler's backlog, read as the shadow user (its account's stream). */
async function waitShadowDrained(servers: Servers): Promise<number> {
  const queue = new JetStreamQueue(servers.nats.url, 'rehearsal-bench', servers.nats.link('shadow'));
  try {
    const deadline = Date.now() + MAX_PHASE_SECONDS * 1000;
    for (;;) {
      const pending = await queue.pending(ORDERS_STREAM, ORDER_SETTLER);
      if (pending === 0 || Date.now() > deadline) return pending;
      await sleep(POLL_MS);
    }
  } finally {
    await queue.close();
  }
}

/**
 * bench:flash's generator again, closed loop, each request tagged for the open rehearsal and sent
 * to the planned shadow customers: the tagged path's cost with the generator held the same.
 */
async function taggedIntake(d: Deployment, api: Proc): Promise<{ tagged: LoadResult; cpu: CpuPerOrder }> {
  const shadowSql = connectPostgres(d.credentials.dbUrl, 1);
  const targets = await shadowTargets(shadowSql);
  await shadowSql.end({ timeout: 2 });
  const goods = targets.goods[0]!;
  const spec = (keyPrefix: string, orders: number): LoadSpec => ({
    ...loadSpec(d, api, keyPrefix, orders),
    customers: targets.customers.map(String),
    goodsId: goods.goodsId.toString(),
    productId: goods.productId.toString(),
    tenor: goods.tenor,
    rehearsal: { keyHex: d.keyHex, id: REHEARSAL_ID },
  });
  // warmed as production's side was: the shadow routes' code, pools and cached figures are cold
  await spawnLoad(spec('tagged-warm', Math.min(WARMUP_ORDERS, ORDERS)));
  log(`tagged intake (bench generator, closed loop): ${ORDERS} orders`);
  const { result: tagged, cpu_ms_per_order: cpu } = await measured(d, spec('tagged', ORDERS));
  log(`tagged intake: ${tagged.rate_per_s}/s, p50 ${tagged.p50_ms} ms, p99 ${tagged.p99_ms} ms`);
  const left = await waitShadowDrained(d.servers);
  log(`shadow settlement backlog after the tagged intake: ${left}`);
  return { tagged, cpu };
}

interface Rehearsal {
  tagged: LoadResult;
  cpu: { tagged: CpuPerOrder; run: CpuPerOrder };
  profile: string;
  run: Record<string, number | string | null>;
  report: Record<string, unknown>;
  samples: SampleRow[];
  clean: unknown;
  shadowBacklogLeft: number;
}

async function readSamples(d: Deployment): Promise<SampleRow[]> {
  const shadowSql = connectPostgres(d.credentials.dbUrl, 1);
  try {
    return (await readRun(shadowSql, REHEARSAL_ID))?.samples ?? [];
  } finally {
    await shadowSql.end({ timeout: 2 });
  }
}

/** `fenqi rehearse run`, with each part's CPU per order the API answered in its seconds. */
async function runThroughCli(d: Deployment, api: Proc, profile: string, env: NodeJS.ProcessEnv) {
  const runArgs = ['rehearse', 'run', REHEARSAL_ID, '--profile', profile];
  runArgs.push('--api', `http://127.0.0.1:${api.port}`);
  runArgs.push('--max-p99-ms', String(RUN_MAX_P99_MS), '--max-error-rate', String(RUN_MAX_ERROR_RATE));
  const { result, cpu_ms_per_order } = await measureCpu(
    d.parts,
    (r) => r.samples.reduce((a, s) => a + s.accepted + s.refused, 0),
    async () => {
      const run = await fenqi(runArgs, env);
      assert.equal(run.code, 0, `rehearse run: ${JSON.stringify(run.json)}`);
      const json = run.json as Rehearsal['run'];
      return { json, samples: await readSamples(d), cpuS: Number(json.generatorCpuS) };
    },
    'rehearse_run',
  );
  return { ...result, cpu: cpu_ms_per_order };
}

/** plan, run, report and clean through the CLI, as an operator runs them. */
async function rehearse(d: Deployment, api: Proc, intakePerS: number): Promise<Rehearsal> {
  const hold = Math.max(1, Math.round(intakePerS / 2));
  const burst = Math.max(hold + 1, Math.round(intakePerS * BURST_FACTOR));
  const profile = `ramp:${RAMP_S}s:0-${hold},hold:${HOLD_S}s:${hold},burst:${BURST_S}s:${burst}`;
  const env = { ...d.env, LOG_LEVEL: 'warn' };
  const planArgs = ['rehearse', 'plan', '--id', REHEARSAL_ID, '--size', String(PLAN_SIZE)];
  const plan = await fenqi([...planArgs, '--target-rate', String(hold)], env);
  assert.equal(plan.code, 0, JSON.stringify(plan.json));
  const tagged = await taggedIntake(d, api);
  const run = await runThroughCli(d, api, profile, env);
  const shadowBacklogLeft = await waitShadowDrained(d.servers);
  const html = path.join(outDir, 'rehearsal.html');
  const report = await fenqi(['rehearse', 'report', REHEARSAL_ID, '--out', html], env);
  assert.equal(report.code, 0);
  const clean = await fenqi(['rehearse', 'clean', REHEARSAL_ID], env);
  assert.equal(clean.code, 0);
  return {
    tagged: tagged.tagged,
    cpu: { tagged: tagged.cpu, run: run.cpu },
    profile,
    run: run.json,
    report: report.json as Record<string, unknown>,
    samples: run.samples,
    clean: clean.json,
    shadowBacklogLeft,
  };
}

/** The burst's steady state: its seconds after the generator's window filled. */
function burstFigures(samples: readonly SampleRow[]) {
  const burst = samples.filter((s) => s.phase === 'burst').slice(BURST_SETTLING_S);
  const hold = samples.filter((s) => s.phase === 'hold');
  const ms = (us: number | null | undefined) => (us == null ? null : Number((us / 1000).toFixed(2)));
  const med = (xs: (number | null)[]) => median(xs.filter((x): x is number => x !== null)) ?? null;
  return {
    // what a closed-loop bench measures (orders over time): seconds stall and catch up on a shared box
    burst_mean_accepted_per_s: Math.round(
      burst.reduce((a, s) => a + s.accepted, 0) / Math.max(1, burst.length),
    ),
    burst_sustained_accepted_per_s: med(burst.map((s) => s.accepted)) ?? 0,
    burst_failed: burst.reduce((a, s) => a + s.failed, 0),
    burst_p50_ms: ms(med(burst.map((s) => s.p50Us))),
    burst_p99_ms: ms(med(burst.map((s) => s.p99Us))),
    hold_accepted_per_s: med(hold.map((s) => s.accepted)) ?? 0,
    hold_p50_ms: ms(med(hold.map((s) => s.p50Us))),
    hold_p99_ms: ms(med(hold.map((s) => s.p99Us))),
    peak_accepted_per_s: Math.max(0, ...samples.map((s) => s.accepted)),
  };
}

/** Every figure of the run and the ratios between them: the bench's JSON. */
function comparison(
  base: Baseline,
  r: Rehearsal,
  again: LoadResult,
  before: ProductionState,
  after: ProductionState,
  load1: number,
) {
  const { changed, expired } = productionChanges(before, after);
  const f = burstFigures(r.samples);
  const noise = Math.max(NOISE_FLOOR, Math.abs(again.rate_per_s / Math.max(1, base.during.rate_per_s) - 1));
  const intakeMean = (base.during.rate_per_s + again.rate_per_s) / 2;
  const agreement = f.burst_mean_accepted_per_s / Math.max(1, intakeMean);
  return {
    bench: 'rehearsal',
    rehearsal: REHEARSAL_ID,
    profile: r.profile,
    customers: CUSTOMERS,
    plan_size: PLAN_SIZE,
    baseline_orders: ORDERS,
    connections: CONNECTIONS,
    postgres_durable: DURABLE,
    cores: os.cpus().length,
    load_average_1m: { at_start: Number(load1.toFixed(2)), at_end: Number(os.loadavg()[0]!.toFixed(2)) },
    intake_per_s: base.during.rate_per_s,
    intake_p50_ms: base.during.p50_ms,
    intake_p99_ms: base.during.p99_ms,
    intake_again_per_s: again.rate_per_s,
    intake_again_p99_ms: again.p99_ms,
    intake_alone_per_s: base.alone.rate_per_s,
    intake_alone_p99_ms: base.alone.p99_ms,
    paced_rate_per_s: base.pacedRate,
    paced_p50_ms: base.paced.p50_ms,
    paced_p99_ms: base.paced.p99_ms,
    tagged_intake_per_s: r.tagged.rate_per_s,
    tagged_intake_p50_ms: r.tagged.p50_ms,
    tagged_intake_p99_ms: r.tagged.p99_ms,
    tagged_intake_refused: r.tagged.refused,
    ...f,
    report_sustained_accepted_per_s: r.report.sustainedAcceptedPerS,
    report_peak_accepted_per_s: r.report.peakAcceptedPerS,
    run: r.run,
    generator_cpu_share_of_core: ratio(Number(r.run.generatorCpuS), Number(r.run.wallSeconds)),
    cpu_ms_per_order: {
      intake: base.cpu.during,
      intake_alone: base.cpu.alone,
      tagged_intake: r.cpu.tagged,
      rehearse_run: r.cpu.run,
    },
    generator_cpu_ms_per_request: {
      rehearse_run: ratio(1000 * Number(r.run.generatorCpuS), Number(r.run.sent)),
      bench_intake: ratio(1000 * base.during.cpuS, base.during.sent),
      bench_tagged: ratio(1000 * r.tagged.cpuS, r.tagged.sent),
    },
    shadow_backlog_left: r.shadowBacklogLeft,
    ratios: {
      burst_mean_over_intake_mean: ratio(f.burst_mean_accepted_per_s, intakeMean),
      intake_again_over_intake: ratio(again.rate_per_s, base.during.rate_per_s),
      burst_mean_over_tagged_intake: ratio(f.burst_mean_accepted_per_s, r.tagged.rate_per_s),
      tagged_intake_over_intake: ratio(r.tagged.rate_per_s, base.during.rate_per_s),
      api_cpu_per_order_tagged_over_untagged: ratio(r.cpu.tagged.api!, base.cpu.during.api!),
      api_cpu_per_order_run_over_tagged: ratio(r.cpu.run.api!, r.cpu.tagged.api!),
      burst_sustained_over_tagged_intake: ratio(f.burst_sustained_accepted_per_s, r.tagged.rate_per_s),
      burst_sustained_over_intake: ratio(f.burst_sustained_accepted_per_s, base.during.rate_per_s),
      burst_sustained_over_intake_alone: ratio(f.burst_sustained_accepted_per_s, base.alone.rate_per_s),
      peak_over_intake: ratio(f.peak_accepted_per_s, base.during.rate_per_s),
      hold_p50_over_paced_p50: f.hold_p50_ms === null ? null : ratio(f.hold_p50_ms, base.paced.p50_ms),
      hold_p99_over_paced_p99: f.hold_p99_ms === null ? null : ratio(f.hold_p99_ms, base.paced.p99_ms),
    },
    noise: Number(noise.toFixed(3)),
    agrees_within_noise: Math.abs(agreement - 1) <= noise,
    production_tables: before.tables.size,
    production_keys: before.keys.size,
    production_streams: [...before.streams.keys()],
    production_unchanged: changed.length === 0,
    production_changed: changed,
    /** Production keys gone by their own TTL during the rehearsal (order status read models). */
    production_keys_expired: expired.length,
    report_html: 'bench/out/rehearsal.html',
    /** `fenqi rehearse report` keeps the run's record beside the page (for `fenqi ops reports`). */
    report_record: 'bench/out/rehearsal.json',
  };
}

async function main(): Promise<void> {
  mkdirSync(outDir, { recursive: true });
  const d = await deploy();
  process.once('SIGINT', () => {
    void Promise.allSettled(d.procs.map((p) => p.kill('SIGKILL')))
      .then(() => d.servers.destroy())
      .finally(() => process.exit(130));
  });
  try {
    const api = await startApi(d.env);
    d.procs.push(api);
    const load1 = os.loadavg()[0]!;
    const { figures: base } = await baseline(d, api);
    log('production coming to rest before the rehearsal');
    const before = await quietProductionState(d.sql, d.servers);
    const r = await rehearse(d, api, base.during.rate_per_s);
    log('production after the rehearsal');
    const after = await quietProductionState(d.sql, d.servers);
    // the noise of this machine in this run: the same untagged intake once more
    log(`intake again (untagged, workers running), ${ORDERS} orders`);
    const again = await spawnLoad(loadSpec(d, api, 'again', ORDERS));
    log(`intake again: ${again.rate_per_s}/s, p99 ${again.p99_ms} ms`);
    const result = comparison(base, r, again, before, after, load1);
    writeFileSync(path.join(outDir, 'rehearsal-bench.json'), `${JSON.stringify(result, null, 2)}\n`);
    process.stdout.write(`${JSON.stringify(result)}\n`);
    if (!result.production_unchanged) process.exitCode = 1;
  } finally {
    await Promise.allSettled(d.procs.map((p) => p.kill('SIGTERM')));
    await d.sql.end({ timeout: 2 });
    await d.servers.destroy();
  }
}

await main();
// pools and clients closed above; anything a library still holds must not keep the bench alive
process.exit(process.exitCode ?? 0);

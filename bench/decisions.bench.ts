/**
 * Credit decisions per second and their latency through the API (real PostgreSQL and Redis from
 * the test harness, the API listening on loopback, provider simulators at zero latency), against a
 * bare Fastify route served by the same process in the same run:
 *   1. the bare route's maximum rate (N keep-alive connections, as fast as it answers);
 *   2. decisions at full load (same connections): rate, p50, p99;
 *   3. decisions paced at half the bare route's rate: p50, p99 (goal: p99 under 20 ms).
 * The load generator (autocannon) runs in a child process. Prints progress, then one JSON line.
 *
 *   npm run bench -- decisions   (FENQI_BENCH_DECISION_SECONDS, FENQI_BENCH_CONNECTIONS to change)
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import Fastify from 'fastify';
import { signAccessToken } from '../src/api/auth.ts';
import { buildApi } from '../src/api/server.ts';
import { loadConfig } from '../src/config.ts';
import { createLogger } from '../src/logger.ts';
import { openPlatform } from '../src/platform.ts';
import { configureRisk, ensureChampion, refreshRisk } from '../src/risk/decide.ts';
import { DEFAULT_POLICY } from '../src/risk/policy.ts';
import { simulatedProviders } from '../src/risk/providers.ts';
import { fieldCryptoFor } from '../src/store/crypto.ts';
import { createCustomer, nationalIdCheckChar } from '../src/store/customers.ts';
import { publishPolicy } from '../src/store/policies.ts';
import { startPostgres } from '../test/harness/postgres.ts';
import { tempDir } from '../test/harness/process.ts';
import { startRedis } from '../test/harness/redis.ts';
import type { LoadJob, LoadResult } from './lib/load-worker.ts';

export const SECONDS = Number(process.env.FENQI_BENCH_DECISION_SECONDS ?? 10);
export const CONNECTIONS = Number(process.env.FENQI_BENCH_CONNECTIONS ?? 32);
export const WARMUP_SECONDS = 3;
export const CUSTOMERS = 2000;
export const POOL_MAX = 10;
export const GOAL_P99_MS = 20;

const WORKER = fileURLToPath(new URL('./lib/load-worker.ts', import.meta.url));
const log = (line: string) => process.stderr.write(`${line}\n`);
const hex = () => Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('hex');

function load(job: LoadJob): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', WORKER], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0
        ? resolve(JSON.parse(out) as LoadResult)
        : reject(new Error(`load generator exited ${code}`)),
    );
    child.stdin.end(JSON.stringify(job));
  });
}

const [pg, redis] = await Promise.all([startPostgres(), startRedis()]);
try {
  const config = loadConfig({
    DATABASE_URL: pg.url,
    REDIS_URL: redis.url,
    DATABASE_POOL_MAX: String(POOL_MAX),
    FENQI_TOKEN_SECRET: hex(),
    FENQI_DATA_KEYS: `1:${hex()}`,
    FENQI_BLIND_INDEX_KEY: hex(),
    FENQI_DATA_DIR: tempDir('bench-decisions'),
    LOG_LEVEL: 'silent',
  });
  const platform = await openPlatform(config, createLogger('silent'));
  const app = await buildApi(platform);
  configureRisk(platform, { providers: simulatedProviders({ latencyMs: 0 }) });
  log('training and registering the bootstrap champion');
  await ensureChampion(platform);
  // The bench measures the decision path, not the velocity rules: with a few thousand customers
  // applying thousands of times, the default limits would decline nearly everyone.
  const policy = structuredClone(DEFAULT_POLICY);
  for (const r of policy.rules) if (r.code.startsWith('VELOCITY_')) r.value = 1_000_000_000;
  await publishPolicy(platform.db.sql, policy, 'bench: velocity limits out of the way');
  refreshRisk(platform);

  log(`creating ${CUSTOMERS} customers`);
  const crypto = fieldCryptoFor(config);
  const tokens: string[] = [];
  for (let i = 0; i < CUSTOMERS; i++) {
    const birth = `19${String(60 + (i % 40)).padStart(2, '0')}0${1 + (i % 9)}1${i % 10}`;
    const first17 = `110101${birth}${String(i % 1000).padStart(3, '0')}`;
    const created = await createCustomer(platform.db.sql, crypto, {
      phone: `138${String(i).padStart(8, '0')}`,
      nationalId: first17 + nationalIdCheckChar(first17),
      legalName: `Bench ${i}`,
      passwordHash: 'bench',
    });
    if (!created.ok) throw new Error('customer conflict');
    tokens.push(signAccessToken(config.tokenSecret, { role: 'customer', id: created.id }, 3600));
  }

  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  const bare = Fastify();
  bare.get('/bare', async () => ({ ok: true }));
  const bareAddress = await bare.listen({ host: '127.0.0.1', port: 0 });
  const decisionUrl = `${address}/v1/credit-applications`;
  const body = { stated_income: '15000.00', purpose: 'goods', requested_amount: '3000.00', tenor_months: 6 };
  const decisions = (durationS: number, overallRate: number) =>
    load({
      url: decisionUrl,
      method: 'POST',
      connections: CONNECTIONS,
      durationS,
      overallRate,
      tokens,
      body,
    });

  log(`warm-up: decisions for ${WARMUP_SECONDS}s`);
  await decisions(WARMUP_SECONDS, 0);

  log(`bare Fastify route: ${CONNECTIONS} connections, ${SECONDS}s`);
  const bareRun = await load({
    url: `${bareAddress}/bare`,
    method: 'GET',
    connections: CONNECTIONS,
    durationS: SECONDS,
    overallRate: 0,
    tokens: [],
    body: null,
  });
  log(`bare: ${bareRun.rps.toFixed(0)} req/s, p50 ${bareRun.p50} ms, p99 ${bareRun.p99} ms`);

  log(`decisions at full load: ${CONNECTIONS} connections, ${SECONDS}s`);
  const full = await decisions(SECONDS, 0);
  log(
    `full: ${full.rps.toFixed(0)} decisions/s, p50 ${full.p50} ms, p99 ${full.p99} ms, non-2xx ${full.non2xx}, errors ${full.errors}`,
  );

  const half = Math.max(1, Math.round(bareRun.rps / 2));
  log(`decisions paced at half the bare rate: ${half}/s, ${SECONDS}s`);
  const paced = await decisions(SECONDS, half);
  log(
    `paced: ${paced.rps.toFixed(0)} decisions/s, p50 ${paced.p50} ms, p99 ${paced.p99} ms, non-2xx ${paced.non2xx}`,
  );

  // a paced run the service can sustain: half its own full-load rate
  const sustainable = Math.max(1, Math.round(full.rps / 2));
  log(`decisions paced at half their own full-load rate: ${sustainable}/s, ${SECONDS}s`);
  const own = await decisions(SECONDS, sustainable);
  log(`paced (own): ${own.rps.toFixed(0)} decisions/s, p50 ${own.p50} ms, p99 ${own.p99} ms`);

  const outcomes = await platform.db.sql<{ outcome: string; n: bigint }[]>`
    select outcome, count(*) as n from credit_decisions group by outcome order by outcome`;
  const mix = Object.fromEntries(outcomes.map((o) => [o.outcome, Number(o.n)]));
  const [lat] = await platform.db.sql<{ p50: number; p99: number }[]>`
    select percentile_cont(0.5) within group (order by latency_ms) as p50,
           percentile_cont(0.99) within group (order by latency_ms) as p99 from credit_decisions`;
  log(
    `outcomes: ${JSON.stringify(mix)}; in-service latency (gather+evaluate) p50 ${lat!.p50} ms, p99 ${lat!.p99} ms`,
  );

  process.stdout.write(
    `${JSON.stringify({
      bench: 'decisions',
      connections: CONNECTIONS,
      seconds: SECONDS,
      bare_rps: Math.round(bareRun.rps),
      bare_p99_ms: bareRun.p99,
      decisions_rps: Math.round(full.rps),
      full_p50_ms: full.p50,
      full_p99_ms: full.p99,
      half_bare_rate: half,
      half_bare_achieved_rps: Math.round(paced.rps),
      half_bare_p50_ms: paced.p50,
      half_bare_p99_ms: paced.p99,
      half_own_rate: sustainable,
      half_own_p50_ms: own.p50,
      half_own_p99_ms: own.p99,
      non2xx: full.non2xx + paced.non2xx + own.non2xx,
      errors: full.errors + paced.errors + own.errors,
      outcomes: mix,
      goal_p99_ms: GOAL_P99_MS,
      goal_met: paced.p99 < GOAL_P99_MS && paced.rps >= half * 0.95,
      ratio: Number((full.rps / bareRun.rps).toFixed(4)),
    })}\n`,
  );
  await bare.close();
  await app.close();
  await platform.close();
} finally {
  await Promise.allSettled([pg.destroy(), redis.destroy()]);
}

/**
 * The load generator of bench/decisions.bench.ts, in its own process so it does not share an event
 * loop with the server it measures (job as JSON on stdin, result as JSON on stdout).
 *   - Closed loop (overallRate 0): autocannon keeps N keep-alive connections busy; the rate it
 *     reaches is the service's ceiling.
 *   - Open loop (overallRate > 0): request i is due at start + i / rate, whatever the answers do,
 *     and its latency counts from when it was due (no coordinated omission: a stalled server
 *     shows up as the queue it builds). autocannon's own `overallRate` is NOT used for this: it
 *     lets each connection fire back to back until its per-second quota is spent and then idles,
 *     so "paced" runs were really full-load bursts and reported full-load latencies.
 */
// @ts-expect-error autocannon ships no types; the few fields used are typed below
import autocannon from 'autocannon';
import { Pool } from 'undici';
import { percentile } from './load.ts';

export interface LoadJob {
  url: string;
  method: 'GET' | 'POST';
  connections: number;
  durationS: number;
  /** Requests per second over all connections; 0 = as fast as they answer. */
  overallRate: number;
  /** Bearer tokens to rotate through, one per request (POST bodies get a fresh device id). */
  tokens: string[];
  body: Record<string, unknown> | null;
}

export interface LoadResult {
  requests: number;
  rps: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  /** Open loop only: requests never sent because MAX_IN_FLIGHT were waiting (rate out of reach). */
  unsent: number;
  /** CPU seconds the load generator itself used for the run. */
  cpuS: number;
}

interface AutocannonResult {
  requests: { total: number; average: number };
  latency: { p50: number; p90: number; p99: number; max: number };
  non2xx: number;
  errors: number;
  timeouts: number;
  duration: number;
}

/** An open-loop request not answered within this counts as a timeout. */
export const REQUEST_TIMEOUT_MS = 10_000;
/** Device ids rotate through this many values, so device velocity counters stay realistic. */
export const DEVICES = 5_000;
/**
 * Open loop: when this many requests are issued but unanswered the offered rate is out of reach;
 * the run stops issuing (the rest count as unsent) instead of queueing for minutes.
 */
export const MAX_IN_FLIGHT = 2_048;
/** setTimeout is only good to about a millisecond: requests due sooner are sent at once. */
const TIMER_GRANULARITY_MS = 1;

function headersFor(job: LoadJob, n: number): Record<string, string> {
  const headers: Record<string, string> = {};
  if (job.tokens.length > 0) headers.authorization = `Bearer ${job.tokens[n % job.tokens.length]}`;
  if (job.body) headers['content-type'] = 'application/json';
  return headers;
}

const bodyFor = (job: LoadJob, n: number): string | undefined =>
  job.body ? JSON.stringify({ ...job.body, device_id: `bench-device-${n % DEVICES}` }) : undefined;

type RunResult = Omit<LoadResult, 'cpuS'>;

function closedLoop(job: LoadJob): Promise<RunResult> {
  let n = 0;
  const setupRequest = (req: { headers: Record<string, string>; body?: string }) => {
    n++;
    const headers = { ...req.headers, ...headersFor(job, n) };
    const body = bodyFor(job, n);
    return body === undefined ? { ...req, headers } : { ...req, headers, body };
  };
  return new Promise((resolve, reject) => {
    autocannon(
      {
        url: job.url,
        connections: job.connections,
        duration: job.durationS,
        requests: [{ method: job.method, setupRequest }],
      },
      (err: Error | null, result: AutocannonResult) => {
        if (err) return reject(err);
        resolve({
          requests: result.requests.total,
          rps: result.requests.total / result.duration,
          p50: result.latency.p50,
          p90: result.latency.p90,
          p99: result.latency.p99,
          max: result.latency.max,
          non2xx: result.non2xx,
          errors: result.errors,
          timeouts: result.timeouts,
          unsent: 0,
        });
      },
    );
  });
}

async function openLoop(job: LoadJob): Promise<RunResult> {
  // undici, not node:http: on two shared cores every microsecond the load generator spends is
  // taken from the service it measures, and undici's client costs a fraction of node:http's.
  const url = new URL(job.url);
  const pool = new Pool(url.origin, { connections: job.connections, pipelining: 1 });
  const total = Math.max(1, Math.round(job.overallRate * job.durationS));
  const intervalMs = 1000 / job.overallRate;
  const latencies = new Float64Array(total);
  let answered = 0;
  let non2xx = 0;
  let errors = 0;
  let timeouts = 0;
  let lastAnswerMs = 0;
  let settled = 0;

  const send = async (n: number, dueMs: number): Promise<void> => {
    try {
      const res = await pool.request({
        path: url.pathname,
        method: job.method,
        headers: headersFor(job, n),
        body: bodyFor(job, n) ?? null,
        headersTimeout: REQUEST_TIMEOUT_MS,
        bodyTimeout: REQUEST_TIMEOUT_MS,
      });
      await res.body.dump();
      lastAnswerMs = performance.now();
      latencies[answered++] = lastAnswerMs - dueMs;
      if (res.statusCode >= 300) non2xx++;
    } catch (err) {
      if ((err as { code?: string }).code?.includes('TIMEOUT')) timeouts++;
      errors++;
    } finally {
      settled++;
    }
  };

  const startedMs = performance.now();
  const inFlight: Promise<void>[] = [];
  let sent = 0;
  for (let i = 0; i < total; i++) {
    if (sent - settled >= MAX_IN_FLIGHT) break;
    const dueMs = startedMs + i * intervalMs;
    const waitMs = dueMs - performance.now();
    if (waitMs > TIMER_GRANULARITY_MS) await new Promise((r) => setTimeout(r, waitMs));
    inFlight.push(send(i, dueMs));
    sent++;
  }
  await Promise.all(inFlight);
  await pool.close();
  // a run that gave up (unsent > 0) is timed over what it did, so its rate is what was served
  const elapsedS = Math.max(0.001, (lastAnswerMs - startedMs) / 1000);
  const seconds = total > sent ? elapsedS : Math.max(job.durationS, elapsedS);
  const sorted = latencies.slice(0, answered).sort();
  const ms = (p: number) => Number(percentile(sorted, p).toFixed(2));
  return {
    requests: answered,
    rps: answered / seconds,
    p50: ms(50),
    p90: ms(90),
    p99: ms(99),
    max: ms(100),
    non2xx,
    errors,
    timeouts,
    unsent: total - sent,
  };
}

const chunks: Buffer[] = [];
for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
const job = JSON.parse(Buffer.concat(chunks).toString('utf8')) as LoadJob;
const cpuBefore = process.cpuUsage();
const run = await (job.overallRate > 0 ? openLoop(job) : closedLoop(job));
const cpu = process.cpuUsage(cpuBefore);
const result: LoadResult = { ...run, cpuS: (cpu.user + cpu.system) / 1e6 };
process.stdout.write(`${JSON.stringify(result)}\n`);

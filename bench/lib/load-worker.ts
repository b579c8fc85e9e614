/**
 * The load generator of bench/decisions.bench.ts, in its own process so it does not share an event
 * loop with the server it measures (job as JSON on stdin, result as JSON on stdout). autocannon keeps N keep-alive connections busy (or paces them
 * to an overall rate) and reports latency percentiles from an HDR histogram.
 */
// @ts-expect-error autocannon ships no types; the few fields used are typed below
import autocannon from 'autocannon';

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
}

interface AutocannonResult {
  requests: { total: number; average: number };
  latency: { p50: number; p90: number; p99: number; max: number };
  non2xx: number;
  errors: number;
  timeouts: number;
  duration: number;
}

const chunks: Buffer[] = [];
for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
const job = JSON.parse(Buffer.concat(chunks).toString('utf8')) as LoadJob;
let n = 0;
const setupRequest = (req: { headers: Record<string, string>; body?: string }) => {
  n++;
  const headers: Record<string, string> = { ...req.headers };
  if (job.tokens.length > 0) headers.authorization = `Bearer ${job.tokens[n % job.tokens.length]}`;
  if (job.body) {
    headers['content-type'] = 'application/json';
    return { ...req, headers, body: JSON.stringify({ ...job.body, device_id: `bench-device-${n % 5000}` }) };
  }
  return { ...req, headers };
};

const instance = autocannon(
  {
    url: job.url,
    connections: job.connections,
    duration: job.durationS,
    ...(job.overallRate > 0 ? { overallRate: job.overallRate } : {}),
    requests: [{ method: job.method, setupRequest }],
  },
  (err: Error | null, result: AutocannonResult) => {
    if (err) throw err;
    const out: LoadResult = {
      requests: result.requests.total,
      rps: result.requests.total / result.duration,
      p50: result.latency.p50,
      p90: result.latency.p90,
      p99: result.latency.p99,
      max: result.latency.max,
      non2xx: result.non2xx,
      errors: result.errors,
      timeouts: result.timeouts,
    };
    process.stdout.write(`${JSON.stringify(out)}\n`);
  },
);
void instance;

/**
 * The rehearsal's load generator, run as its own process (so it never shares an event loop with
 * what it measures): `connections` keep-alive clients POST orders with unique idempotency keys
 * (closed loop), or a paced open loop at `rate` requests/s. 503 and connection errors are retried
 * with the same key, like a real client. Progress lines (one per second: answers that second) go
 * to stderr; the last stdout line is one JSON object with counts, latency percentiles, the timeline
 * and the file holding every accepted order id.
 *
 *   node --import tsx bench/lib/load.ts '<json LoadSpec>'
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { signAccessToken } from '../../src/api/auth.ts';
import { percentile } from '../../src/rehearsal/percentile.ts';
import { mintTag, REHEARSAL_TAG_HEADER } from '../../src/rehearsal/tag.ts';

/** The benches' percentile is the rehearsal's, so their figures compare. */
export { percentile };

export interface LoadSpec {
  ports: number[];
  path: string;
  orders: number;
  connections: number;
  /** Paced open loop (requests per second); closed loop when absent. */
  rate?: number;
  maxSeconds: number;
  customers: string[];
  goodsId: string;
  productId: string;
  tenor: number;
  tokenSecretHex: string;
  keyPrefix: string;
  idsFile?: string;
  /**
   * Tagged for this open rehearsal (each request a fresh tag minted with the key, as `fenqi
   * rehearse run` sends them): the same generator through the shadow side.
   */
  rehearsal?: { keyHex: string; id: string };
}

export interface LoadResult {
  sent: number;
  accepted: number;
  refused: Record<string, number>;
  retries: number;
  unanswered: number;
  seconds: number;
  rate_per_s: number;
  p50_ms: number;
  p90_ms: number;
  p99_ms: number;
  max_ms: number;
  timeline: number[];
  /** Each second's p99 of the answers that came in it (ms). */
  timeline_p99_ms: number[];
  ids_file: string | null;
  /** CPU seconds the generator itself used (so its cost per order can be reported). */
  cpuS: number;
}

/** Runs the generator in a process of its own; its progress lines go to this process's stderr. */
export function spawnLoad(spec: LoadSpec): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', fileURLToPath(import.meta.url), JSON.stringify(spec)],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => process.stderr.write(c));
    child.on('exit', (code) => {
      if (code !== 0) reject(new Error(`load generator exited ${code}`));
      else resolve(JSON.parse(out.trim().split('\n').pop()!) as LoadResult);
    });
  });
}

/** A tag outlives a request's timeout and its retries. */
const TAG_LIFETIME_MS = 60_000;

async function main(spec: LoadSpec): Promise<LoadResult> {
  const agent = new http.Agent({
    keepAlive: true,
    maxSockets: spec.connections,
    maxFreeSockets: spec.connections,
  });
  const secret = Buffer.from(spec.tokenSecretHex, 'hex');
  const tokens = spec.customers.map(
    (c) => `Bearer ${signAccessToken(secret, { role: 'customer', id: BigInt(c) }, 7200)}`,
  );
  const body = JSON.stringify({ goods_id: spec.goodsId, product_id: spec.productId, tenor: spec.tenor });
  const bodyLength = String(Buffer.byteLength(body));
  const rehearsalKey = spec.rehearsal ? Buffer.from(spec.rehearsal.keyHex, 'hex') : undefined;
  const tag = (): Record<string, string> =>
    spec.rehearsal && rehearsalKey
      ? { [REHEARSAL_TAG_HEADER]: mintTag(rehearsalKey, spec.rehearsal.id, Date.now(), TAG_LIFETIME_MS) }
      : {};
  const latencies = new Float64Array(spec.orders);
  let latencyCount = 0;
  const ids: string[] = [];
  const refused: Record<string, number> = {};
  let retries = 0;
  let unanswered = 0;
  let answeredThisSecond = 0;
  /** Where this second's latencies start in `latencies`: each progress line says the second's p99. */
  let secondStartsAt = 0;
  const timeline: number[] = [];
  const timelineP99Ms: number[] = [];
  const cpuBefore = process.cpuUsage();
  const startedMs = performance.now();
  const deadlineMs = startedMs + spec.maxSeconds * 1000;
  const tick = setInterval(() => {
    timeline.push(answeredThisSecond);
    const second = latencies.slice(secondStartsAt, latencyCount).sort();
    secondStartsAt = latencyCount;
    const p99Ms = Number(percentile(second, 99).toFixed(1));
    timelineP99Ms.push(p99Ms);
    process.stderr.write(
      `load ${spec.keyPrefix}: ${ids.length} accepted, ${answeredThisSecond}/s, p99 ${p99Ms} ms\n`,
    );
    answeredThisSecond = 0;
  }, 1000);

  const post = (port: number, n: number): Promise<{ status: number; text: string }> =>
    new Promise((resolve, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: spec.path,
          agent,
          headers: {
            authorization: tokens[n % tokens.length]!,
            'idempotency-key': `${spec.keyPrefix}-${n}`,
            'content-type': 'application/json',
            'content-length': bodyLength,
            ...tag(),
          },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => {
            text += c;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
          res.on('error', reject);
        },
      );
      req.setTimeout(15_000, () => req.destroy(new Error('timeout')));
      req.on('error', reject);
      req.end(body);
    });

  const one = async (n: number) => {
    const t0 = performance.now();
    let attempt = 0;
    for (;;) {
      if (performance.now() > deadlineMs) {
        unanswered++;
        return;
      }
      const port = spec.ports[(n + attempt) % spec.ports.length]!;
      attempt++;
      let reply: { status: number; text: string } | undefined;
      try {
        reply = await post(port, n);
      } catch {
        // connection error: retry the same key, on the next API
      }
      if (reply && (reply.status === 202 || reply.status === 201 || reply.status === 200)) {
        latencies[latencyCount++] = performance.now() - t0;
        answeredThisSecond++;
        const id = /"(?:order_id|id)":"(\d+)"/.exec(reply.text)?.[1];
        if (id) ids.push(id);
        return;
      }
      if (reply && reply.status !== 503 && reply.status !== 429) {
        latencies[latencyCount++] = performance.now() - t0;
        answeredThisSecond++;
        const code = /"code":"([A-Z_]+)"/.exec(reply.text)?.[1] ?? String(reply.status);
        refused[code] = (refused[code] ?? 0) + 1;
        return;
      }
      retries++;
      await new Promise((r) => setTimeout(r, reply ? 50 : 20));
    }
  };

  let sent = 0;
  if (spec.rate) {
    // Open loop: request n starts at n / rate seconds, whatever the answers do.
    const inFlight = new Set<Promise<void>>();
    const intervalMs = 1000 / spec.rate;
    while (sent < spec.orders && performance.now() < deadlineMs) {
      const dueMs = startedMs + sent * intervalMs;
      const waitMs = dueMs - performance.now();
      if (waitMs > 1) await new Promise((r) => setTimeout(r, waitMs));
      const p: Promise<void> = one(sent++).finally(() => inFlight.delete(p));
      inFlight.add(p);
    }
    await Promise.all(inFlight);
  } else {
    const client = async () => {
      while (sent < spec.orders && performance.now() < deadlineMs) await one(sent++);
    };
    await Promise.all(Array.from({ length: spec.connections }, client));
  }
  clearInterval(tick);
  const seconds = (performance.now() - startedMs) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  agent.destroy();
  const sorted = latencies.slice(0, latencyCount).sort();
  if (spec.idsFile) writeFileSync(spec.idsFile, ids.join('\n'));
  return {
    sent,
    accepted: ids.length,
    refused,
    retries,
    unanswered,
    seconds: Number(seconds.toFixed(3)),
    rate_per_s: Math.round((latencyCount || 0) / seconds),
    p50_ms: Number(percentile(sorted, 50).toFixed(2)),
    p90_ms: Number(percentile(sorted, 90).toFixed(2)),
    p99_ms: Number(percentile(sorted, 99).toFixed(2)),
    max_ms: Number(percentile(sorted, 100).toFixed(2)),
    timeline,
    timeline_p99_ms: timelineP99Ms,
    ids_file: spec.idsFile ?? null,
    cpuS: (cpu.user + cpu.system) / 1e6,
  };
}

if (process.argv[1]?.endsWith('load.ts')) {
  const spec = JSON.parse(process.argv[2] ?? '{}') as LoadSpec;
  main(spec).then(
    (result) => {
      process.stdout.write(`${JSON.stringify(result)}\n`);
      process.exit(0);
    },
    (err) => {
      process.stderr.write(`load generator failed: ${(err as Error).stack}\n`);
      process.exit(1);
    },
  );
}

/**
 * The physical limits of "accept an order durably", measured without HTTP and without fenqi's
 * intake code, as separate processes so their CPU is their own:
 *
 * - `jetstream`: what one Node process publishes to JetStream per second through the same client
 *   (JetStreamQueue.publish: each publish awaits its ack), to a stream with the orders stream's
 *   settings, with the intake's payload size, message ids and number in flight;
 * - `redis`: the intake's two Redis round trips per order (the front-door EVALSHA that counts both
 *   rate windows and reads the idempotency record and the credit summary, and the EVALSHA that
 *   writes the record and the accepted status after the ack), same keys, same number in flight;
 * - `pipeline`: both together per order, in the intake's order: what an intake with zero overhead
 *   of its own would reach.
 *
 *   node --import tsx bench/lib/raw-baselines.ts '<json RawSpec>'
 *
 * The last stdout line is one JSON object (RawResult).
 */
import { randomBytes } from 'node:crypto';
import { creditSummaryKey, keyTags, orderIdempotencyKey, orderStatusKey } from '../../src/cache/keys.ts';
import { rateWindow } from '../../src/cache/rate-limit.ts';
import { RedisCache, type RedisCacheOptions } from '../../src/cache/redis-cache.ts';
import { JetStreamQueue, type NatsLink } from '../../src/queue/jetstream-queue.ts';
import { ORDER_DUPLICATE_WINDOW_MS, ORDER_STREAM_MAX_MESSAGES } from '../../src/queue/streams.ts';
import { percentile } from './load.ts';

export type RawMode = 'jetstream' | 'redis' | 'pipeline';

export interface RawSpec {
  mode: RawMode;
  orders: number;
  inFlight: number;
  maxSeconds: number;
  customers: string[];
  /** Size of one encoded order message, as the intake publishes it. */
  payloadBytes: number;
  natsUrl?: string;
  natsLink?: NatsLink;
  redisUrl?: string;
  redisOptions?: RedisCacheOptions;
  /** Same-run uniqueness of message ids and cache keys. */
  runId: string;
}

export interface RawResult {
  mode: RawMode;
  orders: number;
  seconds: number;
  orders_per_s: number;
  /** Round trips per order: 1 publish, 2 EVALSHA, or 3. */
  round_trips_per_order: number;
  p50_ms: number;
  p99_ms: number;
  failures: number;
  cpuS: number;
}

/** A stream with the orders stream's settings on its own subjects: nothing settles what lands here. */
export const RAW_STREAM = 'FENQI_RAW_BASELINE';
export const RAW_SUBJECT = 'bench.raw.placed';
/** The intake's own rate windows (orders-queued.ts), so the keys have the same shape. */
const RATE_WINDOW_MS = 1_000;
const RECORD_TTL_MS = 60 * 60 * 1000;

async function main(spec: RawSpec): Promise<RawResult> {
  const queue =
    spec.mode === 'redis' ? undefined : new JetStreamQueue(spec.natsUrl!, 'raw-baseline', spec.natsLink);
  const cache = spec.mode === 'jetstream' ? undefined : new RedisCache(spec.redisUrl!, spec.redisOptions);
  if (queue) {
    await queue.ensure(
      [
        {
          name: RAW_STREAM,
          subjects: ['bench.raw.>'],
          duplicateWindowMs: ORDER_DUPLICATE_WINDOW_MS,
          maxMessages: ORDER_STREAM_MAX_MESSAGES,
          replicas: 1,
        },
      ],
      [],
    );
  }
  const payload = randomBytes(spec.payloadBytes);
  const ipTag = keyTags.address('127.0.0.1');
  const customerRule = { name: 'orders-customer', limit: 1_000_000, windowMs: RATE_WINDOW_MS };
  const ipRule = { name: 'orders-ip', limit: 1_000_000_000, windowMs: RATE_WINDOW_MS };

  const front = async (customer: string, key: string) => {
    const nowMs = Date.now();
    await cache!.incrAndGet(
      [
        { key: rateWindow(customerRule, keyTags.customer(customer), nowMs).key, windowMs: RATE_WINDOW_MS },
        { key: rateWindow(ipRule, ipTag, nowMs).key, windowMs: RATE_WINDOW_MS },
      ],
      [orderIdempotencyKey(customer, key), creditSummaryKey(customer)],
    );
  };
  const after = async (customer: string, key: string, n: number) => {
    const value = payload.toString('base64', 0, Math.min(spec.payloadBytes, 300));
    await cache!.setMany([
      { key: orderIdempotencyKey(customer, key), value, ttlMs: RECORD_TTL_MS },
      { key: orderStatusKey(`${spec.runId}${n}`), value, ttlMs: RECORD_TTL_MS, ifAbsent: true },
    ]);
  };
  const one = async (n: number) => {
    const customer = spec.customers[n % spec.customers.length]!;
    const key = `${spec.runId}-${n}`;
    if (cache) await front(customer, key);
    if (queue) await queue.publish(RAW_SUBJECT, payload, { msgId: `raw:${customer}:${key}` });
    if (cache) await after(customer, key, n);
  };

  const latencies = new Float64Array(spec.orders);
  let done = 0;
  let failures = 0;
  let next = 0;
  const cpuBefore = process.cpuUsage();
  const startedMs = performance.now();
  const deadlineMs = startedMs + spec.maxSeconds * 1000;
  const runner = async () => {
    while (next < spec.orders && performance.now() < deadlineMs) {
      const n = next++;
      const t0 = performance.now();
      try {
        await one(n);
        latencies[done++] = performance.now() - t0;
      } catch {
        failures++;
      }
    }
  };
  await Promise.all(Array.from({ length: spec.inFlight }, runner));
  const seconds = (performance.now() - startedMs) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  await queue?.close();
  await cache?.close();
  const sorted = latencies.slice(0, done).sort();
  return {
    mode: spec.mode,
    orders: done,
    seconds: Number(seconds.toFixed(3)),
    orders_per_s: Math.round(done / seconds),
    round_trips_per_order: (queue ? 1 : 0) + (cache ? 2 : 0),
    p50_ms: Number(percentile(sorted, 50).toFixed(2)),
    p99_ms: Number(percentile(sorted, 99).toFixed(2)),
    failures,
    cpuS: (cpu.user + cpu.system) / 1e6,
  };
}

if (process.argv[1]?.endsWith('raw-baselines.ts')) {
  main(JSON.parse(process.argv[2] ?? '{}') as RawSpec).then(
    (result) => {
      process.stdout.write(`${JSON.stringify(result)}\n`);
      process.exit(0);
    },
    (err) => {
      process.stderr.write(`raw baseline failed: ${(err as Error).stack}\n`);
      process.exit(1);
    },
  );
}

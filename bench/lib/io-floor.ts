/**
 * The I/O floor of a decision: a route in the same process that does only the round trips every
 * decision must make, over the platform's own clients and TLS links, batched exactly as decisions
 * are (src/store/micro-batch.ts), and nothing else: no authentication, no validation, no model, no
 * rules. A velocity counter in Redis and a customer read in PostgreSQL side by side, then a durable
 * insert of a record as large as a stored decision, then a small JSON answer.
 *
 * Its CPU per request is what a decision costs before it does any decision work, so the decisions
 * bench can say how much of a decision's cost is the round trips themselves and how much is
 * fenqi's own code (docs/risk.md, "Performance").
 */
import Fastify, { type FastifyInstance } from 'fastify';
import type postgres from 'postgres';
import type { Cache } from '../../src/cache/cache.ts';
import { batchesInFlight, VELOCITY_BATCHES_IN_FLIGHT } from '../../src/risk/service/decide.ts';
import type { Sql } from '../../src/store/db.ts';
import { MicroBatcher } from '../../src/store/micro-batch.ts';

/** Items per statement or script at most, as the decision batches. */
const FLOOR_BATCH_MAX = 64;
/** The counter's window, as the hourly velocity counters. */
const COUNTER_WINDOW_MS = 3_600_000;

export interface IoFloor {
  url: string;
  close(): Promise<void>;
}

/**
 * Starts the floor route on loopback. `recordBytes`: the size of the record each request stores
 * (the decision bench passes what a stored decision takes).
 */
export async function startIoFloor(options: {
  sql: Sql;
  /** A connection allowed to create and drop the floor's table (the platform's role is not). */
  owner: postgres.Sql;
  cache: Cache;
  poolMax: number;
  customerIds: readonly bigint[];
  recordBytes: number;
}): Promise<IoFloor> {
  const { sql, cache, customerIds } = options;
  await options.owner`create table if not exists bench_io_floor (
    id bigint primary key, customer_id bigint not null, payload text not null)`;
  await options.owner`grant select, insert on bench_io_floor to public`;
  const maxInFlight = batchesInFlight(options.poolMax);
  const payload = 'x'.repeat(options.recordBytes);
  let nextId = 0n;

  const counters = new MicroBatcher<string, number>(
    async (keys) =>
      (
        await cache.incrAndGet(
          keys.map((key) => ({ key, windowMs: COUNTER_WINDOW_MS })),
          [],
        )
      ).counts,
    {
      maxBatch: FLOOR_BATCH_MAX,
      maxInFlight: VELOCITY_BATCHES_IN_FLIGHT,
      flush: 'this-turn',
      retryAlone: false,
    },
  );
  const reads = new MicroBatcher<bigint, boolean>(
    async (ids) => {
      const rows = await sql<{ id: bigint }[]>`
        select id from customers where id = any(${ids.map(String)}::bigint[])`;
      const found = new Set(rows.map((r) => r.id));
      return ids.map((id) => found.has(id));
    },
    { maxBatch: FLOOR_BATCH_MAX, maxInFlight },
  );
  const writes = new MicroBatcher<bigint, true>(
    async (customers) => {
      const rows = customers.map((customer_id) => ({ id: ++nextId, customer_id, payload }));
      await sql`insert into bench_io_floor ${sql(rows as never, 'id', 'customer_id', 'payload')}`;
      return customers.map(() => true as const);
    },
    { maxBatch: FLOOR_BATCH_MAX, maxInFlight },
  );

  const app: FastifyInstance = Fastify({ logger: false });
  let turn = 0;
  app.post('/floor', async () => {
    const customerId = customerIds[turn++ % customerIds.length]!;
    const [, found] = await Promise.all([counters.submit(`floor:${customerId}`), reads.submit(customerId)]);
    await writes.submit(customerId);
    return { ok: found };
  });
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  return {
    url: `${address}/floor`,
    async close() {
      await app.close();
      await options.owner`drop table if exists bench_io_floor`;
    },
  };
}

/**
 * Settlement cost per order, without queue or API: real PostgreSQL, seeded customers, then
 * `settleOrderBatch` called directly on batches of `--batch` orders from `--concurrency` loops.
 * With `--explain`, one batch runs with auto_explain (ANALYZE, nested statements, so trigger
 * queries show too) and the plans are printed to stderr.
 *
 *   node --import tsx bench/lib/settle-profile.ts --orders 20000 --batch 1000 --concurrency 2 [--durable] [--explain]
 */
import { parseArgs } from 'node:util';
import postgres from 'postgres';
import { postgresLink } from '../../src/store/db.ts';
import { IdGenerator } from '../../src/store/id-generator.ts';
import { type QueuedOrder, settleOrderBatch } from '../../src/store/order-batch.ts';
import { connect, seed, startServers, TENOR } from '../../test/flash/lab.ts';

const { values: args } = parseArgs({
  options: {
    orders: { type: 'string', default: '20000' },
    customers: { type: 'string', default: '2000' },
    batch: { type: 'string', default: '1000' },
    concurrency: { type: 'string', default: '2' },
    durable: { type: 'boolean', default: false },
    explain: { type: 'boolean', default: false },
  },
});
const ORDERS = Number(args.orders);
const BATCH = Number(args.batch);
const CONCURRENCY = Number(args.concurrency);

const servers = await startServers({
  shared_buffers: '256MB',
  max_wal_size: '2GB',
  checkpoint_timeout: '30min',
  ...(args.durable ? { fsync: 'on', synchronous_commit: 'on', full_page_writes: 'on' } : {}),
});
try {
  const sql = connect(servers, CONCURRENCY + 1);
  const data = await seed(sql, Number(args.customers), { tightEvery: 50, tightOrders: 3 });
  const ids = new IdGenerator(1);
  const date = new Date().toISOString().slice(0, 10);
  const orders: QueuedOrder[] = Array.from({ length: ORDERS }, (_, n) => ({
    orderId: ids.next(),
    customerId: data.customers[n % data.customers.length]!,
    goodsId: data.goodsId,
    productId: data.productId,
    tenor: TENOR,
    idempotencyKey: `profile-${n}`,
    businessDate: date,
  }));
  let next = 0;
  if (args.explain) {
    const notices: string[] = [];
    // auto_explain is the superuser's to load; the URL's TLS settings through postgresLink
    const link = postgresLink(servers.pg.adminUrl);
    const one = postgres(link.url, {
      ssl: link.ssl,
      max: 1,
      types: { bigint: postgres.BigInt },
      onnotice: (n) => notices.push(String(n.message)),
    });
    await one`load 'auto_explain'`;
    await one`set auto_explain.log_min_duration = 0`;
    await one`set auto_explain.log_analyze = on`;
    await one`set auto_explain.log_nested_statements = on`;
    await one`set auto_explain.log_triggers = on`;
    await one`set auto_explain.log_level = 'notice'`;
    const batch = orders.slice(next, next + BATCH);
    next += BATCH;
    const t0 = performance.now();
    await settleOrderBatch(one as never, batch, ids);
    process.stderr.write(`explained batch of ${batch.length}: ${(performance.now() - t0).toFixed(0)} ms\n`);
    for (const n of notices) process.stderr.write(`${n}\n---\n`);
    await one.end();
  }
  const t0 = performance.now();
  const loop = async () => {
    while (next < orders.length) {
      const batch = orders.slice(next, next + BATCH);
      next += BATCH;
      const b0 = performance.now();
      await settleOrderBatch(sql, batch, ids);
      process.stderr.write(`batch ${batch.length}: ${(performance.now() - b0).toFixed(0)} ms\n`);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, loop));
  const seconds = (performance.now() - t0) / 1000;
  const [c] = await sql<{ n: bigint }[]>`select count(*)::bigint as n from orders`;
  process.stdout.write(
    `${JSON.stringify({ orders: Number(c!.n), seconds: Number(seconds.toFixed(2)), per_s: Math.round(Number(c!.n) / seconds), batch: BATCH, concurrency: CONCURRENCY, durable: args.durable })}\n`,
  );
  await sql.end();
} finally {
  await servers.destroy();
}

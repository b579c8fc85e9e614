/**
 * Goods orders settled per second through the synchronous path (settleOrder from N concurrent
 * clients) against real PostgreSQL, with pgbench's TPC-B on the same server in the same run as the
 * baseline. Prints progress, then one JSON line with both figures and their ratio.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { todayUtc } from '../src/domain/index.ts';
import { connectPostgres } from '../src/store/db.ts';
import { migrate } from '../src/store/migrate.ts';
import { settleOrder } from '../src/store/orders.ts';
import { ensureDefaultProducts } from '../src/store/products.ts';
import { startPostgres } from '../test/harness/postgres.ts';
import { unprivilegedUser } from '../test/harness/process.ts';
import { createCustomer, createGoods } from '../test/lending/fixtures.ts';

export const CLIENTS = 8;
export const PGBENCH_SECONDS = 10;
export const ORDER_SECONDS = 10;
export const MAX_ORDERS = 20_000;
const CUSTOMERS = 200;

const log = (line: string) => process.stderr.write(`${line}\n`);

const pg = await startPostgres();
try {
  const user = unprivilegedUser();
  const pgbench = path.join(pg.binDir, 'pgbench');
  const run = (args: string[]) =>
    execFileSync(pgbench, ['-h', '127.0.0.1', '-p', String(pg.port), '-U', 'postgres', ...args, 'postgres'], {
      ...(user ?? {}),
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  log('pgbench -i -s 1');
  run(['-i', '-s', '1', '-q']);
  log(`pgbench -c ${CLIENTS} -j 2 -T ${PGBENCH_SECONDS}`);
  const out = run(['-c', String(CLIENTS), '-j', '2', '-T', String(PGBENCH_SECONDS)]);
  const tps = Number(/tps = ([\d.]+)/.exec(out)?.[1]);
  log(`pgbench: ${tps.toFixed(0)} tps`);

  const sql = connectPostgres(pg.url, CLIENTS + 2, 'fenqi-bench');
  await migrate(sql);
  const products = await ensureDefaultProducts(sql);
  const productId = products.get('GOODS-0DOWN')!;
  const customers: bigint[] = [];
  for (let i = 0; i < CUSTOMERS; i++) customers.push(await createCustomer(sql, 10_000_000_000n));
  const { goodsId } = await createGoods(sql, 99_900n);
  const date = todayUtc();
  let next = 0;
  let settled = 0;
  const started = performance.now();
  const deadline = started + ORDER_SECONDS * 1000;
  const progress = setInterval(() => log(`orders: ${settled} settled`), 2000);
  const client = async () => {
    while (next < MAX_ORDERS && performance.now() < deadline) {
      const n = next++;
      const out = await sql.begin((tx) =>
        settleOrder(tx, {
          customerId: customers[n % CUSTOMERS]!,
          goodsId,
          productId,
          tenor: 12,
          idempotencyKey: `bench-${n}`,
          businessDate: date,
        }),
      );
      if (out.status !== 'settled') throw new Error(`order ${n} was ${out.status}`);
      settled++;
    }
  };
  await Promise.all(Array.from({ length: CLIENTS }, client));
  clearInterval(progress);
  const seconds = (performance.now() - started) / 1000;
  const ordersPerS = settled / seconds;
  log(`orders: ${settled} in ${seconds.toFixed(1)} s`);
  await sql.end({ timeout: 5 });
  process.stdout.write(
    `${JSON.stringify({
      bench: 'orders',
      clients: CLIENTS,
      orders: settled,
      orders_per_s: Math.round(ordersPerS),
      pgbench_tps: Math.round(tps),
      ratio: Number((ordersPerS / tps).toFixed(3)),
    })}\n`,
  );
} finally {
  await pg.destroy();
}

/**
 * How fenqi's statements land on a Citus cluster (issue 20 item 7): the share of hot-path
 * statements Citus routed to one shard, from citus_stat_statements (a router statement names its
 * distribution key, `partition_key`), and how many statements each node ran, from
 * pg_stat_statements on every node. Phases: synchronous order settlement, a customer's loan and
 * schedule reads, repayments (the hot paths, each about one customer), then sale-day batch
 * settlement (many customers per transaction, multi-shard by design). Counts, not timings: the
 * figure is a share, measured in the same run for every phase. Prints progress, then one JSON line.
 */
import { todayUtc } from '../src/domain/index.ts';
import { connectPostgres, type Sql } from '../src/store/db.ts';
import { claimIdGenerator } from '../src/store/id-generator.ts';
import { getInstallments, getLoan, listLoans } from '../src/store/loans.ts';
import { migrate } from '../src/store/migrate.ts';
import { type QueuedOrder, settleOrderBatch } from '../src/store/order-batch.ts';
import { settleOrder } from '../src/store/orders.ts';
import { ensureDefaultProducts } from '../src/store/products.ts';
import { applyRepayment } from '../src/store/repayments.ts';
import { startCitusCluster } from '../test/harness/citus.ts';
import { createCustomer, createGoods } from '../test/lending/fixtures.ts';

export const CUSTOMERS = 100;
export const BATCH_SIZE = 50;
const REPAYMENT_MINOR = 5_000n;
const log = (line: string) => process.stderr.write(`${line}\n`);

const cluster = await startCitusCluster({
  settings: { shared_preload_libraries: 'citus,pg_stat_statements', 'citus.stat_statements_track': 'all' },
});
const nodeSql = [cluster.coordinator, ...cluster.workers].map((n) => connectPostgres(n.urlFor('admin'), 1));
const [admin] = nodeSql as [Sql, ...Sql[]];
const app = connectPostgres(cluster.url, 8);

interface Phase {
  name: string;
  statements: number;
  singleShard: number;
  singleShardShare: number;
  byExecutor: Record<string, number>;
  perNode: Record<string, number>;
  /** The statements without a distribution key, what they start with and how often they ran. */
  notRouted: Record<string, number>;
}

async function measure(name: string, work: () => Promise<unknown>): Promise<Phase> {
  await admin`select citus_stat_statements_reset()`;
  await Promise.all(nodeSql.map((s) => s`select pg_stat_statements_reset()`));
  await work();
  const rows = await admin<{ executor: string; routed: boolean; calls: bigint }[]>`
    select executor::text as executor, partition_key is not null as routed, sum(calls)::bigint as calls
    from citus_stat_statements where dbid = (select oid from pg_database where datname = current_database())
    group by 1, 2`;
  const unrouted = await admin<{ query: string; calls: bigint }[]>`
    select regexp_replace(left(query, 200), '[[:space:]]+', ' ', 'g') as query, sum(calls)::bigint as calls
    from citus_stat_statements
    where dbid = (select oid from pg_database where datname = current_database()) and partition_key is null
    group by 1 order by 2 desc`;
  const notRouted = Object.fromEntries(unrouted.map((r) => [r.query.slice(0, 90), Number(r.calls)]));
  const byExecutor: Record<string, number> = {};
  let statements = 0;
  let singleShard = 0;
  for (const r of rows) {
    const key = `${r.executor}${r.routed ? ' (one shard)' : ''}`;
    byExecutor[key] = (byExecutor[key] ?? 0) + Number(r.calls);
    statements += Number(r.calls);
    if (r.routed) singleShard += Number(r.calls);
  }
  const perNode: Record<string, number> = {};
  const labels = ['coordinator', ...cluster.workers.map((_, i) => `worker${i + 1}`)];
  await Promise.all(
    nodeSql.map(async (s, i) => {
      const [c] = await s<{ calls: bigint }[]>`
        select coalesce(sum(calls), 0)::bigint as calls from pg_stat_statements
        where query !~* 'pg_stat_statements|citus_stat_statements'`;
      perNode[labels[i]!] = Number(c?.calls ?? 0n);
    }),
  );
  const phase = {
    name,
    statements,
    singleShard,
    singleShardShare: statements ? Number((singleShard / statements).toFixed(3)) : 0,
    byExecutor,
    perNode,
    notRouted,
  };
  log(JSON.stringify(phase));
  return phase;
}

try {
  const owner = connectPostgres(cluster.url, 2);
  await migrate(owner);
  const productId = (await ensureDefaultProducts(owner)).get('GOODS-0DOWN')!;
  const { goodsId } = await createGoods(owner, 120_000n);
  const customers: bigint[] = [];
  for (let i = 0; i < CUSTOMERS; i++) customers.push(await createCustomer(owner, 10_000_000n));
  await owner.end();
  // created on the coordinator, Citus creates it on the workers
  await admin`create extension if not exists pg_stat_statements`;
  const date = todayUtc();
  const order = (customerId: bigint, key: string) => ({
    customerId,
    goodsId,
    productId,
    tenor: 6,
    idempotencyKey: key,
    businessDate: date,
  });
  const each = (fn: (c: bigint) => Promise<unknown>) => Promise.all(customers.map(fn));
  const phases = [
    await measure('order settlement (sync)', () =>
      each((c) => app.begin((tx) => settleOrder(tx, order(c, `s-${c}`)))),
    ),
    await measure('loan and schedule reads', () =>
      each(async (c) => {
        const [loan] = await listLoans(app, c);
        await getLoan(app, loan!.id, false, c);
        await getInstallments(app, loan!.id, c);
      }),
    ),
    await measure('repayment', () =>
      each(async (c) => {
        const [loan] = await listLoans(app, c);
        await app.begin((tx) =>
          applyRepayment(tx, {
            loanId: loan!.id,
            customerId: c,
            amountMinor: REPAYMENT_MINOR,
            businessDate: date,
            overpayment: 'refuse',
          }),
        );
      }),
    ),
    await measure(`sale-day batch settlement (${BATCH_SIZE} orders per batch)`, async () => {
      const ids = await claimIdGenerator(app);
      const queued: QueuedOrder[] = customers.map((c) => ({ ...order(c, `b-${c}`), orderId: ids.next() }));
      for (let i = 0; i < queued.length; i += BATCH_SIZE) {
        await settleOrderBatch(app, queued.slice(i, i + BATCH_SIZE), ids);
      }
    }),
  ];
  process.stdout.write(`${JSON.stringify({ bench: 'citus-statements', customers: CUSTOMERS, phases })}\n`);
} finally {
  await Promise.allSettled([app.end(), ...nodeSql.map((s) => s.end())]);
  await cluster.destroy();
}

/**
 * A node killed in the middle of a multi-shard transaction leaves no half-applied change once
 * Citus's two-phase-commit recovery has run (issue 20 item 6). The transaction is fenqi's own:
 * sale-day batch settlement of two orders whose customers live on different workers. To land the
 * kill between the two phases every time, one worker's PREPARE TRANSACTION is held back (a
 * deferred trigger on its orders shard waits for a lock the test holds) while the other worker
 * has already prepared. Then:
 *  - the other worker is killed and the held worker released: the coordinator records the commit,
 *    the killed worker never hears COMMIT PREPARED; after restart its share is invisible (half
 *    applied) until recover_prepared_transactions() commits it. Afterwards both orders are stored
 *    once, lines are in step and the ledger balances.
 *  - the coordinator is killed instead, before it records a commit: recovery rolls both workers'
 *    prepared halves back; nothing of the batch is stored, and settling it again stores each order
 *    once.
 * Automatic recovery (citus.recover_2pc_interval) is off so the half-applied state can be seen.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { postmasterPid, signalAll, treePids } from '../../src/ops/proc.ts';
import { connectPostgres, type Sql } from '../../src/store/db.ts';
import { claimIdGenerator } from '../../src/store/id-generator.ts';
import { migrate } from '../../src/store/migrate.ts';
import { type QueuedOrder, settleOrderBatch } from '../../src/store/order-batch.ts';
import { ensureDefaultProducts } from '../../src/store/products.ts';
import { ledgerCheck } from '../flash/lab.ts';
import { type CitusCluster, citusUnavailableReason, startCitusCluster } from '../harness/citus.ts';
import type { PostgresServer } from '../harness/postgres.ts';
import { waitFor } from '../harness/process.ts';
import { createCustomer, createGoods } from '../lending/fixtures.ts';

const skip = citusUnavailableReason() ?? false;
const BUSINESS_DATE = '2026-03-01';
/** The advisory lock a held PREPARE waits for. */
const HOLD_LOCK_KEY = 4242;
/** Customers created until each worker holds one (hashing spreads them; a few suffice). */
const MAX_CUSTOMER_TRIES = 64;

describe('two-phase commit on Citus: a node killed mid-commit leaves no half-applied change', {
  skip,
}, () => {
  let cluster: CitusCluster;
  let owner: Sql;
  let app: Sql;
  let goodsId: bigint;
  let productId: bigint;
  /** One customer on each worker: [on workers[0], on workers[1]]. */
  let pair: [bigint, bigint];

  before(async () => {
    cluster = await startCitusCluster({ settings: { 'citus.recover_2pc_interval': '-1' } });
    owner = connectPostgres(cluster.url, 2);
    await migrate(owner);
    productId = (await ensureDefaultProducts(owner)).get('GOODS-0DOWN')!;
    ({ goodsId } = await createGoods(owner, 120_000n));
    const byPort = new Map<number, bigint>();
    for (let i = 0; i < MAX_CUSTOMER_TRIES && byPort.size < cluster.workers.length; i++) {
      const id = await createCustomer(owner, 10_000_000n);
      const port = await workerPortOf(id);
      if (!byPort.has(port)) byPort.set(port, id);
    }
    pair = cluster.workers.map((w) => byPort.get(w.port)!) as [bigint, bigint];
    assert.ok(pair.every(Boolean), 'a customer on each worker');
    app = connectPostgres(cluster.urlFor('app'), 2);
    const [shard] = await owner<{ name: string }[]>`
      select shard_name('orders'::regclass, get_shard_id_for_distribution_column('orders', ${pair[0]})) as name`;
    await onNode(cluster.workers[0]!, async (sql) => {
      // on the worker itself, for this shard only: not a change Citus should propagate
      await sql`set citus.enable_ddl_propagation = off`;
      await sql`set citus.enable_manual_changes_to_shards = on`;
      await sql.unsafe(`create function fenqi_test_hold_prepare() returns trigger language plpgsql as $$
        begin perform pg_advisory_xact_lock(${HOLD_LOCK_KEY}); return null; end $$`);
      await sql.unsafe(`create constraint trigger fenqi_test_hold_prepare after insert on ${shard!.name}
        deferrable initially deferred for each row execute function fenqi_test_hold_prepare()`);
    });
  });
  after(async () => {
    await Promise.allSettled([app?.end({ timeout: 2 }), owner?.end({ timeout: 2 })]);
    await cluster?.destroy();
  });

  async function workerPortOf(customerId: bigint): Promise<number> {
    const [row] = await owner<{ port: number }[]>`
      select n.nodeport as port from pg_dist_placement p join pg_dist_node n using (groupid)
      where p.shardid = get_shard_id_for_distribution_column('customers', ${customerId})`;
    return row!.port;
  }

  async function onNode<T>(node: PostgresServer, work: (sql: Sql) => Promise<T>): Promise<T> {
    const sql = connectPostgres(node.urlFor('admin'), 1);
    try {
      return await work(sql);
    } finally {
      await sql.end({ timeout: 2 });
    }
  }

  /**
   * Holds workers[0]'s PREPARE until released: its orders shard gets a deferred constraint trigger
   * (deferred triggers fire at PREPARE TRANSACTION) that waits for an advisory lock this session
   * holds. Released by closing the session.
   */
  async function holdPrepares(node: PostgresServer): Promise<() => Promise<void>> {
    const holder = connectPostgres(node.urlFor('admin'), 1);
    await holder`select pg_advisory_lock(${HOLD_LOCK_KEY})`;
    return () => holder.end({ timeout: 2 });
  }

  /** What Citus's maintenance daemon does every citus.recover_2pc_interval (off here), now. */
  const recover = () =>
    onNode(cluster.coordinator, async (sql) => {
      const [row] = await sql<{ n: number }[]>`select recover_prepared_transactions() as n`;
      return Number(row!.n);
    });

  const preparedOn = (node: PostgresServer) =>
    onNode(node, async (sql) => {
      const [row] = await sql<{ n: bigint }[]>`select count(*)::bigint as n from pg_prepared_xacts`;
      return Number(row!.n);
    });

  /** The batch's orders as stored, by key (read as the owner, through the coordinator). */
  async function stored(keys: string[]): Promise<Map<string, number>> {
    const rows = await owner<{ key: string; n: bigint }[]>`
      select idempotency_key as key, count(*)::bigint as n from orders
      where customer_id = any(${pair.map(String)}::bigint[]) and idempotency_key = any(${keys}::text[])
      group by 1`;
    return new Map(rows.map((r) => [r.key, Number(r.n)]));
  }

  async function batchFor(prefix: string): Promise<QueuedOrder[]> {
    const ids = await claimIdGenerator(app);
    return pair.map((customerId) => ({
      customerId,
      goodsId,
      productId,
      tenor: 6,
      idempotencyKey: `${prefix}-${customerId}`,
      businessDate: BUSINESS_DATE,
      orderId: ids.next(),
    }));
  }

  /** Starts the batch with workers[0]'s PREPARE held and returns once workers[1] has prepared. */
  async function settleUntilHalfPrepared(batch: QueuedOrder[]) {
    const [held, other] = cluster.workers as [PostgresServer, PostgresServer];
    assert.equal(await preparedOn(other), 0, 'no prepared transaction left from before');
    const release = await holdPrepares(held);
    const ids = await claimIdGenerator(app);
    const settling = settleOrderBatch(app, batch, ids).then(
      (r) => ({ ok: true as const, r }),
      (err: Error) => ({ ok: false as const, err }),
    );
    await waitFor('the other worker to prepare its half', async () => (await preparedOn(other)) > 0);
    assert.equal(await preparedOn(held), 0, 'the held worker has not prepared yet');
    return { held, other, settling, release };
  }

  test('a worker killed after PREPARE misses COMMIT PREPARED; recovery commits its half', async () => {
    const batch = await batchFor('commit');
    const keys = batch.map((o) => o.idempotencyKey);
    const { other, settling, release } = await settleUntilHalfPrepared(batch);
    await other.kill();
    await release();
    const outcome = await settling;
    assert.ok(
      outcome.ok,
      `the coordinator commits once every worker prepared: ${!outcome.ok && outcome.err}`,
    );
    await other.start();
    assert.equal(await preparedOn(other), 1, 'the restarted worker still holds its prepared half');
    const before = await stored(keys);
    assert.deepEqual(
      [...before.values()],
      [1],
      'half applied before recovery: only the held worker committed',
    );
    const recovered = await recover();
    assert.ok(recovered >= 1, 'recovery finished the commit');
    const afterRecovery = await stored(keys);
    assert.deepEqual(
      keys.map((k) => afterRecovery.get(k)),
      [1, 1],
      'both orders stored once',
    );
    for (const w of cluster.workers) assert.equal(await preparedOn(w), 0);
    const check = ledgerCheck(cluster.url);
    assert.ok(check.ok, JSON.stringify(check.report));
  });

  test('the coordinator killed before its commit record: recovery rolls both halves back', async () => {
    const batch = await batchFor('abort');
    const keys = batch.map((o) => o.idempotencyKey);
    const { held, other, settling, release } = await settleUntilHalfPrepared(batch);
    // the machine lost: postmaster and backends frozen, then killed (signalAll). A backend that
    // outlived its postmaster even briefly would roll the prepared halves back on the way out.
    signalAll(treePids(postmasterPid(cluster.coordinator.dataDir)));
    await cluster.coordinator.kill();
    await release();
    const outcome = await settling;
    assert.ok(!outcome.ok, 'the settler sees its transaction fail');
    // the held worker's PREPARE ends one way or the other once its client is gone
    await waitFor('the held PREPARE to end', () =>
      onNode(held, async (sql) => {
        const [row] = await sql<{ n: bigint }[]>`
          select count(*)::bigint as n from pg_stat_activity
          where state = 'active' and query ilike 'prepare transaction%'`;
        return Number(row!.n) === 0;
      }),
    );
    assert.equal(await preparedOn(other), 1, 'the other worker still holds its prepared half');
    await cluster.coordinator.start();
    assert.ok((await recover()) >= 1, 'recovery rolled back the prepared halves');
    for (const w of cluster.workers) assert.equal(await preparedOn(w), 0, 'no prepared half left');
    assert.equal((await stored(keys)).size, 0, 'nothing of the batch is stored');
    // the settler's redelivery: the same batch again stores each order once
    const ids = await claimIdGenerator(app);
    await settleOrderBatch(app, batch, ids);
    const again = await stored(keys);
    assert.deepEqual(
      keys.map((k) => again.get(k)),
      [1, 1],
    );
    const check = ledgerCheck(cluster.url);
    assert.ok(check.ok, JSON.stringify(check.report));
  });
});

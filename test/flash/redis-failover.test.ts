/**
 * A Redis Cluster master SIGKILLed mid-sale (always on a cluster, whatever FENQI_TEST_CACHE says):
 * while its replica is promoted, the cache calls on its slots fail and the API falls back to NATS
 * dedupe and the database through its concurrency bound; afterwards the promoted replica serves
 * those slots. Nothing accepted is lost and no credit line is overdrawn, because the database, not
 * the cache, decides.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { slotOf } from '../../src/cache/cluster-slots.ts';
import { creditSummaryKey } from '../../src/cache/keys.ts';
import type { RedisClusterServer } from '../harness/redis-cluster.ts';
import {
  assertSaleKeptEveryOrder,
  openSaleStage,
  request,
  type SaleStage,
  saleRun,
  tokenFor,
} from './lab.ts';

let stage: SaleStage;

before(async () => {
  stage = await openSaleStage({ cache: 'cluster' });
});

after(async () => {
  await stage?.close();
});

test('a Redis Cluster master killed mid-sale is replaced by its replica and every 202 still settles or is rejected exactly once', async () => {
  const cluster = stage.servers.redis as RedisClusterServer;
  assert.equal(cluster.kind, 'cluster');
  // The master holding the first customer's keys: its slots certainly carry sale traffic.
  const slot = slotOf(creditSummaryKey(stage.data.customers[0]!));
  let killed = 0;
  let promoted = 0;
  const run = await saleRun(stage.servers, stage.sql, stage.data, {
    apis: 2,
    workers: 1,
    perCustomer: 5,
    faultAt: 800,
    fault: async ({ apis }) => {
      killed = await cluster.masterOf(slot);
      await cluster.killNode(killed);
      promoted = await cluster.waitFailover(slot, killed);
      // After the failover a status read still answers (from the promoted replica or the database).
      const [order] = await stage.sql<{ id: bigint; customer_id: bigint }[]>`
        select id, customer_id from orders order by id limit 1`;
      if (order) {
        const reply = await request(apis[0]!.port, 'GET', `/v1/orders/${order.id}`, {
          authorization: `Bearer ${tokenFor(order.customer_id)}`,
        });
        assert.equal(reply.status, 200, reply.body);
      }
    },
  });
  assert.ok(killed > 0 && promoted > 0, 'the fault ran');
  assert.notEqual(promoted, killed, 'a replica took over the dead master slots');
  assert.ok(cluster.ports.includes(promoted));
  assert.equal(run.result.refused.get('INTERNAL') ?? 0, 0);
  assertSaleKeptEveryOrder(run.result, run.audit, { ok: run.ledgerOk, report: run.ledgerReport });
});

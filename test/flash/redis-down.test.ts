/**
 * Redis stopped for the whole sale: rate limits fail open, the idempotency shortcut and the cached
 * pre-check fall back to NATS dedupe and to the database through its concurrency bound, and the
 * order status is read from PostgreSQL. Nothing accepted is lost.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  assertSaleKeptEveryOrder,
  openSaleStage,
  request,
  SALE_SETTLE_DEADLINE_MS,
  type SaleStage,
  saleRun,
  tokenFor,
  until,
} from './lab.ts';

let stage: SaleStage;

before(async () => {
  stage = await openSaleStage();
  await stage.servers.redis.stop();
});

after(async () => {
  await stage?.close();
});

test('with Redis down for the whole sale every 202 still settles or is rejected exactly once', async () => {
  let statusChecked = false;
  const run = await saleRun(stage.servers, stage.sql, stage.data, {
    apis: 2,
    workers: 1,
    perCustomer: 5,
    faultAt: 1_900,
    fault: async ({ apis }) => {
      // Mid-sale, a status read with no cache: the database answers, or 503 while still queued.
      // Workers may not have committed a batch yet on a busy machine: wait for the first one.
      let order: { id: bigint; customer_id: bigint } | undefined;
      await until(async () => {
        [order] = await stage.sql<
          { id: bigint; customer_id: bigint }[]
        >`select id, customer_id from orders limit 1`;
        return order !== undefined;
      }, SALE_SETTLE_DEADLINE_MS);
      assert.ok(order, 'an order was settled after the fault point');
      const reply = await request(apis[0]!.port, 'GET', `/v1/orders/${order.id}`, {
        authorization: `Bearer ${tokenFor(order.customer_id)}`,
      });
      assert.equal(reply.status, 200, reply.body);
      assert.match(JSON.parse(reply.body).status, /^(settled|rejected)$/);
      statusChecked = true;
    },
  });
  assert.ok(statusChecked);
  assert.equal(run.result.refused.get('INTERNAL') ?? 0, 0);
  assertSaleKeptEveryOrder(run.result, run.audit, { ok: run.ledgerOk, report: run.ledgerReport });
});

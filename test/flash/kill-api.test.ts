/**
 * Sale day with two `fenqi api` processes and one `fenqi worker`: 2,000 orders across 400
 * customers (every tenth customer can afford only two), one API SIGKILLed mid-burst. Clients retry
 * with the same key on the other API. Every 202 ends settled or rejected exactly once.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  assertSaleKeptEveryOrder,
  audit,
  burst,
  ledgerCheck,
  openSaleStage,
  ordersFor,
  type Proc,
  request,
  SALE_BURST_DEADLINE_MS,
  SALE_SETTLE_DEADLINE_MS,
  type SaleStage,
  serviceEnv,
  startApi,
  startWorker,
  tokenFor,
  waitSettled,
} from './lab.ts';

let stage: SaleStage;
const procs: Proc[] = [];

before(async () => {
  stage = await openSaleStage();
});

after(async () => {
  await Promise.allSettled(procs.map((p) => p.kill('SIGKILL')));
  await stage?.close();
});

test('a SIGKILLed API loses no accepted order: every 202 settles or is rejected exactly once', async () => {
  const env = serviceEnv(stage.servers);
  const [api1, api2, worker] = await Promise.all([startApi(env), startApi(env), startWorker(env)]);
  procs.push(api1, api2, worker);
  const alive = new Set([api1.port, api2.port]);
  let answered = 0;
  const orders = ordersFor(stage.data.customers, 5, 'kill-api');
  const result = await burst(() => [...alive], stage.data, orders, {
    concurrency: 64,
    deadlineMs: Date.now() + SALE_BURST_DEADLINE_MS,
    onAnswer: () => {
      if (++answered === 500) {
        alive.delete(api1.port);
        void api1.kill('SIGKILL');
      }
    },
  });
  const stored = await waitSettled(stage.sql, result.accepted.values(), Date.now() + SALE_SETTLE_DEADLINE_MS);
  assert.equal(stored, result.accepted.size);

  assertSaleKeptEveryOrder(
    result,
    await audit(stage.sql, result, stage.data, orders),
    ledgerCheck(stage.servers.pg.url),
  );

  // The status read and a replay agree with the database.
  const [key, orderId] = [...result.accepted.entries()][0]!;
  const customerId = BigInt(key.split('-')[2]!);
  const headers = { authorization: `Bearer ${tokenFor(customerId)}` };
  const status = await request(api2.port, 'GET', `/v1/orders/${orderId}`, headers);
  assert.equal(status.status, 200);
  assert.match(JSON.parse(status.body).status, /^(settled|rejected)$/);
  const replay = await request(
    api2.port,
    'POST',
    '/v1/orders',
    { ...headers, 'idempotency-key': key, 'content-type': 'application/json' },
    JSON.stringify({
      goods_id: stage.data.goodsId.toString(),
      product_id: stage.data.productId.toString(),
      tenor: 12,
    }),
  );
  assert.equal(replay.status, 202);
  assert.equal(JSON.parse(replay.body).order_id, orderId);
  assert.equal(replay.headers['idempotent-replay'], 'true');
});

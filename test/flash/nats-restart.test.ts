/**
 * NATS restarted mid-burst: while it is down the API answers 503 QUEUE_UNAVAILABLE (never 500) and
 * clients retry with the same key; what the stream stored before the restart is still settled.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { assertSaleKeptEveryOrder, openSaleStage, type SaleStage, saleRun } from './lab.ts';

let stage: SaleStage;

before(async () => {
  stage = await openSaleStage();
});

after(async () => {
  await stage?.close();
});

test('a NATS restart mid-burst loses no accepted order and answers 503 meanwhile', async () => {
  const run = await saleRun(stage.servers, stage.sql, stage.data, {
    apis: 2,
    workers: 1,
    perCustomer: 5,
    faultAt: 600,
    fault: async () => {
      await stage.servers.nats.stop();
      await new Promise((r) => setTimeout(r, 1_500));
      await stage.servers.nats.start();
    },
  });
  assert.ok(run.result.retries > 0, 'clients saw 503s or dropped connections and retried');
  assert.equal(run.result.refused.get('INTERNAL') ?? 0, 0);
  assertSaleKeptEveryOrder(run.result, run.audit, { ok: run.ledgerOk, report: run.ledgerReport });
});

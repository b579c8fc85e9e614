/**
 * NATS restarted mid-burst: while it is down the API answers 503 QUEUE_UNAVAILABLE (never 500) and
 * clients retry with the same key; what the stream stored before the restart is still settled.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  assertSaleKeptEveryOrder,
  FAULT_NOTICED_DEADLINE_MS,
  openSaleStage,
  type SaleStage,
  saleRun,
  until,
} from './lab.ts';

let stage: SaleStage;

before(async () => {
  stage = await openSaleStage();
});

after(async () => {
  await stage?.close();
});

test('a NATS restart mid-burst loses no accepted order and answers 503 meanwhile', async () => {
  let noticed = false;
  const run = await saleRun(stage.servers, stage.sql, stage.data, {
    apis: 2,
    workers: 1,
    perCustomer: 5,
    faultAt: 600,
    fault: async ({ retries }) => {
      // NATS stays down until clients have met the outage, however slowly this machine runs them
      const before = retries();
      await stage.servers.nats.stop();
      noticed = await until(() => retries() > before, FAULT_NOTICED_DEADLINE_MS);
      await stage.servers.nats.start();
    },
  });
  assert.ok(noticed, 'clients saw 503s or dropped connections while NATS was down');
  assert.ok(run.result.retries > 0, 'clients retried with the same key');
  assert.equal(run.result.refused.get('INTERNAL') ?? 0, 0);
  assertSaleKeptEveryOrder(run.result, run.audit, { ok: run.ledgerOk, report: run.ledgerReport });
});

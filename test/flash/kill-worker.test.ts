/**
 * A worker SIGKILLed mid-batch: what it fetched but never acked is redelivered (after the ack
 * wait) to the surviving and the restarted worker; redelivery of what it did commit is a no-op.
 */
import { after, before, test } from 'node:test';
import { assertSaleKeptEveryOrder, openSaleStage, type SaleStage, saleRun, startWorker } from './lab.ts';

let stage: SaleStage;

before(async () => {
  stage = await openSaleStage();
});

after(async () => {
  await stage?.close();
});

test('a worker SIGKILLed mid-batch loses nothing and settles nothing twice', async () => {
  const run = await saleRun(stage.servers, stage.sql, stage.data, {
    apis: 1,
    workers: 2,
    perCustomer: 5,
    faultAt: 800,
    fault: async ({ workers, env }) => {
      await workers[0]!.kill('SIGKILL');
      workers.push(await startWorker(env));
    },
  });
  assertSaleKeptEveryOrder(run.result, run.audit, { ok: run.ledgerOk, report: run.ledgerReport });
});

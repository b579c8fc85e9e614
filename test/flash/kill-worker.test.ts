/**
 * A worker SIGKILLed mid-batch: what it fetched but never acked is redelivered (after the ack
 * wait) to the surviving and the restarted worker; redelivery of what it did commit is a no-op.
 */
import { after, before, test } from 'node:test';
import type { Sql } from '../../src/store/db.ts';
import {
  assertSaleKeptEveryOrder,
  connect,
  type Seed,
  type Servers,
  saleRun,
  seed,
  startServers,
  startWorker,
} from './lab.ts';

let servers: Servers;
let sql: Sql;
let data: Seed;

before(async () => {
  servers = await startServers();
  sql = connect(servers);
  data = await seed(sql, 400, { tightEvery: 10, tightOrders: 2 });
});

after(async () => {
  await sql?.end({ timeout: 2 });
  await servers?.destroy();
});

test('a worker SIGKILLed mid-batch loses nothing and settles nothing twice', async () => {
  const run = await saleRun(servers, sql, data, {
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

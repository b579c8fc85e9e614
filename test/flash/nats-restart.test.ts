/**
 * NATS restarted mid-burst: while it is down the API answers 503 QUEUE_UNAVAILABLE (never 500) and
 * clients retry with the same key; what the stream stored before the restart is still settled.
 */
import assert from 'node:assert/strict';
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

test('a NATS restart mid-burst loses no accepted order and answers 503 meanwhile', async () => {
  const run = await saleRun(servers, sql, data, {
    apis: 2,
    workers: 1,
    perCustomer: 5,
    faultAt: 600,
    fault: async () => {
      await servers.nats.stop();
      await new Promise((r) => setTimeout(r, 1_500));
      await servers.nats.start();
    },
  });
  assert.ok(run.result.retries > 0, 'clients saw 503s or dropped connections and retried');
  assert.equal(run.result.refused.get('INTERNAL') ?? 0, 0);
  assertSaleKeptEveryOrder(run.result, run.audit, { ok: run.ledgerOk, report: run.ledgerReport });
});

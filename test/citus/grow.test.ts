/**
 * Growing the cluster during a sale (issue 20 item 5): a third worker is started, added with
 * `fenqi db add-node` and shards are moved onto it with `fenqi db rebalance` (online moves by
 * logical replication) while orders are still arriving and settling. Afterwards every accepted
 * order is stored once, every line is in step with its loans, the ledger check passes across the
 * shards, and /ready and /metrics show the new node holding shards. Then `fenqi db drain-node`
 * moves them off it again, orders still settling.
 *
 * The sale is CI_GROW_ORDERS orders; FENQI_GROW_ORDERS=20000 runs the full-size sale (not
 * in CI: minutes on a small machine), the new worker joining at the same share of the answers.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, test } from 'node:test';
import { promisify } from 'node:util';
import { REFERENCE_TABLES } from '../../src/store/citus.ts';
import {
  assertSaleKeptEveryOrder,
  FENQI_BIN,
  openSaleStage,
  request,
  SALE_BURST_DEADLINE_MS,
  SALE_CUSTOMERS,
  SALE_SETTLE_DEADLINE_MS,
  type SaleStage,
  saleRun,
  saleSummary,
} from '../flash/lab.ts';
import { type CitusCluster, citusUnavailableReason } from '../harness/citus.ts';

const skip = citusUnavailableReason() ?? false;
if (!skip) process.env.FENQI_TEST_DB = 'citus';
const run = promisify(execFile);
/** The sale's size in CI (400 customers, 5 orders each). */
const CI_GROW_ORDERS = 2_000;
const GROW_ORDERS = Number(process.env.FENQI_GROW_ORDERS ?? CI_GROW_ORDERS);
if (!Number.isInteger(GROW_ORDERS) || GROW_ORDERS < SALE_CUSTOMERS) {
  throw new Error(`FENQI_GROW_ORDERS must be a whole number of at least ${SALE_CUSTOMERS}`);
}
const PER_CUSTOMER = Math.ceil(GROW_ORDERS / SALE_CUSTOMERS);
/** Share of the answers in before the new worker joins: the sale under way, most orders to come. */
const GROW_AT_SHARE = 0.15;
const GROW_AT_ANSWER = Math.round(GROW_AT_SHARE * PER_CUSTOMER * SALE_CUSTOMERS);
/** Bigger sales get proportionally longer to burst and to settle. */
const SIZE_FACTOR = Math.max(1, GROW_ORDERS / CI_GROW_ORDERS);

interface ReadyCluster {
  cluster?: { nodes: { host: string; port: number; role: string; shards: number }[] };
}

let stage: SaleStage | undefined;
after(async () => {
  await stage?.close();
});

test(`a worker added, rebalanced onto and drained mid-sale (${PER_CUSTOMER * SALE_CUSTOMERS} orders): nothing lost or duplicated, lines in step, ledger balanced`, {
  skip,
}, async () => {
  stage = await openSaleStage();
  const cluster = stage.servers.pg as CitusCluster;
  const outputs: string[] = [];
  let newPort = 0;
  let ready: ReadyCluster = {};
  let metrics = '';
  let drained: { port: number; shards: number }[] = [];
  const saleStartedMs = Date.now();
  const sale = await saleRun(stage.servers, stage.sql, stage.data, {
    apis: 1,
    workers: 2,
    perCustomer: PER_CUSTOMER,
    faultAt: GROW_AT_ANSWER,
    burstTimeoutMs: SALE_BURST_DEADLINE_MS * SIZE_FACTOR,
    settleTimeoutMs: SALE_SETTLE_DEADLINE_MS * SIZE_FACTOR,
    fault: async ({ env, apis }) => {
      const worker = await cluster.startWorker();
      newPort = worker.port;
      const adminEnv = { ...env, DATABASE_ADMIN_URL: cluster.urlFor('admin') };
      const fenqi = async (...args: string[]) => {
        const { stdout } = await run(FENQI_BIN, args, { env: adminEnv, encoding: 'utf8' });
        outputs.push(`$ fenqi ${args.join(' ')}\n${stdout}`);
        // the commands' progress in the test's log
        process.stderr.write(`$ fenqi ${args.join(' ')}\n${stdout}`);
        return stdout;
      };
      await fenqi('db', 'add-node', '127.0.0.1', String(worker.port));
      await fenqi('db', 'rebalance');
      await fenqi('db', 'nodes');
      const api = apis[0]!.port;
      ready = JSON.parse((await request(api, 'GET', '/ready', {})).body) as ReadyCluster;
      metrics = (await request(api, 'GET', '/metrics', {})).body;
      // and back: every distributed shard off the new worker again, orders still settling
      await fenqi('db', 'drain-node', '127.0.0.1', String(worker.port));
      drained = JSON.parse(await fenqi('db', 'nodes', '--json')) as { port: number; shards: number }[];
    },
  });
  // the figures of this run in the log (what FENQI_GROW_ORDERS=20000 reports)
  process.stderr.write(
    `grow sale: ${JSON.stringify({
      ...saleSummary(sale, PER_CUSTOMER * SALE_CUSTOMERS),
      saleSeconds: Math.round((Date.now() - saleStartedMs) / 1000),
    })}\n`,
  );
  const log = outputs.join('\n');
  assert.match(log, /added 127\.0\.0\.1:\d+ as node \d+/);
  assert.match(log, /rebalance job \d+ started/);
  assert.match(log, /rebalance job \d+: finished/, log);
  const nodes = ready.cluster?.nodes ?? [];
  assert.equal(nodes.filter((n) => n.role === 'worker').length, 3, JSON.stringify(ready));
  const added = nodes.find((n) => n.port === newPort);
  assert.ok(added && added.shards > 0, `the new worker holds shards: ${JSON.stringify(nodes)}`);
  assert.match(metrics, new RegExp(`fenqi_citus_node_shards\\{node="127\\.0\\.0\\.1:${newPort}"`));
  assert.match(log, new RegExp(`drained 127\\.0\\.0\\.1:${newPort}`));
  assert.equal(
    drained.find((n) => n.port === newPort)?.shards,
    REFERENCE_TABLES.length,
    `the drained worker keeps only its copies of the reference tables: ${JSON.stringify(drained)}`,
  );
  assertSaleKeptEveryOrder(sale.result, sale.audit, { ok: sale.ledgerOk, report: sale.ledgerReport });
});

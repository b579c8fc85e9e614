/**
 * Automatic debit on real PostgreSQL and NATS: a timed-out charge is resolved by a status query,
 * never by a second charge, and its repayment posts once; a `fenqi worker` SIGKILLed mid-batch
 * charges no debit twice and loses none: every charge the bank took is one repayment of the same
 * amount, every loan due today is collected or on its retry schedule, and the ledger balances.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import pino from 'pino';
import { loadConfig } from '../../src/config.ts';
import { addDays, addMonths } from '../../src/domain/dates.ts';
import { SimulatedCollectionGateway } from '../../src/payments/collection.ts';
import { openPlatform, type Platform } from '../../src/platform.ts';
import { settleOrder } from '../../src/store/orders.ts';
import { AutoDebitWorker } from '../../src/workers/auto-debit.ts';
import {
  ledgerCheck,
  SECRETS,
  type Seed,
  type Servers,
  seed,
  serviceEnv,
  startServers,
  startWorker,
  TENOR,
  until,
} from '../flash/lab.ts';
import { tempDir } from '../harness/process.ts';
import { giveCards } from './cards.ts';

const TIMEOUT_CUSTOMERS = 5;
const KILL_CUSTOMERS = 150;
const DEADLINE_MS = 120_000;

let servers: Servers;
let platform: Platform;
let data: Seed;
let today: string;

before(async () => {
  servers = await startServers();
  platform = await openPlatform(
    loadConfig({
      ...servers.pg.env(),
      ...servers.redis.env(),
      ...servers.nats.env(),
      FENQI_DATA_DIR: tempDir('auto-debit'),
      FENQI_AUTO_DEBIT: 'false',
      LOG_LEVEL: 'warn',
      ...SECRETS,
    }),
    pino({ level: 'warn' }),
  );
  data = await seed(platform.db.sql, TIMEOUT_CUSTOMERS + KILL_CUSTOMERS);
  today = await platform.services.clock.today();
  // one loan per customer, sold a month ago: its first installment is due today
  const sold = addMonths(today, -1);
  for (const customerId of data.customers) {
    await platform.db.sql.begin((tx) =>
      settleOrder(tx, {
        customerId,
        goodsId: data.goodsId,
        productId: data.productId,
        tenor: TENOR,
        idempotencyKey: `debit-test-${customerId}`,
        businessDate: sold,
      }),
    );
  }
  const [due] = await platform.db.sql<{ n: number }[]>`
    select count(*)::int as n from installments where due_date = ${today}::date`;
  assert.equal(due!.n, data.customers.length, 'each loan has an installment due today');
});

after(async () => {
  await platform?.close();
  await servers?.destroy();
});

test('a timed-out debit is resolved by a status query, never charged twice, and posts one repayment', async () => {
  const gateway = new SimulatedCollectionGateway({ seed: 7, timeoutRate: 1 });
  platform.services.collection = gateway;
  const customers = data.customers.slice(0, TIMEOUT_CUSTOMERS);
  await giveCards(platform, customers, gateway);
  const worker = new AutoDebitWorker(platform, false);
  await worker.tick();
  assert.equal(worker.stats.unknown, TIMEOUT_CUSTOMERS, 'every charge timed out');
  const open = await platform.db.sql`select 1 from debit_attempts where status = 'unknown'`;
  assert.equal(open.length, TIMEOUT_CUSTOMERS);
  await worker.tick();
  assert.equal(gateway.charges, TIMEOUT_CUSTOMERS, 'the gateway was charged once per attempt');
  assert.equal(worker.stats.resolved, TIMEOUT_CUSTOMERS);
  const rows = await platform.db.sql<{ status: string; amount_minor: bigint; repaid: bigint }[]>`
    select a.status, a.amount_minor, r.amount_minor as repaid
    from debit_attempts a join repayments r on r.customer_id = a.customer_id and r.id = a.repayment_id`;
  assert.equal(rows.length, TIMEOUT_CUSTOMERS);
  for (const r of rows) {
    assert.equal(r.status, 'succeeded');
    assert.equal(r.repaid, r.amount_minor);
  }
  assert.deepEqual([...gateway.collected().values()].sort(), rows.map((r) => r.amount_minor).sort());
  await worker.tick();
  assert.equal(gateway.charges, TIMEOUT_CUSTOMERS, 'a later pass charges nothing again');
});

test('a worker SIGKILLed mid-batch charges no debit twice and loses none', async () => {
  const journal = path.join(tempDir('collection-bank'), 'decisions.jsonl');
  const simEnv = {
    FENQI_COLLECTION_SIM_SEED: '11',
    FENQI_COLLECTION_SIM_INSUFFICIENT_RATE: '0.2',
    FENQI_COLLECTION_SIM_BLOCKED_RATE: '0.05',
    FENQI_COLLECTION_SIM_TIMEOUT_RATE: '0.1',
    FENQI_COLLECTION_SIM_LATENCY_MS: '15',
    FENQI_COLLECTION_SIM_JOURNAL: journal,
  };
  const customers = data.customers.slice(TIMEOUT_CUSTOMERS);
  await giveCards(platform, customers, new SimulatedCollectionGateway({ seed: 11 }));
  const env = serviceEnv(servers, {
    FENQI_SALE_MODE: 'false',
    FENQI_DEBIT_SAME_DAY_RETRY_MS: '0',
    ...simEnv,
  });
  const decided = async () =>
    (await platform.db.sql`select 1 from debit_attempts where status in ('succeeded', 'failed')`).length;
  const first = await startWorker(env);
  assert.ok(await until(async () => (await decided()) > TIMEOUT_CUSTOMERS + 20, DEADLINE_MS), 'debits began');
  await first.kill('SIGKILL');
  const second = await startWorker(env);
  try {
    const settled = async () => {
      const [row] = await platform.db.sql<{ n: number }[]>`
        select count(*)::int as n from debit_attempts
        where status in ('sending', 'unknown') or (status = 'scheduled' and run_date <= ${today}::date)`;
      return row!.n === 0;
    };
    assert.ok(await until(settled, DEADLINE_MS), 'every debit due today reached an outcome');
  } finally {
    await second.kill('SIGTERM');
  }
  const decisions = readFileSync(journal, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { id: string; amountMinor: string; outcome: { status: string } });
  assert.equal(
    new Set(decisions.map((d) => d.id)).size,
    decisions.length,
    'the bank decided each attempt once',
  );
  const taken = decisions.filter((d) => d.outcome.status === 'succeeded');
  const attempts = await platform.db.sql<
    {
      id: bigint;
      loan_id: bigint;
      status: string;
      attempt_number: number;
      amount_minor: bigint;
      repaid: bigint | null;
    }[]
  >`
    select a.id, a.loan_id, a.status, a.attempt_number, a.amount_minor, r.amount_minor as repaid
    from debit_attempts a left join repayments r on r.customer_id = a.customer_id and r.id = a.repayment_id
    where a.customer_id = any(${customers.map(String)}::bigint[])`;
  const byId = new Map(attempts.map((a) => [a.id.toString(), a]));
  for (const t of taken) {
    const a = byId.get(t.id);
    assert.ok(a, 'every charge the bank took is an attempt');
    assert.equal(a.status, 'succeeded');
    assert.equal(a.repaid, BigInt(t.amountMinor), 'and exactly one repayment of that amount');
  }
  const succeeded = attempts.filter((a) => a.status === 'succeeded');
  assert.equal(succeeded.length, taken.length, 'no repayment without a charge');
  const loansCollected = new Set(succeeded.map((a) => a.loan_id.toString()));
  assert.equal(loansCollected.size, succeeded.length, 'no loan was collected twice for one due date');
  const tomorrow = addDays(today, 1);
  const [retries] = await platform.db.sql<{ n: number }[]>`
    select count(*)::int as n from debit_attempts where status = 'scheduled' and run_date = ${tomorrow}::date
      and attempt_number = 3`;
  const failedTwice = new Set(
    attempts.filter((a) => a.status === 'failed' && a.attempt_number === 2).map((a) => a.loan_id.toString()),
  );
  assert.equal(
    loansCollected.size + failedTwice.size,
    customers.length,
    'every loan due today is collected or failed twice',
  );
  assert.equal(retries!.n, failedTwice.size, 'each loan that failed twice is retried tomorrow');
  const ledger = ledgerCheck(servers.pg.url);
  assert.ok(ledger.ok, JSON.stringify(ledger.report));
  console.log(
    `# debits: ${customers.length} loans due, ${taken.length} collected, ${failedTwice.size} failed twice (retry tomorrow), ` +
      `${decisions.length} bank decisions, ${attempts.length} attempts`,
  );
});

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { runCob } from '../../src/cob/run.ts';
import { businessDate, loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import { SimulatedPayouts } from '../../src/payments/payouts.ts';
import type { Platform } from '../../src/platform.ts';
import { PRODUCTION_SIDE } from '../../src/rehearsal/admit.ts';
import { connectPostgres, type Sql } from '../../src/store/db.ts';
import { migrate } from '../../src/store/migrate.ts';
import { closePendingDates, datesToClose } from '../../src/workers/cob-scheduler.ts';
import { type PostgresServer, startPostgres } from '../harness/postgres.ts';
import { tempDir } from '../harness/process.ts';
import { createTestLoan, insertTestProduct, testProductInput } from './fixtures.ts';

describe('the close-of-business scheduler', () => {
  test('a platform that never closed starts with yesterday', () => {
    assert.deepEqual(datesToClose(null, '2026-03-01'), ['2026-02-28']);
  });

  test('after an outage it closes every missed date in order, up to yesterday and no further', () => {
    assert.deepEqual(datesToClose('2026-02-26', '2026-03-01'), ['2026-02-26', '2026-02-27', '2026-02-28']);
    assert.deepEqual(datesToClose('2026-03-01', '2026-03-01'), [], 'today is not over yet');
    assert.equal(datesToClose('2025-01-01', '2026-03-01', 31).length, 31, 'bounded per wake-up');
  });

  test('the business date follows the business time zone, not UTC', () => {
    const at = new Date('2026-06-30T17:30:00Z'); // 01:30 on 1 July in Shanghai
    assert.equal(businessDate({ businessTimeZone: 'Asia/Shanghai' }, at), '2026-07-01');
    assert.equal(businessDate({ businessTimeZone: 'UTC' }, at), '2026-06-30');
  });
});

describe('the scheduler on real PostgreSQL', () => {
  let pg: PostgresServer;
  let sql: Sql;
  let platform: Platform;

  before(async () => {
    pg = await startPostgres();
    sql = connectPostgres(pg.url, 6);
    await migrate(sql);
    const config = loadConfig({
      ...pg.env(),
      FENQI_DATA_DIR: tempDir('cob-scheduler'),
      LOG_LEVEL: 'silent',
    });
    platform = {
      config,
      logger: createLogger('silent'),
      db: { sql, describe: 'test', embedded: false, close: async () => {} },
      side: PRODUCTION_SIDE,
      // close of business pays merchants after the loans (src/cob/steps.ts)
      services: { payouts: new SimulatedPayouts() },
    } as unknown as Platform;
    const { id, product } = await insertTestProduct(sql, testProductInput());
    await createTestLoan(sql, {
      productId: id,
      product,
      principalMinor: 300_000n,
      tenor: 3,
      startDate: '2026-01-01',
    });
  });
  after(async () => {
    await sql?.end();
    await pg?.destroy();
  });

  test('two processes waking together close each missed date exactly once', async () => {
    await runCob(sql, { date: '2026-02-25' });
    const closedByEach = await Promise.all([
      closePendingDates(platform, '2026-03-01'),
      closePendingDates(platform, '2026-03-01'),
    ]);
    const all = closedByEach.flat().sort();
    const runs = await sql<{ d: string; status: string }[]>`
      select business_date::text as d, status from cob_runs order by business_date`;
    const completed = runs.filter((r) => r.status === 'completed').map((r) => r.d);
    for (const date of ['2026-02-26', '2026-02-27', '2026-02-28']) assert.ok(completed.includes(date), date);
    assert.equal(new Set(all).size, all.length, `a date was closed twice: ${all}`);
    const again = await closePendingDates(platform, '2026-03-01');
    assert.deepEqual(again, [], 'nothing left to close');
  });
});

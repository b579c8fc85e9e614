/**
 * The log-in throttle's rows do not pile up (migrations/0075_auth_throttle.sql, docs/security.md):
 * close of business deletes the counters past their longest window and the known sources no longer
 * remembered, in bounded batches, and leaves every row that still counts or blocks.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  purgeExpiredThrottles,
  THROTTLE_LONGEST_WINDOW_MS,
  THROTTLE_PURGE_BATCH_ROWS,
  THROTTLE_PURGE_MAX_BATCHES,
} from '../../src/auth/throttle.ts';
import { runCob } from '../../src/cob/run.ts';
import { connectPostgres, type Sql } from '../../src/store/db.ts';
import { migrate } from '../../src/store/migrate.ts';
import { type PostgresServer, startPostgres } from '../harness/postgres.ts';

/** Seconds past the longest window that make a row expired, and short of it that keep one live. */
const MARGIN_S = 60;
const LONGEST_S = THROTTLE_LONGEST_WINDOW_MS / 1000;

describe('purging the log-in throttle', () => {
  let pg: PostgresServer;
  let sql: Sql;

  before(async () => {
    pg = await startPostgres();
    sql = connectPostgres(pg.url, 4);
    await migrate(sql);
  });
  after(async () => {
    await sql?.end();
    await pg?.destroy();
  });

  /** `count` counters whose window started `ageS` ago, blocked until `blockedInS` from now (or not). */
  const counters = async (count: number, ageS: number, blockedInS: number | null = null) => {
    const rows = await sql<{ subject: Buffer }[]>`
      insert into auth_throttle (subject, attempts, window_started_at, blocked_until)
      select sha256((random()::text || i)::bytea), 3, now() - make_interval(secs => ${ageS}),
             now() + make_interval(secs => ${blockedInS}::float8)
      from generate_series(1, ${count}) as i
      returning subject`;
    return rows.map((r) => r.subject);
  };
  const sources = async (count: number, rememberedForS: number) => {
    await sql`
      insert into auth_known_source (subject, remembered_until)
      select sha256((random()::text || i)::bytea), now() + make_interval(secs => ${rememberedForS})
      from generate_series(1, ${count}) as i`;
  };
  const tally = async () => {
    const [row] = await sql<{ throttle: number; known: number }[]>`
      select (select count(*)::int from auth_throttle) as throttle,
             (select count(*)::int from auth_known_source) as known`;
    return row!;
  };
  const clear = () => sql`truncate auth_throttle, auth_known_source`;

  test('deletes the counters past the longest window and the forgotten sources; keeps what still counts or blocks', async () => {
    await clear();
    await counters(25, LONGEST_S + MARGIN_S);
    const live = await counters(7, LONGEST_S - MARGIN_S);
    // an old window whose backoff still runs blocks an attempt: it stays
    const blocking = await counters(2, LONGEST_S + MARGIN_S, MARGIN_S);
    await sources(9, -MARGIN_S);
    await sources(4, MARGIN_S);
    const purged = await purgeExpiredThrottles(sql);
    assert.deepEqual(purged, { throttleRows: 25, knownSources: 9 });
    assert.deepEqual(await tally(), { throttle: 9, known: 4 });
    const left = await sql<{ subject: Buffer }[]>`select subject from auth_throttle`;
    const kept = new Set(left.map((r) => r.subject.toString('hex')));
    for (const s of [...live, ...blocking]) assert.ok(kept.has(s.toString('hex')));
  });

  test('works in batches of the named size and stops at the named number of batches', async () => {
    assert.ok(THROTTLE_PURGE_BATCH_ROWS > 0 && THROTTLE_PURGE_MAX_BATCHES > 0);
    await clear();
    await counters(23, LONGEST_S + MARGIN_S);
    // 5 rows a statement, at most 3 statements: 15 go now, the rest at the next purge
    assert.deepEqual(await purgeExpiredThrottles(sql, { batchRows: 5, maxBatches: 3 }), {
      throttleRows: 15,
      knownSources: 0,
    });
    assert.equal((await tally()).throttle, 8);
    assert.deepEqual(await purgeExpiredThrottles(sql, { batchRows: 5, maxBatches: 3 }), {
      throttleRows: 8,
      knownSources: 0,
    });
    assert.equal((await tally()).throttle, 0);
  });

  test('close of business purges them', async () => {
    await clear();
    await counters(12, LONGEST_S + MARGIN_S);
    await counters(3, 0);
    await sources(5, -MARGIN_S);
    const summary = await runCob(sql, { date: '2026-03-02' });
    assert.equal(summary.ran, true);
    assert.deepEqual(await tally(), { throttle: 3, known: 0 });
  });
});

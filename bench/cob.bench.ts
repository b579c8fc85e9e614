/**
 * Close of business for 100,000 active loans on real PostgreSQL (the test harness's throwaway
 * server: fsync off, so this measures the work, not the disk). Seeds the loans set-based (one in
 * ten delinquent, up to 240 days late), closes a first date (every loan catches up its earned
 * interest: the heavy day) and the next date (an ordinary day), and reports seconds and loans per
 * second against two baselines from the same server in the same run:
 *   - pgbench TPC-B transactions per second (2 clients, the ratio's denominator);
 *   - a plain keyset-batched `update` touching every loan row once, the floor for any close.
 *
 *   npm run bench -- cob      (FENQI_BENCH_COB_LOANS, FENQI_BENCH_PGBENCH_SECONDS to change sizes)
 */
import { runCob } from '../src/cob/run.ts';
import { DEFAULT_COB_BATCH_SIZE } from '../src/domain/cob.ts';
import { connectPostgres } from '../src/store/db.ts';
import { migrate } from '../src/store/migrate.ts';
import { checkBooks, insertTestProduct, seedLoans, testProductInput } from '../test/cob/fixtures.ts';
import { startPostgres } from '../test/harness/postgres.ts';
import { runPgbench } from './lib/pgbench.ts';

const LOANS = Number(process.env.FENQI_BENCH_COB_LOANS ?? 100_000);
const PGBENCH_SECONDS = Number(process.env.FENQI_BENCH_PGBENCH_SECONDS ?? 10);
const PGBENCH_SCALE = 10;
const PGBENCH_CLIENTS = 2;
const DATE = '2025-09-15';
const NEXT_DATE = '2025-09-16';

const log = (line: string) => process.stderr.write(`${line}\n`);
const secondsSince = (t0: number) => (performance.now() - t0) / 1000;

const pg = await startPostgres();
try {
  const url = await pg.createDatabase('cob_bench');
  const sql = connectPostgres(url, 4);
  await migrate(sql);
  const { id: productId } = await insertTestProduct(sql, testProductInput());

  let t0 = performance.now();
  log(`seeding ${LOANS} loans...`);
  await seedLoans(sql, { loans: LOANS, asOf: DATE, productId, delinquentEvery: 10, withoutTriggers: true });
  await sql`analyze`;
  log(`seeded in ${secondsSince(t0).toFixed(1)}s`);

  let lastLog = 0;
  const onProgress = (p: { date: string; loansDone: number; loansTotal: number; loansPerS: number }) => {
    if (performance.now() - lastLog < 2000 && p.loansDone < p.loansTotal) return;
    lastLog = performance.now();
    log(`cob ${p.date}: ${p.loansDone}/${p.loansTotal} loans, ${Math.round(p.loansPerS)} loans/s`);
  };
  t0 = performance.now();
  const first = await runCob(sql, { date: DATE, onProgress });
  const seconds = secondsSince(t0);
  log(
    `first close ${DATE}: ${seconds.toFixed(2)}s, ${first.accrualEntries} accruals, ${first.lateFeeEntries} late fees, ` +
      `${first.loansWrittenOff} written off; buckets ${JSON.stringify(first.buckets)}`,
  );
  t0 = performance.now();
  const next = await runCob(sql, { date: NEXT_DATE, onProgress });
  const nextSeconds = secondsSince(t0);
  log(`next-day close ${NEXT_DATE}: ${nextSeconds.toFixed(2)}s, ${next.loansDone} loans`);

  const books = await checkBooks(sql);
  if (books.debitsMinor !== books.creditsMinor || books.unbalancedEntries > 0 || books.loanMismatches > 0) {
    throw new Error(`books do not balance after the close: ${JSON.stringify(books, (_k, v) => String(v))}`);
  }

  // floor: touch every active loan row once, in the close's batch size, one transaction per batch
  t0 = performance.now();
  let cursor = '0';
  let touched = 0;
  for (;;) {
    const rows = await sql.begin(
      (tx) => tx<{ id: bigint }[]>`
        update loans set days_past_due = days_past_due where id in (
          select id from loans where status = 'active' and id > ${cursor}::bigint order by id
          limit ${DEFAULT_COB_BATCH_SIZE})
        returning id`,
    );
    if (rows.length === 0) break;
    touched += rows.length;
    let maxId = 0n;
    for (const r of rows) if (r.id > maxId) maxId = r.id;
    cursor = maxId.toString();
  }
  const floorSeconds = secondsSince(t0);
  const floorRowsPerS = touched / floorSeconds;
  log(
    `plain update floor: ${touched} rows in ${floorSeconds.toFixed(2)}s (${Math.round(floorRowsPerS)} rows/s)`,
  );
  await sql.end();

  log(`pgbench TPC-B: scale ${PGBENCH_SCALE}, ${PGBENCH_CLIENTS} clients, ${PGBENCH_SECONDS}s...`);
  const { tps } = await runPgbench(pg, {
    scale: PGBENCH_SCALE,
    clients: PGBENCH_CLIENTS,
    seconds: PGBENCH_SECONDS,
    database: 'pgbench',
  });
  log(`pgbench: ${tps.toFixed(0)} tps`);

  const loansPerS = LOANS / seconds;
  process.stdout.write(
    `${JSON.stringify({
      bench: 'cob',
      loans: LOANS,
      seconds: Number(seconds.toFixed(2)),
      loans_per_s: Math.round(loansPerS),
      baseline: Math.round(tps),
      baseline_kind: 'pgbench TPC-B tps, 2 clients',
      ratio: Number((loansPerS / tps).toFixed(2)),
      next_day_seconds: Number(nextSeconds.toFixed(2)),
      next_day_loans_per_s: Math.round(next.loansDone / nextSeconds),
      update_floor_rows_per_s: Math.round(floorRowsPerS),
      ratio_to_update_floor: Number((loansPerS / floorRowsPerS).toFixed(3)),
    })}\n`,
  );
} finally {
  await pg.destroy();
}

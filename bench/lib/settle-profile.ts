/**
 * Settlement cost per order, without queue or API: real PostgreSQL, seeded customers, then
 * `settleOrderBatch` called directly on batches of `--batch` orders from `--concurrency` loops.
 * With `--explain`, one batch runs with auto_explain (ANALYZE, nested statements, so trigger
 * queries show too) and the plans are printed to stderr.
 *
 * With `--statements`, the execution time of every statement the batches ran (pg_stat_statements,
 * triggers and foreign-key checks included in the statement that fired them) per settled order,
 * and the WAL the settlement wrote per order.
 *
 *   node --import tsx bench/lib/settle-profile.ts --orders 20000 --batch 1000 --concurrency 2 [--durable] [--explain] [--statements]
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import postgres from 'postgres';
import { postgresLink } from '../../src/store/db.ts';
import { IdGenerator } from '../../src/store/id-generator.ts';
import { type QueuedOrder, settleOrderBatch } from '../../src/store/order-batch.ts';
import { connect, seed, startServers, TENOR } from '../../test/flash/lab.ts';

const { values: args } = parseArgs({
  options: {
    orders: { type: 'string', default: '20000' },
    customers: { type: 'string', default: '2000' },
    batch: { type: 'string', default: '1000' },
    concurrency: { type: 'string', default: '2' },
    durable: { type: 'boolean', default: false },
    explain: { type: 'boolean', default: false },
    statements: { type: 'boolean', default: false },
  },
});
const ORDERS = Number(args.orders);
const BATCH = Number(args.batch);
const CONCURRENCY = Number(args.concurrency);

const servers = await startServers({
  shared_buffers: '256MB',
  max_wal_size: '2GB',
  checkpoint_timeout: '30min',
  ...(args.durable ? { fsync: 'on', synchronous_commit: 'on', full_page_writes: 'on' } : {}),
  ...(args.statements
    ? { shared_preload_libraries: 'pg_stat_statements', 'pg_stat_statements.track': 'all' }
    : {}),
});
/** Statements named in the per-statement report (the rest are summed in the total). */
const STATEMENTS_TOP = 12;
/** Linux reports process CPU in clock ticks of 1/100 s. */
const CLOCK_TICKS_PER_S = 100;
const STATEMENT_TEXT_CHARS = 100;
try {
  const sql = connect(servers, CONCURRENCY + 1);
  const data = await seed(sql, Number(args.customers), { tightEvery: 50, tightOrders: 3 });
  const ids = new IdGenerator(1);
  const date = new Date().toISOString().slice(0, 10);
  const orders: QueuedOrder[] = Array.from({ length: ORDERS }, (_, n) => ({
    orderId: ids.next(),
    customerId: data.customers[n % data.customers.length]!,
    goodsId: data.goodsId,
    productId: data.productId,
    tenor: TENOR,
    idempotencyKey: `profile-${n}`,
    businessDate: date,
  }));
  let next = 0;
  if (args.explain) {
    const notices: string[] = [];
    // auto_explain is the superuser's to load; the URL's TLS settings through postgresLink
    const link = postgresLink(servers.pg.adminUrl);
    const one = postgres(link.url, {
      ssl: link.ssl,
      max: 1,
      types: { bigint: postgres.BigInt },
      onnotice: (n) => notices.push(String(n.message)),
    });
    await one`load 'auto_explain'`;
    await one`set auto_explain.log_min_duration = 0`;
    await one`set auto_explain.log_analyze = on`;
    await one`set auto_explain.log_nested_statements = on`;
    await one`set auto_explain.log_triggers = on`;
    await one`set auto_explain.log_level = 'notice'`;
    const batch = orders.slice(next, next + BATCH);
    next += BATCH;
    const t0 = performance.now();
    await settleOrderBatch(one as never, batch, ids);
    process.stderr.write(`explained batch of ${batch.length}: ${(performance.now() - t0).toFixed(0)} ms\n`);
    for (const n of notices) process.stderr.write(`${n}\n---\n`);
    await one.end();
  }
  const admin = postgres(postgresLink(servers.pg.adminUrl).url, {
    ssl: postgresLink(servers.pg.adminUrl).ssl,
    max: 1,
  });
  if (args.statements) {
    await admin`create extension if not exists pg_stat_statements`;
    await admin`select pg_stat_statements_reset()`;
  }
  const [walBefore] = await admin<{ lsn: string }[]>`select pg_current_wal_lsn()::text as lsn`;
  const cpuBefore = serverCpuMs(servers.pg.dataDir);
  const t0 = performance.now();
  const loop = async () => {
    while (next < orders.length) {
      const batch = orders.slice(next, next + BATCH);
      next += BATCH;
      const b0 = performance.now();
      await settleOrderBatch(sql, batch, ids);
      process.stderr.write(`batch ${batch.length}: ${(performance.now() - b0).toFixed(0)} ms\n`);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, loop));
  const seconds = (performance.now() - t0) / 1000;
  const [c] = await sql<{ n: bigint }[]>`select count(*)::bigint as n from orders`;
  process.stdout.write(
    `${JSON.stringify({ orders: Number(c!.n), seconds: Number(seconds.toFixed(2)), per_s: Math.round(Number(c!.n) / seconds), batch: BATCH, concurrency: CONCURRENCY, durable: args.durable })}\n`,
  );
  const cpuMs = serverCpuMs(servers.pg.dataDir) - cpuBefore;
  if (args.statements) await reportStatements(admin, Number(c!.n), walBefore!.lsn, cpuMs);
  await admin.end();
  await sql.end();
} finally {
  await servers.destroy();
}

/** Per settled order: each statement's execution time (ms) and calls, the total, and the WAL bytes. */
/**
 * CPU time (user + system, ms) of the server's postmaster and its children so far: unlike
 * execution time it does not grow while a backend waits for a core, so it compares runs on a
 * shared machine. Backends that have exited are not counted (the pool keeps its connections).
 */
function serverCpuMs(dataDir: string): number {
  const postmaster = readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]?.trim();
  let ticks = 0;
  for (const pid of readdirSync('/proc').filter((d) => /^[0-9]+$/.test(d))) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    // fields after the command name (which may hold spaces): state is field 3, ppid 4, utime 14, stime 15
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (pid === postmaster || f[1] === postmaster) ticks += Number(f[11]) + Number(f[12]);
  }
  return (ticks * 1000) / CLOCK_TICKS_PER_S;
}

async function reportStatements(
  admin: postgres.Sql,
  settled: number,
  walFrom: string,
  cpuMs: number,
): Promise<void> {
  // nested statements (trigger and foreign-key queries) count in their top-level statement too
  const rows = await admin<{ query: string; calls: number; ms: number; toplevel: boolean }[]>`
    select regexp_replace(left(query, 300), '[[:space:]]+', ' ', 'g') as query, calls::float8 as calls,
      total_exec_time as ms, toplevel
    from pg_stat_statements
    where dbid = (select oid from pg_database where datname = current_database())
    order by total_exec_time desc`;
  const [wal] = await admin<{ bytes: number }[]>`
    select pg_wal_lsn_diff(pg_current_wal_lsn(), ${walFrom}::pg_lsn)::float8 as bytes`;
  const totalMs = rows.reduce((t, r) => t + (r.toplevel ? r.ms : 0), 0);
  const per = (x: number) => Number((x / settled).toFixed(4));
  const top = rows.slice(0, STATEMENTS_TOP).map((r) => ({
    ms_per_order: per(r.ms),
    share: Number((r.ms / totalMs).toFixed(3)),
    calls: r.calls,
    nested: !r.toplevel,
    query: r.query.slice(0, STATEMENT_TEXT_CHARS),
  }));
  process.stdout.write(
    `${JSON.stringify({ postgres_cpu_ms_per_order: per(cpuMs), exec_ms_per_order: per(totalMs), wal_bytes_per_order: Math.round((wal?.bytes ?? 0) / settled), top }, null, 1)}\n`,
  );
}

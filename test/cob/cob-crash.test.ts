import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { runCob } from '../../src/cob/run.ts';
import { connectPostgres, openPostgres, type Sql } from '../../src/store/db.ts';
import { migrate } from '../../src/store/migrate.ts';
import { type PostgresServer, startPostgres } from '../harness/postgres.ts';
import { checkBooks, insertTestProduct, seedLoans, snapshot, testProductInput } from './fixtures.ts';

const DATE = '2025-09-15';
const LOANS = 4000;
/** The test server's keys (real mode refuses to start without them), set once it is up. */
let pgKeys: Record<string, string> = {};

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function cli(
  args: string[],
  url: string,
  onStderrLine?: (line: string, child: ChildProcess) => void,
): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn('./bin/fenqi', args, {
      env: { ...process.env, ...pgKeys, DATABASE_URL: url, LOG_LEVEL: 'silent' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d;
      for (const line of d.toString().split('\n').filter(Boolean)) onStderrLine?.(line, child);
    });
    child.on('exit', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

describe('close of business survives SIGKILL', () => {
  let pg: PostgresServer;
  let killed: Sql;
  let untouched: Sql;
  let killedUrl: string;

  before(async () => {
    pg = await startPostgres();
    pgKeys = pg.keys;
    const seedUrl = await pg.createDatabase('cob_seed');
    const seed = connectPostgres(seedUrl, 2);
    await migrate(seed);
    const { id } = await insertTestProduct(seed, testProductInput());
    await seedLoans(seed, { loans: LOANS, asOf: DATE, productId: id, delinquentEvery: 3 });
    await seed.end();
    // two byte-identical copies (same ids): one is killed mid-run, one closes without interruption
    const admin = openPostgres(pg.adminUrl, { max: 1, onnotice: () => {} });
    await admin.unsafe('create database cob_killed template cob_seed owner fenqi_owner');
    await admin.unsafe('create database cob_untouched template cob_seed owner fenqi_owner');
    await admin.end();
    killedUrl = pg.urlFor('owner', 'cob_killed');
    killed = connectPostgres(killedUrl, 2);
    untouched = connectPostgres(pg.urlFor('owner', 'cob_untouched'), 2);
  });
  after(async () => {
    await killed?.end();
    await untouched?.end();
    await pg?.destroy();
  });

  test('a run killed after its first progress line, then rerun, ends exactly as an uninterrupted run', async () => {
    const first = await cli(['cob', '--date', DATE, '--batch-size', '20'], killedUrl, (line, child) => {
      if (/loans\/s/.test(line)) child.kill('SIGKILL');
    });
    assert.equal(first.signal, 'SIGKILL', first.stderr);
    const [mid] = await killed<{ status: string; loans_done: number; loans_total: number }[]>`
      select status, loans_done, loans_total from cob_runs where business_date = ${DATE}::date`;
    assert.equal(mid!.status, 'running', 'the kill landed mid-run');
    assert.ok(
      mid!.loans_done > 0 && mid!.loans_done < mid!.loans_total,
      `${mid!.loans_done} of ${mid!.loans_total}`,
    );

    const second = await cli(['cob', '--date', DATE, '--batch-size', '20', '--json'], killedUrl);
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, /\(resumed\)/);
    const summary = JSON.parse(second.stdout.trim().split('\n').at(-1)!);
    assert.equal(summary.cob, DATE);
    assert.equal(summary.loans_done, LOANS);
    assert.equal(summary.attempts, 2);

    await runCob(untouched, { date: DATE, onProgress: () => {} });
    assert.deepEqual(await snapshot(killed), await snapshot(untouched));
    const books = await checkBooks(killed);
    assert.equal(books.debitsMinor, books.creditsMinor);
    assert.equal(books.unbalancedEntries, 0);
    assert.equal(books.loanMismatches, 0);
  });

  test('fenqi cob prints progress on stderr, a bucket chart, and the JSON summary as its last line', async () => {
    const run = await cli(['cob', '--date', '2025-09-16', '--json'], killedUrl);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /cob 2025-09-16: \d+\/\d+ loans \(\d+\.\d%\)\s+\d+ loans\/s\s+ETA/);
    assert.match(run.stdout, /active loans by bucket:\n\s+current\s+\d+ █+/);
    const summary = JSON.parse(run.stdout.trim().split('\n').at(-1)!);
    assert.deepEqual(Object.keys(summary.buckets), ['current', 'M1', 'M2', 'M3', 'M3+']);
    const [active] = await killed<
      { n: number }[]
    >`select count(*)::int as n from loans where status = 'active'`;
    const total = Object.values(summary.buckets as Record<string, number>).reduce((a, b) => a + b, 0);
    assert.equal(total, active!.n);

    const refused = await cli(['cob', '--date', '2025-09-01'], killedUrl);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /before the last closed date 2025-09-16/);
    const bad = await cli(['cob', '--date', '2025-09-17', '--batch-size', '0'], killedUrl);
    assert.equal(bad.code, 2);
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { connectPostgres, type Sql, type TransactionSql } from '../../src/store/db.ts';
import { migrate } from '../../src/store/migrate.ts';
import { type PostgresServer, startPostgres } from '../harness/postgres.ts';

/**
 * A refusal with a stable SQLSTATE and reason, the same on one PostgreSQL and on Citus (where a
 * refusal at commit is reported by the coordinator, src/store/commit-refusal.ts).
 */
function refused(code: string, reason: RegExp) {
  return (err: unknown) => {
    const e = err as { code?: string; message?: string };
    assert.equal(e.code, code, e.message);
    assert.match(e.message ?? '', reason);
    return true;
  };
}

/**
 * The database itself refuses books that do not balance, whatever code writes them. Also on Citus
 * (test/citus/ledger-invariants.citus.test.ts).
 */
describe('ledger invariants enforced by PostgreSQL', () => {
  let pg: PostgresServer;
  let sql: Sql;
  let n = 0;
  const key = () => `test:${++n}`;

  before(async () => {
    pg = await startPostgres();
    sql = connectPostgres(pg.url, 2);
    await migrate(sql);
  });
  after(async () => {
    await sql?.end();
    await pg?.destroy();
  });

  async function entry(tx: TransactionSql): Promise<bigint> {
    const [row] = await tx<{ id: bigint }[]>`
      insert into journal_entries (kind, business_date, event_key) values ('test', '2026-01-01', ${key()}) returning id`;
    return row!.id;
  }

  /** One INSERT of the given [account, debit, credit] lines for an entry. */
  async function writeLines(tx: TransactionSql, entryId: bigint, lines: [string, bigint, bigint][]) {
    const rows = lines.map(([account, d, c]) => ({
      entry_id: entryId,
      account_code: account,
      debit_minor: d,
      credit_minor: c,
    }));
    await tx`insert into journal_lines ${tx(rows)}`;
  }

  test('a balanced entry written in one statement commits', async () => {
    await sql.begin(async (tx) => {
      const id = await entry(tx);
      await writeLines(tx, id, [
        ['1000', 500n, 0n],
        ['3000', 0n, 500n],
      ]);
    });
  });

  test('an entry whose debits differ from its credits is refused', async () => {
    await assert.rejects(
      sql.begin(async (tx) => {
        const id = await entry(tx);
        await writeLines(tx, id, [
          ['1000', 500n, 0n],
          ['3000', 0n, 499n],
        ]);
      }),
      refused('23514', /does not balance/),
    );
  });

  test('an entry of a single line is refused', async () => {
    await assert.rejects(
      sql.begin(async (tx) => {
        const id = await entry(tx);
        await writeLines(tx, id, [['1000', 0n, 0n]]);
      }),
      refused('23514', /journal_line_one_side|does not balance/),
    );
  });

  test('an entry with no lines at all is refused at commit', async () => {
    await assert.rejects(
      sql.begin(async (tx) => {
        await entry(tx);
      }),
      refused('23514', /has no lines/),
    );
  });

  test('lines added to an existing entry by a later statement are refused, even if they balance', async () => {
    await assert.rejects(
      sql.begin(async (tx) => {
        const id = await entry(tx);
        await writeLines(tx, id, [
          ['1000', 500n, 0n],
          ['3000', 0n, 500n],
        ]);
        await writeLines(tx, id, [
          ['1000', 7n, 0n],
          ['3000', 0n, 7n],
        ]);
      }),
      refused('23514', /not written whole/),
    );
  });

  test('journal lines and entries cannot be updated or deleted (append-only)', async () => {
    await assert.rejects(
      sql`update journal_lines set debit_minor = debit_minor + 1 where debit_minor > 0`,
      /append-only/,
    );
    await assert.rejects(sql`delete from journal_lines`, /append-only/);
    await assert.rejects(sql`delete from journal_entries`, /append-only/);
  });

  test('after all of that the books still balance', async () => {
    const [row] = await sql<{ d: bigint; c: bigint }[]>`
      select coalesce(sum(debit_minor), 0)::bigint as d, coalesce(sum(credit_minor), 0)::bigint as c from journal_lines`;
    assert.equal(row!.d, row!.c);
    assert.equal(row!.d, 500n);
  });
});

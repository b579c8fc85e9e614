import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { connectPostgres, type Sql } from '../../src/store/db.ts';
import { loadMigrations, migrate } from '../../src/store/migrate.ts';
import { runFenqi as runCli } from '../harness/cli.ts';
import { type PostgresServer, startPostgres } from '../harness/postgres.ts';

describe('store on real PostgreSQL', () => {
  let pg: PostgresServer;
  let sql: Sql;
  before(async () => {
    pg = await startPostgres();
    sql = connectPostgres(pg.url, 5);
  });
  after(async () => {
    await sql?.end();
    await pg?.destroy();
  });

  test('migrate applies every migration once and a second run applies none', async () => {
    const first = await migrate(sql);
    assert.deepEqual(
      first.applied,
      loadMigrations().map((m) => m.name),
    );
    const second = await migrate(sql);
    assert.deepEqual(second.applied, []);
    assert.equal(second.skipped.length, first.applied.length);
  });

  test('two fenqi migrate processes at once on a fresh database both succeed and apply each migration once', async () => {
    const url = await pg.createDatabase('concurrent_migrate');
    const [a, b] = await Promise.all([
      runCli(['migrate'], { ...pg.keys, DATABASE_URL: url }),
      runCli(['migrate'], { ...pg.keys, DATABASE_URL: url }),
    ]);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(b.code, 0, b.stderr);
    const other = connectPostgres(url, 1);
    try {
      const rows = await other<
        { name: string; n: bigint }[]
      >`select name, count(*) as n from schema_migrations group by name`;
      assert.equal(rows.length, loadMigrations().length);
      for (const row of rows) assert.equal(row.n, 1n);
    } finally {
      await other.end();
    }
  });

  test('a row written through postgres.js reads back, with bigint ids as bigint', async () => {
    const [written] = await sql<
      { id: bigint }[]
    >`insert into platform_probe (note) values ('hello') returning id`;
    assert.equal(typeof written!.id, 'bigint');
    const [read] = await sql<{ note: string }[]>`select note from platform_probe where id = ${written!.id}`;
    assert.equal(read!.note, 'hello');
  });

  test('ids from fenqi_next_id stay unique across a burst of 2000', async () => {
    const rows = await sql<{ id: bigint }[]>`select fenqi_next_id() as id from generate_series(1, 2000)`;
    const ids = rows.map((r) => r.id);
    assert.equal(new Set(ids.map(String)).size, ids.length);
  });
});

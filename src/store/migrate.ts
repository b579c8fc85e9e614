/**
 * Plain-SQL migrations from migrations/NNNN_name.sql, applied in name order, each in its own
 * transaction and recorded in schema_migrations with a checksum. Safe to run twice (applied ones
 * are skipped) and from several processes at once (a session advisory lock serialises them).
 * The same files run on PostgreSQL 15, on PGlite and on Citus (then src/store/citus.ts distributes
 * the tables after the last migration).
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../config.ts';
import { MIGRATIONS_DIR } from '../paths.ts';
import { distributeTables } from './citus.ts';
import { connectPostgres, type Sql } from './db.ts';

export { MIGRATIONS_DIR };

/** Arbitrary constant shared by every fenqi process: "fenqi" in ASCII. */
const MIGRATION_LOCK_KEY = 0x66656e7169n;
/**
 * A migration that waits longer than this for a table lock fails (and rolls back) instead of
 * queueing every later query on that table behind it; retry when the table is quieter.
 */
export const MIGRATION_LOCK_TIMEOUT_MS = 5_000;
/** Bound on any one statement of a migration; a file that backfills more sets its own (SET LOCAL). */
export const MIGRATION_STATEMENT_TIMEOUT_MS = 15 * 60_000;

export interface Migration {
  name: string;
  checksum: string;
  sql: string;
}

export interface MigrationResult {
  applied: string[];
  skipped: string[];
}

export function loadMigrations(dir = MIGRATIONS_DIR): Migration[] {
  return readdirSync(dir)
    .filter((file) => /^\d{4}_[a-z0-9_]+\.sql$/.test(file))
    .sort()
    .map((file) => {
      const sql = readFileSync(path.join(dir, file), 'utf8');
      return {
        name: file.replace(/\.sql$/, ''),
        checksum: createHash('sha256').update(sql).digest('hex'),
        sql,
      };
    });
}

/** Whether every migration is recorded with its checksum (a changed one falls through to the error). */
async function alreadyApplied(sql: Sql, migrations: Migration[]): Promise<boolean> {
  const [table] = await sql<
    { exists: boolean }[]
  >`select to_regclass('schema_migrations') is not null as exists`;
  if (!table?.exists) return false;
  const rows = await sql<{ name: string; checksum: string }[]>`select name, checksum from schema_migrations`;
  const done = new Map(rows.map((row) => [row.name, row.checksum]));
  return migrations.every((m) => done.get(m.name) === m.checksum);
}

export async function migrate(
  sql: Sql,
  options: { dir?: string; log?: (line: string) => void } = {},
): Promise<MigrationResult> {
  const migrations = loadMigrations(options.dir);
  const log = options.log ?? (() => {});
  // The app's role may only read and write rows (docs/security.md): when the owner has already
  // brought the schema up to date, nothing here may need more than a SELECT.
  const upToDate = await alreadyApplied(sql, migrations);
  if (upToDate) return { applied: [], skipped: migrations.map((m) => m.name) };
  // reserve() pins one connection so the session-level lock and the work share it.
  const conn = await sql.reserve();
  try {
    await conn`select pg_advisory_lock(${MIGRATION_LOCK_KEY.toString()}::bigint)`;
    await conn`
      create table if not exists schema_migrations (
        name text primary key,
        checksum text not null,
        created_at timestamptz not null default now()
      )`;
    const rows = await conn<
      { name: string; checksum: string }[]
    >`select name, checksum from schema_migrations`;
    const done = new Map(rows.map((row) => [row.name, row.checksum]));
    const result: MigrationResult = { applied: [], skipped: [] };
    for (const migration of migrations) {
      const previous = done.get(migration.name);
      if (previous !== undefined) {
        if (previous !== migration.checksum) {
          throw new Error(`migration ${migration.name} was changed after it was applied (checksum differs)`);
        }
        result.skipped.push(migration.name);
        continue;
      }
      await conn.unsafe('begin');
      try {
        await conn.unsafe(
          `set local lock_timeout = ${MIGRATION_LOCK_TIMEOUT_MS}; set local statement_timeout = ${MIGRATION_STATEMENT_TIMEOUT_MS}`,
        );
        await conn.unsafe(migration.sql);
        await conn`insert into schema_migrations (name, checksum) values (${migration.name}, ${migration.checksum})`;
        await conn.unsafe('commit');
      } catch (err) {
        await conn.unsafe('rollback');
        throw new Error(`migration ${migration.name} failed: ${(err as Error).message}`);
      }
      log(`applied ${migration.name}`);
      result.applied.push(migration.name);
    }
    // On a Citus coordinator: shard what the migrations created (a no-op elsewhere).
    await distributeTables(conn, log);
    return result;
  } finally {
    await conn`select pg_advisory_unlock(${MIGRATION_LOCK_KEY.toString()}::bigint)`.catch(() => {});
    conn.release();
  }
}

/**
 * Migrations as the schema owner when MIGRATION_DATABASE_URL is set (the app's own role may only
 * read and write rows), else on the app's pool (embedded mode, or a deployment with one role).
 */
export async function migrateAsOwner(
  config: Pick<Config, 'migrationDatabaseUrl'>,
  appSql: Sql,
  options: { dir?: string; log?: (line: string) => void } = {},
): Promise<MigrationResult> {
  if (!config.migrationDatabaseUrl) return migrate(appSql, options);
  const owner = connectPostgres(config.migrationDatabaseUrl, 1, 'fenqi-migrate');
  try {
    return await migrate(owner, options);
  } finally {
    await owner.end({ timeout: 5 });
  }
}

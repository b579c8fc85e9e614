/**
 * For CLI commands that work on the platform's database: connect with the server's configuration
 * (DATABASE_URL, or the embedded data directory), bring the schema up to date, and always close.
 */
import type { Database } from '../store/db.ts';

/** Imported lazily so that commands without a database do not load the store. */
export async function withDatabase<T>(work: (db: Database) => Promise<T>): Promise<T> {
  const { loadConfig } = await import('../config.ts');
  const { openDatabase } = await import('../store/db.ts');
  const { migrateAsOwner } = await import('../store/migrate.ts');
  const config = loadConfig();
  const db = await openDatabase(config);
  try {
    await migrateAsOwner(config, db.sql);
    return await work(db);
  } finally {
    await db.close();
  }
}

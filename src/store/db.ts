/**
 * The system of record. Real mode: postgres.js against DATABASE_URL. Embedded mode: PGlite in this
 * process, served over a loopback socket so the very same postgres.js code runs against it
 * (one connection: PGlite is single-session).
 */
import path from 'node:path';
import postgres from 'postgres';
import type { Config } from '../config.ts';
import { type DataDirHold, holdDataDir, makePrivateTree, PRIVATE_UMASK } from './data-dir.ts';

export type Sql = postgres.Sql<{ bigint: bigint }>;
export type TransactionSql = postgres.TransactionSql<{ bigint: bigint }>;
/** Either the pool or a transaction: what a store function that runs statements takes. */
export type Queryable = Sql | TransactionSql;

export interface Database {
  sql: Sql;
  /** Where the data lives, for logs and the status page (no password). */
  describe: string;
  embedded: boolean;
  /** Embedded mode: this process's hold on the data directory (one process per directory). */
  hold?: DataDirHold;
  close(): Promise<void>;
}

/** Named limits for every connection we open. */
export const DB_CONNECT_TIMEOUT_S = 5;
export const DB_IDLE_TIMEOUT_S = 30;
export const DB_STATEMENT_TIMEOUT_MS = 30_000;

/** bigint columns come back as JS bigint, never as a lossy number: money is bigint. */
const BIGINT_TYPES = { bigint: postgres.BigInt };

export function connectPostgres(url: string, poolMax: number, applicationName = 'fenqi'): Sql {
  return postgres(url, {
    max: poolMax,
    connect_timeout: DB_CONNECT_TIMEOUT_S,
    idle_timeout: DB_IDLE_TIMEOUT_S,
    onnotice: () => {},
    types: BIGINT_TYPES,
    connection: { application_name: applicationName, statement_timeout: DB_STATEMENT_TIMEOUT_MS },
  });
}

function redactUrl(url: string): string {
  try {
    const parsed = new URL(url.split(',')[0] ?? url);
    parsed.password = '';
    return `${parsed.host}${parsed.pathname}`;
  } catch {
    return 'postgres';
  }
}

export async function openDatabase(config: Config): Promise<Database> {
  if (config.databaseUrl) {
    const sql = connectPostgres(config.databaseUrl, config.databasePoolMax);
    return {
      sql,
      describe: redactUrl(config.databaseUrl),
      embedded: false,
      close: () => sql.end({ timeout: 5 }),
    };
  }
  return openEmbedded(config.dataDir);
}

/** What the holder of an embedded data directory is doing, for whoever is refused it. */
function commandName(): string {
  return process.argv[2] ?? path.basename(process.argv[1] ?? 'node');
}

async function openEmbedded(fenqiDir: string): Promise<Database> {
  // Everything this process creates from here on is its owner's only (the embedded database,
  // keys, demo log-ins); nothing else in embedded mode needs other users to read its files.
  process.umask(PRIVATE_UMASK);
  const hold = await holdDataDir(fenqiDir, commandName());
  try {
    return await openPglite(fenqiDir, hold);
  } catch (err) {
    await hold.release();
    throw err;
  }
}

async function openPglite(fenqiDir: string, hold: DataDirHold): Promise<Database> {
  const { PGlite } = await import('@electric-sql/pglite');
  const { PGLiteSocketServer } = await import('@electric-sql/pglite-socket');
  const dataDir = path.join(fenqiDir, 'pgdata');
  const pglite = await PGlite.create(dataDir);
  makePrivateTree(fenqiDir);
  const server = new PGLiteSocketServer({ db: pglite, port: 0, host: '127.0.0.1' });
  await server.start();
  const port = embeddedPort(server);
  const sql = postgres({
    host: '127.0.0.1',
    port,
    database: 'postgres',
    username: 'postgres',
    max: 1,
    connect_timeout: DB_CONNECT_TIMEOUT_S,
    onnotice: () => {},
    types: BIGINT_TYPES,
  });
  return {
    sql,
    describe: `embedded PGlite at ${dataDir}`,
    embedded: true,
    hold,
    async close() {
      await sql.end({ timeout: 5 });
      await server.stop();
      await pglite.close();
      await hold.release();
    },
  };
}

/** The socket server binds port 0; read back the port the OS chose ("host:port"). */
function embeddedPort(server: { getServerConn(): string }): number {
  const port = Number(server.getServerConn().split(':').pop());
  if (!Number.isInteger(port) || port <= 0) throw new Error('embedded PGlite socket server reported no port');
  return port;
}

/**
 * The system of record. Real mode: postgres.js against DATABASE_URL. Embedded mode: PGlite in this
 * process, served over a loopback socket so the very same postgres.js code runs against it
 * (one connection: PGlite is single-session).
 */
import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { type ConnectionOptions, createSecureContext } from 'node:tls';
import postgres from 'postgres';
import type { Config } from '../config.ts';
import { commitRefusals } from './commit-refusal.ts';
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

type PostgresSslMode = 'require' | 'allow' | 'prefer' | 'verify-full';

/** libpq's TLS parameters, read from the URL's query (or PGSSLROOTCERT & co.) as libpq would. */
const TLS_PARAMS = ['sslrootcert', 'sslcert', 'sslkey'] as const;

/**
 * postgres.js understands `sslmode` but not libpq's `sslrootcert`, `sslcert` and `sslkey` (it
 * would send them to the server as settings), so they are taken off the URL here and turned into
 * TLS options: with a root certificate, `verify-full` checks the server's chain and host name
 * against that CA, `verify-ca` the chain only. The URL stays the one thing to configure.
 */
export function postgresLink(
  url: string,
  env: Record<string, string | undefined> = process.env,
): { url: string; ssl: ConnectionOptions | PostgresSslMode | false } {
  const at = url.indexOf('?');
  const query = new URLSearchParams(at < 0 ? '' : url.slice(at + 1));
  const files: Record<(typeof TLS_PARAMS)[number], string | undefined> = {
    sslrootcert: query.get('sslrootcert') ?? env.PGSSLROOTCERT,
    sslcert: query.get('sslcert') ?? env.PGSSLCERT,
    sslkey: query.get('sslkey') ?? env.PGSSLKEY,
  };
  const mode = query.get('sslmode') ?? env.PGSSLMODE ?? 'disable';
  for (const name of [...TLS_PARAMS, 'sslmode']) query.delete(name);
  const rest = query.toString();
  const bare = (at < 0 ? url : url.slice(0, at)) + (rest ? `?${rest}` : '');
  if (mode === 'disable') return { url: bare, ssl: false };
  if (
    (mode !== 'verify-full' && mode !== 'verify-ca') ||
    !files.sslrootcert ||
    files.sslrootcert === 'system'
  )
    return { url: bare, ssl: sslModeOf(mode) };
  // One context for the pool: parsing the CA again for every new connection costs milliseconds.
  const secureContext = createSecureContext({
    ca: readFileSync(files.sslrootcert),
    ...(files.sslcert ? { cert: readFileSync(files.sslcert) } : {}),
    ...(files.sslkey ? { key: readFileSync(files.sslkey) } : {}),
  });
  const ssl: ConnectionOptions = {
    secureContext,
    rejectUnauthorized: true,
    ...(mode === 'verify-ca' ? { checkServerIdentity: () => undefined } : {}),
  };
  return { url: bare, ssl };
}

function sslModeOf(mode: string): PostgresSslMode {
  if (mode === 'verify-ca') return 'verify-full';
  if (mode === 'require' || mode === 'allow' || mode === 'prefer' || mode === 'verify-full') return mode;
  throw new Error(
    `sslmode ${mode} is not supported (disable, allow, prefer, require, verify-ca, verify-full)`,
  );
}

interface SocketTarget {
  host: string[];
  port: number[];
  connect_timeout?: number;
}

/**
 * postgres.js leaves Nagle's algorithm on, and with TLS 1.3 the first message after the handshake
 * then waits for the server's delayed ACK: about 40 ms on every new connection, nearly a risk
 * decision's whole budget. For one host we open the socket ourselves with noDelay; a URL with
 * several hosts keeps postgres.js's own socket, since only it knows which host to try next.
 */
function noDelaySocket(target: SocketTarget): Promise<net.Socket> {
  const host = target.host[0] ?? '127.0.0.1';
  const port = target.port[0] ?? 5432;
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port, noDelay: true });
    const timer = setTimeout(
      () => socket.destroy(new Error(`connect to ${host}:${port} timed out`)),
      (target.connect_timeout ?? DB_CONNECT_TIMEOUT_S) * 1000,
    );
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.off('error', reject);
      // postgres.js reads these to name the server it verifies
      resolve(Object.assign(socket, { host, port }));
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** The TLS options of a URL and, for a single host over TLS, a socket without Nagle's delay. */
function linkOptions(url: string): { url: string; options: { ssl: unknown; socket?: unknown } } {
  const link = postgresLink(url);
  const hosts = /^[a-z]+:\/\/(?:[^@/]*@)?([^/?]*)/.exec(link.url)?.[1] ?? '';
  const single = link.ssl !== false && hosts !== '' && !hosts.includes(',');
  return { url: link.url, options: { ssl: link.ssl, ...(single ? { socket: noDelaySocket } : {}) } };
}

/** postgres.js on a URL that may carry libpq TLS parameters (see postgresLink), untyped rows. */
export function openPostgres(
  url: string,
  options: postgres.Options<Record<string, never>> = {},
): postgres.Sql {
  const link = linkOptions(url);
  return postgres(link.url, { ...options, ...link.options } as postgres.Options<Record<string, never>>);
}

/**
 * The application's pool. A transaction whose commit a Citus worker refused fails with the
 * worker's code and reason, as on one PostgreSQL (src/store/commit-refusal.ts).
 */
export function connectPostgres(url: string, poolMax: number, applicationName = 'fenqi'): Sql {
  const link = linkOptions(url);
  const refusals = commitRefusals();
  const sql = postgres(link.url, {
    ...(link.options as object),
    max: poolMax,
    connect_timeout: DB_CONNECT_TIMEOUT_S,
    idle_timeout: DB_IDLE_TIMEOUT_S,
    onnotice: (notice) => refusals.onNotice(notice),
    types: BIGINT_TYPES,
    connection: { application_name: applicationName, statement_timeout: DB_STATEMENT_TIMEOUT_MS },
  });
  const begin = sql.begin.bind(sql) as (...args: unknown[]) => Promise<unknown>;
  const restoringBegin = (...args: unknown[]) =>
    begin(...args).catch((err: unknown) => {
      throw refusals.restore(err);
    });
  return Object.assign(sql, { begin: restoringBegin as Sql['begin'] });
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

/**
 * Opens the pool's connections at start. Over TLS with SCRAM a new connection costs about 20 ms of
 * CPU (the client's PBKDF2 blocks the event loop), which a request — a risk decision's 50 ms read
 * budget — must not pay. Best effort: a database that is down at start is reported by /ready.
 */
async function warmPool(sql: Sql, connections: number): Promise<void> {
  await Promise.all(Array.from({ length: connections }, () => sql`select 1`)).catch(() => {});
}

export async function openDatabase(config: Config): Promise<Database> {
  if (config.databaseUrl) {
    const sql = connectPostgres(config.databaseUrl, config.databasePoolMax);
    await warmPool(sql, config.databasePoolMax);
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

/**
 * One typed configuration, read once from environment variables.
 * Every variable has an embedded-mode default; a malformed value stops the process with one line
 * naming the variable (ConfigError), never a stack trace.
 */

import { randomBytes } from 'node:crypto';
import {
  accessSync,
  constants,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { isIP } from 'node:net';
import path from 'node:path';
import { DEBIT_SAME_DAY_RETRY_MS } from './domain/auto-debit.ts';
import { dateInZone } from './domain/dates.ts';
import { QUIET_HOURS_END_HOUR, QUIET_HOURS_START_HOUR } from './domain/notifications.ts';
import { DEFAULT_STATEMENT_CYCLE_DAY, MAX_STATEMENT_CYCLE_DAY } from './domain/statements.ts';
import type { TlsFiles } from './link/tls.ts';

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    problem: string,
  ) {
    super(`configuration error: ${variable} ${problem}`);
    this.name = 'ConfigError';
  }
}

export type Mode = 'embedded' | 'real';
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface Config {
  /** embedded: PGlite + in-process cache and queue; real: DATABASE_URL, REDIS_URL, NATS_URL. */
  mode: Mode;
  host: string;
  port: number;
  /**
   * postgres:// URL of the app's role (rows only); absent in embedded mode (PGlite is started in
   * process). TLS as libpq: sslmode=verify-full&sslrootcert=<CA file> (or PGSSLROOTCERT).
   */
  databaseUrl: string | undefined;
  /** The schema owner's URL, used only to run migrations; without it they run on databaseUrl. */
  migrationDatabaseUrl: string | undefined;
  /**
   * A superuser's URL on the Citus coordinator, used only by `fenqi db add-node | rebalance |
   * drain-node` (Citus lets only a superuser add nodes); never by the API or workers.
   */
  adminDatabaseUrl: string | undefined;
  databasePoolMax: number;
  /** redis:// or rediss:// (TLS) URL with the ACL user and password, or undefined for the in-process cache. */
  redisUrl: string | undefined;
  /** CA (and client certificate) for rediss://; without it the system's CAs verify the server. */
  redisTls: TlsFiles | undefined;
  /**
   * REDIS_CLUSTER_NODES (`host:port,host:port`): seed nodes of a Redis Cluster. When set the cache
   * is a cluster client; REDIS_URL still gives the scheme (TLS), ACL user, password and one seed.
   */
  redisClusterNodes: { host: string; port: number }[] | undefined;
  /** nats:// or tls:// URL (comma-separated servers allowed), or undefined for the in-process queue. */
  natsUrl: string | undefined;
  /** CA (and client certificate) for NATS over TLS. */
  natsTls: TlsFiles | undefined;
  /** This service's NATS user and password (each service has its own permissions). */
  natsUser: string | undefined;
  natsPassword: string | undefined;
  /** Replicas of the platform's JetStream streams: 3 on a three-node cluster, 1 on one server. */
  natsStreamReplicas: number;
  /** Where embedded mode keeps its data (PGlite files, generated keys). */
  dataDir: string;
  logLevel: LogLevel;
  /** Orders go through the queue (202) instead of settling inline. */
  saleMode: boolean;
  /**
   * Orders and cash draws on the synchronous path must name an acceptance of the current loan
   * agreement (FENQI_AGREEMENT_REQUIRED; docs/api.md, "Loan agreement").
   */
  agreementRequired: boolean;
  /** Secret for signing access tokens (32+ bytes, hex or base64). */
  tokenSecret: Buffer;
  accessTokenTtlS: number;
  /** Versioned data keys for field encryption: id -> 32-byte key. The highest id encrypts. */
  dataKeys: Map<number, Buffer>;
  /** Key for the HMAC blind index on phone and national id. */
  blindIndexKey: Buffer;
  /**
   * Versioned keys for the MAC on queued messages (API and workers hold the same): id -> 32 bytes.
   * The highest id signs; every configured id verifies, so a key can rotate without a drain.
   */
  queueMacKeys: Map<number, Buffer>;
  /** Requests larger than this are refused with 413. */
  bodyLimitBytes: number;
  /** Credit lines and approvals above this (minor units) become proposals a second staff member approves. */
  secondApproverAboveMinor: bigint;
  /** Sale day (docs/flash.md): orders one settler transaction takes from the stream. */
  workerBatchSize: number;
  /** Sale day: settler loops (each with its own transaction) per worker process. */
  workerConcurrency: number;
  /** Sale day: orders waiting in the stream past which the API answers 503. */
  maxBacklog: number;
  /** Sale day: queued orders one customer may place per second (all API processes together). */
  rateLimitCustomerPerS: number;
  /** Sale day: queued orders one client address may place per second. */
  rateLimitIpPerS: number;
  /**
   * Addresses and CIDR ranges of the load balancers in front of the API (FENQI_TRUSTED_PROXIES).
   * Only a hop from one of them may name the client in X-Forwarded-For; empty trusts no one, so
   * the client address (throttles, logs) is the socket's peer.
   */
  trustedProxies: string[];
  /** IANA time zone whose midnight ends a business day (the close of business closes that date). */
  businessTimeZone: string;
  /** Workers close each ended business day by themselves (src/workers/cob-scheduler.ts). */
  cobAuto: boolean;
  /** Workers relay the outbox and run the event consumers (docs/events.md). */
  eventsEnabled: boolean;
  /** Workers debit cards on file on due dates (workers/auto-debit.ts). */
  autoDebitEnabled: boolean;
  /** Quiet hours in business time (domain/notifications.ts); equal hours mean no quiet window. */
  notifyQuietStartHour: number;
  notifyQuietEndHour: number;
  /** Delay before a failed debit's same-day retry (domain/auto-debit.ts DEBIT_SAME_DAY_RETRY_MS). */
  debitSameDayRetryMs: number;
  /**
   * Where "today" comes from (src/clock.ts): `zone`, the calendar day in businessTimeZone; or
   * `manual`, a stored date set by ops and advanced by close of business (test deployments, drills).
   */
  businessClock: 'zone' | 'manual';
  /** Day of the month statement cycles start (1..28; FENQI_STATEMENT_CYCLE_DAY). */
  statementCycleDay: number;
  /**
   * The payout rail merchants are paid through (FENQI_PAYOUT_URL, an HTTP rail such as the
   * simulator `fenqi payout-sim` serves); undefined: the in-process simulated bank.
   */
  payoutUrl: string | undefined;
  /** Where the daily settlement reconciliation files (CSV) are written (FENQI_SETTLEMENT_DIR). */
  settlementDir: string;
}

type Env = Record<string, string | undefined>;

const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

function intVar(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw)) throw new ConfigError(name, `must be a whole number, got "${raw}"`);
  const value = Number(raw);
  if (value < min || value > max)
    throw new ConfigError(name, `must be between ${min} and ${max}, got ${raw}`);
  return value;
}

function boolVar(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (['1', 'true', 'yes', 'on'].includes(raw.toLowerCase())) return true;
  if (['0', 'false', 'no', 'off'].includes(raw.toLowerCase())) return false;
  throw new ConfigError(name, `must be true or false, got "${raw}"`);
}

function timeZoneVar(env: Env, name: string, fallback: string): string {
  const zone = env[name] || fallback;
  try {
    new Intl.DateTimeFormat('en-CA', { timeZone: zone });
  } catch {
    throw new ConfigError(name, `must be an IANA time zone such as Asia/Shanghai, got "${zone}"`);
  }
  return zone;
}

/** Merchant settlement and statements (docs/settlement.md). */
function settlementVars(env: Env, dataDir: string) {
  return {
    statementCycleDay: intVar(
      env,
      'FENQI_STATEMENT_CYCLE_DAY',
      DEFAULT_STATEMENT_CYCLE_DAY,
      1,
      MAX_STATEMENT_CYCLE_DAY,
    ),
    payoutUrl: env.FENQI_PAYOUT_URL || undefined,
    settlementDir: path.resolve(env.FENQI_SETTLEMENT_DIR || path.join(dataDir, 'settlements')),
  };
}

function businessClockVar(env: Env, name: string): 'zone' | 'manual' {
  const raw = env[name] || 'zone';
  if (raw !== 'zone' && raw !== 'manual') throw new ConfigError(name, `must be zone or manual, got "${raw}"`);
  return raw;
}

/**
 * A PostgreSQL URL, possibly with several hosts (`postgres://u:p@h1:5432,h2:5432/db`, libpq's
 * multi-host form that follows a failover): checked as a URL with its first host, since the
 * WHATWG URL parser takes no host list. Commas elsewhere (a password) are URL-encoded.
 */
function postgresUrlVar(env: Env, name: string): string | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const firstHost = raw.replace(/^([a-z]+:\/\/[^/?#]*?)(,[^/?#]*)/i, '$1');
  urlVar({ [name]: firstHost }, name, ['postgres:', 'postgresql:']);
  return raw;
}

function urlVar(env: Env, name: string, protocols: readonly string[]): string | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  for (const part of raw.split(',')) {
    let url: URL;
    try {
      url = new URL(part.trim());
    } catch {
      throw new ConfigError(name, `is not a valid URL (expected ${protocols.join(' or ')}//host:port)`);
    }
    if (!protocols.includes(url.protocol)) {
      throw new ConfigError(name, `must use ${protocols.join(' or ')}, got "${url.protocol}"`);
    }
  }
  return raw;
}

/** More would be a misconfiguration (a whole network trusted piecemeal), not a load balancer list. */
export const TRUSTED_PROXIES_MAX = 64;

function cidrOrAddress(entry: string): boolean {
  const [address, prefix, ...rest] = entry.split('/');
  const family = isIP(address ?? '');
  if (family === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
}

/** Comma-separated IP addresses or CIDR ranges (10.0.0.0/8, fd00::/8); names are refused. */
function trustedProxiesVar(env: Env, name: string): string[] {
  const entries = (env[name] ?? '')
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean);
  if (entries.length > TRUSTED_PROXIES_MAX)
    throw new ConfigError(name, `lists ${entries.length} entries, more than ${TRUSTED_PROXIES_MAX}`);
  const bad = entries.find((e) => !cidrOrAddress(e));
  if (bad !== undefined)
    throw new ConfigError(name, `must be IP addresses or CIDR ranges separated by commas, got "${bad}"`);
  return entries;
}

/** `host:port` pairs, comma-separated (IPv6 hosts in brackets: `[::1]:7000`). */
function hostPortsVar(env: Env, name: string): { host: string; port: number }[] | undefined {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  return raw.split(',').map((part) => {
    const match = /^\s*(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})\s*$/.exec(part);
    const port = Number(match?.[2]);
    if (!match || port < 1 || port > 65535) {
      throw new ConfigError(name, `must be host:port pairs separated by commas, got "${part.trim()}"`);
    }
    return { host: match[1]!.replace(/^\[|\]$/g, ''), port };
  });
}

/** REDIS_URL, its TLS files and REDIS_CLUSTER_NODES (which needs REDIS_URL for user and TLS). */
function redisVars(env: Env): Pick<Config, 'redisUrl' | 'redisTls' | 'redisClusterNodes'> {
  const redisUrl = urlVar(env, 'REDIS_URL', ['redis:', 'rediss:']);
  const redisClusterNodes = hostPortsVar(env, 'REDIS_CLUSTER_NODES');
  if (redisClusterNodes && !redisUrl)
    throw new ConfigError('REDIS_URL', 'is required with REDIS_CLUSTER_NODES (it gives the user and TLS)');
  return { redisUrl, redisTls: tlsVars(env, 'REDIS'), redisClusterNodes };
}

function readableFileVar(env: Env, name: string): string | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  try {
    accessSync(raw, constants.R_OK);
  } catch {
    throw new ConfigError(name, `names a file that cannot be read: ${raw}`);
  }
  return raw;
}

/** {PREFIX}_CA_FILE, {PREFIX}_CERT_FILE and {PREFIX}_KEY_FILE; the certificate and key go together. */
function tlsVars(env: Env, prefix: string): TlsFiles | undefined {
  const caFile = readableFileVar(env, `${prefix}_CA_FILE`);
  const certFile = readableFileVar(env, `${prefix}_CERT_FILE`);
  const keyFile = readableFileVar(env, `${prefix}_KEY_FILE`);
  if (!certFile !== !keyFile)
    throw new ConfigError(
      `${prefix}_${certFile ? 'KEY' : 'CERT'}_FILE`,
      `is required with ${prefix}_${certFile ? 'CERT' : 'KEY'}_FILE`,
    );
  if (!caFile) {
    if (certFile) throw new ConfigError(`${prefix}_CA_FILE`, `is required with ${prefix}_CERT_FILE`);
    return undefined;
  }
  return { caFile, ...(certFile && keyFile ? { certFile, keyFile } : {}) };
}

/** Accepts 64 hex characters or base64 of 32 bytes. */
function parseKey(name: string, raw: string): Buffer {
  const text = raw.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(text) ? Buffer.from(text, 'hex') : Buffer.from(text, 'base64');
  if (key.length !== 32) throw new ConfigError(name, 'must be 32 bytes, as 64 hex characters or base64');
  return key;
}

/**
 * FENQI_DATA_KEYS="1:<key>,2:<key>" — versioned keys so values can be re-encrypted under a new one
 * (FENQI_QUEUE_MAC_KEYS has the same form: messages signed under an older id still verify).
 */
function parseDataKeys(name: string, raw: string): Map<number, Buffer> {
  const keys = new Map<number, Buffer>();
  for (const entry of raw.split(',')) {
    const match = /^\s*(\d+):(.+)$/.exec(entry);
    if (!match) throw new ConfigError(name, 'must look like "1:<key>,2:<key>"');
    const id = Number(match[1]);
    if (id < 1 || id > 32767) throw new ConfigError(name, `key id ${match[1]} must be between 1 and 32767`);
    keys.set(id, parseKey(name, match[2] ?? ''));
  }
  return keys;
}

/**
 * The platform's keys, each from `NAME` or from the file `NAME_FILE` (which must be private to its
 * owner). Real mode refuses to start without them: keys generated per process would make two API
 * processes on one database disagree on every token, blind index and ciphertext.
 */
export const KEY_VARIABLES = {
  tokenSecret: 'FENQI_TOKEN_SECRET',
  dataKeys: 'FENQI_DATA_KEYS',
  blindIndexKey: 'FENQI_BLIND_INDEX_KEY',
  queueMacKeys: 'FENQI_QUEUE_MAC_KEYS',
} as const;
type KeyName = keyof typeof KEY_VARIABLES;
type KeyTexts = Record<KeyName, string>;

/** Real mode generates missing keys into its data directory only when told so in these words. */
export const DEV_GENERATE_KEYS_VARIABLE = 'FENQI_DEV_GENERATE_KEYS';
export const DEV_GENERATE_KEYS_CONSENT = 'yes-i-understand-keys-are-generated-into-this-data-dir-only';

/** Group or other may read it: refused for a key file (and for embedded mode's generated keys). */
function refuseSharedFile(variable: string, file: string): void {
  const mode = statSync(file).mode;
  if ((mode & 0o077) !== 0)
    throw new ConfigError(
      variable,
      `names ${file}, readable by group or others (mode ${(mode & 0o777).toString(8)}); chmod 600 it`,
    );
}

/** NAME or the contents of NAME_FILE (not both), or undefined when neither is given. */
function keyText(env: Env, name: string): string | undefined {
  const direct = env[name] || undefined;
  const fileVar = `${name}_FILE`;
  const file = env[fileVar] || undefined;
  if (direct && file) throw new ConfigError(fileVar, `cannot be given together with ${name}`);
  if (!file) return direct;
  let text: string;
  try {
    refuseSharedFile(fileVar, file);
    text = readFileSync(file, 'utf8').trim();
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(fileVar, `names a file that cannot be read: ${file}`);
  }
  if (!text) throw new ConfigError(fileVar, `names an empty file: ${file}`);
  return text;
}

const generatedKeys = (): KeyTexts => ({
  tokenSecret: randomBytes(32).toString('hex'),
  dataKeys: `1:${randomBytes(32).toString('hex')}`,
  blindIndexKey: randomBytes(32).toString('hex'),
  queueMacKeys: `1:${randomBytes(32).toString('hex')}`,
});

/**
 * Embedded mode must work with nothing configured, yet keys must survive restarts (or the
 * encrypted demo data becomes unreadable), so they are generated once under the data directory
 * (a key added in a later version is generated into the same file).
 */
function dataDirKeys(dataDir: string): KeyTexts {
  const file = path.join(dataDir, 'secrets.json');
  if (existsSync(file)) {
    refuseSharedFile('FENQI_DATA_DIR', file);
    const stored = JSON.parse(readFileSync(file, 'utf8')) as Partial<KeyTexts>;
    if (Object.keys(KEY_VARIABLES).every((k) => typeof stored[k as KeyName] === 'string'))
      return stored as KeyTexts;
    const completed = { ...generatedKeys(), ...stored };
    const next = `${file}.${process.pid}.tmp`;
    writeFileSync(next, JSON.stringify(completed, null, 2), { mode: 0o600 });
    renameSync(next, file);
    return completed;
  }
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const secrets = generatedKeys();
  try {
    // 'wx': of two processes starting on a new directory at once, both must use the same keys
    writeFileSync(file, JSON.stringify(secrets, null, 2), { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return JSON.parse(readFileSync(file, 'utf8')) as KeyTexts;
  }
  return secrets;
}

/** Every key from the environment or files; missing ones generated only where that is safe or consented to. */
function loadKeys(env: Env, mode: Mode, dataDir: string): KeyTexts {
  const given: Partial<KeyTexts> = {};
  const missing: string[] = [];
  for (const [name, variable] of Object.entries(KEY_VARIABLES) as [KeyName, string][]) {
    const text = keyText(env, variable);
    if (text) given[name] = text;
    else missing.push(variable);
  }
  if (missing.length === 0) return given as KeyTexts;
  if (mode === 'real') {
    const consent = env[DEV_GENERATE_KEYS_VARIABLE];
    if (consent !== DEV_GENERATE_KEYS_CONSENT)
      throw new ConfigError(
        missing[0]!,
        `is required in real mode (missing: ${missing.join(', ')}); give each key or ${missing[0]}_FILE ` +
          `(docs/security.md), or for development only ${DEV_GENERATE_KEYS_VARIABLE}=${DEV_GENERATE_KEYS_CONSENT}`,
      );
  }
  return { ...dataDirKeys(dataDir), ...given };
}

/**
 * The business date at a moment: the calendar day in FENQI_BUSINESS_TIMEZONE, the same clock close
 * of business closes by. Every business date a request stamps (a loan's start, a repayment's value
 * date, a quote's default start) comes from here, never from the server's UTC day.
 */
export function businessDate(config: Pick<Config, 'businessTimeZone'>, now: Date = new Date()): string {
  return dateInZone(config.businessTimeZone, now);
}

export function loadConfig(env: Env = process.env): Config {
  const databaseUrl = postgresUrlVar(env, 'DATABASE_URL');
  // postgres.js's read-write check only reads default_transaction_read_only, which a standby
  // reports as off: the pool would settle on a standby and fail every write after a failover.
  if (databaseUrl && /target_session_attrs=read-write/.test(databaseUrl)) {
    throw new ConfigError(
      'DATABASE_URL',
      'must use target_session_attrs=primary (read-write can pick a standby)',
    );
  }
  const migrationDatabaseUrl = postgresUrlVar(env, 'MIGRATION_DATABASE_URL');
  const adminDatabaseUrl = postgresUrlVar(env, 'DATABASE_ADMIN_URL');
  const natsUrl = urlVar(env, 'NATS_URL', ['nats:', 'tls:']);
  const natsUser = env.NATS_USER || undefined;
  if (natsUser && !env.NATS_PASSWORD) throw new ConfigError('NATS_PASSWORD', 'is required with NATS_USER');
  const modeRaw = env.FENQI_MODE ?? (databaseUrl ? 'real' : 'embedded');
  if (modeRaw !== 'embedded' && modeRaw !== 'real') {
    throw new ConfigError('FENQI_MODE', `must be "embedded" or "real", got "${modeRaw}"`);
  }
  const mode: Mode = modeRaw;
  if (mode === 'real' && !databaseUrl)
    throw new ConfigError('DATABASE_URL', 'is required when FENQI_MODE=real');

  const logLevelRaw = env.LOG_LEVEL ?? 'info';
  if (!LOG_LEVELS.includes(logLevelRaw as LogLevel)) {
    throw new ConfigError('LOG_LEVEL', `must be one of ${LOG_LEVELS.join(', ')}, got "${logLevelRaw}"`);
  }
  const dataDir = path.resolve(env.FENQI_DATA_DIR || '.fenqi');

  const keys = loadKeys(env, mode, dataDir);

  const host = env.HOST || '127.0.0.1';
  return {
    mode,
    host,
    port: intVar(env, 'PORT', 3000, 0, 65535),
    databaseUrl,
    migrationDatabaseUrl,
    adminDatabaseUrl,
    databasePoolMax: intVar(env, 'DATABASE_POOL_MAX', 10, 1, 500),
    ...redisVars(env),
    natsUrl,
    natsTls: tlsVars(env, 'NATS'),
    natsUser,
    natsPassword: natsUser ? env.NATS_PASSWORD : undefined,
    natsStreamReplicas: intVar(env, 'NATS_STREAM_REPLICAS', 1, 1, 5),
    dataDir,
    logLevel: logLevelRaw as LogLevel,
    saleMode: boolVar(env, 'FENQI_SALE_MODE', false),
    agreementRequired: boolVar(env, 'FENQI_AGREEMENT_REQUIRED', false),
    tokenSecret: parseKey(KEY_VARIABLES.tokenSecret, keys.tokenSecret),
    accessTokenTtlS: intVar(env, 'FENQI_ACCESS_TOKEN_TTL_S', 900, 30, 86_400),
    dataKeys: parseDataKeys(KEY_VARIABLES.dataKeys, keys.dataKeys),
    blindIndexKey: parseKey(KEY_VARIABLES.blindIndexKey, keys.blindIndexKey),
    queueMacKeys: parseDataKeys(KEY_VARIABLES.queueMacKeys, keys.queueMacKeys),
    bodyLimitBytes: intVar(env, 'FENQI_BODY_LIMIT_BYTES', 64 * 1024, 1024, 16 * 1024 * 1024),
    workerBatchSize: intVar(env, 'WORKER_BATCH_SIZE', 500, 1, 5_000),
    workerConcurrency: intVar(env, 'WORKER_CONCURRENCY', 2, 1, 64),
    maxBacklog: intVar(env, 'FENQI_MAX_BACKLOG', 200_000, 1, 5_000_000),
    rateLimitCustomerPerS: intVar(env, 'FENQI_RATE_LIMIT_CUSTOMER_PER_S', 20, 1, 1_000_000),
    rateLimitIpPerS: intVar(env, 'FENQI_RATE_LIMIT_IP_PER_S', 2_000, 1, 10_000_000),
    trustedProxies: trustedProxiesVar(env, 'FENQI_TRUSTED_PROXIES'),
    businessTimeZone: timeZoneVar(env, 'FENQI_BUSINESS_TIMEZONE', 'Asia/Shanghai'),
    cobAuto: boolVar(env, 'FENQI_COB_AUTO', true),
    eventsEnabled: boolVar(env, 'FENQI_EVENTS', true),
    autoDebitEnabled: boolVar(env, 'FENQI_AUTO_DEBIT', true),
    notifyQuietStartHour: intVar(env, 'FENQI_NOTIFY_QUIET_START_HOUR', QUIET_HOURS_START_HOUR, 0, 23),
    notifyQuietEndHour: intVar(env, 'FENQI_NOTIFY_QUIET_END_HOUR', QUIET_HOURS_END_HOUR, 0, 23),
    debitSameDayRetryMs: intVar(env, 'FENQI_DEBIT_SAME_DAY_RETRY_MS', DEBIT_SAME_DAY_RETRY_MS, 0, 86_400_000),
    businessClock: businessClockVar(env, 'FENQI_BUSINESS_CLOCK'),
    ...settlementVars(env, dataDir),
    // maker-checker (docs/security.md): a line or approval above this needs a second staff member
    secondApproverAboveMinor:
      BigInt(intVar(env, 'FENQI_SECOND_APPROVER_ABOVE_YUAN', 20_000, 0, 10_000_000)) * 100n,
  };
}

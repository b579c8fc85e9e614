/**
 * What the rehearsal tests share: production's checksums (every table's rows hashed in a stable
 * order, every Redis key dumped), and a deployment with the shadow side set up on the harness's
 * servers as docs/rehearsal.md says (role, schema grants, Redis ACL user), its API listening.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import type { Cluster, Redis } from 'ioredis';
import pino from 'pino';
import { type Api, buildApi } from '../../src/api/server.ts';
import { REDIS_SHADOW_USER, redisShadowAclRule } from '../../src/cache/acl.ts';
import { type Config, loadConfig } from '../../src/config.ts';
import type { Logger } from '../../src/logger.ts';
import { openPlatform, type Platform } from '../../src/platform.ts';
import {
  createShadowRoleSql,
  SHADOW_DATABASE_ROLE,
  shadowCitusAuthinfoSql,
  shadowMigrationUrl,
  shadowSchemaGrantsSql,
} from '../../src/rehearsal/roles.ts';
import { openShadowPlatform } from '../../src/rehearsal/shadow.ts';
import { openPostgres, type Sql } from '../../src/store/db.ts';
import { DEFAULT_DATABASE_ROLES } from '../../src/store/roles.ts';
import { SECRETS, type Servers } from '../flash/lab.ts';
import { tempDir } from '../harness/process.ts';

/** Every production table's rows, hashed in a stable order: equal hashes, equal contents. */
export async function tableChecksums(sql: Sql): Promise<Map<string, string>> {
  const tables = await sql<{ name: string }[]>`
    select tablename as name from pg_tables where schemaname = 'public' order by tablename`;
  const sums = new Map<string, string>();
  for (const { name } of tables) {
    const [row] = await sql.unsafe<{ sum: string | null }[]>(
      `select md5(coalesce(string_agg(t::text, '|' order by t::text), '')) as sum from public."${name}" t`,
    );
    sums.set(name, row?.sum ?? '');
  }
  return sums;
}

/** Every production Redis key with its type and value dump (admin: the only user who sees all). */
export async function redisChecksums(admin: Redis | Cluster): Promise<Map<string, string>> {
  const sums = new Map<string, string>();
  for (const key of (await admin.keys('fenqi:*')).sort()) {
    const dump = await admin.dumpBuffer(key);
    sums.set(key, dump ? dump.toString('hex') : '');
  }
  return sums;
}

/**
 * Messages, bytes and first and last sequence of every stream in the production account (admin,
 * a production user): the platform's streams and any other.
 */
export async function streamStates(nats: Servers['nats']): Promise<Map<string, string>> {
  const link = nats.link('admin');
  const nc = await connect({
    servers: nats.url,
    user: link.user,
    pass: link.pass,
    ...(link.tls ? { tls: { ca: readFileSync(link.tls.caFile, 'utf8') } } : {}),
  });
  try {
    const jsm = await jetstreamManager(nc);
    const states = new Map<string, string>();
    const infos = [];
    for await (const info of jsm.streams.list()) infos.push(info);
    for (const { config, state } of infos.sort((x, y) => x.config.name.localeCompare(y.config.name))) {
      const { messages, bytes, first_seq, last_seq } = state;
      states.set(config.name, JSON.stringify({ messages, bytes, first_seq, last_seq }));
    }
    return states;
  } finally {
    await nc.close();
  }
}

/** Production as the three servers hold it: every table's checksum, every key's dump, every stream's state. */
export interface ProductionState {
  tables: Map<string, string>;
  keys: Map<string, string>;
  streams: Map<string, string>;
  /** Each key's remaining life in ms when read (-1: none), so a key that expired can be told apart. */
  keyTtlsMs: Map<string, number>;
  readAtMs: number;
}

/** Remaining life of each key in ms (PTTL; -1 for none), one pipeline per chunk of keys. */
async function redisTtls(admin: Redis | Cluster, keys: readonly string[]): Promise<Map<string, number>> {
  const chunk = 1_000;
  const ttls = new Map<string, number>();
  for (let i = 0; i < keys.length; i += chunk) {
    const part = keys.slice(i, i + chunk);
    const replies = (await part.reduce((p, k) => p.pttl(k), admin.pipeline()).exec()) ?? [];
    for (const [n, k] of part.entries()) ttls.set(k, Number(replies[n]?.[1] ?? -2));
  }
  return ttls;
}

export async function productionState(sql: Sql, servers: Servers): Promise<ProductionState> {
  const admin = servers.redis.client('admin');
  try {
    const readAtMs = Date.now();
    const keys = await redisChecksums(admin);
    return {
      tables: await tableChecksums(sql),
      keys,
      streams: await streamStates(servers.nats),
      keyTtlsMs: await redisTtls(admin, [...keys.keys()]),
      readAtMs,
    };
  } finally {
    admin.disconnect();
  }
}

/**
 * What differs between two readings of production (`part:name`), apart from keys gone by their own
 * TTL in between (production's cache expiring, not something written): those are `expired`.
 */
export function productionChanges(
  before: ProductionState,
  after: ProductionState,
): { changed: string[]; expired: string[] } {
  const changed: string[] = [];
  const expired: string[] = [];
  const elapsedMs = after.readAtMs - before.readAtMs;
  for (const part of ['tables', 'keys', 'streams'] as const) {
    for (const name of new Set([...before[part].keys(), ...after[part].keys()])) {
      if (before[part].get(name) === after[part].get(name)) continue;
      const ttlMs = before.keyTtlsMs.get(name) ?? -1;
      const ranOut = part === 'keys' && !after.keys.has(name) && ttlMs >= 0 && ttlMs <= elapsedMs;
      (ranOut ? expired : changed).push(`${part}:${name}`);
    }
  }
  return { changed, expired };
}

export interface ShadowDeployment {
  config: Config;
  key: Buffer;
  platform: Platform;
  shadow: Platform;
  shadowDbUrl: string;
  shadowRedisUrl: string;
  /** The owner on the shadow schema (migrations, clean). */
  shadowOwnerUrl: string;
  close(): Promise<void>;
}

/** What an operator hands the shadow side after preparing the servers (docs/rehearsal.md). */
export interface ShadowCredentials {
  /** postgres:// of the shadow role (its search_path is the shadow schema). */
  dbUrl: string;
  /** The owner on the shadow schema (migrations, clean). */
  ownerUrl: string;
  /** rediss:// of the shadow ACL user. */
  redisUrl: string;
  /** The shadow NATS account's user (only on a server started with `shadowAccount`). */
  nats: { NATS_USER: string; NATS_PASSWORD: string } | undefined;
}

/**
 * As an operator prepares a deployment once: the shadow PostgreSQL role (and its Citus link
 * password), the shadow schema's grants, the Redis ACL shadow user. The shadow schema is migrated
 * when the shadow side is first opened (its owner's URL). The NATS shadow account is in the
 * server's configuration already (`startNats({ shadowAccount: true })`).
 */
export async function prepareShadowServers(
  servers: Servers,
  options: { shadowNats?: boolean } = {},
): Promise<ShadowCredentials> {
  const dbPassword = randomBytes(16).toString('hex');
  // in the application's database: on a Citus coordinator the role is propagated to the workers
  const adminDb = openPostgres(servers.pg.urlFor('admin', 'fenqi'));
  for (const s of createShadowRoleSql(dbPassword)) await adminDb.unsafe(s);
  if ((await adminDb`select 1 from pg_extension where extname = 'citus'`).length > 0) {
    await adminDb.unsafe(shadowCitusAuthinfoSql(dbPassword));
  }
  for (const s of shadowSchemaGrantsSql('fenqi', DEFAULT_DATABASE_ROLES)) await adminDb.unsafe(s);
  await adminDb.end();
  const redisPassword = randomBytes(16).toString('hex');
  const redisAdmin = servers.redis.client('admin');
  await redisAdmin.call(
    'ACL',
    'SETUSER',
    REDIS_SHADOW_USER,
    ...redisShadowAclRule(redisPassword).split(' ').slice(2),
  );
  redisAdmin.disconnect();
  const dbUrl = new URL(servers.pg.env().DATABASE_URL);
  dbUrl.username = SHADOW_DATABASE_ROLE;
  dbUrl.password = dbPassword;
  const redisUrl = new URL(servers.redis.env().REDIS_URL);
  redisUrl.username = REDIS_SHADOW_USER;
  redisUrl.password = redisPassword;
  const nats = options.shadowNats ? servers.nats.env('shadow') : undefined;
  return {
    dbUrl: dbUrl.toString(),
    ownerUrl: shadowMigrationUrl(servers.pg.urlFor('owner')),
    redisUrl: redisUrl.toString(),
    nats: nats && { NATS_USER: nats.NATS_USER, NATS_PASSWORD: nats.NATS_PASSWORD },
  };
}

/** The environment of a fenqi process taking rehearsals (`fenqi api|worker|rehearse`). */
export function rehearsalEnv(credentials: ShadowCredentials, keyFile: string): Record<string, string> {
  return {
    FENQI_REHEARSAL_KEY_FILE: keyFile,
    FENQI_SHADOW_DATABASE_URL: credentials.dbUrl,
    FENQI_SHADOW_MIGRATION_DATABASE_URL: credentials.ownerUrl,
    FENQI_SHADOW_REDIS_URL: credentials.redisUrl,
    ...(credentials.nats
      ? {
          FENQI_SHADOW_NATS_USER: credentials.nats.NATS_USER,
          FENQI_SHADOW_NATS_PASSWORD: credentials.nats.NATS_PASSWORD,
        }
      : {}),
  };
}

/**
 * The shadow role, schema grants and Redis ACL user on the servers, then both sides opened. With
 * `shadowNats` the shadow side queues through the shadow NATS account (the servers must have been
 * started with it); without, it has no queue and its orders settle inline.
 */
export async function openShadowDeployment(
  servers: Servers,
  options: { key?: Buffer; shadowNats?: boolean } = {},
): Promise<ShadowDeployment> {
  const credentials = await prepareShadowServers(servers, options);
  const config = loadConfig({
    ...servers.pg.env(),
    ...servers.redis.env(),
    ...servers.nats.env(),
    FENQI_DATA_DIR: tempDir('rehearsal'),
    LOG_LEVEL: 'warn',
    ...SECRETS,
  });
  const logger = pino({ level: 'warn' }) as Logger;
  const key = options.key ?? randomBytes(32);
  const platform = await openPlatform(config, logger);
  const shadowNats = credentials.nats;
  const shadow = await openShadowPlatform(
    shadowNats ? config : { ...config, natsUrl: undefined },
    {
      key,
      databaseUrl: credentials.dbUrl,
      migrationDatabaseUrl: credentials.ownerUrl,
      redisUrl: credentials.redisUrl,
      natsUser: shadowNats?.NATS_USER,
      natsPassword: shadowNats?.NATS_PASSWORD,
    },
    logger,
  );
  return {
    config,
    key,
    platform,
    shadow,
    shadowDbUrl: credentials.dbUrl,
    shadowRedisUrl: credentials.redisUrl,
    shadowOwnerUrl: credentials.ownerUrl,
    async close() {
      await Promise.allSettled([platform.close(), shadow.close()]);
    },
  };
}

/** The production API with the shadow side behind its gate. */
export async function rehearsalApi(d: ShadowDeployment): Promise<{ app: Api; shadowApi: Api }> {
  const shadowApi = await buildApi(d.shadow, { shadow: true });
  await shadowApi.ready();
  const parts = { key: d.key, shadowSql: d.shadow.db.sql, shadowCache: d.shadow.cache, shadowApi };
  const app = await buildApi(d.platform, { rehearsal: parts });
  return { app, shadowApi };
}

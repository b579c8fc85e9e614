import { Cluster, Redis } from 'ioredis';
import { readTls, type TlsFiles } from '../link/tls.ts';
import { CACHE_PREFIX, type Cache, type CacheEntry, type CounterHit, type IncrAndGet } from './cache.ts';
import { groupBySlot } from './cluster-slots.ts';
import { INCR_AND_GET_SCRIPT, INCR_WINDOW_SCRIPT, SET_MANY_SCRIPT } from './scripts.ts';

/** A cache call that takes longer than this is treated as a miss by callers. */
export const REDIS_COMMAND_TIMEOUT_MS = 1_000;
export const REDIS_CONNECT_TIMEOUT_MS = 2_000;
/** Reconnect backoff grows to this ceiling and never gives up: Redis coming back heals us. */
export const REDIS_MAX_RECONNECT_DELAY_MS = 1_000;
/**
 * A cluster client re-reads the slot map this often even without a MOVED reply, so a replica
 * promoted after its master died is found within this bound (a MOVED reply finds it sooner).
 */
export const REDIS_CLUSTER_SLOTS_REFRESH_MS = 1_000;
/** MOVED/ASK/CLUSTERDOWN retries of one command before it fails to the caller (who falls back). */
export const REDIS_CLUSTER_MAX_REDIRECTIONS = 6;
/** Wait between those retries while a failover is under way. */
export const REDIS_CLUSTER_RETRY_DELAY_MS = 100;

const INCR_WINDOW_COMMAND = 'fenqiIncrWindow';
const INCR_AND_GET_COMMAND = 'fenqiIncrAndGet';
const SET_MANY_COMMAND = 'fenqiSetMany';
type ScriptCommand = (...args: (string | number)[]) => Promise<unknown>;

export interface RedisNode {
  host: string;
  port: number;
}

export interface RedisCacheOptions {
  tls?: TlsFiles;
  /**
   * Seed nodes of a Redis Cluster (REDIS_CLUSTER_NODES): when given, the cache is a cluster
   * client, `url` is one more seed and gives the scheme (TLS), the ACL user and the password.
   */
  clusterNodes?: readonly RedisNode[];
  /** Every key's prefix; the rehearsal's shadow cache uses SHADOW_CACHE_PREFIX under its own ACL user. */
  keyPrefix?: string;
}

/** Options both client kinds share: fail fast, pipeline, bounded waits. */
const LINK_OPTIONS = {
  keyPrefix: CACHE_PREFIX,
  // Fail fast while disconnected instead of queueing: callers fall back to the database.
  enableOfflineQueue: false,
  // Commands issued in the same tick share one write: a sale-day request's cache calls cost
  // one round trip, and many concurrent requests share syscalls.
  enableAutoPipelining: true,
} as const;

const NODE_OPTIONS = {
  maxRetriesPerRequest: 1,
  connectTimeout: REDIS_CONNECT_TIMEOUT_MS,
  commandTimeout: REDIS_COMMAND_TIMEOUT_MS,
} as const;

const reconnectDelayMs = (attempt: number) => Math.min(attempt * 100, REDIS_MAX_RECONNECT_DELAY_MS);

function clusterClient(
  url: string,
  nodes: readonly RedisNode[],
  tls: object | undefined,
  keyPrefix: string,
): Cluster {
  const link = new URL(url);
  const seeds = [{ host: link.hostname, port: Number(link.port || 6379) }, ...nodes];
  return new Cluster(seeds, {
    ...LINK_OPTIONS,
    keyPrefix,
    clusterRetryStrategy: reconnectDelayMs,
    slotsRefreshTimeout: REDIS_CONNECT_TIMEOUT_MS,
    slotsRefreshInterval: REDIS_CLUSTER_SLOTS_REFRESH_MS,
    maxRedirections: REDIS_CLUSTER_MAX_REDIRECTIONS,
    // ioredis groups auto-pipelined commands by the slot of their first argument, which for these
    // scripts is the key count, not a key: sent on their own, they are routed by their keys.
    autoPipeliningIgnoredCommands: [INCR_AND_GET_COMMAND, SET_MANY_COMMAND],
    retryDelayOnFailover: REDIS_CLUSTER_RETRY_DELAY_MS,
    retryDelayOnClusterDown: REDIS_CLUSTER_RETRY_DELAY_MS,
    retryDelayOnTryAgain: REDIS_CLUSTER_RETRY_DELAY_MS,
    redisOptions: {
      ...NODE_OPTIONS,
      ...(tls ? { tls } : {}),
      ...(link.username ? { username: decodeURIComponent(link.username) } : {}),
      ...(link.password ? { password: decodeURIComponent(link.password) } : {}),
    },
  });
}

export class RedisCache implements Cache {
  readonly kind = 'redis' as const;
  readonly client: Redis | Cluster;
  /** True on a Redis Cluster: multi-key calls are split per slot. */
  readonly clustered: boolean;

  /**
   * `url` carries the ACL user and password (redis://user:password@host:port); rediss:// is TLS,
   * verified against `tls.caFile` when given (else the system's CAs).
   */
  constructor(url: string, options: RedisCacheOptions = {}) {
    const tls = url.startsWith('rediss:') ? (options.tls ? readTls(options.tls) : {}) : undefined;
    this.clustered = options.clusterNodes !== undefined;
    this.client = options.clusterNodes
      ? clusterClient(url, options.clusterNodes, tls, options.keyPrefix ?? CACHE_PREFIX)
      : new Redis(url, {
          ...LINK_OPTIONS,
          keyPrefix: options.keyPrefix ?? CACHE_PREFIX,
          ...NODE_OPTIONS,
          ...(tls ? { tls } : {}),
          lazyConnect: false,
          retryStrategy: reconnectDelayMs,
        });
    // EVALSHA: the script is sent and hashed by Redis once, not with every rate-limit hit.
    this.client.defineCommand(INCR_WINDOW_COMMAND, { numberOfKeys: 1, lua: INCR_WINDOW_SCRIPT });
    // No fixed key count: the first argument says how many keys follow (ioredis still prefixes them).
    this.client.defineCommand(INCR_AND_GET_COMMAND, { lua: INCR_AND_GET_SCRIPT });
    this.client.defineCommand(SET_MANY_COMMAND, { lua: SET_MANY_SCRIPT });
    // Connection errors surface through ping() and failed commands; without a listener
    // ioredis would print every reconnect attempt.
    this.client.on('error', () => {});
    this.client.on('node error', () => {});
  }

  /**
   * Index groups of `keys` that one script or command may touch together: all of them on a single
   * server, one group per slot on a cluster.
   */
  private groups(keys: readonly string[]): number[][] {
    return this.clustered ? groupBySlot(keys) : [keys.map((_, i) => i)];
  }

  async get(key: string): Promise<string | null> {
    return this.client.get(key);
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    await this.client.set(key, value, 'PX', ttlMs);
  }

  async setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean> {
    return (await this.client.set(key, value, 'PX', ttlMs, 'NX')) === 'OK';
  }

  async del(...keys: string[]): Promise<void> {
    if (keys.length === 0) return;
    await Promise.all(this.groups(keys).map((group) => this.client.del(...group.map((i) => keys[i]!))));
  }

  private script(name: string, args: (string | number)[]): Promise<unknown> {
    const command = (this.client as unknown as Record<string, ScriptCommand>)[name]!;
    return command.apply(this.client, args);
  }

  async incr(key: string, windowMs: number, by = 1): Promise<number> {
    return Number(await this.script(INCR_WINDOW_COMMAND, [key, by, windowMs]));
  }

  async incrAndGet(counters: readonly CounterHit[], keys: readonly string[]): Promise<IncrAndGet> {
    const n = counters.length;
    const all = [...counters.map((c) => c.key), ...keys];
    const counts: number[] = new Array(n);
    const values: (string | null)[] = new Array(keys.length);
    if (all.length === 0) return { counts, values };
    await Promise.all(
      this.groups(all).map(async (group) => {
        const mine = group.filter((i) => i < n);
        const reads = group.filter((i) => i >= n);
        const args: (string | number)[] = [group.length];
        for (const i of group) args.push(all[i]!);
        args.push(mine.length);
        for (const i of mine) args.push(counters[i]!.by ?? 1, counters[i]!.windowMs);
        const out = (await this.script(INCR_AND_GET_COMMAND, args)) as (number | string | null)[];
        mine.forEach((i, at) => {
          counts[i] = Number(out[at]);
        });
        reads.forEach((i, at) => {
          values[i - n] = (out[mine.length + at] as string | null | undefined) ?? null;
        });
      }),
    );
    return { counts, values };
  }

  async setMany(entries: readonly CacheEntry[]): Promise<void> {
    if (entries.length === 0) return;
    await Promise.all(
      this.groups(entries.map((e) => e.key)).map((group) => {
        const args: (string | number)[] = [group.length];
        for (const i of group) args.push(entries[i]!.key);
        for (const i of group) {
          const e = entries[i]!;
          args.push(e.value, e.ttlMs, e.ifAbsent ? '1' : '0');
        }
        return this.script(SET_MANY_COMMAND, args);
      }),
    );
  }

  async ping(): Promise<void> {
    if (this.client instanceof Cluster) {
      // Every master answers, or the cache is not whole: a slot range without a master is down.
      const masters = this.client.nodes('master');
      if (masters.length > 0) {
        await Promise.all(masters.map((node) => node.ping()));
        return;
      }
    }
    await this.client.ping();
  }

  async close(): Promise<void> {
    this.client.disconnect();
  }
}

import { Redis } from 'ioredis';
import { readTls, type TlsFiles } from '../link/tls.ts';
import { CACHE_PREFIX, type Cache, type CacheEntry, type CounterHit, type IncrAndGet } from './cache.ts';
import { INCR_AND_GET_SCRIPT, INCR_WINDOW_SCRIPT, SET_MANY_SCRIPT } from './scripts.ts';

/** A cache call that takes longer than this is treated as a miss by callers. */
export const REDIS_COMMAND_TIMEOUT_MS = 1_000;
export const REDIS_CONNECT_TIMEOUT_MS = 2_000;
/** Reconnect backoff grows to this ceiling and never gives up: Redis coming back heals us. */
export const REDIS_MAX_RECONNECT_DELAY_MS = 1_000;

const INCR_WINDOW_COMMAND = 'fenqiIncrWindow';
const INCR_AND_GET_COMMAND = 'fenqiIncrAndGet';
const SET_MANY_COMMAND = 'fenqiSetMany';
type ScriptCommand = (...args: (string | number)[]) => Promise<unknown>;

export class RedisCache implements Cache {
  readonly kind = 'redis' as const;
  readonly client: Redis;

  /**
   * `url` carries the ACL user and password (redis://user:password@host:port); rediss:// is TLS,
   * verified against `tls.caFile` when given (else the system's CAs).
   */
  constructor(url: string, options: { tls?: TlsFiles } = {}) {
    const tls = url.startsWith('rediss:') ? (options.tls ? readTls(options.tls) : {}) : undefined;
    this.client = new Redis(url, {
      ...(tls ? { tls } : {}),
      keyPrefix: CACHE_PREFIX,
      lazyConnect: false,
      // Fail fast while disconnected instead of queueing: callers fall back to the database.
      enableOfflineQueue: false,
      // Commands issued in the same tick share one write: a sale-day request's cache calls cost
      // one round trip, and many concurrent requests share syscalls.
      enableAutoPipelining: true,
      maxRetriesPerRequest: 1,
      connectTimeout: REDIS_CONNECT_TIMEOUT_MS,
      commandTimeout: REDIS_COMMAND_TIMEOUT_MS,
      retryStrategy: (attempt) => Math.min(attempt * 100, REDIS_MAX_RECONNECT_DELAY_MS),
    });
    // EVALSHA: the script is sent and hashed by Redis once, not with every rate-limit hit.
    this.client.defineCommand(INCR_WINDOW_COMMAND, { numberOfKeys: 1, lua: INCR_WINDOW_SCRIPT });
    // No fixed key count: the first argument says how many keys follow (ioredis still prefixes them).
    this.client.defineCommand(INCR_AND_GET_COMMAND, { lua: INCR_AND_GET_SCRIPT });
    this.client.defineCommand(SET_MANY_COMMAND, { lua: SET_MANY_SCRIPT });
    // Connection errors surface through ping() and failed commands; without a listener
    // ioredis would print every reconnect attempt.
    this.client.on('error', () => {});
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
    if (keys.length > 0) await this.client.del(...keys);
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
    const args: (string | number)[] = [n + keys.length];
    for (const c of counters) args.push(c.key);
    for (const key of keys) args.push(key);
    args.push(n);
    for (const c of counters) args.push(c.by ?? 1, c.windowMs);
    const out = (await this.script(INCR_AND_GET_COMMAND, args)) as (number | string | null)[];
    const counts: number[] = new Array(n);
    for (let i = 0; i < n; i++) counts[i] = Number(out[i]);
    const values: (string | null)[] = new Array(keys.length);
    for (let i = 0; i < keys.length; i++) values[i] = (out[n + i] as string | null | undefined) ?? null;
    return { counts, values };
  }

  async setMany(entries: readonly CacheEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const args: (string | number)[] = [entries.length];
    for (const e of entries) args.push(e.key);
    for (const e of entries) args.push(e.value, e.ttlMs, e.ifAbsent ? '1' : '0');
    await this.script(SET_MANY_COMMAND, args);
  }

  async ping(): Promise<void> {
    await this.client.ping();
  }

  async close(): Promise<void> {
    this.client.disconnect();
  }
}

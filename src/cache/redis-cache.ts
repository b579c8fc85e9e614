import { Redis } from 'ioredis';
import { CACHE_PREFIX, type Cache } from './cache.ts';

/** A cache call that takes longer than this is treated as a miss by callers. */
export const REDIS_COMMAND_TIMEOUT_MS = 1_000;
export const REDIS_CONNECT_TIMEOUT_MS = 2_000;
/** Reconnect backoff grows to this ceiling and never gives up: Redis coming back heals us. */
export const REDIS_MAX_RECONNECT_DELAY_MS = 1_000;

// INCRBY then set the window only on the first increment, atomically.
const INCR_WINDOW_SCRIPT = `
local value = redis.call('INCRBY', KEYS[1], ARGV[1])
if value == tonumber(ARGV[1]) then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return value`;

const INCR_WINDOW_COMMAND = 'fenqiIncrWindow';
type IncrWindow = (key: string, by: number, windowMs: number) => Promise<unknown>;

export class RedisCache implements Cache {
  readonly kind = 'redis' as const;
  readonly client: Redis;

  constructor(url: string) {
    this.client = new Redis(url, {
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

  async incr(key: string, windowMs: number, by = 1): Promise<number> {
    const command = (this.client as unknown as Record<string, IncrWindow>)[INCR_WINDOW_COMMAND]!;
    return Number(await command.call(this.client, key, by, windowMs));
  }

  async ping(): Promise<void> {
    await this.client.ping();
  }

  async close(): Promise<void> {
    this.client.disconnect();
  }
}

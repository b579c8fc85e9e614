/**
 * The test cache, single Redis or Redis Cluster, chosen by FENQI_TEST_CACHE (`single`, the default,
 * or `cluster`), so the cache contract tests and the flash Redis fault test run as a matrix on both
 * without copies (test/redis-cluster/*.cluster.test.ts run those files a second time with FENQI_TEST_CACHE=cluster).
 */
import { RedisCache } from '../../src/cache/redis-cache.ts';
import { type RedisServer, startRedis } from './redis.ts';
import { type RedisClusterServer, startRedisCluster } from './redis-cluster.ts';

export type CacheServer = RedisServer | RedisClusterServer;
export type CacheKind = CacheServer['kind'];

export function testCacheKind(): CacheKind {
  const raw = process.env.FENQI_TEST_CACHE ?? 'single';
  if (raw !== 'single' && raw !== 'cluster') {
    throw new Error(`FENQI_TEST_CACHE must be "single" or "cluster", got "${raw}"`);
  }
  return raw;
}

export function startCache(kind: CacheKind = testCacheKind()): Promise<CacheServer> {
  return kind === 'cluster' ? startRedisCluster() : startRedis();
}

/** Bound on a new client seeing its server (a cluster client first loads the slot map). */
export const CACHE_READY_DEADLINE_MS = 20_000;

/** fenqi's cache on `server` as the app user, once it answers a ping. */
export async function openTestCache(server: CacheServer): Promise<RedisCache> {
  const cache = new RedisCache(server.url, server.cacheOptions());
  const deadline = Date.now() + CACHE_READY_DEADLINE_MS;
  for (;;) {
    try {
      await cache.ping();
      return cache;
    } catch (err) {
      if (Date.now() > deadline) {
        await cache.close();
        throw err;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

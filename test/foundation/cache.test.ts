import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import type { Cache } from '../../src/cache/cache.ts';
import { MemoryCache } from '../../src/cache/memory-cache.ts';
import { RedisCache } from '../../src/cache/redis-cache.ts';
import { type RedisServer, startRedis } from '../harness/redis.ts';

/** The same contract for both implementations: the embedded cache must behave like Redis. */
function contract(name: string, open: () => Promise<Cache>, close: () => Promise<void>, extra?: () => void) {
  describe(name, () => {
    let cache: Cache;
    before(async () => {
      cache = await open();
    });
    after(close);

    test('a value set with a TTL reads back, then expires', async () => {
      await cache.set('k1', 'v1', 150);
      assert.equal(await cache.get('k1'), 'v1');
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(await cache.get('k1'), null);
    });

    test('setIfAbsent sets once and refuses while the key lives', async () => {
      assert.equal(await cache.setIfAbsent('lock', 'a', 5_000), true);
      assert.equal(await cache.setIfAbsent('lock', 'b', 5_000), false);
      assert.equal(await cache.get('lock'), 'a');
      await cache.del('lock');
      assert.equal(await cache.setIfAbsent('lock', 'c', 5_000), true);
    });

    test('incr counts within a window and starts again after it', async () => {
      assert.equal(await cache.incr('ctr', 200), 1);
      assert.equal(await cache.incr('ctr', 200), 2);
      assert.equal(await cache.incr('ctr', 200, 5), 7);
      await new Promise((r) => setTimeout(r, 350));
      assert.equal(await cache.incr('ctr', 200), 1);
    });

    test('ping answers', async () => {
      await cache.ping();
    });

    extra?.();
  });
}

let redis: RedisServer;
let redisCache: RedisCache;
contract(
  'RedisCache on a real redis-server',
  async () => {
    redis = await startRedis();
    redisCache = new RedisCache(redis.url);
    await redisCache.ping().catch(async () => {
      await new Promise((r) => setTimeout(r, 200));
      await redisCache.ping();
    });
    return redisCache;
  },
  async () => {
    await redisCache?.close();
    await redis?.destroy();
  },
  () => {
    test('every key is written under the fenqi: prefix', async () => {
      await redisCache.set('prefixed', 'x', 10_000);
      const raw = new Redis(redis.url);
      try {
        assert.equal(await raw.get('fenqi:prefixed'), 'x');
        assert.equal(await raw.get('prefixed'), null);
      } finally {
        raw.disconnect();
      }
    });
  },
);

contract(
  'MemoryCache (embedded)',
  async () => new MemoryCache(),
  async () => {},
);

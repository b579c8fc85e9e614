import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Cache } from '../../src/cache/cache.ts';
import { keyTags, taggedKey } from '../../src/cache/keys.ts';
import { MemoryCache } from '../../src/cache/memory-cache.ts';
import type { RedisCache } from '../../src/cache/redis-cache.ts';
import { type CacheServer, openTestCache, startCache, testCacheKind } from '../harness/cache.ts';

/**
 * The same contract for both implementations: the embedded cache must behave like Redis, including
 * incrAndGet and setMany (one round trip each on sale-day intake).
 */
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

    test('incrAndGet counts every counter in its window and reads every key, present or not', async () => {
      await cache.set('present', 'p', 10_000);
      const first = await cache.incrAndGet(
        [
          { key: 'ctr-a', windowMs: 200 },
          { key: 'ctr-b', windowMs: 10_000, by: 3 },
        ],
        ['missing', 'present'],
      );
      assert.deepEqual(first, { counts: [1, 3], values: [null, 'p'] });
      const second = await cache.incrAndGet([{ key: 'ctr-a', windowMs: 200 }], ['present', 'missing']);
      assert.deepEqual(second, { counts: [2], values: ['p', null] });
      await new Promise((r) => setTimeout(r, 300));
      assert.deepEqual(await cache.incrAndGet([{ key: 'ctr-a', windowMs: 200 }], []), {
        counts: [1],
        values: [],
      });
      assert.equal(await cache.incr('ctr-b', 10_000), 4);
    });

    test('setMany sets plain entries and sets ifAbsent entries only when absent', async () => {
      await cache.set('final', 'settled', 10_000);
      await cache.setMany([
        { key: 'idem', value: 'record', ttlMs: 10_000 },
        { key: 'final', value: 'accepted', ttlMs: 10_000, ifAbsent: true },
        { key: 'fresh', value: 'accepted', ttlMs: 150, ifAbsent: true },
      ]);
      assert.equal(await cache.get('idem'), 'record');
      assert.equal(await cache.get('final'), 'settled');
      assert.equal(await cache.get('fresh'), 'accepted');
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(await cache.get('fresh'), null);
      await cache.setMany([]);
    });

    test('calls whose keys belong to many owners answer in the order asked and delete every key', async () => {
      const owners = Array.from({ length: 12 }, (_, i) => taggedKey(keyTags.customer(9_000 + i)));
      await cache.setMany(owners.map((tag, i) => ({ key: `${tag}:v`, value: `v${i}`, ttlMs: 10_000 })));
      const got = await cache.incrAndGet(
        owners.map((tag, i) => ({ key: `${tag}:n`, windowMs: 10_000, by: i + 1 })),
        [...owners.map((tag) => `${tag}:v`), taggedKey(keyTags.order(1), 'absent')],
      );
      assert.deepEqual(
        got.counts,
        owners.map((_, i) => i + 1),
      );
      assert.deepEqual(got.values, [...owners.map((_, i) => `v${i}`), null]);
      await cache.del(...owners.map((tag) => `${tag}:v`));
      const after = await cache.incrAndGet(
        [],
        owners.map((tag) => `${tag}:v`),
      );
      assert.deepEqual(
        after.values,
        owners.map(() => null),
      );
    });

    test('ping answers', async () => {
      await cache.ping();
    });

    extra?.();
  });
}

let redis: CacheServer;
let redisCache: RedisCache;
contract(
  `RedisCache on a real redis-server (${testCacheKind() === 'cluster' ? 'a Redis Cluster of 3 masters + 3 replicas' : 'one node'})`,
  async () => {
    redis = await startCache();
    redisCache = await openTestCache(redis);
    return redisCache;
  },
  async () => {
    await redisCache?.close();
    await redis?.destroy();
  },
  () => {
    test('every key is written under the fenqi: prefix', async () => {
      await redisCache.set('prefixed', 'x', 10_000);
      const raw = redis.client();
      try {
        assert.equal(await raw.get('fenqi:prefixed'), 'x');
        assert.equal(await raw.get('prefixed'), null);
      } finally {
        raw.disconnect();
      }
    });

    test('keys of incrAndGet and setMany are written under the fenqi: prefix', async () => {
      await redisCache.setMany([{ key: 'batch-prefixed', value: 'x', ttlMs: 10_000 }]);
      await redisCache.incrAndGet([{ key: 'batch-ctr', windowMs: 10_000 }], []);
      const raw = redis.client();
      try {
        assert.equal(await raw.get('fenqi:batch-prefixed'), 'x');
        assert.equal(await raw.get('fenqi:batch-ctr'), '1');
        assert.equal(await raw.get('batch-prefixed'), null);
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

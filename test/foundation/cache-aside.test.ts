import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CacheAside } from '../../src/cache/cache-aside.ts';
import { hit } from '../../src/cache/rate-limit.ts';
import { RedisCache } from '../../src/cache/redis-cache.ts';
import { type RedisServer, startRedis } from '../harness/redis.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('cache-aside in front of a slow loader, on real Redis', () => {
  let redis: RedisServer;
  let cache: RedisCache;
  before(async () => {
    redis = await startRedis();
    cache = new RedisCache(redis.url, { tls: redis.tls });
    for (let i = 0; i < 20; i++) {
      if (
        await cache.ping().then(
          () => true,
          () => false,
        )
      )
        break;
      await sleep(100);
    }
  });
  after(async () => {
    await cache?.close();
    await redis?.destroy();
  });

  test('500 concurrent reads of a cold key call the loader once (single-flight), then hit the cache', async () => {
    const aside = new CacheAside(cache);
    let loads = 0;
    const load = async () => {
      loads++;
      await sleep(50);
      return { id: 42n, name: 'phone' };
    };
    const values = await Promise.all(Array.from({ length: 500 }, () => aside.get('product:42', load)));
    assert.equal(loads, 1);
    assert.ok(values.every((v) => v?.id === 42n && v.name === 'phone'));
    await aside.get('product:42', load);
    assert.equal(loads, 1, 'second read is a cache hit');
    assert.ok(aside.stats.hits >= 1);
  });

  test('a not-found answer is cached briefly, so a storm on an unknown id reaches the loader once', async () => {
    const aside = new CacheAside(cache);
    let loads = 0;
    const load = async () => {
      loads++;
      return undefined;
    };
    for (let i = 0; i < 50; i++) assert.equal(await aside.get('product:missing', load), undefined);
    assert.equal(loads, 1);
  });

  test('TTLs carry jitter within the configured ratio', async () => {
    const aside = new CacheAside(cache, { ttlMs: 10_000, jitterRatio: 0.2 });
    const ttls = Array.from({ length: 200 }, () => aside.ttlWithJitter());
    assert.ok(ttls.every((t) => t >= 10_000 && t <= 12_000));
    assert.ok(new Set(ttls).size > 50, 'jitter spreads expiries');
    await aside.get('jittered', async () => 'x');
    // read by an admin: fenqi's own Redis user may not run PTTL (src/cache/acl.ts)
    const admin = redis.client('admin');
    const pttl = await admin.pttl('fenqi:jittered').finally(() => admin.disconnect());
    assert.ok(pttl > 9_000 && pttl <= 12_000, String(pttl));
  });

  test('invalidate after a write makes the next read load the new value', async () => {
    const aside = new CacheAside(cache);
    let version = 1;
    const load = async () => ({ version });
    assert.deepEqual(await aside.get('line:7', load), { version: 1 });
    version = 2;
    assert.deepEqual(await aside.get('line:7', load), { version: 1 }, 'stale until invalidated');
    await aside.invalidate('line:7');
    assert.deepEqual(await aside.get('line:7', load), { version: 2 });
  });

  test('rate limits count per subject within a window and say when to retry', async () => {
    const rule = { name: 'orders', limit: 3, windowMs: 60_000 };
    const results = [];
    for (let i = 0; i < 5; i++) results.push(await hit(cache, rule, 'customer:1'));
    assert.deepEqual(
      results.map((r) => r.allowed),
      [true, true, true, false, false],
    );
    assert.ok(results[4]!.retryAfterS >= 1 && results[4]!.retryAfterS <= 60);
    assert.equal((await hit(cache, rule, 'customer:2')).allowed, true, 'another subject has its own window');
  });

  test('with Redis stopped, reads still load but never more than the fallback limit at once', async () => {
    const aside = new CacheAside(cache, { fallbackConcurrency: 4 });
    await redis.stop();
    try {
      let active = 0;
      let peak = 0;
      const load = async () => {
        active++;
        peak = Math.max(peak, active);
        await sleep(20);
        active--;
        return 'from-db';
      };
      const keys = Array.from({ length: 40 }, (_, i) => `cold:${i}`);
      const values = await Promise.all(keys.map((k) => aside.get(k, load)));
      assert.ok(values.every((v) => v === 'from-db'));
      assert.ok(peak <= 4, `peak concurrent loads ${peak}`);
      assert.ok(aside.stats.cacheErrors >= 40);
      const limited = await hit(cache, { name: 'x', limit: 1, windowMs: 1000 }, 's');
      assert.equal(limited.degraded, true);
      assert.equal(limited.allowed, true, 'rate limits fail open while the cache is down');
    } finally {
      await redis.start();
    }
  });
});

/**
 * Issue 14 finding 2 and item 2: a write to Redis grants no access. Against real Redis (written
 * with its admin user, as an intruder on the cache would) and real PostgreSQL: an entry SET under
 * the name the API used to read makes no string a merchant key, and a merchant's own entry
 * rewritten to name another merchant (plainly, or with that merchant's sealed value copied in)
 * does not make it that merchant.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { Redis } from 'ioredis';
import { merchantKeyCacheKey } from '../../src/api/plugins/authenticate.ts';
import { CACHE_PREFIX } from '../../src/cache/cache.ts';
import { merchantApiKeyKey } from '../../src/cache/keys.ts';
import { apiKeyHash } from '../../src/store/merchants.ts';
import { type PostgresServer, startPostgres } from '../harness/postgres.ts';
import { type RedisServer, startRedis } from '../harness/redis.ts';
import { bearer, openTestApi, seedAndLogIn, type TestApi } from '../identity/support.ts';

describe('a Redis write grants no merchant access', () => {
  let pg: PostgresServer;
  let redis: RedisServer;
  let t: TestApi;
  let intruder: Redis;
  let victim: { id: bigint; apiKey: string };
  let other: { id: string; apiKey: string };

  const asMerchant = (apiKey: string, merchantId: bigint | string) =>
    t.app.inject({ method: 'GET', url: `/v1/merchants/${merchantId}`, headers: { 'x-api-key': apiKey } });
  const entryOf = (apiKey: string) =>
    CACHE_PREFIX + merchantKeyCacheKey(t.platform.services.cacheIntegrity, apiKeyHash(apiKey));

  before(async () => {
    [pg, redis] = await Promise.all([startPostgres(), startRedis()]);
    t = await openTestApi({ ...pg.env(), ...redis.env() });
    const { demo, ops } = await seedAndLogIn(t);
    victim = demo.merchant;
    const created = await t.app.inject({
      method: 'POST',
      url: '/v1/merchants',
      headers: bearer(ops),
      payload: { name: 'Intruder Goods' },
    });
    assert.equal(created.statusCode, 201, created.body);
    other = { id: created.json().id, apiKey: created.json().api_key };
    intruder = redis.client('admin');
  });
  after(async () => {
    intruder?.disconnect();
    await t?.close();
    await Promise.allSettled([pg?.destroy(), redis?.destroy()]);
  });

  test('SET fenqi:merchant-key:<sha256 of any string> <merchant id> does not make that string a key', async () => {
    const chosen = 'fq_chosen-by-the-intruder';
    const sha = createHash('sha256').update(chosen).digest('hex');
    // the old name, and today's name with the bare hash where the keyed digest goes
    for (const name of [`merchant-key:${sha}`, merchantApiKeyKey(sha)]) {
      await intruder.set(`${CACHE_PREFIX}${name}`, victim.id.toString(), 'PX', 60_000);
    }
    const read = await asMerchant(chosen, victim.id);
    assert.equal(read.statusCode, 401, read.body);
    const goods = await t.app.inject({
      method: 'POST',
      url: `/v1/merchants/${victim.id}/goods`,
      headers: { 'x-api-key': chosen },
      payload: { sku: 'FORGED-1', name: 'Forged', price: '1.00' },
    });
    assert.equal(goods.statusCode, 401, goods.body);
  });

  test("a merchant's own cache entry rewritten to name another merchant still answers as itself", async () => {
    assert.equal((await asMerchant(victim.apiKey, victim.id)).statusCode, 200);
    assert.equal((await asMerchant(other.apiKey, other.id)).statusCode, 200);
    const victimEntry = entryOf(victim.apiKey);
    const otherEntry = entryOf(other.apiKey);
    const victimSealed = await intruder.get(victimEntry);
    assert.ok(victimSealed, 'the victim key is cached');
    assert.ok(await intruder.get(otherEntry), "the intruder's key is cached");

    for (const forged of [victim.id.toString(), victimSealed]) {
      await intruder.set(otherEntry, forged, 'PX', 60_000);
      const read = await asMerchant(other.apiKey, victim.id);
      assert.notEqual(read.statusCode, 200, `entry ${forged} read the victim: ${read.body}`);
      assert.equal(
        (await asMerchant(other.apiKey, other.id)).statusCode,
        200,
        'the key still works as itself',
      );
    }
  });
});

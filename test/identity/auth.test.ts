import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { signAccessToken } from '../../src/api/auth.ts';
import { merchantKeyCacheKey } from '../../src/api/plugins/authenticate.ts';
import { merchantApiKeyKey } from '../../src/cache/keys.ts';
import { mask } from '../../src/privacy/masking.ts';
import { type PostgresServer, startPostgres } from '../harness/postgres.ts';
import { type RedisServer, startRedis } from '../harness/redis.ts';
import {
  bearer,
  hexKey,
  login,
  openTestApi,
  personFor,
  register,
  seedAndLogIn,
  type TestApi,
} from './support.ts';

describe('authentication and roles through the API', () => {
  let pg: PostgresServer;
  let redis: RedisServer;
  let t: TestApi;
  let ops: string;
  let risk: string;
  let admin: string;
  let merchantKey: string;
  let merchantId: string;
  let otherMerchantId: string;
  const alice = personFor(1);
  const bob = personFor(2);
  let aliceId: string;
  let bobId: string;
  let aliceToken: string;

  const inject = (method: string, url: string, headers: Record<string, string> = {}, payload?: object) =>
    t.app.inject({ method: method as 'GET', url, headers, ...(payload ? { payload } : {}) });

  before(async () => {
    [pg, redis] = await Promise.all([startPostgres(), startRedis()]);
    t = await openTestApi({
      ...pg.env(),
      ...redis.env(),
      FENQI_TOKEN_SECRET: hexKey(),
      FENQI_DATA_KEYS: `1:${hexKey()}`,
      FENQI_BLIND_INDEX_KEY: hexKey(),
    });
    const seeded = await seedAndLogIn(t);
    ops = seeded.ops;
    risk = seeded.risk;
    admin = seeded.admin;
    merchantKey = seeded.demo.merchant.apiKey;
    merchantId = seeded.demo.merchant.id.toString();
    otherMerchantId = seeded.demo.merchantIds[1]!.toString();
    aliceId = await register(t.app, alice);
    bobId = await register(t.app, bob);
    aliceToken = await login(t.app, { phone: alice.phone, password: alice.password });
  });
  after(async () => {
    await t?.close();
    await Promise.allSettled([pg?.destroy(), redis?.destroy()]);
  });

  test('a customer logs in by phone (any common spelling) and gets a bearer token for their role', async () => {
    const res = await inject(
      'POST',
      '/v1/auth/login',
      {},
      { phone: `+86 ${alice.phone.slice(0, 3)}-${alice.phone.slice(3)}`, password: alice.password },
    );
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json();
    assert.equal(body.token_type, 'Bearer');
    assert.equal(body.role, 'customer');
    assert.equal(body.expires_in, t.platform.config.accessTokenTtlS);
    const me = await inject('GET', '/v1/customers/me', bearer(body.access_token));
    assert.equal(me.json().id, aliceId);
  });

  test('wrong password and unknown user get the same 401 INVALID_CREDENTIALS', async () => {
    const wrong = await inject(
      'POST',
      '/v1/auth/login',
      {},
      { phone: alice.phone, password: 'not-her-password' },
    );
    const unknown = await inject(
      'POST',
      '/v1/auth/login',
      {},
      { phone: '13000000000', password: 'whatever-pass' },
    );
    const staffWrong = await inject(
      'POST',
      '/v1/auth/login',
      {},
      { username: 'ops', password: 'not-the-password' },
    );
    const staffUnknown = await inject(
      'POST',
      '/v1/auth/login',
      {},
      { username: 'nobody', password: 'whatever-pass' },
    );
    for (const res of [wrong, unknown, staffWrong, staffUnknown]) {
      assert.equal(res.statusCode, 401);
      assert.deepEqual(res.json().error.code, 'INVALID_CREDENTIALS');
    }
    assert.equal(wrong.json().error.message, unknown.json().error.message);
  });

  test('repeated failed log-ins for one phone are throttled with 429, even with the right password', async () => {
    const carol = personFor(3);
    await register(t.app, carol);
    for (let i = 0; i < 10; i++) {
      const res = await inject(
        'POST',
        '/v1/auth/login',
        {},
        { phone: carol.phone, password: `wrong-${i}-password` },
      );
      assert.equal(res.statusCode, 401);
    }
    const res = await inject('POST', '/v1/auth/login', {}, { phone: carol.phone, password: carol.password });
    assert.equal(res.statusCode, 429);
    assert.equal(res.json().error.code, 'TOO_MANY_ATTEMPTS');
    assert.ok(res.headers['retry-after']);
  });

  test('expired, forged, malformed and oversized tokens are 401 UNAUTHORIZED on routes that need a principal', async () => {
    const secret = t.platform.config.tokenSecret;
    const expired = signAccessToken(
      secret,
      { role: 'customer', id: BigInt(aliceId) },
      60,
      Date.now() - 3_600_000,
    );
    const forged = signAccessToken(Buffer.alloc(32, 7), { role: 'ops', id: 1n }, 600);
    const [body, mac] = aliceToken.split('.');
    const escalated = `${Buffer.from(JSON.stringify({ r: 'ops', s: aliceId, e: 9e9 })).toString('base64url')}.${mac}`;
    for (const token of [expired, forged, escalated, `${body}`, 'garbage', 'a.b.c', 'x'.repeat(5000)]) {
      const res = await inject('GET', '/v1/customers/me', bearer(token));
      assert.equal(res.statusCode, 401, token.slice(0, 40));
      assert.equal(res.json().error.code, 'UNAUTHORIZED');
    }
    for (const authorization of ['Basic b3BzOm9wcw==', 'Bearer', '']) {
      const res = await inject('GET', '/v1/customers/me', { authorization });
      assert.equal(res.statusCode, 401);
    }
    // a public route ignores a bad token
    assert.equal((await inject('GET', '/v1/goods', bearer(expired))).statusCode, 200);
  });

  test('customer A cannot read customer B: 404, the same as an id that does not exist', async () => {
    const other = await inject('GET', `/v1/customers/${bobId}`, bearer(aliceToken));
    const missing = await inject('GET', '/v1/customers/1', bearer(aliceToken));
    assert.equal(other.statusCode, 404);
    assert.deepEqual(other.json(), missing.json());
    assert.ok(!other.body.includes(bob.legal_name));
    const own = await inject('GET', `/v1/customers/${aliceId}`, bearer(aliceToken));
    assert.equal(own.statusCode, 200);
    assert.equal(own.json().legal_name, alice.legal_name);
  });

  test('risk and ops staff read any customer, masked by the one rule table; a merchant cannot read customers at all (403)', async () => {
    for (const token of [ops, risk]) {
      const res = await inject('GET', `/v1/customers/${bobId}`, bearer(token));
      assert.equal(res.statusCode, 200, res.body);
      // issue 14 item 8: staff views show masked personal fields, never the whole value
      assert.equal(res.json().national_id, mask('national_id', bob.national_id, 'staff'));
      assert.equal(res.json().phone, `${bob.phone.slice(0, 3)}****${bob.phone.slice(-4)}`);
      assert.equal(res.json().bank_card, `${bob.bank_card!.slice(0, 6)}*********${bob.bank_card!.slice(-4)}`);
      assert.notEqual(res.json().legal_name, bob.legal_name);
      // the first character, then one star per other character: no part of the name after it
      const name = [...bob.legal_name];
      assert.equal(res.json().legal_name, `${name[0]}${'*'.repeat(name.length - 1)}`);
      assert.ok(!res.body.includes(bob.legal_name.slice(1)), 'the rest of the name is in no field');
    }
    const res = await inject('GET', `/v1/customers/${bobId}`, { 'x-api-key': merchantKey });
    assert.equal(res.statusCode, 403);
    assert.equal(res.json().error.code, 'FORBIDDEN');
    // /me is for customers only
    assert.equal((await inject('GET', '/v1/customers/me', bearer(ops))).statusCode, 403);
  });

  test('a merchant key acts only for its own merchant', async () => {
    const headers = { 'x-api-key': merchantKey };
    const own = await inject('POST', `/v1/merchants/${merchantId}/goods`, headers, {
      sku: 'OWN-1',
      name: 'Own goods',
      price: '10.00',
    });
    assert.equal(own.statusCode, 201, own.body);
    assert.equal(own.json().merchant_id, merchantId);
    const other = await inject('POST', `/v1/merchants/${otherMerchantId}/goods`, headers, {
      sku: 'STEAL-1',
      name: 'Not mine',
      price: '10.00',
    });
    assert.equal(other.statusCode, 403);
    const [row] = await t.platform.db.sql`select count(*)::int as n from goods where sku = 'STEAL-1'`;
    assert.equal(row!.n, 0);
    assert.equal((await inject('GET', `/v1/merchants/${merchantId}`, headers)).statusCode, 200);
    assert.equal((await inject('GET', `/v1/merchants/${otherMerchantId}`, headers)).statusCode, 404);
  });

  test('an unknown or malformed merchant key is no principal (401), and a key is cached only under a keyed hash of its hash, sealed', async () => {
    for (const key of ['fq_not-a-real-key', 'nope', `fq_${'a'.repeat(500)}`, merchantKey.slice(0, -1)]) {
      const res = await inject(
        'POST',
        `/v1/merchants/${merchantId}/goods`,
        { 'x-api-key': key },
        {
          sku: 'X',
          name: 'x',
          price: '1.00',
        },
      );
      assert.equal(res.statusCode, 401, key);
    }
    assert.equal(await t.platform.cache.get(merchantApiKeyKey(createHashHex(merchantKey))), null);
    const integrity = t.platform.services.cacheIntegrity;
    const name = merchantKeyCacheKey(integrity, createHash('sha256').update(merchantKey).digest());
    assert.ok(!name.includes(createHashHex(merchantKey)), 'the name does not hold the key hash');
    const cached = await t.platform.cache.get(name);
    assert.ok(cached, 'the key is cached');
    assert.equal(integrity.open(name, cached), merchantId);
  });

  test('roles are enforced per route: staff creation follows the grant matrix, merchant creation is for ops', async () => {
    const newStaff = { username: 'analyst1', password: 'analyst-password', role: 'risk' };
    for (const headers of [bearer(aliceToken), bearer(risk), { 'x-api-key': merchantKey }, bearer(ops)]) {
      assert.equal((await inject('POST', '/v1/staff', headers, newStaff)).statusCode, 403);
    }
    for (const headers of [bearer(aliceToken), bearer(risk), { 'x-api-key': merchantKey }]) {
      assert.equal((await inject('POST', '/v1/merchants', headers, { name: 'Shop' })).statusCode, 403);
    }
    assert.equal((await inject('POST', '/v1/staff', {}, newStaff)).statusCode, 401);
    // risk powers come from an admin only (issue 14 finding 5: ops used to grant them)
    const created = await inject('POST', '/v1/staff', bearer(admin), newStaff);
    assert.equal(created.statusCode, 201, created.body);
    assert.equal(created.json().role, 'risk');
    const again = await inject('POST', '/v1/staff', bearer(admin), { ...newStaff, username: 'Analyst1' });
    assert.equal(again.statusCode, 409);
    assert.equal(again.json().error.code, 'USERNAME_TAKEN');
    const token = await login(t.app, { username: 'analyst1', password: 'analyst-password' });
    assert.equal((await inject('GET', `/v1/customers/${aliceId}`, bearer(token))).statusCode, 200);
    // goods for a merchant: ops yes, risk and customers no
    const goods = { sku: 'OPS-1', name: 'Added by ops', price: '99.90' };
    assert.equal(
      (await inject('POST', `/v1/merchants/${merchantId}/goods`, bearer(ops), goods)).statusCode,
      201,
    );
    assert.equal(
      (await inject('POST', `/v1/merchants/${merchantId}/goods`, bearer(risk), goods)).statusCode,
      403,
    );
    assert.equal(
      (await inject('POST', `/v1/merchants/${merchantId}/goods`, bearer(aliceToken), goods)).statusCode,
      403,
    );
  });

  test('a merchant created by ops gets its API key once; only the hash is stored and the key works', async () => {
    const res = await inject('POST', '/v1/merchants', bearer(ops), { name: 'New Shop' });
    assert.equal(res.statusCode, 201, res.body);
    const { id, api_key } = res.json();
    assert.match(api_key, /^fq_[A-Za-z0-9_-]{43}$/);
    const raw = JSON.stringify(await t.platform.db.sql`select * from merchants`, (_k, v) =>
      typeof v === 'bigint' ? v.toString() : v,
    );
    assert.ok(!raw.includes(api_key));
    const read = await inject('GET', `/v1/merchants/${id}`, { 'x-api-key': api_key });
    assert.equal(read.statusCode, 200);
    assert.equal(read.json().api_key, undefined);
  });
});

function createHashHex(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

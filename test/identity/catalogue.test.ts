import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { seedDemo } from '../../src/store/seed.ts';
import { type PostgresServer, startPostgres } from '../harness/postgres.ts';
import { bearer, hexKey, login, openTestApi, runCli, seedAndLogIn, type TestApi } from './support.ts';

const EXTRA_GOODS = 23;

interface GoodsPage {
  items: { id: string; merchant_id: string; sku: string; price: string }[];
  next_cursor: string | null;
}

describe('demo seed, merchants and the public catalogue', () => {
  let pg: PostgresServer;
  let t: TestApi;
  let ops: string;
  let seeded: Awaited<ReturnType<typeof seedAndLogIn>>;
  let shopId: string;

  before(async () => {
    pg = await startPostgres();
    t = await openTestApi({
      ...pg.env(),
      FENQI_DATA_KEYS: `1:${hexKey()}`,
      FENQI_BLIND_INDEX_KEY: hexKey(),
    });
    seeded = await seedAndLogIn(t);
    ops = seeded.ops;
    const shop = await t.app.inject({
      method: 'POST',
      url: '/v1/merchants',
      headers: bearer(ops),
      payload: { name: 'Paging Shop' },
    });
    shopId = shop.json().id;
    for (let i = 0; i < EXTRA_GOODS; i++) {
      const res = await t.app.inject({
        method: 'POST',
        url: `/v1/merchants/${shopId}/goods`,
        headers: { 'x-api-key': shop.json().api_key },
        payload: { sku: `SKU-${i}`, name: `Item ${i}`, price: `${i + 1}.5` },
      });
      assert.equal(res.statusCode, 201, res.body);
    }
  });
  after(async () => {
    await t?.close();
    await pg?.destroy();
  });

  test('the seed creates one staff user per role, merchants with goods, a merchant key and a customer', async () => {
    const { demo } = seeded;
    assert.deepEqual(Object.keys(demo.staff).sort(), ['admin', 'ops', 'risk']);
    assert.ok(demo.merchantIds.length >= 2);
    assert.ok(demo.goodsIds.length >= 4);
    const token = await login(t.app, { phone: demo.customer.login, password: demo.customer.password });
    const me = await t.app.inject({ url: '/v1/customers/me', headers: bearer(token) });
    assert.equal(me.json().id, demo.customer.id.toString());
    const merchant = await t.app.inject({
      url: `/v1/merchants/${demo.merchant.id}`,
      headers: { 'x-api-key': demo.merchant.apiKey },
    });
    assert.equal(merchant.statusCode, 200);
  });

  test('the seed runs once: a second call creates nothing and returns undefined', async () => {
    const [before] = await t.platform.db.sql`select count(*)::int as n from merchants`;
    assert.equal(await seedDemo(t.platform.db.sql, t.platform.services.crypto), undefined);
    const [after] = await t.platform.db.sql`select count(*)::int as n from merchants`;
    assert.equal(after!.n, before!.n);
  });

  test("a merchant's catalogue pages by cursor: every item once, in id order, prices as decimal strings", async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const url: string = `/v1/goods?merchant_id=${shopId}&limit=5${cursor ? `&cursor=${cursor}` : ''}`;
      const res = await t.app.inject({ url });
      assert.equal(res.statusCode, 200, res.body);
      const page = res.json() as GoodsPage;
      assert.ok(page.items.length <= 5);
      for (const item of page.items) {
        assert.equal(item.merchant_id, shopId);
        assert.match(item.price, /^\d+\.\d{2}$/);
        seen.push(item.id);
      }
      cursor = page.next_cursor;
      pages++;
    } while (cursor);
    assert.equal(seen.length, EXTRA_GOODS);
    assert.equal(new Set(seen).size, EXTRA_GOODS);
    assert.deepEqual(
      seen,
      [...seen].sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1)),
    );
    assert.equal(pages, Math.ceil(EXTRA_GOODS / 5));
  });

  test('the whole catalogue is public, bounded by the default limit, and one item reads by id', async () => {
    const res = await t.app.inject({ url: '/v1/goods' });
    assert.equal(res.statusCode, 200);
    const page = res.json() as GoodsPage;
    assert.equal(page.items.length, 20);
    assert.ok(page.next_cursor);
    const first = page.items[0]!;
    const one = await t.app.inject({ url: `/v1/goods/${first.id}` });
    assert.equal(one.statusCode, 200);
    assert.deepEqual(one.json(), first);
    const item = (await t.app.inject({ url: `/v1/goods?merchant_id=${shopId}&limit=1` })).json().items[0];
    assert.equal(item.price, '1.50');
  });

  test('fenqi seed staff creates the first staff user of a real deployment with a password printed once', async () => {
    const env = { ...pg.env() };
    const run = await runCli(['seed', 'staff', '--username', 'Root.Ops', '--role', 'admin'], env);
    assert.equal(run.code, 0, run.stderr);
    const password = /password: (\S+)/.exec(run.stdout)?.[1];
    assert.ok(password);
    const token = await login(t.app, { username: 'root.ops', password });
    const staff = await t.app.inject({
      method: 'POST',
      url: '/v1/staff',
      headers: bearer(token),
      payload: { username: 'second', password: 'second-password', role: 'risk' },
    });
    assert.equal(staff.statusCode, 201);
    const again = await runCli(['seed', 'staff', '--username', 'root.ops', '--role', 'admin'], env);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /taken/);
    const badRole = await runCli(['seed', 'staff', '--username', 'x-user', '--role', 'customer'], env);
    assert.equal(badRole.code, 2);
    const demo = await runCli(['seed', 'demo'], env);
    assert.equal(demo.code, 0, demo.stderr);
    assert.match(demo.stdout, /already seeded/);
  });

  test('the OpenAPI document lists every identity and catalogue route', async () => {
    const doc = (await t.app.inject({ url: '/openapi.json' })).json();
    for (const route of [
      '/v1/customers',
      '/v1/customers/me',
      '/v1/customers/{id}',
      '/v1/customers/me/bank-card',
      '/v1/auth/login',
      '/v1/staff',
      '/v1/merchants',
      '/v1/merchants/{id}',
      '/v1/merchants/{id}/goods',
      '/v1/goods',
      '/v1/goods/{id}',
    ]) {
      assert.ok(doc.paths[route], `${route} is documented`);
    }
  });
});

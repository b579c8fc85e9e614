import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type PostgresServer, startPostgres } from '../harness/postgres.ts';
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

const BODY_LIMIT_BYTES = 4096;
const TABLES = ['customers', 'staff', 'merchants', 'goods', 'seed_runs'] as const;

interface Case {
  name: string;
  method: 'GET' | 'POST' | 'PUT';
  url: string;
  headers?: Record<string, string>;
  /** an object is sent as JSON; a string is sent as it is */
  body?: unknown;
  status: number;
  code: string;
}

describe('bad input on every identity and catalogue route: a 4xx with a stable code, nothing changed', () => {
  let pg: PostgresServer;
  let t: TestApi;
  let ops: string;
  let customer: string;
  let merchantKey: string;
  let merchantId: string;
  const existing = personFor(40);

  const counts = async () => {
    const result: Record<string, number> = {};
    for (const table of TABLES) {
      const [row] = await t.platform.db.sql`select count(*)::int as n from ${t.platform.db.sql(table)}`;
      result[table] = row!.n as number;
    }
    return result;
  };

  before(async () => {
    pg = await startPostgres();
    t = await openTestApi({
      ...pg.env(),
      FENQI_DATA_KEYS: `1:${hexKey()}`,
      FENQI_BLIND_INDEX_KEY: hexKey(),
      FENQI_BODY_LIMIT_BYTES: String(BODY_LIMIT_BYTES),
    });
    const seeded = await seedAndLogIn(t);
    ops = seeded.ops;
    merchantKey = seeded.demo.merchant.apiKey;
    merchantId = seeded.demo.merchant.id.toString();
    await register(t.app, existing);
    customer = await login(t.app, { phone: existing.phone, password: existing.password });
  });
  after(async () => {
    await t?.close();
    await pg?.destroy();
  });

  const run = async (cases: Case[]) => {
    const before = await counts();
    for (const c of cases) {
      const payload =
        c.body === undefined ? undefined : typeof c.body === 'string' ? c.body : JSON.stringify(c.body);
      const res = await t.app.inject({
        method: c.method,
        url: c.url,
        headers: { ...(payload !== undefined ? { 'content-type': 'application/json' } : {}), ...c.headers },
        ...(payload !== undefined ? { payload } : {}),
      });
      assert.equal(res.statusCode, c.status, `${c.name}: ${res.body.slice(0, 300)}`);
      assert.equal(res.json().error?.code, c.code, `${c.name}: ${res.body.slice(0, 300)}`);
    }
    assert.deepEqual(await counts(), before, 'no row was added or removed');
  };

  const huge = 'x'.repeat(3000);
  const good = personFor(41);

  test('registration refuses wrong types, missing and unknown fields, bad formats and duplicates', async () => {
    const post = (name: string, body: unknown, status: number, code: string): Case => ({
      name,
      method: 'POST',
      url: '/v1/customers',
      body,
      status,
      code,
    });
    const badChecksum = `${good.national_id.slice(0, 17)}${good.national_id[17] === '0' ? '1' : '0'}`;
    await run([
      post('phone as a number', { ...good, phone: 13900000041 }, 400, 'VALIDATION_FAILED'),
      post('password missing', { ...good, password: undefined }, 400, 'VALIDATION_FAILED'),
      post('empty object', {}, 400, 'VALIDATION_FAILED'),
      post('array body', [good], 400, 'VALIDATION_FAILED'),
      post('null body', 'null', 400, 'VALIDATION_FAILED'),
      post('unknown field', { ...good, role: 'ops' }, 400, 'VALIDATION_FAILED'),
      post('huge name', { ...good, legal_name: huge }, 400, 'VALIDATION_FAILED'),
      post('short password', { ...good, password: 'short' }, 400, 'VALIDATION_FAILED'),
      post('password over the bound', { ...good, password: 'p'.repeat(129) }, 400, 'VALIDATION_FAILED'),
      post('phone of 10 digits', { ...good, phone: '1390000004' }, 422, 'INVALID_PHONE'),
      post('phone not starting with 1', { ...good, phone: '23900000041' }, 422, 'INVALID_PHONE'),
      post(
        'national id with a wrong check character',
        { ...good, national_id: badChecksum },
        422,
        'INVALID_NATIONAL_ID',
      ),
      post(
        'national id of 15 digits',
        { ...good, national_id: '110101800101123' },
        422,
        'INVALID_NATIONAL_ID',
      ),
      post(
        'national id with 31 February',
        { ...good, national_id: '11010119900231123X' },
        422,
        'INVALID_NATIONAL_ID',
      ),
      post('blank name', { ...good, legal_name: '   ' }, 422, 'INVALID_LEGAL_NAME'),
      // NUL cannot be stored at all: refused where JSON is parsed, for every route (issue 14 finding 7)
      post('name with a NUL character', { ...good, legal_name: 'A\u0000B' }, 400, 'UNSTORABLE_TEXT'),
      post('name with a control character', { ...good, legal_name: 'A\u0007B' }, 422, 'INVALID_LEGAL_NAME'),
      post('card with letters', { ...good, bank_card: '6222abcd00001111' }, 422, 'INVALID_BANK_CARD'),
      post('duplicate phone', { ...good, phone: existing.phone }, 409, 'PHONE_TAKEN'),
      post(
        'duplicate national id (lower-case x)',
        { ...good, national_id: existing.national_id.toLowerCase() },
        409,
        'NATIONAL_ID_TAKEN',
      ),
      post('malformed JSON', '{"phone": "139', 400, 'MALFORMED_JSON'),
      post('oversized body', { ...good, legal_name: 'x'.repeat(BODY_LIMIT_BYTES) }, 413, 'BODY_TOO_LARGE'),
      {
        name: 'not JSON',
        method: 'POST',
        url: '/v1/customers',
        headers: { 'content-type': 'application/xml' },
        body: '<phone>1</phone>',
        status: 415,
        code: 'UNSUPPORTED_MEDIA_TYPE',
      },
    ]);
  });

  test('national ids ending in X register, and the same id with x is the same person', async () => {
    const withX = { ...personFor(42), national_id: '11010519491231002X' };
    await register(t.app, withX);
    const dup = await t.app.inject({
      method: 'POST',
      url: '/v1/customers',
      payload: { ...personFor(43), national_id: ' 11010519491231002x ' },
    });
    assert.equal(dup.statusCode, 409);
    assert.equal(dup.json().error.code, 'NATIONAL_ID_TAKEN');
  });

  test('login refuses wrong types, mixed and missing fields, huge strings', async () => {
    const post = (name: string, body: unknown, status = 400, code = 'VALIDATION_FAILED'): Case => ({
      name,
      method: 'POST',
      url: '/v1/auth/login',
      body,
      status,
      code,
    });
    await run([
      post('no password', { phone: existing.phone }),
      post('password as a number', { phone: existing.phone, password: 12345678 }),
      post('phone and username', { phone: existing.phone, username: 'ops', password: 'x' }),
      post('huge password', { phone: existing.phone, password: huge }),
      post('empty', {}),
      post('malformed JSON', '{', 400, 'MALFORMED_JSON'),
      post('unparseable phone', { phone: 'not a phone', password: 'whatever' }, 401, 'INVALID_CREDENTIALS'),
    ]);
  });

  test('customer reads and the bank card refuse bad ids and bad cards', async () => {
    const auth = bearer(customer);
    await run([
      {
        name: 'id not digits',
        method: 'GET',
        url: '/v1/customers/abc',
        headers: bearer(ops),
        status: 400,
        code: 'VALIDATION_FAILED',
      },
      {
        name: 'id of 20 digits',
        method: 'GET',
        url: `/v1/customers/${'9'.repeat(20)}`,
        headers: bearer(ops),
        status: 400,
        code: 'VALIDATION_FAILED',
      },
      {
        name: 'id beyond bigint',
        method: 'GET',
        url: `/v1/customers/${'9'.repeat(19)}`,
        headers: bearer(ops),
        status: 404,
        code: 'NOT_FOUND',
      },
      {
        name: 'negative id',
        method: 'GET',
        url: '/v1/customers/-1',
        headers: bearer(ops),
        status: 400,
        code: 'VALIDATION_FAILED',
      },
      {
        name: 'card too short',
        method: 'PUT',
        url: '/v1/customers/me/bank-card',
        headers: auth,
        body: { bank_card: '1234' },
        status: 422,
        code: 'INVALID_BANK_CARD',
      },
      {
        name: 'card as a number',
        method: 'PUT',
        url: '/v1/customers/me/bank-card',
        headers: auth,
        body: { bank_card: 6222020200112233 },
        status: 400,
        code: 'VALIDATION_FAILED',
      },
      {
        name: 'card huge',
        method: 'PUT',
        url: '/v1/customers/me/bank-card',
        headers: auth,
        body: { bank_card: huge },
        status: 400,
        code: 'VALIDATION_FAILED',
      },
      {
        name: 'card without a customer',
        method: 'PUT',
        url: '/v1/customers/me/bank-card',
        body: { bank_card: '6222020200112233' },
        status: 401,
        code: 'UNAUTHORIZED',
      },
      {
        name: 'card by staff',
        method: 'PUT',
        url: '/v1/customers/me/bank-card',
        headers: bearer(ops),
        body: { bank_card: '6222020200112233' },
        status: 403,
        code: 'FORBIDDEN',
      },
    ]);
    const before = (await t.app.inject({ url: '/v1/customers/me', headers: auth })).json();
    assert.equal(before.bank_card, `**** **** **** ${existing.bank_card!.slice(-4)}`);
    const ok = await t.app.inject({
      method: 'PUT',
      url: '/v1/customers/me/bank-card',
      headers: auth,
      payload: { bank_card: '6222 0202 0011 9876' },
    });
    assert.equal(ok.statusCode, 200, ok.body);
    assert.equal(ok.json().bank_card, '**** **** **** 9876');
    assert.equal(
      (await t.app.inject({ url: '/v1/customers/me', headers: auth })).json().bank_card,
      '**** **** **** 9876',
    );
  });

  test('staff and merchant creation refuse bad roles, names and types', async () => {
    const auth = bearer(ops);
    const staff = (name: string, body: unknown, status = 400, code = 'VALIDATION_FAILED'): Case => ({
      name,
      method: 'POST',
      url: '/v1/staff',
      headers: auth,
      body,
      status,
      code,
    });
    await run([
      staff('role customer', { username: 'abc', password: 'password1', role: 'customer' }),
      staff('role missing', { username: 'abc', password: 'password1' }),
      staff('short password', { username: 'abc', password: 'pw', role: 'ops' }),
      staff(
        'username with spaces',
        { username: 'a b c', password: 'password1', role: 'ops' },
        422,
        'INVALID_USERNAME',
      ),
      staff('username taken', { username: 'ops', password: 'password1', role: 'ops' }, 409, 'USERNAME_TAKEN'),
      staff('username huge', { username: huge, password: 'password1', role: 'ops' }),
      {
        name: 'merchant name empty',
        method: 'POST',
        url: '/v1/merchants',
        headers: auth,
        body: { name: '' },
        status: 400,
        code: 'VALIDATION_FAILED',
      },
      {
        name: 'merchant name blank',
        method: 'POST',
        url: '/v1/merchants',
        headers: auth,
        body: { name: '   ' },
        status: 422,
        code: 'INVALID_NAME',
      },
      {
        name: 'merchant name number',
        method: 'POST',
        url: '/v1/merchants',
        headers: auth,
        body: { name: 5 },
        status: 400,
        code: 'VALIDATION_FAILED',
      },
      {
        name: 'merchant name control',
        method: 'POST',
        url: '/v1/merchants',
        headers: auth,
        body: { name: 'a\nb' },
        status: 400,
        code: 'VALIDATION_FAILED',
      },
      {
        name: 'merchant name huge',
        method: 'POST',
        url: '/v1/merchants',
        headers: auth,
        body: { name: huge },
        status: 400,
        code: 'VALIDATION_FAILED',
      },
      {
        name: 'merchant extra field',
        method: 'POST',
        url: '/v1/merchants',
        headers: auth,
        body: { name: 'a', api_key_hash: 'x' },
        status: 400,
        code: 'VALIDATION_FAILED',
      },
      {
        name: 'merchant id beyond bigint',
        method: 'GET',
        url: `/v1/merchants/${'9'.repeat(19)}`,
        headers: auth,
        status: 404,
        code: 'NOT_FOUND',
      },
      {
        name: 'merchant unknown',
        method: 'GET',
        url: '/v1/merchants/12345',
        headers: auth,
        status: 404,
        code: 'NOT_FOUND',
      },
    ]);
  });

  test('goods creation and the catalogue refuse bad prices, skus, ids and pages', async () => {
    const headers = { 'x-api-key': merchantKey };
    const goods = (name: string, body: unknown, status = 400, code = 'VALIDATION_FAILED'): Case => ({
      name,
      method: 'POST',
      url: `/v1/merchants/${merchantId}/goods`,
      headers,
      body,
      status,
      code,
    });
    const item = { sku: 'BAD-1', name: 'Bad', price: '10.00' };
    const get = (name: string, url: string, status = 400, code = 'VALIDATION_FAILED'): Case => ({
      name,
      method: 'GET',
      url,
      status,
      code,
    });
    await run([
      goods('price as a number', { ...item, price: 10 }),
      goods('price negative', { ...item, price: '-1.00' }),
      // the one money rule of every amount (api/money-input.ts): as on loans and repayments
      goods('price with three decimals', { ...item, price: '1.234' }, 422, 'INVALID_AMOUNT'),
      goods('price in exponent form', { ...item, price: '1e5' }),
      goods('price huge', { ...item, price: '9'.repeat(40) }),
      goods('price zero', { ...item, price: '0.00' }, 422, 'INVALID_PRICE'),
      goods('price over the bound', { ...item, price: '999999999999.99' }, 422, 'INVALID_PRICE'),
      goods('sku missing', { name: 'x', price: '1.00' }),
      goods('sku huge', { ...item, sku: huge }),
      goods('sku blank', { ...item, sku: '  ' }, 422, 'INVALID_GOODS'),
      goods('sku taken', { sku: 'PHONE-15', name: 'again', price: '1.00' }, 409, 'SKU_TAKEN'),
      goods('malformed JSON', '{"sku":', 400, 'MALFORMED_JSON'),
      goods('oversized body', { ...item, name: 'x'.repeat(BODY_LIMIT_BYTES) }, 413, 'BODY_TOO_LARGE'),
      {
        name: 'goods for an unknown merchant (ops)',
        method: 'POST',
        url: '/v1/merchants/12345/goods',
        headers: bearer(ops),
        body: item,
        status: 404,
        code: 'NOT_FOUND',
      },
      {
        name: 'goods for a merchant id beyond bigint (ops)',
        method: 'POST',
        url: `/v1/merchants/${'9'.repeat(19)}/goods`,
        headers: bearer(ops),
        body: item,
        status: 404,
        code: 'NOT_FOUND',
      },
      get('limit zero', '/v1/goods?limit=0'),
      get('limit above the bound', '/v1/goods?limit=1000'),
      get('limit not a number', '/v1/goods?limit=ten'),
      get('cursor not an id', '/v1/goods?cursor=abc'),
      get('merchant_id not an id', '/v1/goods?merchant_id=1%3B%20drop%20table%20goods'),
      get('unknown parameter', '/v1/goods?sort=price'),
      get('goods id not digits', '/v1/goods/abc'),
      get('goods id beyond bigint', `/v1/goods/${'9'.repeat(19)}`, 404, 'NOT_FOUND'),
      get('goods unknown', '/v1/goods/1', 404, 'NOT_FOUND'),
    ]);
    const beyond = await t.app.inject({ url: `/v1/goods?merchant_id=${'9'.repeat(19)}` });
    assert.equal(beyond.statusCode, 200);
    assert.deepEqual(beyond.json(), { items: [], next_cursor: null });
  });
});

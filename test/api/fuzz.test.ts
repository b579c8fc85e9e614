/**
 * A property-based guard over the whole API: every route the app's own OpenAPI document lists is
 * sent requests of every shape (valid-looking and garbage params, queries, bodies, headers, by
 * every kind of caller), and no answer may be a 500, every refusal has the one error shape with an
 * UPPER_SNAKE code, and every answer carries x-request-id. A new route is covered by being
 * registered. Replay a failure with FUZZ_SEED=<seed> (printed with the failure); FUZZ_RUNS sets
 * the runs per route.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import pino from 'pino';
import { signAccessToken } from '../../src/api/auth.ts';
import { type Api, buildApi } from '../../src/api/server.ts';
import { loadConfig } from '../../src/config.ts';
import { openPlatform, type Platform } from '../../src/platform.ts';
import { DEFAULT_BUDGETS } from '../../src/risk/service/decide.ts';
import { ensureDefaultProducts } from '../../src/store/products.ts';
import { type DemoCredentials, seedDemo } from '../../src/store/seed.ts';
import { type PostgresServer, startPostgres } from '../harness/postgres.ts';
import { tempDir } from '../harness/process.ts';
import { type RedisServer, startRedis } from '../harness/redis.ts';
import {
  type Caller,
  type FuzzRequest,
  type KnownIds,
  type Operation,
  operationsOf,
  requestFor,
} from './generators.ts';

/** Requests per route: ~40 routes at this count take about 15 s on 2 cores. */
export const RUNS_PER_ROUTE = Number(process.env.FUZZ_RUNS ?? 120);
/** Refused money-moving requests sent in the "changes nothing" burst. */
export const REFUSED_BURST_RUNS = Number(process.env.FUZZ_BURST_RUNS ?? 150);
const SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const TOKEN_TTL_S = 3600;
const ERROR_CODE = /^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$/;
/** Documented 503s: admission control, the queue, the key check, the shielded database. */
const RETRYABLE_503_CODES = new Set([
  'OVERLOADED',
  'QUEUE_UNAVAILABLE',
  'AUTH_UNAVAILABLE',
  'DATABASE_UNAVAILABLE',
  'ORDER_STATUS_UNKNOWN',
]);
/** Routes outside the OpenAPI document (hidden there) that answer anyone. */
const HIDDEN_OPERATIONS: Operation[] = [
  { method: 'get', path: '/openapi.json', pathParams: [], query: {}, body: undefined },
  { method: 'get', path: '/metrics', pathParams: [], query: {}, body: undefined },
  { method: 'post', path: '/v1/{x}', pathParams: ['x'], query: {}, body: undefined },
];

interface Answer {
  status: number;
  headers: Record<string, string | string[] | number | undefined>;
  body: string;
}

/** What makes an answer acceptable under the project rule; a string says what is wrong. */
export function problemWith(answer: Answer): string | undefined {
  if (!answer.headers['x-request-id']) return 'no x-request-id header';
  const { status } = answer;
  if (status < 400) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(answer.body);
  } catch {
    return `a ${status} whose body is not JSON`;
  }
  const error = (parsed as { error?: { code?: unknown; message?: unknown; details?: unknown } }).error;
  if (!error || typeof error !== 'object') return `a ${status} without the error shape`;
  if (typeof error.code !== 'string' || !ERROR_CODE.test(error.code))
    return `a ${status} whose code is not UPPER_SNAKE: ${String(error.code)}`;
  if (typeof error.message !== 'string') return `a ${status} without a message`;
  if (!error.details || typeof error.details !== 'object' || Array.isArray(error.details))
    return `a ${status} whose details is not an object`;
  if (status === 503) {
    if (!RETRYABLE_503_CODES.has(error.code)) return `an undocumented 503 ${error.code}`;
    if (!answer.headers['retry-after']) return 'a 503 without Retry-After';
    return undefined;
  }
  if (status >= 500) return `a ${status} ${error.code}`;
  return undefined;
}

describe('every route of the API, fuzzed: no 500, one error shape, a request id', () => {
  let pg: PostgresServer;
  let redis: RedisServer;
  let platform: Platform;
  let app: Api;
  let demo: DemoCredentials;
  let known: KnownIds;
  let callers: Caller[];
  /** Errors the API logged, by request id: shown with a failing request. */
  const logged = new Map<string, string>();

  const send = async (req: FuzzRequest): Promise<Answer> => {
    const res = await app.inject({
      method: req.method as 'GET',
      url: req.url,
      headers: req.headers,
      payload: req.payload,
      remoteAddress: req.remoteAddress,
    });
    return { status: res.statusCode, headers: res.headers, body: res.body };
  };

  const token = (role: 'customer' | 'merchant' | 'risk' | 'ops' | 'admin', id: bigint, ttlS = TOKEN_TTL_S) =>
    signAccessToken(platform.config.tokenSecret, { role, id }, ttlS);

  /** Sends one request; throws with everything needed to understand it when the answer is wrong. */
  const check = async (req: FuzzRequest): Promise<Answer> => {
    const answer = await send(req);
    const problem = problemWith(answer);
    if (problem) {
      const id = String(answer.headers['x-request-id'] ?? '');
      throw new Error(
        `${problem}\n  ${req.method} ${req.url}\n  headers ${JSON.stringify(req.headers)}\n  body ${JSON.stringify(
          req.payload?.slice(0, 500),
        )}\n  answer ${answer.body.slice(0, 500)}\n  logged ${logged.get(id) ?? '-'}\n  replay with FUZZ_SEED=${SEED}`,
      );
    }
    return answer;
  };

  before(async () => {
    [pg, redis] = await Promise.all([startPostgres(), startRedis()]);
    const config = loadConfig({
      ...pg.env(),
      ...redis.env(),
      FENQI_DATA_DIR: tempDir('api-fuzz'),
      LOG_LEVEL: 'error',
    });
    const logger = pino(
      { level: 'error' },
      {
        write(line: string) {
          const entry = JSON.parse(line) as { reqId?: string; err?: { stack?: string }; msg?: string };
          if (entry.reqId && entry.err) logged.set(entry.reqId, entry.err.stack ?? line);
        },
      },
    );
    platform = await openPlatform(config, logger);
    const seeded = await seedDemo(platform.db.sql, platform.services.crypto);
    assert.ok(seeded, 'a fresh database is seeded');
    demo = seeded;
    await ensureDefaultProducts(platform.db.sql);
    app = await buildApi(platform);
    await app.ready();

    const customer = demo.customer.id;
    const customerToken = token('customer', customer);
    // A settled order and a cash loan, so order and loan ids exist for the routes that read them.
    const goodsProduct = demo.products.find((p) => p.code === 'GOODS-0DOWN')!.id;
    const cashProduct = demo.products.find((p) => p.code === 'CASH-STD')!.id;
    const order = await app.inject({
      method: 'POST',
      url: '/v1/orders',
      headers: { authorization: `Bearer ${customerToken}`, 'idempotency-key': 'fuzz-setup-order' },
      payload: { goods_id: demo.goodsIds[2]!.toString(), product_id: goodsProduct.toString(), tenor: 6 },
    });
    assert.equal(order.statusCode, 201, order.body);
    const loan = await app.inject({
      method: 'POST',
      url: '/v1/loans',
      headers: { authorization: `Bearer ${customerToken}`, 'idempotency-key': 'fuzz-setup-loan' },
      payload: { product_id: cashProduct.toString(), amount: '1000.00', tenor: 6 },
    });
    assert.ok([201, 202, 422].includes(loan.statusCode), loan.body);

    // A credit decision (refer, approve or decline), so the decision and review routes find one.
    const application = await app.inject({
      method: 'POST',
      url: '/v1/credit-applications',
      headers: { authorization: `Bearer ${customerToken}` },
      payload: { stated_income: '20000.00', purpose: 'goods', device_id: 'fuzz-setup-device' },
    });
    assert.equal(application.statusCode, 200, application.body);

    const ids = async (table: string) =>
      (await platform.db.sql<{ id: bigint }[]>`select id from ${platform.db.sql(table)} order by id`).map(
        (r) => r.id.toString(),
      );
    const outside = ['0', '1', '9223372036854775807', '9999999999999999999'];
    known = {
      customers: [...(await ids('customers')), ...outside],
      merchants: [...demo.merchantIds.map(String), ...outside],
      goods: [...demo.goodsIds.map(String), ...outside],
      products: [...demo.products.map((p) => p.id.toString()), ...outside],
      loans: [...(await ids('loans')), ...outside],
      orders: [...(await ids('orders')), ...outside],
      decisions: [...(await ids('credit_decisions')), ...outside],
    };

    const bearer = (t: string) => ({ authorization: `Bearer ${t}` });
    callers = [
      { name: 'anonymous', headers: {} },
      { name: 'customer', headers: bearer(customerToken) },
      { name: 'customer', headers: bearer(customerToken) },
      { name: 'ops', headers: bearer(token('ops', demo.staff.ops.id)) },
      { name: 'risk', headers: bearer(token('risk', demo.staff.risk.id)) },
      { name: 'admin', headers: bearer(token('admin', demo.staff.admin.id)) },
      { name: 'merchant key', headers: { 'x-api-key': demo.merchant.apiKey } },
      { name: 'merchant token', headers: bearer(token('merchant', demo.merchant.id)) },
      { name: 'customer who does not exist', headers: bearer(token('customer', 987_654_321n)) },
      {
        name: 'customer at the bigint bound',
        headers: bearer(token('customer', 9_223_372_036_854_775_807n)),
      },
      { name: 'ops who does not exist', headers: bearer(token('ops', 987_654_321n)) },
      { name: 'expired token', headers: bearer(token('ops', demo.staff.ops.id, -10)) },
      { name: 'forged token', headers: bearer(`${customerToken.split('.')[0]}.AAAA`) },
      { name: 'garbage bearer', headers: { authorization: 'Bearer x.y.z' } },
      { name: 'basic auth', headers: { authorization: 'Basic b3BzOm9wcw==' } },
      { name: 'huge bearer', headers: { authorization: `Bearer ${'a'.repeat(4_000)}` } },
      { name: 'unknown key', headers: { 'x-api-key': `fq_${'A'.repeat(43)}` } },
      { name: 'long key', headers: { 'x-api-key': `fq_${'A'.repeat(500)}` } },
    ];
  });

  after(async () => {
    await app?.close();
    await platform?.close();
    await Promise.allSettled([pg?.destroy(), redis?.destroy()]);
  });

  test('the OpenAPI document lists the routes of every area', () => {
    const ops = operationsOf(app.swagger() as never);
    const listed = new Set(ops.map((o) => `${o.method.toUpperCase()} ${o.path}`));
    for (const route of [
      'GET /health',
      'POST /v1/auth/login',
      'POST /v1/customers',
      'GET /v1/goods/{id}',
      'POST /v1/products',
      'POST /v1/quotes',
      'PUT /v1/customers/{id}/credit-line',
      'POST /v1/orders',
      'POST /v1/loans',
      'POST /v1/loans/{id}/repayments',
      'POST /v1/reviews/{id}/decision',
    ]) {
      assert.ok(listed.has(route), `${route} is in /openapi.json`);
    }
  });

  test("a URL the router cannot read gets the error shape and a request id, not the framework's answer", async () => {
    // Found by this fuzzer: Fastify answered these in its own shape, before any hook set x-request-id.
    for (const [url, status, code] of [
      ['/v1/customers/%zz', 400, 'MALFORMED_URL'],
      ['/v1/goods/%E0%A4%A', 400, 'MALFORMED_URL'],
      [`/v1/loans/${'1'.repeat(200)}`, 414, 'URL_TOO_LONG'],
    ] as const) {
      const answer = await check({
        method: 'GET',
        url,
        headers: {},
        payload: undefined,
        remoteAddress: '127.0.0.1',
      });
      assert.equal(answer.status, status, `${url}: ${answer.body}`);
      assert.equal(JSON.parse(answer.body).error.code, code);
    }
  });

  test('a credit application for a customer who does not exist is a 404 even when the identity read is over its budget', async () => {
    // Found by this fuzzer: a slow identity read skipped the existence check, and the decision's
    // insert then failed on its foreign key: a 500.
    platform.services.risk.configure({ budgets: { identityMs: 0 } });
    try {
      for (const id of [987_654_321n, 9_223_372_036_854_775_807n]) {
        const answer = await check({
          method: 'POST',
          url: '/v1/credit-applications',
          headers: { authorization: `Bearer ${token('customer', id)}`, 'content-type': 'application/json' },
          payload: JSON.stringify({ stated_income: '476', purpose: 'goods', device_id: 'constructor' }),
          remoteAddress: '127.0.0.1',
        });
        assert.equal(answer.status, 404, answer.body);
        assert.equal(JSON.parse(answer.body).error.code, 'NOT_FOUND');
      }
    } finally {
      platform.services.risk.configure({ budgets: DEFAULT_BUDGETS });
    }
  });

  test('a burst of refused money-moving requests changes no row of any table', async (t) => {
    const sql = platform.db.sql;
    // A customer with no credit line and no bank card: every order and cash loan of theirs is refused.
    const [poor] = await sql<{ id: bigint }[]>`
      insert into customers (phone_enc, phone_bidx, national_id_enc, national_id_bidx, legal_name_enc, password_hash)
      values ('\\x00', decode(md5('fuzz-poor-phone'), 'hex'), '\\x00', decode(md5('fuzz-poor-id'), 'hex'),
        '\\x00', 'x')
      returning id`;
    const refusedCallers: Caller[] = [
      // Not the demo customer (who can borrow) nor ops (who may repay any loan).
      ...callers.filter((c) => c.name !== 'customer' && !c.name.startsWith('ops')),
      {
        name: 'customer without credit',
        headers: { authorization: `Bearer ${token('customer', poor!.id)}` },
      },
    ];
    const moneyOps = operationsOf(app.swagger() as never).filter((o) =>
      ['POST /v1/orders', 'POST /v1/loans', 'POST /v1/loans/{id}/repayments'].includes(
        `${o.method.toUpperCase()} ${o.path}`,
      ),
    );
    assert.equal(moneyOps.length, 3);

    const tables = (
      await sql<{ name: string }[]>`
        select table_name as name from information_schema.tables
        where table_schema = 'public' and table_type = 'BASE TABLE' order by table_name`
    ).map((r) => r.name);
    const snapshot = async () => {
      const counts: Record<string, number> = {};
      for (const table of tables) {
        const [row] = await sql<{ n: number }[]>`select count(*)::int as n from ${sql(table)}`;
        counts[table] = row!.n;
      }
      const [line] = await sql<
        { used: bigint }[]
      >`select coalesce(sum(used_minor), 0)::bigint as used from credit_lines`;
      return { counts, usedMinor: line!.used };
    };
    const keysBefore = new Set(
      (await sql<{ k: string }[]>`select scope || ' ' || key as k from idempotency_keys`).map((r) => r.k),
    );
    const before = await snapshot();

    // Business refusals by the demo customer, past every check of shape: each is a 4xx too.
    const customerToken = token('customer', demo.customer.id);
    const cashProduct = demo.products.find((p) => p.code === 'CASH-STD')!.id.toString();
    const goodsProduct = demo.products.find((p) => p.code === 'GOODS-0DOWN')!.id.toString();
    const asCustomer = { authorization: `Bearer ${customerToken}`, 'content-type': 'application/json' };
    const handMade: FuzzRequest[] = [
      ['/v1/orders?mode=sync', { goods_id: demo.goodsIds[0]!.toString(), product_id: cashProduct, tenor: 6 }],
      [
        '/v1/orders?mode=sync',
        { goods_id: demo.goodsIds[0]!.toString(), product_id: goodsProduct, tenor: 7 },
      ],
      ['/v1/orders?mode=sync', { goods_id: '9223372036854775807', product_id: goodsProduct, tenor: 6 }],
      ['/v1/loans', { product_id: goodsProduct, amount: '1000.00', tenor: 6 }],
      ['/v1/loans', { product_id: cashProduct, amount: '1000.001', tenor: 6 }],
      ['/v1/loans', { product_id: cashProduct, amount: '99999999999999', tenor: 6 }],
      [`/v1/loans/${known.loans[0]}/repayments?overpayment=refuse`, { amount: '99999999999999.99' }],
      [`/v1/loans/${known.loans[0]}/repayments`, { amount: '0.00' }],
    ].map(([url, body], i) => ({
      method: 'POST',
      url: url as string,
      headers: { ...asCustomer, 'idempotency-key': `fuzz-refused-${SEED}-${i}` },
      payload: JSON.stringify(body),
      remoteAddress: '127.0.0.1',
    }));
    for (const req of handMade) {
      const answer = await check(req);
      assert.ok(answer.status >= 400 && answer.status < 500, `${req.url} is refused: ${answer.body}`);
    }

    let sent = handMade.length;
    for (const op of moneyOps) {
      await fc.assert(
        fc.asyncProperty(requestFor(op, known, refusedCallers), async (req) => {
          const answer = await check(req);
          sent += 1;
          // A documented 503 (admission control) is a refusal too; check() has vetted its shape.
          if (answer.status < 400 || (answer.status >= 500 && answer.status !== 503))
            throw new Error(`not refused: ${answer.status} ${req.method} ${req.url} ${answer.body}`);
        }),
        { numRuns: REFUSED_BURST_RUNS, seed: SEED, endOnFailure: true, includeErrorInReport: true },
      );
    }

    const after = await snapshot();
    // A refusal that got as far as its Idempotency-Key is stored with it, so a retry is refused the
    // same way (docs/api.md, Idempotency); such rows are the only change allowed, and only refusals.
    const newKeys = (
      await sql<{ k: string; status: number | null }[]>`
        select scope || ' ' || key as k, status_code as status from idempotency_keys`
    ).filter((r) => !keysBefore.has(r.k));
    for (const row of newKeys) {
      assert.ok(
        row.status !== null && row.status >= 400 && row.status < 500,
        `${row.k} stored ${row.status}`,
      );
    }
    after.counts.idempotency_keys! -= newKeys.length;
    assert.deepEqual(after, before);
    t.diagnostic(
      `${sent} refused requests, ${tables.length} tables unchanged, ${newKeys.length} stored refusals`,
    );
  });

  test('no request of any shape to any route gets a 500 or a refusal without the error shape', async (t) => {
    const ops = [...operationsOf(app.swagger() as never), ...HIDDEN_OPERATIONS];
    t.diagnostic(`${ops.length} routes, ${RUNS_PER_ROUTE} runs each, FUZZ_SEED=${SEED}`);
    const statuses = new Map<string, Map<number, number>>();
    for (const op of ops) {
      const name = `${op.method.toUpperCase()} ${op.path}`;
      const seen = new Map<number, number>();
      statuses.set(name, seen);
      await fc.assert(
        fc.asyncProperty(requestFor(op, known, callers), async (req) => {
          const answer = await check(req);
          seen.set(answer.status, (seen.get(answer.status) ?? 0) + 1);
        }),
        { numRuns: RUNS_PER_ROUTE, seed: SEED, endOnFailure: true, includeErrorInReport: true },
      );
    }
    for (const [name, seen] of statuses) {
      t.diagnostic(`${name}: ${[...seen].map(([s, n]) => `${s}×${n}`).join(' ')}`);
    }
  });
});

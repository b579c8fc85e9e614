/** Shared wiring for the product and quote tests: the API on real PostgreSQL and Redis, staff tokens. */
import assert from 'node:assert/strict';
import type { InjectOptions } from 'fastify';
import { type Role, signAccessToken } from '../../src/api/auth.ts';
import type { Api } from '../../src/api/server.ts';
import { buildApi } from '../../src/api/server.ts';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import { openPlatform, type Platform } from '../../src/platform.ts';
import { type PostgresServer, startPostgres } from '../harness/postgres.ts';
import { tempDir } from '../harness/process.ts';
import { type RedisServer, startRedis } from '../harness/redis.ts';

export interface ProductsApi {
  platform: Platform;
  app: Api;
  /** Authorization header of a principal with this role. */
  as(role: Role): Record<string, string>;
  close(): Promise<void>;
}

export async function openProductsApi(name: string): Promise<ProductsApi> {
  let pg: PostgresServer | undefined;
  let redis: RedisServer | undefined;
  try {
    [pg, redis] = await Promise.all([startPostgres(), startRedis()]);
    await pg.createDatabase(name);
    const config = loadConfig({
      ...pg.env(name),
      ...redis.env(),
      FENQI_DATA_DIR: tempDir(name),
      LOG_LEVEL: 'silent',
    });
    const platform = await openPlatform(config, createLogger('silent'));
    const app = await buildApi(platform);
    // Staff changes are audited under their author, who must exist: one staff user per role.
    const staffIds = new Map<Role, bigint>();
    for (const role of ['risk', 'ops'] as const) {
      const [row] = await platform.db.sql<{ id: bigint }[]>`
        insert into staff (username, role, password_hash) values (${`products-${role}`}, ${role}, 'x') returning id`;
      staffIds.set(role, row!.id);
    }
    return {
      platform,
      app,
      as: (role) => ({
        authorization: `Bearer ${signAccessToken(config.tokenSecret, { role, id: staffIds.get(role) ?? 1n }, 600)}`,
      }),
      async close() {
        await app.close();
        await platform.close();
        await Promise.allSettled([pg?.destroy(), redis?.destroy()]);
      },
    };
  } catch (err) {
    await Promise.allSettled([pg?.destroy(), redis?.destroy()]);
    throw err;
  }
}

/** Every row of loan_products as text, to prove a refused request changed nothing. */
export async function productsFingerprint(platform: Platform): Promise<string> {
  const rows = await platform.db.sql`select * from loan_products order by id`;
  return JSON.stringify(rows, (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
}

export interface ErrorBody {
  error: { code: string; message: string; details: Record<string, unknown> };
}

/** Asserts a response is the API's error shape with this status and code; returns the error. */
export function assertError(
  res: { statusCode: number; body: string; json(): unknown },
  status: number,
  code: string,
): ErrorBody['error'] {
  assert.equal(res.statusCode, status, res.body);
  const body = res.json() as ErrorBody;
  assert.equal(body.error.code, code, res.body);
  assert.equal(typeof body.error.message, 'string');
  return body.error;
}

/** A product a staff member would create: valid, quotable, with every kind of field set. */
export function productBody(code: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    code,
    name: `Product ${code}`,
    kind: 'cash',
    currency: { code: 'CNY', decimals: 2 },
    tenors: [3, 6, 12],
    rate: '18',
    rate_per: 'year',
    method: 'annuity',
    every: 1,
    unit: 'month',
    basis: '30/360',
    rounding: 'half-up',
    multiple: 1,
    down_payment_percent: '0',
    fees: {
      upfront: { amount: '0.00', percent: '0', mode: 'deducted' },
      installment: { amount: '0', percent: '0' },
    },
    grace_days: 3,
    late_fee: { amount: '10.00', percent_per_day: '0.05', cap: '200.00' },
    allocation_order: ['penalty', 'fee', 'interest', 'principal'],
    apr_cap_percent: '24',
    min_principal: '100.00',
    max_principal: '50000.00',
    active: true,
    ...overrides,
  };
}

/** Sends a request that must be refused with this status and code, and proves loan_products is unchanged. */
export async function refusedUnchanged(
  t: ProductsApi,
  request: InjectOptions,
  status: number,
  code: string,
): Promise<ErrorBody['error']> {
  const before = await productsFingerprint(t.platform);
  const error = assertError(await t.app.inject(request), status, code);
  assert.equal(await productsFingerprint(t.platform), before, 'a refused request changed loan_products');
  return error;
}

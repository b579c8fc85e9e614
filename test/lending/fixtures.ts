/**
 * One real PostgreSQL and one API per test file, with helpers that create customers, merchants
 * and goods by direct SQL (placeholder bytes in the encrypted columns) and sign tokens.
 */
import type { AddressInfo } from 'node:net';
import { signAccessToken } from '../../src/api/auth.ts';
import { type Api, buildApi } from '../../src/api/server.ts';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/logger.ts';
import { openPlatform, type Platform } from '../../src/platform.ts';
import { ensureDefaultProducts } from '../../src/store/products.ts';
import { type PostgresServer, startPostgres } from '../harness/postgres.ts';
import { tempDir } from '../harness/process.ts';

export interface Lab {
  pg: PostgresServer;
  platform: Platform;
  app: Api;
  baseUrl: string;
  cashProductId: bigint;
  goodsProductId: bigint;
  token(role: 'customer' | 'risk' | 'ops' | 'merchant', id: bigint): string;
  close(): Promise<void>;
}

export async function startLab(poolMax = 20, env: Record<string, string> = {}): Promise<Lab> {
  const pg = await startPostgres();
  const config = loadConfig({
    ...env,
    ...pg.env(),
    DATABASE_POOL_MAX: String(poolMax),
    FENQI_DATA_DIR: tempDir('lending'),
    LOG_LEVEL: 'silent',
  });
  const platform = await openPlatform(config, createLogger('silent'));
  const products = await ensureDefaultProducts(platform.db.sql);
  const app = await buildApi(platform);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as AddressInfo;
  return {
    pg,
    platform,
    app,
    baseUrl: `http://127.0.0.1:${port}`,
    cashProductId: products.get('CASH-STD')!,
    goodsProductId: products.get('GOODS-0DOWN')!,
    token: (role, id) => signAccessToken(config.tokenSecret, { role, id }, 3600),
    async close() {
      await app.close();
      await platform.close();
      await pg.destroy();
    },
  };
}

type Sql = Platform['db']['sql'];

export async function createCustomer(sql: Sql, limitMinor: bigint | null = 1_000_000n): Promise<bigint> {
  const [row] = await sql<{ id: bigint }[]>`
    insert into customers (phone_enc, phone_bidx, national_id_enc, national_id_bidx, legal_name_enc,
      bank_card_enc, password_hash)
    values ('\\x00', decode(md5(random()::text || clock_timestamp()::text), 'hex'), '\\x00',
      decode(md5(random()::text || clock_timestamp()::text), 'hex'), '\\x00', '\\x00', 'x')
    returning id`;
  const id = row!.id;
  if (limitMinor !== null) {
    await sql`insert into credit_lines (customer_id, limit_minor) values (${id}, ${limitMinor})`;
  }
  return id;
}

export async function createGoods(
  sql: Sql,
  priceMinor: bigint,
): Promise<{ merchantId: bigint; goodsId: bigint }> {
  const [m] = await sql<{ id: bigint }[]>`
    insert into merchants (name, api_key_hash) values ('Shop', decode(md5(random()::text || clock_timestamp()::text), 'hex'))
    returning id`;
  const [g] = await sql<{ id: bigint }[]>`
    insert into goods (merchant_id, sku, name, price_minor)
    values (${m!.id}, ${`SKU-${Math.random().toString(36).slice(2)}`}, 'Phone', ${priceMinor}) returning id`;
  return { merchantId: m!.id, goodsId: g!.id };
}

export interface Reply {
  status: number;
  body: any;
  headers: Headers;
}

export async function call(
  lab: Lab,
  method: string,
  path: string,
  options: {
    token?: string;
    body?: unknown;
    key?: string;
    raw?: string;
    headers?: Record<string, string>;
  } = {},
): Promise<Reply> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.key) headers['idempotency-key'] = options.key;
  let body: string | undefined;
  if (options.raw !== undefined) body = options.raw;
  else if (options.body !== undefined) body = JSON.stringify(options.body);
  if (body !== undefined && !headers['content-type']) headers['content-type'] = 'application/json';
  const res = await fetch(`${lab.baseUrl}${path}`, { method, headers, body });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON; keep the text
  }
  return { status: res.status, body: parsed, headers: res.headers };
}

export async function counts(sql: Sql) {
  const [row] = await sql<
    { orders: bigint; loans: bigint; lines: bigint; repayments: bigint; used: bigint }[]
  >`
    select (select count(*) from orders)::bigint as orders, (select count(*) from loans)::bigint as loans,
      (select count(*) from journal_lines)::bigint as lines, (select count(*) from repayments)::bigint as repayments,
      (select coalesce(sum(used_minor), 0) from credit_lines)::bigint as used`;
  return row!;
}

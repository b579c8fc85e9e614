/** The goods merchants sell: a public catalogue, paged by id (keyset, never OFFSET). */
import type { Queryable } from './db.ts';

export const GOODS_PAGE_DEFAULT = 20;
export const GOODS_PAGE_MAX = 100;
export const SKU_MAX_LENGTH = 64;
export const GOODS_NAME_MAX_LENGTH = 200;
/** 10 million yuan: a bound on a price typed into the catalogue, far above any real good. */
export const GOODS_PRICE_MAX_MINOR = 1_000_000_000n;

export interface Goods {
  id: bigint;
  merchantId: bigint;
  sku: string;
  name: string;
  priceMinor: bigint;
  currency: string;
  active: boolean;
  createdAt: Date;
}

interface GoodsRow {
  id: bigint;
  merchant_id: bigint;
  sku: string;
  name: string;
  price_minor: bigint;
  currency: string;
  active: boolean;
  created_at: Date;
}

const toGoods = (row: GoodsRow): Goods => ({
  id: row.id,
  merchantId: row.merchant_id,
  sku: row.sku,
  name: row.name,
  priceMinor: row.price_minor,
  currency: row.currency,
  active: row.active,
  createdAt: row.created_at,
});

export type CreateGoodsResult = { ok: true; goods: Goods } | { ok: false; conflict: 'sku' };

export async function createGoods(
  sql: Queryable,
  merchantId: bigint,
  item: { sku: string; name: string; priceMinor: bigint },
): Promise<CreateGoodsResult> {
  const rows = await sql<GoodsRow[]>`
    insert into goods (merchant_id, sku, name, price_minor)
    values (${merchantId.toString()}::bigint, ${item.sku}, ${item.name}, ${item.priceMinor.toString()}::bigint)
    on conflict (merchant_id, sku) do nothing
    returning id, merchant_id, sku, name, price_minor, currency, active, created_at`;
  const row = rows[0];
  return row ? { ok: true, goods: toGoods(row) } : { ok: false, conflict: 'sku' };
}

/** An active good by id. */
export async function getGoods(sql: Queryable, id: bigint): Promise<Goods | undefined> {
  const [row] = await sql<GoodsRow[]>`
    select id, merchant_id, sku, name, price_minor, currency, active, created_at
    from goods where id = ${id.toString()}::bigint and active`;
  return row && toGoods(row);
}

/** One page of active goods after `afterId`, optionally of one merchant, in id order. */
export async function listGoods(
  sql: Queryable,
  options: { merchantId?: bigint | undefined; afterId?: bigint | undefined; limit: number },
): Promise<Goods[]> {
  const after = (options.afterId ?? 0n).toString();
  const rows = options.merchantId
    ? await sql<GoodsRow[]>`
        select id, merchant_id, sku, name, price_minor, currency, active, created_at from goods
        where merchant_id = ${options.merchantId.toString()}::bigint and id > ${after}::bigint and active
        order by id limit ${options.limit}`
    : await sql<GoodsRow[]>`
        select id, merchant_id, sku, name, price_minor, currency, active, created_at from goods
        where id > ${after}::bigint and active
        order by id limit ${options.limit}`;
  return rows.map(toGoods);
}

/** What the sale-day intake checks of goods: price, and the merchant's standing. */
export interface SaleGoods {
  merchantId: bigint;
  priceMinor: bigint;
  active: boolean;
  merchantStatus: string;
}

export async function getSaleGoods(sql: Queryable, id: bigint): Promise<SaleGoods | undefined> {
  const [row] = await sql<
    { merchant_id: bigint; price_minor: bigint; active: boolean; merchant_status: string }[]
  >`
    select g.merchant_id, g.price_minor, g.active, m.status as merchant_status
    from goods g join merchants m on m.id = g.merchant_id where g.id = ${id}`;
  return row
    ? {
        merchantId: row.merchant_id,
        priceMinor: row.price_minor,
        active: row.active,
        merchantStatus: row.merchant_status,
      }
    : undefined;
}

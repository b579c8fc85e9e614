/**
 * What the sale-day intake knows of an order before it publishes it: goods, product and credit
 * line from process memory, the cache, then the database (cache-aside), so a sale's spike of
 * orders reads PostgreSQL only on a miss. The figures may be seconds old: the intake's check is a
 * cheap pre-check by the one order rule (domain/orders.ts), the settler decides with the line
 * locked.
 */
import type { CacheAside } from '../cache/cache-aside.ts';
import { creditSummaryKey, saleGoodsKey } from '../cache/keys.ts';
import type { OrderFacts } from '../domain/orders.ts';
import { getCreditLine } from '../store/credit-lines.ts';
import type { Sql } from '../store/db.ts';
import { getSaleGoods, type SaleGoods } from '../store/goods.ts';
import { getProduct } from '../store/products.ts';
import type { CreditSummary } from './status.ts';

export const GOODS_CACHE_TTL_MS = 30_000;
/** Goods are also remembered in process this long, so intake survives the cache being down. */
export const GOODS_LOCAL_TTL_MS = 2_000;
/** Goods and products remembered in process at most (then the maps start over). */
export const LOCAL_ENTRIES_MAX = 10_000;

export interface SaleProduct {
  kind: string;
  active: boolean;
  tenors: number[];
}

/** A read that is already answered (fresh in process: no promise made) or on its way. */
export type Read<T> = T | Promise<T>;

export class SaleFacts {
  /** In process for GOODS_LOCAL_TTL_MS, keyed by the id as the body spells it. */
  private readonly localGoods = new Map<string, { atMs: number; goods: SaleGoods | undefined }>();
  private readonly localProducts = new Map<string, { atMs: number; product: SaleProduct | undefined }>();

  constructor(
    private readonly sql: Sql,
    private readonly reads: CacheAside,
  ) {}

  /** Cached goods: in process when fresh (no promise made), else the cache, then the database. */
  goods(goodsId: bigint, spelled: string, nowMs: number): Read<SaleGoods | undefined> {
    const local = this.localGoods.get(spelled);
    if (local && nowMs - local.atMs < GOODS_LOCAL_TTL_MS) return local.goods;
    return this.loadGoods(goodsId, spelled, nowMs);
  }

  private async loadGoods(goodsId: bigint, spelled: string, nowMs: number): Promise<SaleGoods | undefined> {
    const goods = await this.reads.get<SaleGoods>(
      saleGoodsKey(goodsId),
      () => getSaleGoods(this.sql, goodsId),
      GOODS_CACHE_TTL_MS,
    );
    if (this.localGoods.size > LOCAL_ENTRIES_MAX) this.localGoods.clear();
    this.localGoods.set(spelled, { atMs: nowMs, goods });
    return goods;
  }

  product(productId: bigint, spelled: string, nowMs: number): Read<SaleProduct | undefined> {
    const local = this.localProducts.get(spelled);
    if (local && nowMs - local.atMs < GOODS_LOCAL_TTL_MS) return local.product;
    return this.loadProduct(productId, spelled, nowMs);
  }

  private async loadProduct(
    productId: bigint,
    spelled: string,
    nowMs: number,
  ): Promise<SaleProduct | undefined> {
    const stored = await this.reads.direct(`product:${productId}`, () => getProduct(this.sql, productId));
    const product = stored
      ? { kind: stored.product.kind, active: stored.product.active, tenors: [...stored.product.tenors] }
      : undefined;
    if (this.localProducts.size > LOCAL_ENTRIES_MAX) this.localProducts.clear();
    this.localProducts.set(spelled, { atMs: nowMs, product });
    return product;
  }

  credit(customerId: bigint): Promise<CreditSummary | undefined> {
    return this.reads.get<CreditSummary>(creditSummaryKey(customerId), async () => {
      const line = await getCreditLine(this.sql, customerId);
      return line
        ? { limitMinor: line.limitMinor, usedMinor: line.usedMinor, status: line.status }
        : undefined;
    });
  }
}

/**
 * The facts the intake's pre-check judges: the price and the product's kind and tenors against the
 * cached line. Availability (goods, merchant, product active) and the customer's standing are left
 * to the settler, whose figures are not seconds old: a cached "inactive" must not refuse a sale
 * that opens at midnight.
 */
export function intakeFacts(
  tenor: number,
  goods: SaleGoods | undefined,
  product: SaleProduct | undefined,
  line: CreditSummary | undefined,
): OrderFacts {
  return {
    tenor,
    goods: goods ? { priceMinor: goods.priceMinor } : null,
    product: product ? { kind: product.kind, tenors: product.tenors } : null,
    line: line ?? null,
  };
}

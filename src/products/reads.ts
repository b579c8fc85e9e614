/**
 * Product reads shared by the products and quotes routes: cache-aside (TTL, jitter, single-flight);
 * a write drops the product's key and bumps a generation that every cached list page carries in its
 * key, so no list outlives a write for more than a racing read's TTL. One per process (services.ts),
 * so single-flight spans both routes.
 */

import type { Cache } from '../cache/cache.ts';
import { CacheAside } from '../cache/cache-aside.ts';
import { productGenerationKey, productKey, productListKey } from '../cache/keys.ts';
import type { Queryable } from '../store/db.ts';
import { type CatalogRow, getCatalogRow, listCatalogRows } from '../store/product-catalog.ts';

/** Cached product rows and list pages live this long (plus jitter) unless a write drops them first. */
export const PRODUCT_CACHE_TTL_MS = 30_000;
/** The list generation counter outlives every cached page by far; losing it only costs a miss. */
export const PRODUCT_GENERATION_WINDOW_MS = 7 * 24 * 3600 * 1000;

export class ProductReads {
  private readonly reads: CacheAside;

  constructor(
    private readonly sql: Queryable,
    private readonly cache: Cache,
  ) {
    this.reads = new CacheAside(cache, { ttlMs: PRODUCT_CACHE_TTL_MS });
  }

  static key(id: bigint): string {
    return productKey(id);
  }

  async row(id: bigint): Promise<CatalogRow | undefined> {
    return this.reads.get(ProductReads.key(id), () => getCatalogRow(this.sql, id));
  }

  async page(options: Parameters<typeof listCatalogRows>[1]): Promise<CatalogRow[]> {
    // When the cache is down the generation is unknown; CacheAside then loads through its bounded
    // fallback, and whatever it stores under this key is gone within one TTL.
    const generation = await this.cache.get(productGenerationKey()).catch(() => 'unknown');
    const key = productListKey([
      generation ?? '0',
      options.activeOnly ? 'active' : 'all',
      options.kind ?? 'any',
      options.afterId ?? 0n,
      options.limit,
    ]);
    const rows = await this.reads.get(key, () => listCatalogRows(this.sql, options));
    return rows ?? [];
  }

  /** After a committed write: the product's key is dropped and every list page is orphaned. */
  async changed(id: bigint): Promise<void> {
    await Promise.all([
      this.reads.invalidate(ProductReads.key(id)),
      this.cache.incr(productGenerationKey(), PRODUCT_GENERATION_WINDOW_MS).catch(() => 0),
    ]);
  }
}

/**
 * Loan products in the database: a row's `terms` document read back through validateProduct, so
 * code never quotes from a product the domain would refuse. Validation quotes every tenor, so a
 * validated product is remembered per row version.
 */
import { type LoanProduct, validateProduct } from '../domain/index.ts';
import type { Queryable } from './db.ts';

/** Validated products kept in memory; cleared whole when full (products are few). */
export const PRODUCT_CACHE_MAX = 1_000;

export interface ProductRow {
  id: bigint;
  code: string;
  kind: string;
  active: boolean;
  apr_cap_bp: number;
  terms: Record<string, unknown>;
  version: number;
}

export interface StoredProduct {
  id: bigint;
  version: number;
  product: LoanProduct;
}

const cache = new Map<string, LoanProduct>();

/** The domain product a row holds; the columns win over the document where both say something. */
export function productFromRow(row: ProductRow): LoanProduct {
  const key = `${row.id}:${row.version}:${row.active}:${row.apr_cap_bp}:${row.code}:${row.kind}`;
  const known = cache.get(key);
  if (known) return known;
  const product = validateProduct({
    ...row.terms,
    code: row.code,
    kind: row.kind,
    active: row.active,
    aprCapBp: row.apr_cap_bp,
  });
  if (cache.size >= PRODUCT_CACHE_MAX) cache.clear();
  cache.set(key, product);
  return product;
}

/** A LoanProduct as the JSON document kept in `terms` (amounts as strings of minor units). */
export function productTerms(product: LoanProduct): Record<string, unknown> {
  return JSON.parse(JSON.stringify(product, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)));
}

export async function getProduct(sql: Queryable, id: bigint): Promise<StoredProduct | null> {
  const [row] = await sql<ProductRow[]>`
    select id, code, kind, active, apr_cap_bp, terms, version from loan_products where id = ${id}`;
  return row ? { id: row.id, version: row.version, product: productFromRow(row) } : null;
}

/** The products a fresh platform offers: a cash loan and zero-down goods installments. */
export const DEFAULT_PRODUCTS: readonly LoanProduct[] = [
  validateProduct({
    code: 'CASH-STD',
    name: 'Cash installment loan',
    kind: 'cash',
    tenors: [3, 6, 12],
    rateBp: 1800,
    method: 'annuity',
    aprCapBp: 2400,
    minPrincipalMinor: '10000',
    maxPrincipalMinor: '5000000',
    graceDays: 3,
    lateFee: { fixedMinor: '1000', bpPerDay: 5, capMinor: '20000' },
  }),
  validateProduct({
    code: 'GOODS-0DOWN',
    name: 'Zero-down goods installments',
    kind: 'goods',
    tenors: [3, 6, 12, 24],
    rateBp: 1200,
    method: 'annuity',
    aprCapBp: 2400,
    minPrincipalMinor: '10000',
    maxPrincipalMinor: '5000000',
    downPaymentBp: 0,
    graceDays: 3,
    lateFee: { fixedMinor: '500', bpPerDay: 5, capMinor: '10000' },
  }),
];

/** Inserts the default products when missing; their ids by code. Safe to run twice. */
export async function ensureDefaultProducts(sql: Queryable): Promise<Map<string, bigint>> {
  for (const product of DEFAULT_PRODUCTS) {
    await sql`
      insert into loan_products (code, kind, active, apr_cap_bp, terms)
      values (${product.code}, ${product.kind}, ${product.active}, ${product.aprCapBp},
              ${sql.json(productTerms(product) as never)})
      on conflict (code) do nothing`;
  }
  const rows = await sql<{ id: bigint; code: string }[]>`
    select id, code from loan_products where code in ${sql(DEFAULT_PRODUCTS.map((p) => p.code))}`;
  return new Map(rows.map((r) => [r.code, r.id]));
}

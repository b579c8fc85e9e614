/**
 * The product catalogue as staff manage it: keyset-paged listing, full replacement with a version
 * bump, deactivation. Rows are returned whole (columns and `terms`) so the API can cache them as
 * JSON and rebuild the domain product with productFromRow, which is memoised per row version.
 */
import type { LoanProduct } from '../domain/index.ts';
import type { Queryable } from './db.ts';
import { type ProductRow, productTerms } from './products.ts';

export const PRODUCT_PAGE_DEFAULT = 50;
export const PRODUCT_PAGE_MAX = 200;

/** A row as the catalogue shows it: the product columns plus when it last changed. */
export interface CatalogRow extends ProductRow {
  created_at: string;
  updated_at: string;
}

export interface ListProductsOptions {
  kind?: 'cash' | 'goods';
  /** Public callers see only what is offered; staff see everything. */
  activeOnly: boolean;
  afterId?: bigint;
  limit: number;
}

const COLUMNS = 'id, code, kind, active, apr_cap_bp, terms, version, created_at, updated_at';

/** A row as read: its timestamps as Dates. */
type StoredRow = Omit<CatalogRow, 'created_at' | 'updated_at'> & { created_at: Date; updated_at: Date };

/**
 * Timestamps become ISO text so rows survive a JSON round trip through the cache unchanged. They
 * are formatted here, not in SQL: Citus refuses a non-immutable function such as to_char in the
 * RETURNING clause of a write to a reference table.
 */
function catalogRow(row: StoredRow): CatalogRow {
  return { ...row, created_at: row.created_at.toISOString(), updated_at: row.updated_at.toISOString() };
}

export async function getCatalogRow(sql: Queryable, id: bigint): Promise<CatalogRow | undefined> {
  const [row] = await sql<StoredRow[]>`
    select ${sql.unsafe(COLUMNS)} from loan_products where id = ${id}`;
  return row && catalogRow(row);
}

/** One page ordered by id; the next page starts after the last id of this one. */
export async function listCatalogRows(sql: Queryable, options: ListProductsOptions): Promise<CatalogRow[]> {
  const afterId = options.afterId ?? 0n;
  const rows = await sql<StoredRow[]>`
    select ${sql.unsafe(COLUMNS)} from loan_products
    where id > ${afterId}
      ${options.kind === undefined ? sql`` : sql`and kind = ${options.kind}`}
      ${options.activeOnly ? sql`and active` : sql``}
    order by id
    limit ${options.limit}`;
  return rows.map(catalogRow);
}

/** True when an insert or update hit the unique product code. */
export function isProductCodeTaken(err: unknown): boolean {
  const e = err as { code?: unknown; constraint_name?: unknown };
  return e?.code === '23505' && e.constraint_name === 'loan_products_code_key';
}

export async function createCatalogProduct(sql: Queryable, product: LoanProduct): Promise<CatalogRow> {
  const [row] = await sql<StoredRow[]>`
    insert into loan_products (code, kind, active, apr_cap_bp, terms)
    values (${product.code}, ${product.kind}, ${product.active}, ${product.aprCapBp},
            ${sql.json(productTerms(product) as never)})
    returning ${sql.unsafe(COLUMNS)}`;
  if (!row) throw new Error('insert into loan_products returned no row');
  return catalogRow(row);
}

/** Replaces every term of a product; its version goes up by one. Undefined when there is no such id. */
export async function replaceCatalogProduct(
  sql: Queryable,
  id: bigint,
  product: LoanProduct,
): Promise<CatalogRow | undefined> {
  const [row] = await sql<StoredRow[]>`
    update loan_products
    set code = ${product.code}, kind = ${product.kind}, active = ${product.active},
        apr_cap_bp = ${product.aprCapBp}, terms = ${sql.json(productTerms(product) as never)},
        version = version + 1, updated_at = now()
    where id = ${id}
    returning ${sql.unsafe(COLUMNS)}`;
  return row && catalogRow(row);
}

/**
 * Stops offering a product: new quotes and orders are refused, existing loans keep their stored
 * installments. Deactivating twice changes nothing and keeps the version.
 */
export async function deactivateCatalogProduct(sql: Queryable, id: bigint): Promise<CatalogRow | undefined> {
  const [row] = await sql<StoredRow[]>`
    update loan_products
    set active = false, terms = jsonb_set(terms, '{active}', 'false'::jsonb),
        version = version + 1, updated_at = now()
    where id = ${id} and active
    returning ${sql.unsafe(COLUMNS)}`;
  return row ? catalogRow(row) : getCatalogRow(sql, id);
}

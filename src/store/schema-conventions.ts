/**
 * fenqi's house rules for the schema, checked against the catalogue of a migrated PostgreSQL (so
 * they judge what the migrations produced, not how the SQL was spelled): narrow tables, no large
 * fields in hot tables, money as bigint `*_minor`, every foreign key indexed, every table keyed,
 * and (on a database sharded by customer) the distribution column in every customer-owned table's
 * keys. docs/schema-conventions.md explains each; squawk (.squawk.toml) covers locking and unsafe
 * changes. A justified exception is written in SCHEMA_EXCEPTIONS below and nowhere else.
 */
import {
  COORDINATOR_TABLES,
  CUSTOMER_ANCHOR,
  CUSTOMER_COLUMN,
  CUSTOMER_TABLES,
  REFERENCE_TABLES,
  SELF_SHARDED_TABLES,
} from './citus.ts';
import type { Queryable } from './db.ts';

/** A table past this many columns is a design review, not a migration. */
export const SCHEMA_MAX_COLUMNS = 30;
/** The largest bound a variable-length field of a hot table may declare (bytes). */
export const HOT_FIELD_MAX_BYTES = 65_536;

/** Tables a sale-day order, a credit decision, a log-in or a repayment reads or writes per request. */
export const HOT_TABLES = [
  'customers',
  'customer_identities',
  'credit_lines',
  'orders',
  'loans',
  'installments',
  'repayments',
  'disbursements',
  'journal_entries',
  'journal_lines',
  'idempotency_keys',
  'credit_decisions',
] as const;

export type SchemaRule =
  | 'column-count'
  | 'hot-field-bound'
  | 'money-bigint-minor'
  | 'foreign-key-index'
  | 'primary-key'
  | 'distribution-column-in-keys'
  | 'distribution-listed';

export interface SchemaException {
  rule: SchemaRule;
  table: string;
  column?: string;
  why: string;
}

/** The one place a rule is waived, each with its reason. Empty is the goal. */
export const SCHEMA_EXCEPTIONS: readonly SchemaException[] = [];

export interface Violation {
  rule: SchemaRule;
  table: string;
  column?: string;
  /** One readable line: what is wrong and what to do. */
  message: string;
}

export interface CatalogColumn {
  table: string;
  column: string;
  type: string;
}

export interface CatalogConstraint {
  table: string;
  kind: 'p' | 'u' | 'f' | 'c';
  name: string;
  columns: string[];
  definition: string;
}

export interface CatalogIndex {
  table: string;
  name: string;
  columns: string[];
  unique: boolean;
  partial: boolean;
}

export interface Catalog {
  tables: string[];
  columns: CatalogColumn[];
  constraints: CatalogConstraint[];
  indexes: CatalogIndex[];
}

/** The tables, columns, constraints and indexes of `schema` as PostgreSQL holds them. */
export async function readCatalog(sql: Queryable, schema = 'public'): Promise<Catalog> {
  const tables = await sql<{ name: string }[]>`
    select c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = ${schema} and c.relkind in ('r', 'p') and not c.relispartition order by 1`;
  const columns = await sql<CatalogColumn[]>`
    select c.relname as table, a.attname as column, format_type(a.atttypid, a.atttypmod) as type
    from pg_attribute a join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = ${schema} and c.relkind in ('r', 'p') and a.attnum > 0 and not a.attisdropped
    order by c.relname, a.attnum`;
  const constraints = await sql<CatalogConstraint[]>`
    select c.relname as table, k.contype as kind, k.conname as name,
      array(select a.attname from unnest(k.conkey) with ordinality u(n, i)
            join pg_attribute a on a.attrelid = k.conrelid and a.attnum = u.n order by u.i)::text[] as columns,
      pg_get_constraintdef(k.oid) as definition
    from pg_constraint k join pg_class c on c.oid = k.conrelid join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = ${schema} and k.contype in ('p', 'u', 'f', 'c') order by 1, 3`;
  const indexes = await sql<CatalogIndex[]>`
    select c.relname as table, ic.relname as name, i.indisunique as unique, i.indpred is not null as partial,
      array(select coalesce(a.attname, '(expression)') from unnest(i.indkey::int2[]) with ordinality u(n, o)
            left join pg_attribute a on a.attrelid = i.indrelid and a.attnum = u.n
            where u.o <= i.indnkeyatts order by u.o)::text[] as columns
    from pg_index i join pg_class c on c.oid = i.indrelid join pg_class ic on ic.oid = i.indexrelid
    join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = ${schema} order by 1, 2`;
  return { tables: tables.map((t) => t.name), columns, constraints, indexes };
}

export function columnCountViolations(catalog: Catalog, max = SCHEMA_MAX_COLUMNS): Violation[] {
  const counts = new Map<string, number>();
  for (const c of catalog.columns) counts.set(c.table, (counts.get(c.table) ?? 0) + 1);
  return [...counts]
    .filter(([, n]) => n > max)
    .map(([table, n]) => ({
      rule: 'column-count' as const,
      table,
      message: `${table} has ${n} columns, more than ${max}: split it (a side table keyed by the same id)`,
    }));
}

const VARIABLE_TYPES = /^(text|bytea|json|jsonb|character varying|xml)$/;
const LENGTH_CHECK =
  /(octet_length|char_length|length|pg_column_size)\((\w+)(?:::\w+)?\)\s*(<=|<|=)\s*(\d+)/g;
const ENUM_CHECK = /\((\w+) = ANY \(ARRAY\[/g;

/** The bound in bytes a CHECK (or varchar(n)) declares on each column of a table. */
function declaredBounds(catalog: Catalog, table: string): Map<string, number> {
  const bounds = new Map<string, number>();
  for (const k of catalog.constraints) {
    if (k.table !== table || k.kind !== 'c') continue;
    for (const m of k.definition.matchAll(LENGTH_CHECK)) {
      const bytes = Number(m[4]) * (m[1] === 'octet_length' || m[1] === 'pg_column_size' ? 1 : 4);
      bounds.set(m[2]!, Math.min(bounds.get(m[2]!) ?? Number.POSITIVE_INFINITY, bytes));
    }
    // An enumeration (`status in ('a', 'b')`) bounds the field by its longest value: small.
    for (const m of k.definition.matchAll(ENUM_CHECK)) bounds.set(m[1]!, 0);
  }
  return bounds;
}

export function hotFieldViolations(
  catalog: Catalog,
  hot: readonly string[] = HOT_TABLES,
  maxBytes = HOT_FIELD_MAX_BYTES,
): Violation[] {
  const out: Violation[] = [];
  for (const table of hot) {
    const bounds = declaredBounds(catalog, table);
    for (const c of catalog.columns.filter((col) => col.table === table)) {
      const varchar = /^character varying\((\d+)\)$/.exec(c.type);
      if (!VARIABLE_TYPES.test(c.type) && !varchar) continue;
      const bytes = varchar ? Number(varchar[1]) * 4 : bounds.get(c.column);
      if (bytes === undefined || bytes > maxBytes) {
        out.push({
          rule: 'hot-field-bound',
          table,
          column: c.column,
          message:
            `${table}.${c.column} (${c.type}) in hot table ${table} has no length bound of at most ` +
            `${maxBytes} bytes: add CHECK (octet_length(${c.column}) <= n) NOT VALID, or move it to a side table`,
        });
      }
    }
  }
  return out;
}

/** Words that make a column name money (segments of snake_case). */
const MONEY_WORDS = new Set([
  'amount',
  'price',
  'balance',
  'fee',
  'fees',
  'principal',
  'interest',
  'penalty',
  'limit',
  'debit',
  'credit',
  'cost',
  'refund',
  'excess',
  'paid',
  'used',
  'line',
]);
/** A last segment that makes a money-sounding name a count, a rate, a key or a time instead. */
const NOT_MONEY_ENDINGS = new Set([
  'entries',
  'count',
  'bp',
  'bps',
  'id',
  'at',
  'date',
  'days',
  'percent',
  'rate',
]);
const NOT_MONEY_TYPES = /^(text|bytea|boolean|date|jsonb|json|timestamp|character)/;

export function moneyViolations(catalog: Catalog): Violation[] {
  const out: Violation[] = [];
  for (const c of catalog.columns) {
    const segments = c.column.split('_');
    const last = segments[segments.length - 1]!;
    const minor = last === 'minor';
    const sounds = segments.some((s) => MONEY_WORDS.has(s)) && !NOT_MONEY_ENDINGS.has(last);
    const floating = /^(numeric|money|real|double precision)/.test(c.type);
    let problem: string | undefined;
    if (minor && c.type !== 'bigint') problem = `is ${c.type}: money is bigint minor units`;
    else if (floating) problem = `is ${c.type}: money is bigint minor units (fen), rates are basis points`;
    else if (sounds && !minor && !NOT_MONEY_TYPES.test(c.type))
      problem = `looks like money but is not named *_minor: name money columns amount_minor, price_minor...`;
    if (problem) {
      out.push({
        rule: 'money-bigint-minor',
        table: c.table,
        column: c.column,
        message: `${c.table}.${c.column} ${problem}`,
      });
    }
  }
  return out;
}

/** True when the index's leading columns are exactly the key's columns, in any order. */
function covers(index: CatalogIndex, columns: readonly string[]): boolean {
  if (index.partial || index.columns.length < columns.length) return false;
  const leading = new Set(index.columns.slice(0, columns.length));
  return columns.every((c) => leading.has(c));
}

export function foreignKeyIndexViolations(catalog: Catalog): Violation[] {
  return catalog.constraints
    .filter((k) => k.kind === 'f')
    .filter((k) => !catalog.indexes.some((i) => i.table === k.table && covers(i, k.columns)))
    .map((k) => ({
      rule: 'foreign-key-index' as const,
      table: k.table,
      column: k.columns.join(', '),
      message:
        `${k.table} foreign key ${k.name} (${k.columns.join(', ')}) has no index leading with those ` +
        `columns: deleting or updating the referenced row scans ${k.table}; create index on ${k.table} (${k.columns.join(', ')})`,
    }));
}

export function primaryKeyViolations(catalog: Catalog): Violation[] {
  return catalog.tables
    .filter((t) => !catalog.constraints.some((k) => k.table === t && k.kind === 'p'))
    .map((table) => ({
      rule: 'primary-key' as const,
      table,
      message: `${table} has no primary key`,
    }));
}

/**
 * On a database sharded by customer every primary and unique key of a customer-owned table must
 * include the distribution column (Citus enforces uniqueness per shard only). `tables` is the list
 * the Citus distribution step distributes (src/store/citus.ts CUSTOMER_TABLES).
 */
export function distributionKeyViolations(
  catalog: Catalog,
  tables: readonly string[],
  column: string,
): Violation[] {
  const out: Violation[] = [];
  for (const table of tables) {
    const keys = [
      ...catalog.constraints.filter((k) => k.table === table && (k.kind === 'p' || k.kind === 'u')),
      ...catalog.indexes
        .filter((i) => i.table === table && i.unique && !catalog.constraints.some((k) => k.name === i.name))
        .map((i) => ({ name: i.name, columns: i.columns })),
    ];
    for (const key of keys.filter((k) => !k.columns.includes(column))) {
      out.push({
        rule: 'distribution-column-in-keys',
        table,
        message: `${table} key ${key.name} (${key.columns.join(', ')}) lacks the distribution column ${column}`,
      });
    }
  }
  return out;
}

/** Every table the Citus distribution step places somewhere (src/store/citus.ts). */
const PLACED_TABLES: ReadonlySet<string> = new Set([
  CUSTOMER_ANCHOR.table,
  ...CUSTOMER_TABLES,
  ...REFERENCE_TABLES,
  ...SELF_SHARDED_TABLES.map((t) => t.table),
  ...COORDINATOR_TABLES,
]);

/**
 * A table that names a customer but that the distribution step does not place would stay on the
 * coordinator alone on Citus, and every join of it with the customer's rows would cross nodes: a
 * customer-owned table goes into CUSTOMER_TABLES (keys including customer_id), anything else into
 * the list that says where it lives.
 */
export function distributionListViolations(
  catalog: Catalog,
  placed: ReadonlySet<string> = PLACED_TABLES,
  column: string = CUSTOMER_COLUMN,
): Violation[] {
  const named = new Set(catalog.columns.filter((c) => c.column === column).map((c) => c.table));
  return [...named]
    .filter((table) => !placed.has(table))
    .map((table) => ({
      rule: 'distribution-listed' as const,
      table,
      message:
        `${table} has a ${column} column but src/store/citus.ts does not place it: a customer-owned ` +
        `table goes into CUSTOMER_TABLES with ${column} in its primary and unique keys`,
    }));
}

const excepted = (v: Violation) =>
  SCHEMA_EXCEPTIONS.some(
    (e) => e.rule === v.rule && e.table === v.table && (e.column === undefined || e.column === v.column),
  );

/** Every house rule, the distribution rules checked against src/store/citus.ts's lists. */
export function schemaViolations(catalog: Catalog): Violation[] {
  return [
    ...columnCountViolations(catalog),
    ...hotFieldViolations(catalog),
    ...moneyViolations(catalog),
    ...foreignKeyIndexViolations(catalog),
    ...primaryKeyViolations(catalog),
    ...distributionKeyViolations(catalog, CUSTOMER_TABLES, CUSTOMER_COLUMN),
    ...distributionListViolations(catalog),
  ].filter((v) => !excepted(v));
}

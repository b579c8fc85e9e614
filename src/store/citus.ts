/**
 * The distribution step: where the database is a Citus coordinator (the citus extension is
 * present), customer-owned tables become distributed tables sharded by customer and co-located with
 * customers, and catalogue and configuration tables become reference tables (a copy on every node).
 * Runs after the migrations, under their lock, and is idempotent: tables already distributed are
 * skipped, so a later migration's new table is distributed by the next run. On plain PostgreSQL and
 * PGlite it does nothing. Business code never reads the shard count; Citus's `citus.shard_count`
 * decides it. See docs/scaling.md.
 */
import type { ReservedSql } from 'postgres';

/** Catalogue and configuration: small, read everywhere, joined with any shard. In FK order. */
export const REFERENCE_TABLES = [
  'rehearsals',
  'rehearsal_runs',
  'rehearsal_samples',
  'rehearsal_hops',
  'rehearsal_schedules',
  'ledger_accounts',
  'loan_products',
  'staff',
  'merchants',
  'goods',
  'risk_models',
  'risk_policy_versions',
  'risk_deny_list',
  'risk_admin_events',
  'cob_runs',
  'seed_runs',
  'platform_probe',
  // servicing (issue 15): the deployment's business date and each merchant's return window
  'business_clock',
  'merchant_return_policies',
  // merchant settlement and statements (issue 16): each merchant's discount, each cycle's run
  'merchant_settlement_terms',
  'statement_runs',
] as const;

/** The co-location group every customer-owned table joins: customers, sharded by their id. */
export const CUSTOMER_ANCHOR = { table: 'customers', column: 'id' } as const;

/** Customer-owned tables, sharded by customer_id next to their customer. In FK order. */
export const CUSTOMER_TABLES = [
  'credit_lines',
  'idempotency_keys',
  'orders',
  'loans',
  'installments',
  'disbursements',
  'repayments',
  'loan_cob_marks',
  'journal_entries',
  'journal_lines',
  'credit_decisions',
  'risk_reviews',
  'credit_proposals',
  // servicing (issue 15): returns, charges and waivers, credit balance, collections, maker-checker
  'order_returns',
  'loan_adjustments',
  'credit_balance_movements',
  'collection_cases',
  'collection_contacts',
  'adjustment_proposals',
  // statements (issue 16); settlements are the platform's (customer_id 0, on the platform's shard)
  'statements',
  'statement_lines',
  'merchant_settlements',
  'merchant_settlement_lines',
  // hardship (issue 15): each loan's schedule versions and the re-age/reschedule proposals
  'schedule_versions',
  'schedule_change_proposals',
  // the console's review queue (issue 17): who works each open review
  'review_assignments',
  // events (issue 16): the outbox and consumers' marks, cards and auto-debit, notifications
  'outbox_events',
  'processed_events',
  'payment_cards',
  'auto_debit_settings',
  'debit_attempts',
  'notification_preferences',
  'notifications',
  // the borrower app (issue 17): agreement acceptances, forgot-password codes, ended sessions
  'agreement_acceptances',
  'password_reset_codes',
  'credential_revocations',
] as const;
export const CUSTOMER_COLUMN = 'customer_id';

/**
 * Rows not about one customer (merchants' and staff's idempotency keys, journal entries of drills)
 * belong to the platform, customer 0, and live on its shard (migration 0102).
 */
export const PLATFORM_CUSTOMER_ID = 0n;

/**
 * Sharded by their own key, not by customer: a unique key across customers can only be enforced
 * where it is the distribution column (migration 0102).
 */
export const SELF_SHARDED_TABLES = [{ table: 'customer_identities', column: 'bidx' }] as const;

/**
 * Tables that stay on the coordinator alone: the migration bookkeeping, the log-in throttle (written
 * on every log-in attempt; a reference table would replicate each write to every node) and the
 * staff audit chain (one hash chain, appended in order).
 */
export const COORDINATOR_TABLES = [
  'schema_migrations',
  'auth_throttle',
  'auth_known_source',
  'staff_audit_log',
  'staff_audit_head',
] as const;

export async function citusPresent(conn: ReservedSql<{ bigint: bigint }>): Promise<boolean> {
  const rows = await conn`select 1 from pg_extension where extname = 'citus'`;
  return rows.length > 0;
}

/**
 * Distributes what is not distributed yet, in one transaction; returns the tables it changed.
 * Citus accepts no foreign key between a local table and a distributed one, so the foreign keys
 * that touch a table about to change are dropped first and put back once every table is in place.
 */
export async function distributeTables(
  conn: ReservedSql<{ bigint: bigint }>,
  log: (line: string) => void = () => {},
): Promise<string[]> {
  if (!(await citusPresent(conn))) return [];
  const plan = distributionPlan();
  // pg_dist_partition, not the citus_tables view: the view lives in public, which a migration into
  // the rehearsal's shadow schema (search_path=fenqi_shadow) does not see; a table's regclass text
  // is qualified only when its schema is not on the search_path, so each schema sees its own
  const rows = await conn<
    { name: string }[]
  >`select logicalrelid::regclass::text as name from pg_dist_partition`;
  const done = new Set(rows.map((r) => r.name));
  const pending = plan.filter((p) => !done.has(p.table));
  if (pending.length === 0) return [];
  await conn.unsafe('begin');
  try {
    // one connection per worker for the whole transaction: DDL and the data copy stay in order
    await conn`set local citus.multi_shard_modify_mode = 'sequential'`;
    // row triggers (append-only, balance checks) run on each shard and read only their own shard
    await conn`set local citus.enable_unsafe_triggers = on`;
    const keys = await conn<{ table_name: string; name: string; definition: string }[]>`
      select c.conrelid::regclass::text as table_name, c.conname as name, pg_get_constraintdef(c.oid) as definition
      from pg_constraint c
      where c.contype = 'f'
        and (c.conrelid::regclass::text in ${conn(pending.map((p) => p.table))}
          or c.confrelid::regclass::text in ${conn(pending.map((p) => p.table))})`;
    for (const key of keys) await conn.unsafe(`alter table ${key.table_name} drop constraint ${key.name}`);
    for (const { table, statement } of pending) {
      await conn.unsafe(statement);
      // the shards have the rows now; the coordinator's own copy would only take disk space
      await conn.unsafe(`select truncate_local_data_after_distributing_table('${table}')`);
      log(`citus: ${statement}`);
    }
    for (const key of keys) {
      await conn.unsafe(`alter table ${key.table_name} add constraint ${key.name} ${key.definition}`);
    }
    await conn.unsafe('commit');
  } catch (err) {
    await conn.unsafe('rollback');
    throw new Error(`citus distribution failed: ${(err as Error).message}`);
  }
  return pending.map((p) => p.table);
}

/** Every table's distribution call, in an order Citus accepts (reference tables first). */
function distributionPlan(): { table: string; statement: string }[] {
  const anchor = CUSTOMER_ANCHOR;
  return [
    ...REFERENCE_TABLES.map((table) => ({ table, statement: `select create_reference_table('${table}')` })),
    {
      table: anchor.table,
      statement: `select create_distributed_table('${anchor.table}', '${anchor.column}', colocate_with => 'none')`,
    },
    ...CUSTOMER_TABLES.map((table) => ({
      table,
      statement: `select create_distributed_table('${table}', '${CUSTOMER_COLUMN}', colocate_with => '${anchor.table}')`,
    })),
    ...SELF_SHARDED_TABLES.map(({ table, column }) => ({
      table,
      statement: `select create_distributed_table('${table}', '${column}', colocate_with => 'none')`,
    })),
  ];
}

/**
 * Merchant settlement, the SQL: discount terms, building a date's settlements from the orders and
 * returns not yet settled (one transaction, under an advisory lock, so two builders take turns),
 * the payout state machine (pending -> paying -> paid | failed), and the merchant's reads. Every row
 * here is the platform's: customer_id = PLATFORM_CUSTOMER_ID (0) leads every key.
 */
import {
  DEFAULT_MERCHANT_DISCOUNT_BP,
  type LineAmounts,
  orderLine,
  PLATFORM_CUSTOMER_ID,
  payoutPostings,
  returnLine,
  type SettlementLineKind,
  type SettlementStatus,
  settlementPostings,
  statusOfNet,
  sumLines,
} from '../domain/settlement.ts';
import type { Queryable, TransactionSql } from './db.ts';
import { postEntries } from './ledger.ts';

const P = PLATFORM_CUSTOMER_ID;
/** pg_advisory_xact_lock key of the settlement build: one builder at a time. */
export const SETTLEMENT_BUILD_LOCK = 16_040_150;

export async function merchantDiscountBp(sql: Queryable, merchantId: bigint): Promise<number> {
  const [row] = await sql<{ bp: number }[]>`
    select discount_bp::integer as bp from merchant_settlement_terms where merchant_id = ${merchantId}`;
  return row?.bp ?? DEFAULT_MERCHANT_DISCOUNT_BP;
}

export async function setMerchantDiscountBp(sql: Queryable, merchantId: bigint, bp: number): Promise<void> {
  await sql`
    insert into merchant_settlement_terms (merchant_id, discount_bp) values (${merchantId}, ${bp})
    on conflict (merchant_id) do update set discount_bp = excluded.discount_bp, updated_at = excluded.updated_at`;
}

interface Candidate {
  kind: SettlementLineKind;
  source_id: bigint;
  order_id: bigint | null;
  order_customer_id: bigint | null;
  merchant_id: bigint;
  amount_minor: bigint;
  bp: number;
  carried_gross: bigint | null;
  carried_discount: bigint | null;
}

/**
 * Everything not yet in a settlement as of `salesDate`: financed orders made by then (orders paid
 * to the merchant at checkout before settlement existed, which have their own
 * `order:<id>:merchant_settlement` entry, are not paid again), returns made by then, and negative
 * settlements not yet carried. A return is discounted at its order's settled rate (0 for an order
 * paid at checkout), else at the merchant's rate.
 */
async function candidates(tx: TransactionSql, salesDate: string): Promise<Candidate[]> {
  // What was settled before lives on the platform's own shard; it is read once into `settled`
  // (materialised), because on Citus a query may join customers' shards with another shard's rows
  // only through such an intermediate result, and the legacy checkout entries are looked up on
  // the order's own shard (its customer_id), where they were posted.
  return tx<Candidate[]>`
    with terms as (
      select m.id as merchant_id, coalesce(t.discount_bp, ${DEFAULT_MERCHANT_DISCOUNT_BP})::integer as bp
      from merchants m left join merchant_settlement_terms t on t.merchant_id = m.id
    ), settled as materialized (
      select kind, source_id, discount_bp::integer as bp from merchant_settlement_lines
      where customer_id = ${P} and kind in ('order', 'return')
    )
    select 'order' as kind, o.id as source_id, o.id as order_id, o.customer_id as order_customer_id,
      o.merchant_id, o.price_minor as amount_minor, terms.bp,
      null::bigint as carried_gross, null::bigint as carried_discount
    from orders o join loans l on l.customer_id = o.customer_id and l.id = o.loan_id
      join terms on terms.merchant_id = o.merchant_id
      left join settled s on s.kind = 'order' and s.source_id = o.id
    where o.status = 'settled' and l.start_date <= ${salesDate}::date and s.source_id is null
      and not exists (select 1 from journal_entries j
        where j.customer_id = o.customer_id and j.event_key = 'order:' || o.id || ':merchant_settlement')
    union all
    select 'return', r.id, r.order_id, r.customer_id, r.merchant_id, r.returned_minor,
      coalesce(
        so.bp,
        case when exists (select 1 from journal_entries j
          where j.customer_id = r.customer_id and j.event_key = 'order:' || r.order_id || ':merchant_settlement')
          then 0 end,
        terms.bp),
      null, null
    from order_returns r join terms on terms.merchant_id = r.merchant_id
      left join settled so on so.kind = 'order' and so.source_id = r.order_id
      left join settled sr on sr.kind = 'return' and sr.source_id = r.id
    where r.business_date <= ${salesDate}::date and sr.source_id is null
    union all
    select 'carry', s.id, null, null, s.merchant_id, s.net_minor, s_bp.discount_bp, s.gross_minor, s.discount_minor
    from merchant_settlements s cross join lateral (
      select coalesce(max(discount_bp), 0)::integer as discount_bp from merchant_settlement_lines x
      where x.customer_id = ${P} and x.settlement_id = s.id) s_bp
    where s.customer_id = ${P} and s.status = 'carried' and s.carried_into is null
      and s.sales_date < ${salesDate}::date
    order by merchant_id, kind, source_id`;
}

function amountsOf(c: Candidate): LineAmounts {
  if (c.kind === 'order') return orderLine(c.amount_minor, c.bp);
  if (c.kind === 'return') return returnLine(c.amount_minor, c.bp);
  const grossMinor = c.carried_gross ?? 0n;
  const discountMinor = c.carried_discount ?? 0n;
  return { grossMinor, discountMinor, netMinor: grossMinor - discountMinor };
}

export interface BuiltSettlement {
  id: bigint;
  merchantId: bigint;
  status: SettlementStatus;
  totals: LineAmounts;
  lines: number;
}

interface MerchantBatch {
  merchantId: bigint;
  bp: number;
  rows: { c: Candidate; a: LineAmounts }[];
}

function byMerchant(rows: readonly Candidate[]): MerchantBatch[] {
  const out = new Map<bigint, MerchantBatch>();
  for (const c of rows) {
    let batch = out.get(c.merchant_id);
    if (!batch) {
      batch = { merchantId: c.merchant_id, bp: c.kind === 'order' ? c.bp : -1, rows: [] };
      out.set(c.merchant_id, batch);
    }
    if (c.kind === 'order') batch.bp = c.bp;
    batch.rows.push({ c, a: amountsOf(c) });
  }
  return [...out.values()];
}

/**
 * Builds `salesDate`'s settlement for every merchant with something unsettled (a merchant that has
 * one for the date already keeps its new items for its next settlement), with its lines, and posts
 * each settlement owed to a merchant. One transaction; a rerun builds nothing twice.
 */
export async function buildSettlements(
  tx: TransactionSql,
  salesDate: string,
  valueDate: string,
): Promise<BuiltSettlement[]> {
  await tx`select pg_advisory_xact_lock(${SETTLEMENT_BUILD_LOCK})`;
  const done = new Set(
    (
      await tx<{ merchant_id: bigint }[]>`
      select merchant_id from merchant_settlements where customer_id = ${P} and sales_date = ${salesDate}::date`
    ).map((r) => r.merchant_id),
  );
  const batches = byMerchant(await candidates(tx, salesDate)).filter((b) => !done.has(b.merchantId));
  const built: BuiltSettlement[] = [];
  for (const b of batches) built.push(await insertSettlement(tx, salesDate, valueDate, b));
  await postEntries(
    tx,
    built.flatMap((s) => {
      const posting = s.status === 'carried' ? null : settlementPostings(s.totals);
      return posting
        ? [{ eventKey: `settlement:${s.id}`, businessDate: valueDate, customerId: P, loanId: null, posting }]
        : [];
    }),
  );
  return built;
}

async function insertSettlement(
  tx: TransactionSql,
  salesDate: string,
  valueDate: string,
  b: MerchantBatch,
): Promise<BuiltSettlement> {
  const totals = sumLines(b.rows.map((r) => r.a));
  const status = statusOfNet(totals.netMinor);
  const count = (kind: SettlementLineKind) => b.rows.filter((r) => r.c.kind === kind).length;
  const [row] = await tx<{ id: bigint }[]>`
    insert into merchant_settlements (customer_id, merchant_id, sales_date, value_date, order_lines,
      return_lines, gross_minor, discount_minor, net_minor, status)
    values (${P}, ${b.merchantId}, ${salesDate}::date, ${valueDate}::date, ${count('order')}, ${count('return')},
      ${totals.grossMinor}, ${totals.discountMinor}, ${totals.netMinor}, ${status})
    returning id`;
  const id = row!.id;
  const r = b.rows;
  await tx`
    insert into merchant_settlement_lines (customer_id, settlement_id, kind, source_id, order_id,
      order_customer_id, discount_bp, gross_minor, discount_minor, net_minor)
    select ${P}, ${id}, x.kind, x.source_id, x.order_id, x.order_customer_id, x.bp, x.gross, x.discount, x.net
    from unnest(${r.map((x) => x.c.kind)}::text[], ${r.map((x) => x.c.source_id.toString())}::bigint[],
      ${r.map((x) => x.c.order_id?.toString() ?? null)}::bigint[],
      ${r.map((x) => x.c.order_customer_id?.toString() ?? null)}::bigint[],
      ${r.map((x) => Math.max(0, x.c.bp))}::bigint[], ${r.map((x) => x.a.grossMinor.toString())}::bigint[],
      ${r.map((x) => x.a.discountMinor.toString())}::bigint[], ${r.map((x) => x.a.netMinor.toString())}::bigint[])
      as x(kind, source_id, order_id, order_customer_id, bp, gross, discount, net)`;
  const carried = r.filter((x) => x.c.kind === 'carry').map((x) => x.c.source_id.toString());
  if (carried.length > 0) {
    await tx`update merchant_settlements set carried_into = ${id}, updated_at = now()
      where customer_id = ${P} and id = any(${carried}::bigint[])`;
  }
  return { id, merchantId: b.merchantId, status, totals, lines: r.length };
}

export interface SettlementRow {
  id: bigint;
  merchant_id: bigint;
  sales_date: string;
  value_date: string;
  order_lines: bigint;
  return_lines: bigint;
  gross_minor: bigint;
  discount_minor: bigint;
  net_minor: bigint;
  status: SettlementStatus;
  attempts: bigint;
  failure_reason: string | null;
  payout_reference: string | null;
  carried_into: bigint | null;
  paid_on: string | null;
  created_at: Date;
}

const COLUMNS = `id, merchant_id, sales_date::text, value_date::text, order_lines, return_lines, gross_minor,
  discount_minor, net_minor, status, attempts, failure_reason, payout_reference, carried_into,
  paid_on::text, created_at`;

/** Settlements still to pay (or whose payout's outcome is unknown), oldest first, after `afterId`. */
export async function openSettlements(
  sql: Queryable,
  afterId: bigint,
  limit: number,
): Promise<SettlementRow[]> {
  return sql<SettlementRow[]>`
    select ${sql.unsafe(COLUMNS)} from merchant_settlements
    where customer_id = ${P} and status in ('pending', 'paying', 'failed') and id > ${afterId}
    order by id limit ${limit}`;
}

/**
 * Marks a payout attempt as sent (committed before the rail is called); null if another took it.
 * The row is read after the update, not returned by it: Citus refuses the columns' text casts
 * (not immutable) in a RETURNING clause.
 */
export async function claimPayout(tx: TransactionSql, id: bigint): Promise<SettlementRow | null> {
  const claimed = await tx`
    update merchant_settlements set status = 'paying', attempts = attempts + 1, updated_at = now()
    where customer_id = ${P} and id = ${id} and status in ('pending', 'failed')
    returning id`;
  if (claimed.length === 0) return null;
  return (await getSettlement(tx, id)) ?? null;
}

/** The rail paid it: mark it paid and post the cash leaving (`settlement:<id>:paid`), once. */
export async function recordPaid(
  tx: TransactionSql,
  id: bigint,
  reference: string,
  paidOn: string,
): Promise<{ merchantId: bigint; netMinor: bigint } | null> {
  const [row] = await tx<{ net_minor: bigint; merchant_id: bigint }[]>`
    update merchant_settlements set status = 'paid', payout_reference = ${reference}, paid_on = ${paidOn}::date,
      failure_reason = null, updated_at = now()
    where customer_id = ${P} and id = ${id} and status in ('pending', 'paying', 'failed')
    returning net_minor, merchant_id`;
  if (!row) return null;
  await postEntries(tx, [
    {
      eventKey: `settlement:${id}:paid`,
      businessDate: paidOn,
      customerId: P,
      loanId: null,
      posting: payoutPostings(row.net_minor),
    },
  ]);
  return { merchantId: row.merchant_id, netMinor: row.net_minor };
}

export async function recordFailed(sql: Queryable, id: bigint, reason: string): Promise<void> {
  await sql`update merchant_settlements set status = 'failed', failure_reason = ${reason.slice(0, 64)}, updated_at = now()
    where customer_id = ${P} and id = ${id} and status in ('pending', 'paying')`;
}

/** A merchant's settlements, newest first, before `beforeId` (the page cursor). */
export async function listSettlements(
  sql: Queryable,
  merchantId: bigint,
  beforeId: bigint | null,
  limit: number,
): Promise<SettlementRow[]> {
  return sql<SettlementRow[]>`
    select ${sql.unsafe(COLUMNS)} from merchant_settlements
    where customer_id = ${P} and merchant_id = ${merchantId} and (${beforeId}::bigint is null or id < ${beforeId}::bigint)
    order by id desc limit ${limit}`;
}

export async function getSettlement(sql: Queryable, id: bigint): Promise<SettlementRow | undefined> {
  const [row] = await sql<SettlementRow[]>`
    select ${sql.unsafe(COLUMNS)} from merchant_settlements where customer_id = ${P} and id = ${id}`;
  return row;
}

export async function settlementsOfDate(sql: Queryable, salesDate: string): Promise<SettlementRow[]> {
  return sql<SettlementRow[]>`
    select ${sql.unsafe(COLUMNS)} from merchant_settlements
    where customer_id = ${P} and sales_date = ${salesDate}::date order by merchant_id, id`;
}

export interface SettlementLineRow {
  id: bigint;
  settlement_id: bigint;
  kind: SettlementLineKind;
  source_id: bigint;
  order_id: bigint | null;
  discount_bp: bigint;
  gross_minor: bigint;
  discount_minor: bigint;
  net_minor: bigint;
}

/** A settlement's lines in id order, after `afterId` (the page cursor). */
export async function settlementLines(
  sql: Queryable,
  settlementIds: readonly bigint[],
  afterId: bigint,
  limit: number,
): Promise<SettlementLineRow[]> {
  return sql<SettlementLineRow[]>`
    select id, settlement_id, kind, source_id, order_id, discount_bp, gross_minor, discount_minor, net_minor
    from merchant_settlement_lines
    where customer_id = ${P} and settlement_id = any(${settlementIds.map(String)}::bigint[]) and id > ${afterId}
    order by id limit ${limit}`;
}

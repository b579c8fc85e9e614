/**
 * Set-based settlement of a batch of queued orders in ONE transaction: a pipelined read of every
 * line (locked, in customer order so concurrent batches cannot deadlock), existing orders, goods and
 * products; the decisions in memory (per customer in stream order: accepted while they fit, the rest
 * rejected with INSUFFICIENT_CREDIT); then one bulk statement per table (orders, credit lines,
 * loans, installments, journal entries, journal lines), pipelined. One bad order is an outcome,
 * never a failed batch. Same rules and postings as `settleOrder` (orders.ts), which the synchronous
 * path keeps using.
 */
import { DomainError, invariant, type LoanProduct, quote, type Schedule } from '../domain/index.ts';
import { loanBookingPostings, merchantSettlementPostings, type Posting } from '../domain/postings.ts';
import type { Sql, TransactionSql } from './db.ts';
import type { IdGenerator } from './id-generator.ts';
import { type Order, type OrderInput, type OrderRow, orderFromRow } from './orders.ts';
import { type ProductRow, productFromRow } from './products.ts';
import type { RefusalCode } from './refusal.ts';

/** Quotes kept per worker: in a sale thousands of orders share a few (goods, product, tenor). */
export const QUOTE_MEMO_MAX = 2_000;

/** An order taken at intake: its id is assigned before it is queued. */
export interface QueuedOrder extends OrderInput {
  orderId: bigint;
}

export type BatchOutcome =
  /** Written now or before (`replay`): the order as stored. */
  | { kind: 'stored'; order: Order; replay: boolean }
  /** The same (customer, key) is stored under another id (a retry beyond the dedupe window). */
  | { kind: 'superseded'; order: Order }
  /** Cannot be stored at all (its goods, product or customer do not exist). */
  | { kind: 'unrecordable'; reason: RefusalCode };

/** A credit line as committed by the batch (for the cache: the worker writes it after commit). */
export interface CommittedLine {
  customerId: bigint;
  limitMinor: bigint;
  usedMinor: bigint;
  status: string;
}

export interface BatchResult {
  /** In input order. */
  outcomes: BatchOutcome[];
  /** Every locked line of the batch's customers, with the batch's orders applied. */
  lines: CommittedLine[];
}

export class BatchConflictError extends Error {
  override name = 'BatchConflictError';
}

interface LineRow {
  customer_id: bigint;
  limit_minor: bigint;
  used_minor: bigint;
  status: string;
  customer_status: string;
}
interface GoodsRow {
  id: bigint;
  merchant_id: bigint;
  price_minor: bigint;
  active: boolean;
  merchant_status: string;
}
/** Batch look-ups match stored orders by idempotency key as well as by id. */
interface KeyedOrderRow extends OrderRow {
  idempotency_key: string;
}

const quoteMemo = new Map<string, Schedule | DomainError>();

function memoQuote(product: ProductRow, lp: LoanProduct, price: bigint, tenor: number, date: string) {
  const key = `${product.id}:${product.version}:${price}:${tenor}:${date}`;
  let hit = quoteMemo.get(key);
  if (!hit) {
    try {
      hit = quote(lp, { principalMinor: price, tenor, startDate: date });
    } catch (err) {
      if (!(err instanceof DomainError)) throw err;
      hit = err;
    }
    if (quoteMemo.size >= QUOTE_MEMO_MAX) quoteMemo.clear();
    quoteMemo.set(key, hit);
  }
  return hit;
}

const text = (v: bigint | null) => (v === null ? null : v.toString());

interface Decision {
  input: QueuedOrder;
  goods: GoodsRow;
  status: 'settled' | 'rejected';
  reason: string | null;
  loanId: bigint | null;
  schedule: Schedule | null;
  product: LoanProduct | null;
}

/** Settles `orders` (stream order) in one transaction; outcomes in input order. */
export async function settleOrderBatch(
  sql: Sql,
  orders: readonly QueuedOrder[],
  ids: IdGenerator,
): Promise<BatchResult> {
  return sql.begin((tx) => settleInTransaction(tx, orders, ids)) as Promise<BatchResult>;
}

async function settleInTransaction(
  tx: TransactionSql,
  orders: readonly QueuedOrder[],
  ids: IdGenerator,
): Promise<BatchResult> {
  const customers = [...new Set(orders.map((o) => o.customerId))].sort((a, b) =>
    a < b ? -1 : a > b ? 1 : 0,
  );
  const goodsIds = [...new Set(orders.map((o) => o.goodsId.toString()))];
  const productIds = [...new Set(orders.map((o) => o.productId.toString()))];
  const customerText = customers.map(String);

  // One round trip: the locks come first, so the look-up of existing orders after them sees whatever
  // a concurrent delivery of the same order committed. One pipelined statement per customer, in
  // customer order: each locks rows of one shard on a sharded database (Citus locks no rows across
  // shards in one statement), and concurrent batches still take the locks in the same order.
  const [lineSets, existing, goodsRows, productRows, customerRows] = await Promise.all([
    Promise.all(
      customerText.map(
        (customerId) => tx<LineRow[]>`
          select l.customer_id, l.limit_minor, l.used_minor, l.status, c.status as customer_status
          from credit_lines l join customers c on c.id = l.customer_id
          where l.customer_id = ${customerId}::bigint
          for update of l`,
      ),
    ),
    tx<KeyedOrderRow[]>`
      select o.* from orders o where o.id = any(${orders.map((o) => o.orderId.toString())}::bigint[])
      union
      select o.* from orders o
      join unnest(${orders.map((o) => o.customerId.toString())}::bigint[], ${orders.map((o) => o.idempotencyKey)}::text[])
        as k(customer_id, key) on o.customer_id = k.customer_id and o.idempotency_key = k.key`,
    tx<GoodsRow[]>`
      select g.id, g.merchant_id, g.price_minor, g.active, m.status as merchant_status
      from goods g join merchants m on m.id = g.merchant_id where g.id = any(${goodsIds}::bigint[])`,
    tx<ProductRow[]>`
      select id, code, kind, active, apr_cap_bp, terms, version from loan_products
      where id = any(${productIds}::bigint[])`,
    tx<{ id: bigint; status: string }[]>`
      select id, status from customers where id = any(${customerText}::bigint[])`,
  ]);

  const lineOf = new Map(lineSets.flat().map((l) => [l.customer_id, { ...l }]));
  const customerStatus = new Map(customerRows.map((c) => [c.id, c.status]));
  const goodsOf = new Map(goodsRows.map((g) => [g.id, g]));
  const productOf = new Map(productRows.map((p) => [p.id, p]));
  const byId = new Map(existing.map((o) => [o.id, o]));
  const byKey = new Map(existing.map((o) => [`${o.customer_id}:${o.idempotency_key}`, o]));

  const outcomes: (BatchOutcome | Decision)[] = [];
  const seenIds = new Map<bigint, number>();
  const seenKeys = new Map<string, number>();
  for (const input of orders) {
    const keyOf = `${input.customerId}:${input.idempotencyKey}`;
    const stored = byId.get(input.orderId);
    if (stored) {
      outcomes.push({ kind: 'stored', order: orderFromRow(stored), replay: true });
      continue;
    }
    const sameKey = byKey.get(keyOf);
    if (sameKey) {
      outcomes.push({ kind: 'superseded', order: orderFromRow(sameKey) });
      continue;
    }
    // The same order twice in one batch (a redelivery racing its first delivery): decided once.
    const twin = seenIds.get(input.orderId) ?? seenKeys.get(keyOf);
    if (twin !== undefined) {
      outcomes.push(outcomes[twin] as BatchOutcome | Decision);
      continue;
    }
    seenIds.set(input.orderId, outcomes.length);
    seenKeys.set(keyOf, outcomes.length);
    outcomes.push(decide(input, goodsOf, productOf, customerStatus, lineOf, ids));
  }

  const decisions = [...new Set(outcomes.filter((o): o is Decision => 'input' in o))];
  if (decisions.length > 0) await writeDecisions(tx, decisions, ids);

  const nowIso = new Date();
  const committed: CommittedLine[] = [...lineOf.values()].map((l) => ({
    customerId: l.customer_id,
    limitMinor: l.limit_minor,
    usedMinor: l.used_minor,
    status: l.status,
  }));
  const result = outcomes.map((o): BatchOutcome => {
    if (!('input' in o)) return o;
    const order: Order = {
      id: o.input.orderId,
      customerId: o.input.customerId,
      merchantId: o.goods.merchant_id,
      goodsId: o.input.goodsId,
      productId: o.input.productId,
      tenor: o.input.tenor,
      priceMinor: o.goods.price_minor,
      status: o.status,
      rejectReason: o.reason,
      loanId: o.loanId,
      createdAt: nowIso,
      settledAt: o.status === 'settled' ? nowIso : null,
    };
    return { kind: 'stored', order, replay: false };
  });
  return { outcomes: result, lines: committed };
}

function decide(
  input: QueuedOrder,
  goodsOf: Map<bigint, GoodsRow>,
  productOf: Map<bigint, ProductRow>,
  customerStatus: Map<bigint, string>,
  lineOf: Map<bigint, LineRow>,
  ids: IdGenerator,
): Decision | BatchOutcome {
  const goods = goodsOf.get(input.goodsId);
  if (!goods) return { kind: 'unrecordable', reason: 'GOODS_NOT_FOUND' };
  const productRow = productOf.get(input.productId);
  if (!productRow) return { kind: 'unrecordable', reason: 'PRODUCT_NOT_FOUND' };
  const status = customerStatus.get(input.customerId);
  if (status === undefined) return { kind: 'unrecordable', reason: 'CUSTOMER_NOT_FOUND' };
  const reject = (reason: string): Decision => ({
    input,
    goods,
    status: 'rejected',
    reason,
    loanId: null,
    schedule: null,
    product: null,
  });
  if (status !== 'active') return reject('CUSTOMER_NOT_ACTIVE');
  if (!goods.active) return reject('GOODS_INACTIVE');
  if (goods.merchant_status !== 'active') return reject('MERCHANT_SUSPENDED');
  let product: LoanProduct;
  try {
    product = productFromRow(productRow);
  } catch (err) {
    if (err instanceof DomainError) return reject(err.code);
    throw err;
  }
  if (product.kind !== 'goods') return reject('PRODUCT_KIND_MISMATCH');
  if (product.downPaymentBp !== 0) return reject('PRODUCT_NOT_ZERO_DOWN');
  const schedule = memoQuote(productRow, product, goods.price_minor, input.tenor, input.businessDate);
  if (schedule instanceof DomainError) return reject(schedule.code);
  const line = lineOf.get(input.customerId);
  if (!line) return reject('NO_CREDIT_LINE');
  if (line.status !== 'active') return reject('CREDIT_LINE_FROZEN');
  // The line is locked: this running total is the authority for the whole batch.
  if (line.used_minor + schedule.amountFinancedMinor > line.limit_minor) return reject('INSUFFICIENT_CREDIT');
  line.used_minor += schedule.amountFinancedMinor;
  return { input, goods, status: 'settled', reason: null, loanId: ids.next(), schedule, product };
}

interface EntryRows {
  id: string[];
  kind: string[];
  date: string[];
  customer: string[];
  loan: string[];
  key: string[];
}
interface LineRows {
  id: string[];
  entry: string[];
  account: string[];
  customer: (string | null)[];
  loan: (string | null)[];
  debit: string[];
  credit: string[];
}

function addEntry(
  e: EntryRows,
  l: LineRows,
  ids: IdGenerator,
  key: string,
  date: string,
  d: Decision,
  p: Posting,
) {
  const entryId = ids.next().toString();
  e.id.push(entryId);
  e.kind.push(p.kind);
  e.date.push(date);
  e.customer.push(d.input.customerId.toString());
  e.loan.push((d.loanId as bigint).toString());
  e.key.push(key);
  for (const line of p.lines) {
    l.id.push(ids.next().toString());
    l.entry.push(entryId);
    l.account.push(line.account);
    // every line with its entry's customer: the entry is written on one shard (migration 0080)
    l.customer.push(d.input.customerId.toString());
    l.loan.push(text(line.loanId));
    l.debit.push(line.debitMinor.toString());
    l.credit.push(line.creditMinor.toString());
  }
}

async function writeDecisions(tx: TransactionSql, decisions: Decision[], ids: IdGenerator): Promise<void> {
  const settled = decisions.filter((d) => d.status === 'settled');
  const used = new Map<bigint, bigint>();
  const loans = {
    id: [] as string[],
    customer: [] as string[],
    product: [] as string[],
    order: [] as string[],
  };
  const loanTerms = { principal: [] as string[], tenor: [] as number[], start: [] as string[] };
  const loanMeta = { currency: [] as string[], apr: [] as string[] };
  const inst = {
    loan: [] as string[],
    n: [] as number[],
    customer: [] as string[],
    due: [] as string[],
    p: [] as string[],
    i: [] as string[],
    f: [] as string[],
  };
  const entries: EntryRows = { id: [], kind: [], date: [], customer: [], loan: [], key: [] };
  const lines: LineRows = { id: [], entry: [], account: [], customer: [], loan: [], debit: [], credit: [] };
  for (const d of settled) {
    const s = d.schedule as Schedule;
    const product = d.product as LoanProduct;
    const loanId = d.loanId as bigint;
    const customerId = d.input.customerId;
    used.set(customerId, (used.get(customerId) ?? 0n) + s.amountFinancedMinor);
    loans.id.push(loanId.toString());
    loans.customer.push(customerId.toString());
    loans.product.push(d.input.productId.toString());
    loans.order.push(d.input.orderId.toString());
    loanTerms.principal.push(s.amountFinancedMinor.toString());
    loanTerms.tenor.push(s.terms.tenor);
    loanTerms.start.push(s.terms.startDate);
    loanMeta.currency.push(product.currency.code);
    loanMeta.apr.push(s.apr.percent);
    for (const i of s.installments) {
      inst.loan.push(loanId.toString());
      inst.n.push(i.number);
      inst.customer.push(customerId.toString());
      inst.due.push(i.dueDate);
      inst.p.push(i.principalMinor.toString());
      inst.i.push(i.interestMinor.toString());
      inst.f.push(i.feeMinor.toString());
    }
    const ref = { customerId, loanId };
    const date = d.input.businessDate;
    addEntry(
      entries,
      lines,
      ids,
      `loan:${loanId}:booking`,
      date,
      d,
      loanBookingPostings(ref, {
        amountFinancedMinor: s.amountFinancedMinor,
        disbursedMinor: s.disbursedMinor,
        upfrontFeeMinor: s.upfrontFeeMinor,
        totalInterestMinor: s.totalInterestMinor,
        totalInstallmentFeesMinor: s.totalFeesMinor - s.upfrontFeeMinor,
        counterpart: 'merchant',
      }),
    );
    addEntry(
      entries,
      lines,
      ids,
      `order:${d.input.orderId}:merchant_settlement`,
      date,
      d,
      merchantSettlementPostings(ref, s.disbursedMinor),
    );
  }

  const statements: Promise<unknown>[] = [
    tx<{ id: bigint }[]>`
      insert into orders (id, customer_id, merchant_id, goods_id, product_id, tenor, price_minor, status,
        reject_reason, idempotency_key, loan_id, settled_at)
      select id, customer_id, merchant_id, goods_id, product_id, tenor, price_minor, status, reject_reason, key,
        loan_id, case when status = 'settled' then now() end
      from unnest(${decisions.map((d) => d.input.orderId.toString())}::bigint[],
        ${decisions.map((d) => d.input.customerId.toString())}::bigint[],
        ${decisions.map((d) => d.goods.merchant_id.toString())}::bigint[],
        ${decisions.map((d) => d.input.goodsId.toString())}::bigint[],
        ${decisions.map((d) => d.input.productId.toString())}::bigint[],
        ${decisions.map((d) => d.input.tenor)}::int[],
        ${decisions.map((d) => d.goods.price_minor.toString())}::bigint[],
        ${decisions.map((d) => d.status)}::text[],
        ${decisions.map((d) => d.reason)}::text[],
        ${decisions.map((d) => d.input.idempotencyKey)}::text[],
        ${decisions.map((d) => text(d.loanId))}::bigint[])
        as x(id, customer_id, merchant_id, goods_id, product_id, tenor, price_minor, status, reject_reason, key, loan_id)
      on conflict do nothing
      returning id`,
  ];
  if (settled.length > 0) {
    statements.push(
      tx`
        update credit_lines l set used_minor = l.used_minor + x.amount, updated_at = now()
        from unnest(${[...used.keys()].map(String)}::bigint[], ${[...used.values()].map(String)}::bigint[])
          as x(customer_id, amount)
        where l.customer_id = x.customer_id`,
      tx`
        insert into loans (id, customer_id, product_id, kind, order_id, principal_minor, tenor, start_date,
          currency, apr_percent, status)
        select id, customer_id, product_id, 'goods', order_id, principal, tenor, start_date, currency, apr, 'active'
        from unnest(${loans.id}::bigint[], ${loans.customer}::bigint[], ${loans.product}::bigint[],
          ${loans.order}::bigint[], ${loanTerms.principal}::bigint[], ${loanTerms.tenor}::int[],
          ${loanTerms.start}::date[], ${loanMeta.currency}::text[], ${loanMeta.apr}::text[])
          as x(id, customer_id, product_id, order_id, principal, tenor, start_date, currency, apr)`,
      tx`
        insert into installments (loan_id, number, customer_id, due_date, principal_minor, interest_minor, fee_minor)
        select * from unnest(${inst.loan}::bigint[], ${inst.n}::int[], ${inst.customer}::bigint[],
          ${inst.due}::date[], ${inst.p}::bigint[], ${inst.i}::bigint[], ${inst.f}::bigint[])`,
      tx`
        insert into journal_entries (id, kind, business_date, customer_id, loan_id, event_key)
        select * from unnest(${entries.id}::bigint[], ${entries.kind}::text[], ${entries.date}::date[],
          ${entries.customer}::bigint[], ${entries.loan}::bigint[], ${entries.key}::text[])`,
      tx`
        insert into journal_lines (id, entry_id, account_code, customer_id, loan_id, debit_minor, credit_minor)
        select * from unnest(${lines.id}::bigint[], ${lines.entry}::bigint[], ${lines.account}::text[],
          ${lines.customer}::bigint[], ${lines.loan}::bigint[], ${lines.debit}::bigint[], ${lines.credit}::bigint[])`,
    );
  }
  const [inserted] = (await Promise.all(statements)) as [{ id: bigint }[]];
  if (inserted.length !== decisions.length) {
    // Another delivery stored one of these between our look-up and our insert (possible only for
    // a customer without a locked line): start over, the retry will see it as stored.
    throw new BatchConflictError(
      `${decisions.length - inserted.length} orders of the batch were stored concurrently`,
    );
  }
  invariant(lines.id.length >= entries.id.length * 2, 'every journal entry has at least two lines');
}

/**
 * Loan agreement acceptances (migration 0200): recorded when the borrower accepts, and used once by
 * the order or cash draw they cover, in that order's or draw's transaction (so a refused order
 * leaves the acceptance unused). Policy (which version is current, what "covers" means) is
 * domain/agreement.ts.
 */
import {
  AGREEMENT_ACCEPTANCES_LISTED,
  type AgreementTerms,
  CURRENT_AGREEMENT_VERSION,
  coversTerms,
} from '../domain/agreement.ts';
import type { Queryable, TransactionSql } from './db.ts';
import { Refusal } from './refusal.ts';

export interface Acceptance extends AgreementTerms {
  id: bigint;
  customerId: bigint;
  version: string;
  textSha256: string;
  acceptedAt: Date;
  orderId: bigint | null;
  loanId: bigint | null;
  /** What the terms name, for people (lists only): the product's and the goods' names. */
  productName?: string;
  goodsName?: string | null;
}

interface Row {
  id: bigint;
  customer_id: bigint;
  version: string;
  text_sha256: Buffer;
  product_id: bigint;
  tenor: string | number;
  goods_id: bigint | null;
  amount_minor: bigint | null;
  accepted_at: Date;
  order_id: bigint | null;
  loan_id: bigint | null;
  product_name?: string;
  goods_name?: string | null;
}

const COLUMNS = `id, customer_id, version, text_sha256, product_id, tenor, goods_id, amount_minor, accepted_at,
  order_id, loan_id`;

const fromRow = (r: Row): Acceptance => ({
  id: BigInt(r.id),
  customerId: BigInt(r.customer_id),
  version: r.version,
  textSha256: Buffer.from(r.text_sha256).toString('hex'),
  productId: BigInt(r.product_id),
  tenor: Number(r.tenor),
  goodsId: r.goods_id === null ? null : BigInt(r.goods_id),
  amountMinor: r.amount_minor === null ? null : BigInt(r.amount_minor),
  acceptedAt: r.accepted_at,
  orderId: r.order_id === null ? null : BigInt(r.order_id),
  loanId: r.loan_id === null ? null : BigInt(r.loan_id),
  ...(r.product_name === undefined ? {} : { productName: r.product_name, goodsName: r.goods_name ?? null }),
});

export interface NewAcceptance extends AgreementTerms {
  customerId: bigint;
  version: string;
  textSha256: string;
}

/** Records an acceptance of the current version; another version is refused (AGREEMENT_OUTDATED). */
export async function recordAcceptance(sql: Queryable, a: NewAcceptance): Promise<Acceptance> {
  if (a.version !== CURRENT_AGREEMENT_VERSION)
    throw new Refusal('AGREEMENT_OUTDATED', 'this is not the current agreement; read the current one', {
      current_version: CURRENT_AGREEMENT_VERSION,
    });
  const [product] = await sql`select 1 from loan_products where id = ${a.productId}`;
  if (!product) throw new Refusal('PRODUCT_NOT_FOUND', 'product not found');
  if (a.goodsId !== null) {
    const [goods] = await sql`select 1 from goods where id = ${a.goodsId}`;
    if (!goods) throw new Refusal('GOODS_NOT_FOUND', 'goods not found');
  }
  const [row] = await sql.unsafe<Row[]>(
    `insert into agreement_acceptances (customer_id, version, text_sha256, product_id, tenor, goods_id, amount_minor)
     values ($1, $2, decode($3, 'hex'), $4, $5, $6, $7) returning ${COLUMNS}`,
    [
      a.customerId.toString(),
      a.version,
      a.textSha256,
      a.productId.toString(),
      a.tenor,
      a.goodsId?.toString() ?? null,
      a.amountMinor?.toString() ?? null,
    ],
  );
  return fromRow(row!);
}

/**
 * Locks the named acceptance for the order or draw about to use it and checks it: the customer's
 * own, the current version, these terms, not used before. The caller writes the use (markUsed) in
 * the same transaction.
 */
export async function takeAcceptance(
  tx: TransactionSql,
  customerId: bigint,
  acceptanceId: bigint | undefined,
  terms: AgreementTerms,
): Promise<Acceptance> {
  if (acceptanceId === undefined)
    throw new Refusal('AGREEMENT_REQUIRED', 'accept the loan agreement first (agreement_acceptance_id)');
  const [row] = await tx.unsafe<Row[]>(
    `select ${COLUMNS} from agreement_acceptances where customer_id = $1 and id = $2 for update`,
    [customerId.toString(), acceptanceId.toString()],
  );
  if (!row) throw new Refusal('AGREEMENT_NOT_FOUND', 'no such agreement acceptance');
  const a = fromRow(row);
  if (a.version !== CURRENT_AGREEMENT_VERSION)
    throw new Refusal('AGREEMENT_OUTDATED', 'the agreement accepted is not the current one', {
      current_version: CURRENT_AGREEMENT_VERSION,
    });
  if (a.orderId !== null || a.loanId !== null)
    throw new Refusal('AGREEMENT_ALREADY_USED', 'this acceptance already covers another order');
  if (!coversTerms(a, terms))
    throw new Refusal('AGREEMENT_MISMATCH', 'the agreement was accepted for other terms');
  return a;
}

export async function markUsed(
  tx: TransactionSql,
  a: Acceptance,
  use: { orderId: bigint } | { loanId: bigint },
): Promise<void> {
  const orderId = 'orderId' in use ? use.orderId.toString() : null;
  const loanId = 'loanId' in use ? use.loanId.toString() : null;
  await tx`update agreement_acceptances set order_id = ${orderId}, loan_id = ${loanId}
    where customer_id = ${a.customerId} and id = ${a.id}`;
}

/** A customer's acceptances, newest first (the back office's customer page). */
export async function listAcceptances(sql: Queryable, customerId: bigint): Promise<Acceptance[]> {
  const columns = COLUMNS.split(',').map((c) => `a.${c.trim()}`);
  const rows = await sql.unsafe<Row[]>(
    `select ${columns.join(', ')}, coalesce(p.terms->>'name', p.code) as product_name, g.name as goods_name
     from agreement_acceptances a
     join loan_products p on p.id = a.product_id
     left join goods g on g.id = a.goods_id
     where a.customer_id = $1
     order by a.accepted_at desc, a.id desc limit ${AGREEMENT_ACCEPTANCES_LISTED}`,
    [customerId.toString()],
  );
  return rows.map(fromRow);
}

/**
 * A customer's credit balance (2200: overpayments, refunds kept for them): read, paid out to the
 * card, or moved onto another of their loans as a repayment. The customer's credit line row is
 * locked first, so two movements of one balance run one after the other and never spend it twice.
 */

import { ACCOUNTS } from '../../domain/postings.ts';
import { creditBalanceRefundPostings } from '../../domain/servicing-postings.ts';
import type { Queryable, TransactionSql } from '../db.ts';
import { postEntries } from '../ledger.ts';
import { getLoan, nextIds } from '../loans.ts';
import { Refusal } from '../refusal.ts';
import { applyRepayment, type Repayment } from '../repayments.ts';

export async function creditBalanceMinor(sql: Queryable, customerId: bigint): Promise<bigint> {
  const [row] = await sql<{ b: bigint }[]>`
    select coalesce(sum(credit_minor - debit_minor), 0)::bigint as b from journal_lines
    where customer_id = ${customerId} and account_code = ${ACCOUNTS.customerCreditBalances}`;
  return row?.b ?? 0n;
}

async function take(tx: TransactionSql, customerId: bigint, amountMinor: bigint): Promise<void> {
  const [line] = await tx`select 1 from credit_lines where customer_id = ${customerId} for update`;
  if (!line) throw new Refusal('NO_CREDIT_LINE', 'the customer has no credit line');
  const balance = await creditBalanceMinor(tx, customerId);
  if (balance < amountMinor) {
    throw new Refusal('CREDIT_BALANCE_TOO_LOW', 'the credit balance is less than the amount', {
      balance_minor: balance.toString(),
    });
  }
}

async function record(
  tx: TransactionSql,
  m: {
    customerId: bigint;
    kind: 'refund' | 'transfer';
    amountMinor: bigint;
    loanId: bigint | null;
    requestedBy: string;
    businessDate: string;
  },
): Promise<bigint> {
  const [id] = (await nextIds(tx, 1)) as [bigint];
  await tx`
    insert into credit_balance_movements (customer_id, id, kind, amount_minor, loan_id, requested_by, business_date)
    values (${m.customerId}, ${id}, ${m.kind}, ${m.amountMinor}, ${m.loanId}, ${m.requestedBy}, ${m.businessDate})`;
  return id;
}

/** Pays `amountMinor` of the balance out to the customer's card. */
export async function refundCreditBalance(
  tx: TransactionSql,
  m: { customerId: bigint; amountMinor: bigint; requestedBy: string; businessDate: string },
): Promise<bigint> {
  await take(tx, m.customerId, m.amountMinor);
  const id = await record(tx, { ...m, kind: 'refund', loanId: null });
  const ref = { customerId: m.customerId, loanId: null };
  await postEntries(tx, [
    {
      eventKey: `customer:${m.customerId}:credit_balance:${id}`,
      businessDate: m.businessDate,
      ...ref,
      posting: creditBalanceRefundPostings(ref, m.amountMinor),
    },
  ]);
  return id;
}

/**
 * Moves `amountMinor` of the balance onto one of the customer's active loans: paid out of the
 * balance and received as that loan's repayment in the same transaction (two entries whose cash
 * lines cancel), allocated like any repayment.
 */
export async function transferCreditBalance(
  tx: TransactionSql,
  m: { customerId: bigint; loanId: bigint; amountMinor: bigint; requestedBy: string; businessDate: string },
): Promise<Repayment> {
  const loan = await getLoan(tx, m.loanId, false, m.customerId);
  if (!loan || loan.customerId !== m.customerId)
    throw new Refusal('LOAN_NOT_FOUND', 'no such loan of this customer');
  await take(tx, m.customerId, m.amountMinor);
  const id = await record(tx, { ...m, kind: 'transfer' });
  const ref = { customerId: m.customerId, loanId: m.loanId };
  await postEntries(tx, [
    {
      eventKey: `customer:${m.customerId}:credit_balance:${id}`,
      businessDate: m.businessDate,
      ...ref,
      posting: creditBalanceRefundPostings(ref, m.amountMinor),
    },
  ]);
  return applyRepayment(tx, {
    loanId: m.loanId,
    amountMinor: m.amountMinor,
    businessDate: m.businessDate,
    overpayment: 'refuse',
  });
}

/**
 * Cash loans: the loan is created pending and its credit reserved in one transaction; the money is
 * sent through the gateway outside any transaction (a slow bank must not hold locks); the answer is
 * applied in a second transaction. A failure cancels the loan, reverses its booking and releases
 * the credit; a timeout leaves it pending until a retry or `reconcile` asks the gateway.
 */
import { domainEvent } from '../domain/events.ts';
import { quote } from '../domain/index.ts';
import { balanced, disbursementSettledPostings, type Posting, type PostingLine } from '../domain/postings.ts';
import { type GatewayOutcome, GatewayTimeout, type PaymentGateway } from '../payments/gateway.ts';
import { releaseCredit, reserveCredit } from './credit-lines.ts';
import type { Sql, TransactionSql } from './db.ts';
import { postEntries } from './ledger.ts';
import { insertLoans, loanBookingEntry, type NewLoan, nextIds } from './loans.ts';
import { emitEvents } from './outbox.ts';
import { getProduct } from './products.ts';
import { Refusal } from './refusal.ts';

export interface CashLoanInput {
  customerId: bigint;
  productId: bigint;
  amountMinor: bigint;
  tenor: number;
  businessDate: string;
}

export interface PendingCashLoan {
  loanId: bigint;
  disbursementId: bigint;
}

export type DisbursementState = 'pending' | 'succeeded' | 'failed';

/** Creates the pending loan, its schedule and booking, and the disbursement to send. */
export async function openCashLoan(tx: TransactionSql, input: CashLoanInput): Promise<PendingCashLoan> {
  const [customer] = await tx<{ status: string; has_card: boolean }[]>`
    select status, bank_card_enc is not null as has_card from customers where id = ${input.customerId}`;
  if (!customer) throw new Refusal('CUSTOMER_NOT_FOUND', 'no such customer');
  if (customer.status !== 'active') throw new Refusal('CUSTOMER_NOT_ACTIVE', 'the customer is not active');
  if (!customer.has_card) throw new Refusal('BANK_CARD_REQUIRED', 'the customer has no bank card on file');
  const stored = await getProduct(tx, input.productId);
  if (!stored) throw new Refusal('PRODUCT_NOT_FOUND', 'no such product');
  if (stored.product.kind !== 'cash') {
    throw new Refusal('PRODUCT_KIND_MISMATCH', 'cash loans need a cash product', {
      kind: stored.product.kind,
    });
  }
  const schedule = quote(stored.product, {
    principalMinor: input.amountMinor,
    tenor: input.tenor,
    startDate: input.businessDate,
  });
  await reserveCredit(tx, input.customerId, schedule.amountFinancedMinor);
  const [loanId, disbursementId] = (await nextIds(tx, 2)) as [bigint, bigint];
  const loan: NewLoan = {
    id: loanId,
    customerId: input.customerId,
    productId: input.productId,
    product: stored.product,
    schedule,
    orderId: null,
    status: 'pending_disbursement',
    businessDate: input.businessDate,
  };
  await insertLoans(tx, [loan]);
  await postEntries(tx, [loanBookingEntry(loan)]);
  await tx`
    insert into disbursements (id, loan_id, customer_id, amount_minor, currency)
    values (${disbursementId}, ${loanId}, ${input.customerId}, ${schedule.disbursedMinor},
      ${stored.product.currency.code})`;
  return { loanId, disbursementId };
}

interface DisbursementRow {
  id: bigint;
  loan_id: bigint;
  customer_id: bigint;
  amount_minor: bigint;
  currency: string;
  status: DisbursementState;
}

async function disbursementOfLoan(sql: Sql, loanId: bigint): Promise<DisbursementRow | null> {
  const [row] = await sql<DisbursementRow[]>`
    select id, loan_id, customer_id, amount_minor, currency, status from disbursements where loan_id = ${loanId}`;
  return row ?? null;
}

/** The loan's booking entry turned around: what a failed disbursement posts. */
async function bookingReversal(tx: TransactionSql, customerId: bigint, loanId: bigint): Promise<Posting> {
  const rows = await tx<
    {
      account_code: string;
      customer_id: bigint | null;
      loan_id: bigint | null;
      debit_minor: bigint;
      credit_minor: bigint;
    }[]
  >`
    select l.account_code, l.customer_id, l.loan_id, l.debit_minor, l.credit_minor
    from journal_lines l join journal_entries e on e.customer_id = l.customer_id and e.id = l.entry_id
    where e.customer_id = ${customerId} and e.event_key = ${`loan:${loanId}:booking`} order by l.id`;
  return balanced(
    'cash_loan_reversal',
    rows.map(
      (r): PostingLine => ({
        account: r.account_code as PostingLine['account'],
        customerId: r.customer_id,
        loanId: r.loan_id,
        debitMinor: r.credit_minor,
        creditMinor: r.debit_minor,
      }),
    ),
  );
}

/** Applies the gateway's answer once, whoever else applies it concurrently. */
async function applyOutcome(
  sql: Sql,
  d: DisbursementRow,
  outcome: GatewayOutcome,
  businessDate: string,
): Promise<DisbursementState> {
  return sql.begin(async (tx) => {
    const [claimed] = await tx`
      update disbursements set status = ${outcome.status},
        gateway_reference = ${outcome.status === 'succeeded' ? outcome.reference : null},
        failure_reason = ${outcome.status === 'failed' ? outcome.reason : null}, updated_at = now()
      where customer_id = ${d.customer_id} and id = ${d.id} and status = 'pending' returning id`;
    if (!claimed) {
      const [now] = await tx<
        { status: DisbursementState }[]
      >`select status from disbursements where customer_id = ${d.customer_id} and id = ${d.id}`;
      return now?.status ?? 'pending';
    }
    const ref = { customerId: d.customer_id, loanId: d.loan_id };
    if (outcome.status === 'succeeded') {
      await tx`update loans set status = 'active'
        where customer_id = ${d.customer_id} and id = ${d.loan_id} and status = 'pending_disbursement'`;
      await postEntries(tx, [
        {
          eventKey: `disbursement:${d.id}:settled`,
          businessDate,
          ...ref,
          posting: disbursementSettledPostings(ref, d.amount_minor),
        },
      ]);
      await emitEvents(tx, [
        domainEvent('loan.disbursed', d.customer_id, `disbursement:${d.id}`, {
          loan_id: d.loan_id.toString(),
          disbursement_id: d.id.toString(),
          amount_minor: d.amount_minor.toString(),
        }),
      ]);
      return 'succeeded';
    }
    const [loan] = await tx<{ principal_minor: bigint }[]>`
      update loans set status = 'cancelled', closed_at = now()
      where customer_id = ${d.customer_id} and id = ${d.loan_id} and status = 'pending_disbursement'
      returning principal_minor`;
    if (loan) await releaseCredit(tx, d.customer_id, loan.principal_minor);
    await postEntries(tx, [
      {
        eventKey: `disbursement:${d.id}:failed`,
        businessDate,
        ...ref,
        posting: await bookingReversal(tx, d.customer_id, d.loan_id),
      },
    ]);
    return 'failed';
  });
}

/**
 * Drives a loan's disbursement to an answer: `send` (idempotent at the gateway) on the first try;
 * on a retry or reconciliation, ask the gateway's status first and send only if it never got it.
 */
export async function settleDisbursement(
  sql: Sql,
  gateway: PaymentGateway,
  loanId: bigint,
  businessDate: string,
  mode: 'send' | 'reconcile',
): Promise<DisbursementState> {
  const d = await disbursementOfLoan(sql, loanId);
  if (!d) throw new Refusal('LOAN_NOT_FOUND', 'the loan has no disbursement');
  if (d.status !== 'pending') return d.status;
  await sql`update disbursements set attempts = attempts + 1, updated_at = now()
    where customer_id = ${d.customer_id} and id = ${d.id}`;
  const request = {
    disbursementId: d.id,
    customerId: d.customer_id,
    amountMinor: d.amount_minor,
    currency: d.currency,
  };
  let outcome: GatewayOutcome;
  try {
    if (mode === 'reconcile') {
      const known = await gateway.status(d.id);
      outcome = known.status === 'unknown' ? await gateway.send(request) : known;
    } else {
      outcome = await gateway.send(request);
    }
  } catch (err) {
    if (err instanceof GatewayTimeout) return 'pending';
    throw err;
  }
  return applyOutcome(sql, d, outcome, businessDate);
}

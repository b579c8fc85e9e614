/** Schemas and views shared by the lending routes (credit lines, orders, loans, repayments). */
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { CNY, formatAmount } from '../../domain/index.ts';
import type { Loan, StoredInstallment } from '../../store/loans.ts';
import { outstandingTotals } from '../../store/loans.ts';
import { notFound } from '../errors.ts';
import { MONEY_MAX_INTEGER_DIGITS, Money, parseMoney } from '../money-input.ts';
import { IdString, idFromPath } from './ids.ts';

/** Every amount field uses the one Money schema and parser (api/money-input.ts). */
export { Money };
export const IdParams = Type.Object({ id: IdString });
export const ErrorBody = Type.Object({
  error: Type.Object({
    code: Type.String(),
    message: Type.String(),
    details: Type.Record(Type.String(), Type.Unknown()),
  }),
});

/** A path id, or 404 when it is beyond bigint (no such row can exist). */
export function pathId(text: string, what: string): bigint {
  const id = idFromPath(text);
  if (id === undefined) throw notFound(what);
  return id;
}

/** Largest amount the Money schema lets through: routes with a tighter bound name their own. */
export const MONEY_SCHEMA_MAX_MINOR = 10n ** BigInt(MONEY_MAX_INTEGER_DIGITS + CNY.decimals) - 1n;

/** A positive amount in the currency's minor units; 422 INVALID_AMOUNT otherwise. */
export function positiveAmount(text: string, decimals = CNY.decimals): bigint {
  return parseMoney(text, {
    maxMinor: MONEY_SCHEMA_MAX_MINOR,
    code: 'INVALID_AMOUNT',
    what: 'the amount',
    decimals,
  });
}

export const money = (minor: bigint) => formatAmount(minor, CNY.decimals);

/** How a payment was allocated, as every repayment answer and history row shows it. */
export const allocatedJson = (split: {
  principal: bigint;
  interest: bigint;
  fee: bigint;
  penalty: bigint;
}) => ({
  principal: money(split.principal),
  interest: money(split.interest),
  fee: money(split.fee),
  penalty: money(split.penalty),
});

export function isStaff(request: FastifyRequest): boolean {
  return request.principal?.role === 'risk' || request.principal?.role === 'ops';
}

/** Customers see their own records only; anything else is "not found", so ids cannot be probed. */
export function assertOwnerOrStaff(request: FastifyRequest, customerId: bigint, what: string): void {
  const p = request.principal;
  if (isStaff(request)) return;
  if (p?.role === 'customer' && p.id === customerId) return;
  throw notFound(what);
}

export const Components = Type.Object({
  principal: Type.String(),
  interest: Type.String(),
  fee: Type.String(),
  penalty: Type.String(),
  total: Type.String(),
});

export const LoanView = Type.Object({
  id: Type.String(),
  customer_id: Type.String(),
  product_id: Type.String(),
  kind: Type.String(),
  order_id: Type.Union([Type.String(), Type.Null()]),
  principal: Type.String(),
  tenor: Type.Integer(),
  start_date: Type.String(),
  currency: Type.String(),
  apr_percent: Type.String(),
  status: Type.String(),
  days_past_due: Type.Integer(),
  bucket: Type.String(),
  outstanding: Components,
  created_at: Type.String(),
  closed_at: Type.Union([Type.String(), Type.Null()]),
  display_name: Type.Optional(
    Type.String({
      description:
        'what the loan is called for people: goods and merchant, or the product for cash (loan reads and lists)',
    }),
  ),
});

export function loanView(loan: Loan, installments: readonly StoredInstallment[], displayName?: string) {
  const live = loan.status === 'cancelled' ? [] : installments;
  const out = outstandingTotals(live);
  return {
    id: loan.id.toString(),
    customer_id: loan.customerId.toString(),
    product_id: loan.productId.toString(),
    kind: loan.kind,
    order_id: loan.orderId === null ? null : loan.orderId.toString(),
    principal: money(loan.principalMinor),
    tenor: loan.tenor,
    start_date: loan.startDate,
    currency: loan.currency,
    apr_percent: loan.aprPercent,
    status: loan.status,
    days_past_due: loan.daysPastDue,
    bucket: loan.bucket,
    outstanding: {
      principal: money(out.principal),
      interest: money(out.interest),
      fee: money(out.fee),
      penalty: money(out.penalty),
      total: money(out.principal + out.interest + out.fee + out.penalty),
    },
    created_at: loan.createdAt.toISOString(),
    closed_at: loan.closedAt ? loan.closedAt.toISOString() : null,
    ...(displayName === undefined ? {} : { display_name: displayName }),
  };
}

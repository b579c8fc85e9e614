/** Schemas and views shared by the lending routes (credit lines, orders, loans, repayments). */
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { CNY, formatAmount, parseAmount } from '../../domain/index.ts';
import type { Loan, StoredInstallment } from '../../store/loans.ts';
import { outstandingTotals } from '../../store/loans.ts';
import { notFound, refuse } from '../errors.ts';
import { IdString, idFromPath } from './ids.ts';

/** Integer digits a money string may have: far above any product maximum, far below bigint. */
export const MONEY_MAX_INTEGER_DIGITS = 14;

export const Money = Type.String({
  pattern: `^\\d{1,${MONEY_MAX_INTEGER_DIGITS}}(\\.\\d{1,6})?$`,
  maxLength: 24,
  description: 'a positive decimal amount, e.g. "1200.00"',
});
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

/** A positive amount in the currency's minor units; 422 INVALID_AMOUNT otherwise. */
export function positiveAmount(text: string, decimals = CNY.decimals): bigint {
  // A malformed amount is the domain's DomainError, which the API answers 422 with its code.
  const minor = parseAmount(text, decimals);
  if (minor <= 0n) throw refuse('INVALID_AMOUNT', 'the amount must be positive', { value: text });
  return minor;
}

export const money = (minor: bigint) => formatAmount(minor, CNY.decimals);

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
});

export function loanView(loan: Loan, installments: readonly StoredInstallment[]) {
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
  };
}

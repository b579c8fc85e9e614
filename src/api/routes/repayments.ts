/**
 * Repayments and payoff quotes. A payment is allocated by the product's order, oldest installment
 * first; paying at least the payoff amount for today closes the loan and waives interest not yet
 * accrued. Beyond the payoff, `?overpayment=refuse` (default) answers 422 OVERPAYMENT and
 * `?overpayment=credit_balance` keeps the excess as the customer's credit balance.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { DomainError, parseDate } from '../../domain/index.ts';
import { MAX_BACKDATE_DAYS } from '../../domain/servicing.ts';
import type { Platform } from '../../platform.ts';
import { getLoan } from '../../store/loans.ts';
import { applyRepayment, quotePayoff } from '../../store/repayments.ts';
import { requireRole } from '../auth.ts';
import { badQuery, notFound, refuse } from '../errors.ts';
import { IdempotencyHeaders, idempotent } from '../plugins/idempotency.ts';
import {
  allocatedJson,
  assertOwnerOrStaff,
  ErrorBody,
  IdParams,
  Money,
  money,
  pathId,
  positiveAmount,
} from './lending-schemas.ts';
import { datedRepayment } from './servicing.ts';

const RepaymentBody = Type.Object(
  {
    amount: Money,
    transaction_date: Type.Optional(
      Type.String({
        pattern: '^\\d{4}-\\d{2}-\\d{2}$',
        description: `staff only: the day the money was received, up to ${MAX_BACKDATE_DAYS} days back (reprocesses the loan)`,
      }),
    ),
  },
  { additionalProperties: false },
);
const RepaymentQuery = Type.Object(
  { overpayment: Type.Optional(Type.Union([Type.Literal('refuse'), Type.Literal('credit_balance')])) },
  { additionalProperties: false },
);
const Split = Type.Object({
  principal: Type.String(),
  interest: Type.String(),
  fee: Type.String(),
  penalty: Type.String(),
});
const RepaymentView = Type.Object({
  id: Type.String(),
  loan_id: Type.String(),
  amount: Type.String(),
  allocated: Split,
  credit_balance_added: Type.String(),
  interest_waived: Type.String(),
  business_date: Type.String(),
  transaction_date: Type.String(),
  status: Type.Optional(Type.String()),
  loan_status: Type.String(),
});
const PayoffView = Type.Object({
  loan_id: Type.String(),
  date: Type.String(),
  principal: Type.String(),
  interest: Type.String(),
  fee: Type.String(),
  penalty: Type.String(),
  total: Type.String(),
  interest_waived: Type.String(),
});

export function repaymentRoutes(platform: Platform): FastifyPluginAsyncTypebox {
  const sql = platform.db.sql;
  return async (app) => {
    app.post(
      '/v1/loans/:id/repayments',
      {
        preHandler: requireRole('customer', 'ops'),
        schema: {
          tags: ['loans'],
          summary: 'Repay a loan: partial, exact or early payoff (Idempotency-Key required)',
          security: [{ bearer: [] }],
          headers: IdempotencyHeaders,
          params: IdParams,
          querystring: RepaymentQuery,
          body: RepaymentBody,
          response: { 201: RepaymentView, 400: ErrorBody, 404: ErrorBody, 409: ErrorBody, 422: ErrorBody },
        },
      },
      async (request, reply) => {
        const loanId = pathId(request.params.id, 'loan');
        const amountMinor = positiveAmount(request.body.amount);
        const loan = await getLoan(sql, loanId);
        if (!loan) throw notFound('loan');
        if (request.principal!.role === 'customer') assertOwnerOrStaff(request, loan.customerId, 'loan');
        const today = await platform.services.clock.today();
        const valueDate = request.body.transaction_date;
        if (valueDate !== undefined && valueDate !== today) {
          return datedRepayment(platform, request, reply, { loan, amountMinor, valueDate, today });
        }
        return idempotent(sql, request, reply, {
          effect: async (tx) => {
            const r = await applyRepayment(tx, {
              loanId,
              customerId: loan.customerId,
              amountMinor,
              businessDate: today,
              overpayment: request.query.overpayment ?? 'refuse',
            });
            return {
              statusCode: 201,
              body: {
                id: r.id.toString(),
                loan_id: r.loanId.toString(),
                amount: money(r.amountMinor),
                allocated: allocatedJson(r.split),
                credit_balance_added: money(r.excessMinor),
                interest_waived: money(r.waivedInterestMinor),
                business_date: r.businessDate,
                transaction_date: r.businessDate,
                loan_status: r.loanStatus,
              },
            };
          },
        });
      },
    );

    app.get(
      '/v1/loans/:id/payoff',
      {
        preHandler: requireRole('customer', 'risk', 'ops'),
        schema: {
          tags: ['loans'],
          summary:
            'What closes the loan on a date: principal, interest accrued to that date, fees, penalties',
          security: [{ bearer: [] }],
          params: IdParams,
          querystring: Type.Object(
            { date: Type.Optional(Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$' })) },
            { additionalProperties: false },
          ),
          response: { 200: PayoffView, 400: ErrorBody, 404: ErrorBody, 409: ErrorBody },
        },
      },
      async (request) => {
        const loanId = pathId(request.params.id, 'loan');
        let date: string;
        try {
          date = parseDate(request.query.date ?? (await platform.services.clock.today()));
        } catch (err) {
          if (err instanceof DomainError) throw badQuery('INVALID_DATE', err.message);
          throw err;
        }
        const loan = await getLoan(sql, loanId);
        if (!loan) throw notFound('loan');
        assertOwnerOrStaff(request, loan.customerId, 'loan');
        if (loan.status !== 'active') {
          throw refuse('LOAN_NOT_ACTIVE', `the loan is ${loan.status}`, { status: loan.status });
        }
        const q = await quotePayoff(sql, loan, date);
        return {
          loan_id: loanId.toString(),
          date,
          principal: money(q.owed.principal),
          interest: money(q.owed.interest),
          fee: money(q.owed.fee),
          penalty: money(q.owed.penalty),
          total: money(q.totalMinor),
          interest_waived: money(q.waivedInterestMinor),
        };
      },
    );
  };
}

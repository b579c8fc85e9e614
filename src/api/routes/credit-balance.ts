/**
 * A customer's credit balance (overpayments and refunds kept for them, account 2200): read it
 * (the customer or staff), pay it out to the card or move it onto another of their loans (ops,
 * Idempotency-Key; store/servicing/credit-balance.ts).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Platform } from '../../platform.ts';
import {
  creditBalanceMinor,
  refundCreditBalance,
  transferCreditBalance,
} from '../../store/servicing/credit-balance.ts';
import { recordStaffAction } from '../../store/staff-audit.ts';
import { requireRole } from '../auth.ts';
import { IdempotencyHeaders, idempotent } from '../plugins/idempotency.ts';
import { IdString } from './ids.ts';
import {
  assertOwnerOrStaff,
  ErrorBody,
  IdParams,
  Money,
  money,
  pathId,
  positiveAmount,
} from './lending-schemas.ts';

const BalanceView = Type.Object({ customer_id: Type.String(), credit_balance: Type.String() });

export function creditBalanceRoutes(platform: Platform): FastifyPluginAsyncTypebox {
  const sql = platform.db.sql;
  const moneyRoute = (summary: string, body: ReturnType<typeof Type.Object>) => ({
    preHandler: requireRole('ops'),
    schema: {
      tags: ['servicing'],
      summary,
      security: [{ bearer: [] }],
      headers: IdempotencyHeaders,
      params: IdParams,
      body,
      response: {
        201: Type.Object({}, { additionalProperties: true }),
        400: ErrorBody,
        404: ErrorBody,
        409: ErrorBody,
        422: ErrorBody,
      },
    },
  });
  return async (app) => {
    app.get(
      '/v1/customers/:id/credit-balance',
      {
        preHandler: requireRole('customer', 'risk', 'ops'),
        schema: {
          tags: ['servicing'],
          security: [{ bearer: [] }],
          params: IdParams,
          response: { 200: BalanceView, 404: ErrorBody },
        },
      },
      async (request) => {
        const customerId = pathId(request.params.id, 'customer');
        assertOwnerOrStaff(request, customerId, 'customer');
        return {
          customer_id: customerId.toString(),
          credit_balance: money(await creditBalanceMinor(sql, customerId)),
        };
      },
    );

    app.post(
      '/v1/customers/:id/credit-balance/refund',
      moneyRoute(
        'Pay the credit balance (or part) out to the card (Idempotency-Key)',
        Type.Object({ amount: Money }, { additionalProperties: false }),
      ),
      async (request, reply) => {
        const customerId = pathId((request.params as { id: string }).id, 'customer');
        const amountMinor = positiveAmount((request.body as { amount: string }).amount);
        const businessDate = await platform.services.clock.today();
        return idempotent(sql, request, reply, {
          effect: async (tx) => {
            const id = await refundCreditBalance(tx, {
              customerId,
              amountMinor,
              requestedBy: `ops:${request.principal!.id}`,
              businessDate,
            });
            const left = await creditBalanceMinor(tx, customerId);
            await recordStaffAction(tx, {
              actor: request.principal!,
              action: 'credit_balance_refunded',
              recordType: 'customer',
              recordId: customerId.toString(),
              before: { creditBalanceMinor: left + amountMinor },
              after: { creditBalanceMinor: left, refundId: id },
            });
            return {
              statusCode: 201,
              body: {
                id: id.toString(),
                refunded: money(amountMinor),
                credit_balance: money(left),
                business_date: businessDate,
              },
            };
          },
        });
      },
    );

    app.post(
      '/v1/customers/:id/credit-balance/transfer',
      moneyRoute(
        "Move the credit balance (or part) onto another of the customer's loans as a repayment (Idempotency-Key)",
        Type.Object({ amount: Money, loan_id: IdString }, { additionalProperties: false }),
      ),
      async (request, reply) => {
        const customerId = pathId((request.params as { id: string }).id, 'customer');
        const body = request.body as { amount: string; loan_id: string };
        const amountMinor = positiveAmount(body.amount);
        const loanId = pathId(body.loan_id, 'loan');
        const businessDate = await platform.services.clock.today();
        return idempotent(sql, request, reply, {
          effect: async (tx) => {
            const r = await transferCreditBalance(tx, {
              customerId,
              loanId,
              amountMinor,
              requestedBy: `ops:${request.principal!.id}`,
              businessDate,
            });
            const left = await creditBalanceMinor(tx, customerId);
            await recordStaffAction(tx, {
              actor: request.principal!,
              action: 'credit_balance_transferred',
              recordType: 'customer',
              recordId: customerId.toString(),
              before: { creditBalanceMinor: left + amountMinor },
              after: { creditBalanceMinor: left, loanId, repaymentId: r.id },
            });
            return {
              statusCode: 201,
              body: {
                repayment_id: r.id.toString(),
                loan_id: loanId.toString(),
                moved: money(amountMinor),
                allocated: {
                  principal: money(r.split.principal),
                  interest: money(r.split.interest),
                  fee: money(r.split.fee),
                  penalty: money(r.split.penalty),
                },
                loan_status: r.loanStatus,
                credit_balance: money(left),
                business_date: businessDate,
              },
            };
          },
        });
      },
    );
  };
}

/**
 * Loan servicing by staff (issue 15): repayments with an earlier transaction date, reversals of
 * repayments, and a loan's repayment history. Every money-moving call takes an Idempotency-Key and
 * is one transaction whose entries balance (store/servicing/).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { isDate } from '../../domain/index.ts';
import { transactionDateRefusal } from '../../domain/servicing.ts';
import type { Platform } from '../../platform.ts';
import type { Loan } from '../../store/loans.ts';
import { getLoan } from '../../store/loans.ts';
import {
  applyDatedRepayment,
  type CorrectedRepayment,
  repaymentHistory,
  reverseRepayment,
} from '../../store/servicing/corrections.ts';
import { writeOffLoan } from '../../store/servicing/write-off.ts';
import { recordStaffAction } from '../../store/staff-audit.ts';
import { requireRole } from '../auth.ts';
import { forbidden, notFound, refuse } from '../errors.ts';
import { IdempotencyHeaders, idempotent } from '../plugins/idempotency.ts';
import {
  allocatedJson,
  assertOwnerOrStaff,
  ErrorBody,
  IdParams,
  isStaff,
  money,
  pathId,
} from './lending-schemas.ts';

/** The most repayments one history page lists. */
export const MAX_REPAYMENTS_LISTED = 500;

const CorrectedView = Type.Object({
  id: Type.String(),
  loan_id: Type.String(),
  amount: Type.String(),
  allocated: Type.Object({
    principal: Type.String(),
    interest: Type.String(),
    fee: Type.String(),
    penalty: Type.String(),
  }),
  credit_balance_added: Type.String(),
  interest_waived: Type.String(),
  business_date: Type.String(),
  transaction_date: Type.String(),
  status: Type.String(),
  loan_status: Type.String(),
});

function correctedJson(r: CorrectedRepayment) {
  return {
    id: r.id.toString(),
    loan_id: r.loanId.toString(),
    amount: money(r.amountMinor),
    allocated: allocatedJson(r.split),
    credit_balance_added: money(r.excessMinor),
    interest_waived: money(r.waivedInterestMinor),
    business_date: r.businessDate,
    transaction_date: r.valueDate,
    status: r.status,
    loan_status: r.loanStatus,
  };
}

/** A repayment dated before today: staff only, within the window; the loan is reprocessed. */
export async function datedRepayment(
  platform: Platform,
  request: FastifyRequest,
  reply: FastifyReply,
  p: { loan: Loan; amountMinor: bigint; valueDate: string; today: string },
): Promise<FastifyReply> {
  if (!isStaff(request)) throw forbidden('only staff may give a repayment a transaction date');
  const refusal = transactionDateRefusal(p.valueDate, p.today, p.loan.startDate);
  if (refusal) {
    throw refuse(refusal, `transaction date ${p.valueDate} is not allowed on ${p.today}`, {
      transaction_date: p.valueDate,
      business_date: p.today,
    });
  }
  return idempotent(platform.db.sql, request, reply, {
    effect: async (tx) => {
      const r = await applyDatedRepayment(tx, {
        loanId: p.loan.id,
        amountMinor: p.amountMinor,
        valueDate: p.valueDate,
        businessDate: p.today,
      });
      await recordStaffAction(tx, {
        actor: request.principal!,
        action: 'dated_repayment_applied',
        recordType: 'repayment',
        recordId: r.id.toString(),
        before: { loanId: p.loan.id, loanStatus: p.loan.status },
        after: correctedJson(r),
      });
      return { statusCode: 201, body: correctedJson(r) };
    },
  });
}

export function servicingRoutes(platform: Platform): FastifyPluginAsyncTypebox {
  const sql = platform.db.sql;
  return async (app) => {
    app.post(
      '/v1/loans/:id/repayments/:repaymentId/reversal',
      {
        preHandler: requireRole('ops'),
        schema: {
          tags: ['servicing'],
          summary:
            'Reverse a repayment (bounced or misapplied); later payments are replayed (Idempotency-Key)',
          security: [{ bearer: [] }],
          headers: IdempotencyHeaders,
          params: Type.Object({ id: Type.String(), repaymentId: Type.String() }),
          body: Type.Object(
            { reason: Type.Union([Type.Literal('bounced'), Type.Literal('misapplied')]) },
            { additionalProperties: false },
          ),
          response: { 200: CorrectedView, 400: ErrorBody, 404: ErrorBody, 409: ErrorBody, 422: ErrorBody },
        },
      },
      async (request, reply) => {
        const loanId = pathId(request.params.id, 'loan');
        const repaymentId = pathId(request.params.repaymentId, 'repayment');
        const today = await platform.services.clock.today();
        return idempotent(sql, request, reply, {
          effect: async (tx) => {
            const r = await reverseRepayment(tx, {
              loanId,
              repaymentId,
              reason: request.body.reason,
              businessDate: today,
            });
            await recordStaffAction(tx, {
              actor: request.principal!,
              action: 'repayment_reversed',
              recordType: 'repayment',
              recordId: repaymentId.toString(),
              before: { loanId, status: 'applied' },
              after: correctedJson(r),
            });
            return { statusCode: 200, body: correctedJson(r) };
          },
        });
      },
    );

    app.post(
      '/v1/loans/:id/write-off',
      {
        preHandler: requireRole('ops'),
        schema: {
          tags: ['servicing'],
          summary: 'Write one loan off on a chosen date (default today; Idempotency-Key)',
          security: [{ bearer: [] }],
          headers: IdempotencyHeaders,
          params: IdParams,
          body: Type.Object(
            {
              date: Type.Optional(Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$' })),
              reason: Type.String({ minLength: 1, maxLength: 200 }),
            },
            { additionalProperties: false },
          ),
          response: {
            200: Type.Object({
              loan_id: Type.String(),
              date: Type.String(),
              loss: Type.String(),
              loan_status: Type.String(),
            }),
            400: ErrorBody,
            404: ErrorBody,
            409: ErrorBody,
            422: ErrorBody,
          },
        },
      },
      async (request, reply) => {
        const loanId = pathId(request.params.id, 'loan');
        const loan = await getLoan(sql, loanId);
        if (!loan) throw notFound('loan');
        const today = await platform.services.clock.today();
        const date = request.body.date ?? today;
        if (!isDate(date) || date > today || date < loan.startDate) {
          throw refuse(
            'WRITE_OFF_DATE_NOT_ALLOWED',
            `a write-off date is from the loan's start ${loan.startDate} to today ${today}`,
          );
        }
        return idempotent(sql, request, reply, {
          effect: async (tx) => {
            const w = await writeOffLoan(tx, loanId, date);
            await recordStaffAction(tx, {
              actor: request.principal!,
              action: 'loan_written_off',
              recordType: 'loan',
              recordId: loanId.toString(),
              before: { status: loan.status, daysPastDue: loan.daysPastDue },
              after: { status: 'written_off', date, lossMinor: w.lossMinor, reason: request.body.reason },
            });
            return {
              statusCode: 200,
              body: {
                loan_id: loanId.toString(),
                date,
                loss: money(w.lossMinor),
                loan_status: 'written_off',
              },
            };
          },
        });
      },
    );

    app.get(
      '/v1/loans/:id/repayments',
      {
        preHandler: requireRole('customer', 'risk', 'ops'),
        schema: {
          tags: ['servicing'],
          summary: "A loan's repayments, reversed ones included, in the order received",
          security: [{ bearer: [] }],
          params: IdParams,
          response: {
            200: Type.Object({
              items: Type.Array(
                Type.Object({
                  id: Type.String(),
                  amount: Type.String(),
                  allocated: CorrectedView.properties.allocated,
                  credit_balance_added: Type.String(),
                  business_date: Type.String(),
                  transaction_date: Type.String(),
                  status: Type.String(),
                  reversal_reason: Type.Union([Type.String(), Type.Null()]),
                }),
              ),
            }),
            404: ErrorBody,
          },
        },
      },
      async (request) => {
        const loan = await getLoan(sql, pathId(request.params.id, 'loan'));
        if (!loan) throw notFound('loan');
        assertOwnerOrStaff(request, loan.customerId, 'loan');
        const rows = await repaymentHistory(sql, loan, MAX_REPAYMENTS_LISTED);
        return {
          items: rows.map((r) => ({
            id: r.id.toString(),
            amount: money(r.amount_minor),
            allocated: allocatedJson({
              principal: r.principal_minor,
              interest: r.interest_minor,
              fee: r.fee_minor,
              penalty: r.penalty_minor,
            }),
            credit_balance_added: money(r.excess_minor),
            business_date: r.business_date,
            transaction_date: r.value_date,
            status: r.status,
            reversal_reason: r.reversal_reason,
          })),
        };
      },
    );
  };
}

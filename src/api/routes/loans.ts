/**
 * Cash installment loans and loan reads. Drawing cash creates the loan pending and reserves the
 * credit in one transaction, then sends the money through the payment gateway outside it: success
 * activates the loan (201), a definite failure cancels it and releases the credit (422
 * DISBURSEMENT_FAILED), a timeout answers 202 with the loan still pending; retrying with the same
 * Idempotency-Key, or ops calling /reconcile, asks the gateway and settles it.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { MAX_TENOR } from '../../domain/index.ts';
import type { Platform } from '../../platform.ts';
import { markUsed, takeAcceptance } from '../../store/agreements.ts';
import { type DisbursementState, openCashLoan, settleDisbursement } from '../../store/disbursements.ts';
import { getInstallments, getLoan, listLoans, loanDisplayNames } from '../../store/loans.ts';
import { recordStaffActionNow } from '../../store/staff-audit.ts';
import { requireRole } from '../auth.ts';
import { notFound, refuse, toApiError } from '../errors.ts';
import { IdempotencyHeaders, idempotent } from '../plugins/idempotency.ts';
import { IdString } from './ids.ts';
import {
  assertOwnerOrStaff,
  ErrorBody,
  IdParams,
  LoanView,
  loanView,
  Money,
  money,
  pathId,
  positiveAmount,
} from './lending-schemas.ts';

const CashLoanBody = Type.Object(
  {
    product_id: IdString,
    amount: Money,
    tenor: Type.Integer({ minimum: 1, maximum: MAX_TENOR }),
    // as on POST /v1/orders: the agreement acceptance covering this draw (docs/api.md)
    agreement_acceptance_id: Type.Optional(IdString),
  },
  { additionalProperties: false },
);
const InstallmentView = Type.Object({
  number: Type.Integer(),
  due_date: Type.String(),
  principal: Type.String(),
  interest: Type.String(),
  fee: Type.String(),
  penalty: Type.String(),
  paid_principal: Type.String(),
  paid_interest: Type.String(),
  paid_fee: Type.String(),
  paid_penalty: Type.String(),
  status: Type.String(),
});
const ScheduleView = Type.Object({ loan_id: Type.String(), installments: Type.Array(InstallmentView) });

export function loanRoutes(platform: Platform): FastifyPluginAsyncTypebox {
  const sql = platform.db.sql;

  const viewOf = async (loanId: bigint) => {
    const loan = await getLoan(sql, loanId);
    if (!loan) throw notFound('loan');
    return loanView(loan, await getInstallments(sql, loanId));
  };

  /** The loan at a path id when the caller may see it (customers only their own); 404 otherwise. */
  const visibleLoan = async (request: FastifyRequest, id: string) => {
    const loan = await getLoan(sql, pathId(id, 'loan'));
    if (!loan) throw notFound('loan');
    assertOwnerOrStaff(request, loan.customerId, 'loan');
    return loan;
  };

  /** The HTTP answer for a disbursement's state; pending is not final (a retry resolves it). */
  const answerFor = async (loanId: bigint, state: DisbursementState) => {
    if (state === 'failed') {
      const err = refuse('DISBURSEMENT_FAILED', 'the bank refused the transfer; the credit is released', {
        loan_id: loanId.toString(),
      });
      return {
        statusCode: 422,
        body: { error: { code: err.code, message: err.message, details: err.details } },
        final: true,
      };
    }
    return {
      statusCode: state === 'succeeded' ? 201 : 202,
      body: await viewOf(loanId),
      final: state === 'succeeded',
    };
  };

  return async (app) => {
    app.post(
      '/v1/loans',
      {
        preHandler: requireRole('customer'),
        schema: {
          tags: ['loans'],
          summary: 'Draw a cash installment loan to the bank card on file (Idempotency-Key required)',
          security: [{ bearer: [] }],
          headers: IdempotencyHeaders,
          body: CashLoanBody,
          response: {
            201: LoanView,
            202: LoanView,
            400: ErrorBody,
            404: ErrorBody,
            409: ErrorBody,
            422: ErrorBody,
          },
        },
      },
      async (request, reply) => {
        const customerId = request.principal!.id;
        const productId = pathId(request.body.product_id, 'product');
        const amountMinor = positiveAmount(request.body.amount);
        const gateway = platform.services.gateway;
        const given = request.body.agreement_acceptance_id;
        const acceptanceId = given === undefined ? undefined : pathId(given, 'agreement acceptance');
        const checkAgreement = acceptanceId !== undefined || platform.config.agreementRequired;
        return idempotent<{ loan_id: string }>(sql, request, reply, {
          effect: async (tx) => {
            const acceptance = checkAgreement
              ? await takeAcceptance(tx, customerId, acceptanceId, {
                  productId,
                  tenor: request.body.tenor,
                  goodsId: null,
                  amountMinor,
                })
              : undefined;
            const pending = await openCashLoan(tx, {
              customerId,
              productId,
              amountMinor,
              tenor: request.body.tenor,
              businessDate: await platform.services.clock.today(),
            });
            if (acceptance) await markUsed(tx, acceptance, { loanId: pending.loanId });
            return { deferred: { loan_id: pending.loanId.toString() } };
          },
          finish: async (deferred, resumed) => {
            const loanId = BigInt(deferred.loan_id);
            const state = await settleDisbursement(
              sql,
              gateway,
              loanId,
              await platform.services.clock.today(),
              resumed ? 'reconcile' : 'send',
            );
            return answerFor(loanId, state);
          },
        });
      },
    );

    app.post(
      '/v1/loans/:id/reconcile',
      {
        preHandler: requireRole('ops'),
        schema: {
          tags: ['loans'],
          summary: 'Ask the payment gateway about a pending disbursement and settle the loan (ops)',
          security: [{ bearer: [] }],
          params: IdParams,
          response: { 200: LoanView, 404: ErrorBody },
        },
      },
      async (request) => {
        const loanId = pathId(request.params.id, 'loan');
        const loan = await getLoan(sql, loanId);
        if (!loan || loan.kind !== 'cash') throw notFound('loan');
        // The gateway call is outside any transaction: the request is audited before it.
        await recordStaffActionNow(sql, {
          actor: request.principal!,
          action: 'disbursement_reconcile_requested',
          recordType: 'loan',
          recordId: loanId.toString(),
          before: { status: loan.status },
        });
        try {
          await settleDisbursement(
            sql,
            platform.services.gateway,
            loanId,
            await platform.services.clock.today(),
            'reconcile',
          );
        } catch (err) {
          throw toApiError(err) ?? err;
        }
        return viewOf(loanId);
      },
    );

    app.get(
      '/v1/loans/:id',
      {
        preHandler: requireRole('customer', 'risk', 'ops'),
        schema: {
          tags: ['loans'],
          summary: 'A loan with what is still owed',
          security: [{ bearer: [] }],
          params: IdParams,
          response: { 200: LoanView, 404: ErrorBody },
        },
      },
      async (request) => {
        const loan = await visibleLoan(request, request.params.id);
        const names = await loanDisplayNames(sql, loan.customerId, [loan.id]);
        return loanView(loan, await getInstallments(sql, loan.id), names.get(loan.id));
      },
    );

    app.get(
      '/v1/loans',
      {
        preHandler: requireRole('customer', 'risk', 'ops'),
        schema: {
          tags: ['loans'],
          summary: "A customer's loans, newest first (customers: their own; staff: customer_id required)",
          security: [{ bearer: [] }],
          querystring: Type.Object({ customer_id: Type.Optional(IdString) }, { additionalProperties: false }),
          response: { 200: Type.Object({ loans: Type.Array(LoanView) }), 400: ErrorBody, 404: ErrorBody },
        },
      },
      async (request) => {
        const p = request.principal!;
        const given = request.query.customer_id;
        if (given === undefined && p.role !== 'customer') {
          throw refuse('CUSTOMER_ID_REQUIRED', 'staff must say whose loans: customer_id');
        }
        const customerId = given === undefined ? p.id : pathId(given, 'customer');
        assertOwnerOrStaff(request, customerId, 'customer');
        const loans = await listLoans(sql, customerId);
        const names = await loanDisplayNames(
          sql,
          customerId,
          loans.map((l) => l.id),
        );
        const views = [];
        for (const loan of loans)
          views.push(loanView(loan, await getInstallments(sql, loan.id), names.get(loan.id)));
        return { loans: views };
      },
    );

    app.get(
      '/v1/loans/:id/schedule',
      {
        preHandler: requireRole('customer', 'risk', 'ops'),
        schema: {
          tags: ['loans'],
          summary: "A loan's installments: scheduled and paid amounts",
          security: [{ bearer: [] }],
          params: IdParams,
          response: { 200: ScheduleView, 404: ErrorBody },
        },
      },
      async (request) => {
        const loan = await visibleLoan(request, request.params.id);
        const installments = await getInstallments(sql, loan.id);
        return {
          loan_id: loan.id.toString(),
          installments: installments.map((i) => ({
            number: i.number,
            due_date: i.dueDate,
            principal: money(i.scheduled.principal),
            interest: money(i.scheduled.interest),
            fee: money(i.scheduled.fee),
            penalty: money(i.scheduled.penalty),
            paid_principal: money(i.paid.principal),
            paid_interest: money(i.paid.interest),
            paid_fee: money(i.paid.fee),
            paid_penalty: money(i.paid.penalty),
            status: i.status,
          })),
        };
      },
    );
  };
}

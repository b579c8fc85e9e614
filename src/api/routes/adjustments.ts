/**
 * Ad-hoc charges and waivers by staff (issue 15): `POST /v1/loans/{id}/charges` (a fee: a
 * returned-payment fee, say) and `POST /v1/loans/{id}/waivers` (fee, interest or penalty). `ops`
 * only, Idempotency-Key required, one transaction with one balanced entry per installment touched.
 * Above the staff limit they go through the approval seam (src/servicing/approval.ts).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { MAX_CHARGE_MINOR } from '../../domain/adjustments.ts';
import type { Platform } from '../../platform.ts';
import { authorizeStaffAdjustment } from '../../servicing/approval.ts';
import { getLoan } from '../../store/loans.ts';
import { type AppliedAdjustment, applyCharge, applyWaiver } from '../../store/servicing/adjustments.ts';
import { recordStaffAction } from '../../store/staff-audit.ts';
import { requireRole } from '../auth.ts';
import { notFound, refuse } from '../errors.ts';
import { IdempotencyHeaders, idempotent } from '../plugins/idempotency.ts';
import { ErrorBody, IdParams, Money, money, pathId, positiveAmount } from './lending-schemas.ts';

const Reason = Type.String({ minLength: 1, maxLength: 200 });
const Installment = Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 }));

const AdjustmentView = Type.Object({
  ids: Type.Array(Type.String()),
  loan_id: Type.String(),
  kind: Type.String(),
  component: Type.String(),
  amount: Type.String(),
  installments: Type.Array(Type.Object({ number: Type.Integer(), amount: Type.String() })),
  loan_status: Type.String(),
  days_past_due: Type.Integer(),
});

/** The audit row of an applied adjustment: the loan's standing before, the adjustment after. */
function audited(
  kind: 'charge' | 'waiver',
  component: string,
  before: { status: string; daysPastDue: number },
  a: AppliedAdjustment,
  reason: string,
) {
  return {
    action: kind === 'charge' ? 'loan_charge_applied' : 'loan_waiver_applied',
    recordType: 'loan',
    recordId: a.loan.id.toString(),
    before: { status: before.status, daysPastDue: before.daysPastDue },
    after: {
      adjustmentIds: a.ids,
      component,
      parts: a.parts,
      reason,
      status: a.loan.status,
      daysPastDue: a.loan.daysPastDue,
    },
  };
}

function view(kind: string, component: string, amountMinor: bigint, a: AppliedAdjustment) {
  return {
    ids: a.ids.map(String),
    loan_id: a.loan.id.toString(),
    kind,
    component,
    amount: money(amountMinor),
    installments: a.parts.map((p) => ({ number: p.number, amount: money(p.amountMinor) })),
    loan_status: a.loan.status,
    days_past_due: a.loan.daysPastDue,
  };
}

export function adjustmentRoutes(platform: Platform): FastifyPluginAsyncTypebox {
  const sql = platform.db.sql;
  const schema = (summary: string, body: ReturnType<typeof Type.Object>) => ({
    preHandler: requireRole('ops'),
    schema: {
      tags: ['servicing'],
      summary,
      security: [{ bearer: [] }],
      headers: IdempotencyHeaders,
      params: IdParams,
      body,
      response: {
        201: AdjustmentView,
        400: ErrorBody,
        403: ErrorBody,
        404: ErrorBody,
        409: ErrorBody,
        422: ErrorBody,
      },
    },
  });
  const ChargeBody = Type.Object(
    { amount: Money, installment: Installment, reason: Reason },
    { additionalProperties: false },
  );
  const WaiverBody = Type.Object(
    {
      component: Type.Union([Type.Literal('fee'), Type.Literal('interest'), Type.Literal('penalty')]),
      amount: Money,
      installment: Installment,
      reason: Reason,
    },
    { additionalProperties: false },
  );
  return async (app) => {
    app.post(
      '/v1/loans/:id/charges',
      schema('Charge a fee on a loan (Idempotency-Key)', ChargeBody),
      async (request, reply) => {
        const body = request.body as { amount: string; installment?: number; reason: string };
        const loanId = pathId((request.params as { id: string }).id, 'loan');
        const amountMinor = positiveAmount(body.amount);
        if (amountMinor > MAX_CHARGE_MINOR)
          throw refuse('AMOUNT_TOO_LARGE', 'a charge is at most 10000.00', { max: money(MAX_CHARGE_MINOR) });
        const loan = await getLoan(sql, loanId);
        if (!loan) throw notFound('loan');
        const actor = `ops:${request.principal!.id}`;
        const businessDate = await platform.services.clock.today();
        return idempotent(sql, request, reply, {
          effect: async (tx) => {
            await authorizeStaffAdjustment(tx, {
              kind: 'charge',
              component: 'fee',
              loanId,
              customerId: loan.customerId,
              amountMinor,
              reason: body.reason,
              actor,
            });
            const a = await applyCharge(tx, {
              loanId,
              amountMinor,
              installment: body.installment ?? null,
              reason: body.reason,
              requestedBy: actor,
              businessDate,
            });
            await recordStaffAction(tx, {
              actor: request.principal!,
              ...audited('charge', 'fee', loan, a, body.reason),
            });
            return { statusCode: 201, body: view('charge', 'fee', amountMinor, a) };
          },
        });
      },
    );

    app.post(
      '/v1/loans/:id/waivers',
      schema('Waive fee, interest or penalty on a loan (Idempotency-Key)', WaiverBody),
      async (request, reply) => {
        const body = request.body as {
          component: 'fee' | 'interest' | 'penalty';
          amount: string;
          installment?: number;
          reason: string;
        };
        const loanId = pathId((request.params as { id: string }).id, 'loan');
        const amountMinor = positiveAmount(body.amount);
        const loan = await getLoan(sql, loanId);
        if (!loan) throw notFound('loan');
        const actor = `ops:${request.principal!.id}`;
        const businessDate = await platform.services.clock.today();
        return idempotent(sql, request, reply, {
          effect: async (tx) => {
            await authorizeStaffAdjustment(tx, {
              kind: 'waiver',
              component: body.component,
              loanId,
              customerId: loan.customerId,
              amountMinor,
              reason: body.reason,
              actor,
            });
            const a = await applyWaiver(tx, {
              loanId,
              component: body.component,
              amountMinor,
              installment: body.installment ?? null,
              reason: body.reason,
              requestedBy: actor,
              businessDate,
            });
            await recordStaffAction(tx, {
              actor: request.principal!,
              ...audited('waiver', body.component, loan, a, body.reason),
            });
            return { statusCode: 201, body: view('waiver', body.component, amountMinor, a) };
          },
        });
      },
    );
  };
}

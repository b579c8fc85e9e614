/**
 * Ad-hoc charges and waivers by staff (issue 15): `POST /v1/loans/{id}/charges` (a fee: a
 * returned-payment fee, say) and `POST /v1/loans/{id}/waivers` (fee, interest or penalty). `ops`
 * only, Idempotency-Key required, one transaction with one balanced entry per installment touched.
 * Above the staff limit they go through the approval seam (src/servicing/approval.ts): the answer is
 * `202` with a proposal a second staff member decides (routes/adjustment-proposals.ts).
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { MAX_CHARGE_MINOR } from '../../domain/adjustments.ts';
import type { Platform } from '../../platform.ts';
import { authorizeStaffAdjustment, type StaffAdjustment } from '../../servicing/approval.ts';
import type { TransactionSql } from '../../store/db.ts';
import { getLoan } from '../../store/loans.ts';
import type { AdjustmentProposal } from '../../store/servicing/adjustment-proposals.ts';
import { type AppliedAdjustment, applyCharge, applyWaiver } from '../../store/servicing/adjustments.ts';
import { recordStaffAction, type StaffActor } from '../../store/staff-audit.ts';
import { requireRole } from '../auth.ts';
import { notFound, refuse } from '../errors.ts';
import { IdempotencyHeaders, idempotent } from '../plugins/idempotency.ts';
import { ErrorBody, IdParams, Money, money, pathId, positiveAmount } from './lending-schemas.ts';

const Reason = Type.String({ minLength: 1, maxLength: 200 });
const Installment = Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 }));

export const AdjustmentView = Type.Object({
  ids: Type.Array(Type.String()),
  loan_id: Type.String(),
  kind: Type.String(),
  component: Type.String(),
  amount: Type.String(),
  installments: Type.Array(Type.Object({ number: Type.Integer(), amount: Type.String() })),
  loan_status: Type.String(),
  days_past_due: Type.Integer(),
});

export const AdjustmentProposalView = Type.Object({
  proposal_id: Type.String(),
  status: Type.String(),
  loan_id: Type.String(),
  kind: Type.String(),
  component: Type.String(),
  amount: Type.String(),
  proposed_by: Type.String(),
  decided_by: Type.Union([Type.String(), Type.Null()]),
});

export function proposalView(p: AdjustmentProposal) {
  return {
    proposal_id: p.id.toString(),
    status: p.status,
    loan_id: p.loanId.toString(),
    kind: p.kind,
    component: p.component,
    amount: money(p.amountMinor),
    proposed_by: p.proposedBy.toString(),
    decided_by: p.decidedBy === null ? null : p.decidedBy.toString(),
  };
}

function view(a: StaffAdjustment, applied: AppliedAdjustment) {
  return {
    ids: applied.ids.map(String),
    loan_id: applied.loan.id.toString(),
    kind: a.kind,
    component: a.component,
    amount: money(a.amountMinor),
    installments: applied.parts.map((p) => ({ number: p.number, amount: money(p.amountMinor) })),
    loan_status: applied.loan.status,
    days_past_due: applied.loan.daysPastDue,
  };
}

/**
 * Applies an authorised adjustment and writes its audit row (the transaction's last statement):
 * the loan's standing before, the adjustment after. `approvedBy`: the second person, if any.
 */
export async function applyStaffAdjustment(
  tx: TransactionSql,
  actor: StaffActor,
  a: StaffAdjustment,
  businessDate: string,
  proposalId: bigint | null = null,
) {
  const before = await getLoan(tx, a.loanId);
  const input = {
    loanId: a.loanId,
    amountMinor: a.amountMinor,
    installment: a.installment,
    reason: a.reason,
    requestedBy: `ops:${a.staffId}`,
    businessDate,
  };
  const applied =
    a.kind === 'charge'
      ? await applyCharge(tx, input)
      : await applyWaiver(tx, { ...input, component: a.component });
  await recordStaffAction(tx, {
    actor,
    action: a.kind === 'charge' ? 'loan_charge_applied' : 'loan_waiver_applied',
    recordType: 'loan',
    recordId: a.loanId.toString(),
    before: before && { status: before.status, daysPastDue: before.daysPastDue },
    after: {
      adjustmentIds: applied.ids,
      component: a.component,
      parts: applied.parts,
      reason: a.reason,
      proposalId,
      status: applied.loan.status,
      daysPastDue: applied.loan.daysPastDue,
    },
  });
  return view(a, applied);
}

async function adjust(
  platform: Platform,
  request: FastifyRequest,
  reply: FastifyReply,
  spec: Omit<StaffAdjustment, 'customerId' | 'staffId' | 'loanId'>,
): Promise<FastifyReply> {
  const sql = platform.db.sql;
  const loanId = pathId((request.params as { id: string }).id, 'loan');
  const loan = await getLoan(sql, loanId);
  if (!loan) throw notFound('loan');
  const actor = request.principal!;
  const a: StaffAdjustment = { ...spec, loanId, customerId: loan.customerId, staffId: actor.id };
  const businessDate = await platform.services.clock.today();
  return idempotent(sql, request, reply, {
    effect: async (tx) => {
      const auth = await authorizeStaffAdjustment(tx, a);
      if (auth.apply)
        return { statusCode: 201, body: await applyStaffAdjustment(tx, actor, a, businessDate) };
      await recordStaffAction(tx, {
        actor,
        action: 'adjustment_proposed',
        recordType: 'adjustment_proposal',
        recordId: auth.proposal.id.toString(),
        before: null,
        after: proposalView(auth.proposal),
      });
      return { statusCode: 202, body: proposalView(auth.proposal) };
    },
  });
}

export function adjustmentRoutes(platform: Platform): FastifyPluginAsyncTypebox {
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
        202: AdjustmentProposalView,
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
      schema('Charge a fee on a loan; above the staff limit, a proposal (Idempotency-Key)', ChargeBody),
      async (request, reply) => {
        const body = request.body as { amount: string; installment?: number; reason: string };
        const amountMinor = positiveAmount(body.amount);
        if (amountMinor > MAX_CHARGE_MINOR)
          throw refuse('AMOUNT_TOO_LARGE', 'a charge is at most 10000.00', { max: money(MAX_CHARGE_MINOR) });
        return adjust(platform, request, reply, {
          kind: 'charge',
          component: 'fee',
          amountMinor,
          installment: body.installment ?? null,
          reason: body.reason,
        });
      },
    );

    app.post(
      '/v1/loans/:id/waivers',
      schema(
        'Waive fee, interest or penalty on a loan; above the staff limit, a proposal (Idempotency-Key)',
        WaiverBody,
      ),
      async (request, reply) => {
        const body = request.body as {
          component: 'fee' | 'interest' | 'penalty';
          amount: string;
          installment?: number;
          reason: string;
        };
        return adjust(platform, request, reply, {
          kind: 'waiver',
          component: body.component,
          amountMinor: positiveAmount(body.amount),
          installment: body.installment ?? null,
          reason: body.reason,
        });
      },
    );
  };
}

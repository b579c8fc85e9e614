/**
 * The checker's side of maker-checker for charges and waivers above the staff limit:
 * `POST /v1/adjustment-proposals/{id}/approve` applies the proposal under its proposer's request and
 * the checker's approval, `.../reject` closes it. `ops` only, never the proposer (`403
 * OWN_PROPOSAL`), once (`409 PROPOSAL_ALREADY_DECIDED`); each decision is audited in its
 * transaction. The seam that makes proposals: src/servicing/approval.ts.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Platform } from '../../platform.ts';
import {
  type AdjustmentProposal,
  decideProposal,
  lockOpenProposal,
} from '../../store/servicing/adjustment-proposals.ts';
import { recordStaffAction } from '../../store/staff-audit.ts';
import { requireRole } from '../auth.ts';
import { IdempotencyHeaders, idempotent } from '../plugins/idempotency.ts';
import { AdjustmentProposalView, AdjustmentView, applyStaffAdjustment, proposalView } from './adjustments.ts';
import { ErrorBody, IdParams, pathId } from './lending-schemas.ts';

const adjustmentOf = (p: AdjustmentProposal) => ({
  kind: p.kind,
  component: p.component,
  loanId: p.loanId,
  customerId: p.customerId,
  amountMinor: p.amountMinor,
  installment: p.installment,
  reason: p.reason,
  staffId: p.proposedBy,
});

export function adjustmentProposalRoutes(platform: Platform): FastifyPluginAsyncTypebox {
  const sql = platform.db.sql;
  const schema = (summary: string, ok: Record<number, unknown>) => ({
    preHandler: requireRole('ops'),
    schema: {
      tags: ['servicing'],
      summary,
      security: [{ bearer: [] }],
      headers: IdempotencyHeaders,
      params: IdParams,
      response: { ...ok, 400: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody, 422: ErrorBody },
    },
  });
  return async (app) => {
    app.post(
      '/v1/adjustment-proposals/:id/approve',
      schema('Approve and apply a charge or waiver another staff member proposed (Idempotency-Key)', {
        201: Type.Object({ proposal: AdjustmentProposalView, adjustment: AdjustmentView }),
      }),
      async (request, reply) => {
        const id = pathId((request.params as { id: string }).id, 'proposal');
        const checker = request.principal!;
        const businessDate = await platform.services.clock.today();
        return idempotent(sql, request, reply, {
          effect: async (tx) => {
            const p = await lockOpenProposal(tx, id, checker.id);
            await decideProposal(tx, p, 'approved', checker.id);
            const decided = { ...p, status: 'approved' as const, decidedBy: checker.id };
            const adjustment = await applyStaffAdjustment(tx, checker, adjustmentOf(p), businessDate, id);
            await recordStaffAction(tx, {
              actor: checker,
              action: 'adjustment_proposal_approved',
              recordType: 'adjustment_proposal',
              recordId: id.toString(),
              before: proposalView(p),
              after: proposalView(decided),
            });
            return { statusCode: 201, body: { proposal: proposalView(decided), adjustment } };
          },
        });
      },
    );

    app.post(
      '/v1/adjustment-proposals/:id/reject',
      schema('Reject a charge or waiver another staff member proposed (Idempotency-Key)', {
        200: AdjustmentProposalView,
      }),
      async (request, reply) => {
        const id = pathId((request.params as { id: string }).id, 'proposal');
        const checker = request.principal!;
        return idempotent(sql, request, reply, {
          effect: async (tx) => {
            const p = await lockOpenProposal(tx, id, checker.id);
            await decideProposal(tx, p, 'rejected', checker.id);
            const decided = { ...p, status: 'rejected' as const, decidedBy: checker.id };
            await recordStaffAction(tx, {
              actor: checker,
              action: 'adjustment_proposal_rejected',
              recordType: 'adjustment_proposal',
              recordId: id.toString(),
              before: proposalView(p),
              after: proposalView(decided),
            });
            return { statusCode: 200, body: proposalView(decided) };
          },
        });
      },
    );
  };
}

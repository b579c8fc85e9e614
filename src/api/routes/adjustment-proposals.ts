/**
 * The checker's side of maker-checker for charges and waivers above the staff limit:
 * `POST /v1/adjustment-proposals/{id}/approve` applies the proposal under its proposer's request and
 * the checker's approval, `.../reject` closes it. `ops` only, never the proposer (`403
 * OWN_PROPOSAL`), once (`409 PROPOSAL_ALREADY_DECIDED`); each decision is audited in its
 * transaction. `GET /v1/adjustment-proposals` lists them for the console (customer names masked).
 * The seam that makes proposals: src/servicing/approval.ts.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Platform } from '../../platform.ts';
import { mask } from '../../privacy/masking.ts';
import { legalNamesOf } from '../../store/customers.ts';
import {
  ADJUSTMENT_PROPOSAL_PAGE_MAX,
  type AdjustmentProposal,
  decideProposal,
  listAdjustmentProposals,
  lockOpenProposal,
} from '../../store/servicing/adjustment-proposals.ts';
import { recordStaffAction } from '../../store/staff-audit.ts';
import { requireRole } from '../auth.ts';
import { IdempotencyHeaders, idempotent } from '../plugins/idempotency.ts';
import { AdjustmentProposalView, AdjustmentView, applyStaffAdjustment, proposalView } from './adjustments.ts';
import { ErrorBody, IdParams, money, pathId } from './lending-schemas.ts';

const DEFAULT_PAGE = 50;

const ListedProposalView = Type.Object({
  proposal_id: Type.String(),
  status: Type.String(),
  customer_id: Type.String(),
  customer_name: Type.String({ description: 'masked (privacy/masking.ts, staff)' }),
  loan_id: Type.String(),
  kind: Type.String(),
  component: Type.String(),
  amount: Type.String(),
  installment: Type.Union([Type.Integer(), Type.Null()]),
  reason: Type.String(),
  proposed_by: Type.String(),
  proposed_by_name: Type.String(),
  /** Whether the caller proposed it (then another ops member decides it). */
  yours: Type.Boolean(),
  created_at: Type.String(),
  age_s: Type.Integer(),
});

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

/** The proposals waiting for a second ops member (or decided), newest first, for the console. */
export function adjustmentProposalListRoute(platform: Platform): FastifyPluginAsyncTypebox {
  const sql = platform.db.sql;
  return async (app) => {
    app.get(
      '/v1/adjustment-proposals',
      {
        preHandler: requireRole('ops'),
        schema: {
          tags: ['servicing'],
          summary: 'Charges and waivers waiting for a second ops member (or decided), newest first',
          security: [{ bearer: [] }],
          querystring: Type.Object(
            {
              status: Type.Optional(
                Type.Union([Type.Literal('open'), Type.Literal('approved'), Type.Literal('rejected')]),
              ),
              limit: Type.Optional(Type.Integer({ minimum: 1, maximum: ADJUSTMENT_PROPOSAL_PAGE_MAX })),
              cursor: Type.Optional(Type.String({ pattern: '^\\d{1,19}$' })),
            },
            { additionalProperties: false },
          ),
          response: {
            200: Type.Object({
              items: Type.Array(ListedProposalView),
              next_cursor: Type.Union([Type.String(), Type.Null()]),
            }),
            400: ErrorBody,
            403: ErrorBody,
          },
        },
      },
      async (request) => {
        const limit = request.query.limit ?? DEFAULT_PAGE;
        const before = request.query.cursor === undefined ? null : pathId(request.query.cursor, 'cursor');
        const items = await listAdjustmentProposals(sql, request.query.status ?? 'open', limit, before);
        const names = await legalNamesOf(sql, platform.services.crypto, [
          ...new Set(items.map((p) => p.customerId)),
        ]);
        const me = request.principal!.id;
        const last = items[items.length - 1];
        return {
          items: items.map((p) => ({
            ...proposalView(p),
            customer_id: p.customerId.toString(),
            customer_name: mask('legal_name', names.get(p.customerId) ?? '', 'staff'),
            installment: p.installment,
            reason: p.reason,
            proposed_by_name: p.proposerName,
            yours: p.proposedBy === me,
            created_at: p.createdAt.toISOString(),
            age_s: p.ageS,
            amount: money(p.amountMinor),
          })),
          next_cursor: items.length === limit && last ? last.id.toString() : null,
        };
      },
    );
  };
}

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

/**
 * Maker-checker for credit (issue 14 item 5): the open proposals, one proposal with what the
 * checker must see first (the customer's line, loans and days past due), and approve or reject by
 * a second staff member. The rules live in src/credit/changes.ts.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { approveProposal, rejectProposal } from '../../credit/changes.ts';
import type { Platform } from '../../platform.ts';
import { mask } from '../../privacy/masking.ts';
import { staffNames } from '../../store/back-office.ts';
import {
  customerCreditContext,
  getProposal,
  listProposals,
  PROPOSAL_PAGE_MAX,
  type Proposal,
  REJECT_NOTE_MAX_LENGTH,
} from '../../store/credit-proposals.ts';
import { getCustomer } from '../../store/customers.ts';
import { requireRole } from '../auth.ts';
import { notFound, toApiError } from '../errors.ts';
import { IdParams, pathId } from './lending-schemas.ts';
import { ContextView, contextView, ProposalView, proposalView } from './proposal-views.ts';

const DEFAULT_PAGE = 50;

export function creditProposalRoutes(platform: Platform): FastifyPluginAsyncTypebox {
  const sql = platform.db.sql;
  const route = { preHandler: requireRole('risk', 'ops') };
  const tags = ['credit'];
  const security = [{ bearer: [] }];
  /** Staff by username and customers by masked name, one read per distinct person. */
  const namer = async (items: readonly Proposal[]) => {
    const staff = await staffNames(
      sql,
      items.flatMap((p) => [p.proposedBy, ...(p.decidedBy === null ? [] : [p.decidedBy])]),
    );
    const customers = new Map<string, string | null>();
    for (const id of new Set(items.map((p) => p.customerId.toString()))) {
      const c = await getCustomer(sql, platform.services.crypto, BigInt(id));
      customers.set(id, c ? mask('legal_name', c.legalName, 'staff') : null);
    }
    return (p: Proposal) => ({
      proposed_by_name: staff.get(p.proposedBy.toString()) ?? null,
      decided_by_name: p.decidedBy === null ? null : (staff.get(p.decidedBy.toString()) ?? null),
      customer_name: customers.get(p.customerId.toString()) ?? null,
    });
  };
  return async (app) => {
    app.get(
      '/v1/credit-proposals',
      {
        ...route,
        schema: {
          tags,
          security,
          summary: 'Credit proposals waiting for (or given) a second approver, newest first',
          querystring: Type.Object(
            {
              status: Type.Optional(
                Type.Union([Type.Literal('open'), Type.Literal('approved'), Type.Literal('rejected')]),
              ),
              limit: Type.Optional(Type.Integer({ minimum: 1, maximum: PROPOSAL_PAGE_MAX })),
              cursor: Type.Optional(Type.String({ pattern: '^\\d{1,19}$' })),
            },
            { additionalProperties: false },
          ),
          response: {
            200: Type.Object({
              items: Type.Array(ProposalView),
              next_cursor: Type.Union([Type.String(), Type.Null()]),
            }),
          },
        },
      },
      async (request) => {
        const limit = request.query.limit ?? DEFAULT_PAGE;
        const before = request.query.cursor === undefined ? null : pathId(request.query.cursor, 'cursor');
        const items = await listProposals(sql, request.query.status ?? 'open', limit, before);
        const last = items[items.length - 1];
        const named = await namer(items);
        return {
          items: items.map((p) => ({ ...proposalView(p), ...named(p) })),
          next_cursor: items.length === limit && last ? last.id.toString() : null,
        };
      },
    );

    app.get(
      '/v1/credit-proposals/:id',
      {
        ...route,
        schema: {
          tags,
          security,
          summary: "A proposal with the customer's current line, loans and days past due",
          params: IdParams,
          response: { 200: Type.Object({ proposal: ProposalView, customer: ContextView }) },
        },
      },
      async (request) => {
        const p = await getProposal(sql, pathId(request.params.id, 'proposal'));
        if (!p) throw notFound('proposal');
        const named = await namer([p]);
        return {
          proposal: { ...proposalView(p), ...named(p) },
          customer: contextView(await customerCreditContext(sql, p.customerId)),
        };
      },
    );

    app.post(
      '/v1/credit-proposals/:id/approve',
      {
        ...route,
        schema: {
          tags,
          security,
          summary: 'Approve a proposal (not your own): the line is set now, under your name',
          params: IdParams,
          response: { 200: ProposalView },
        },
      },
      async (request) => {
        const id = pathId(request.params.id, 'proposal');
        try {
          return proposalView(await sql.begin((tx) => approveProposal(tx, request.principal!, id)));
        } catch (err) {
          throw toApiError(err) ?? err;
        }
      },
    );

    app.post(
      '/v1/credit-proposals/:id/reject',
      {
        ...route,
        schema: {
          tags,
          security,
          summary: 'Reject a proposal (not your own), saying why',
          params: IdParams,
          body: Type.Object(
            { note: Type.String({ minLength: 1, maxLength: REJECT_NOTE_MAX_LENGTH }) },
            { additionalProperties: false },
          ),
          response: { 200: ProposalView },
        },
      },
      async (request) => {
        const id = pathId(request.params.id, 'proposal');
        try {
          return proposalView(
            await sql.begin((tx) => rejectProposal(tx, request.principal!, id, request.body.note)),
          );
        } catch (err) {
          throw toApiError(err) ?? err;
        }
      },
    );
  };
}

/** How a credit proposal (maker-checker) looks in the API. */
import { Type } from 'typebox';
import type { CustomerCreditContext, Proposal } from '../../store/credit-proposals.ts';
import { money } from './lending-schemas.ts';

export const ProposalView = Type.Object({
  id: Type.String(),
  customer_id: Type.String(),
  kind: Type.String({ description: 'line_change or review_approval' }),
  decision_id: Type.Union([Type.String(), Type.Null()]),
  limit: Type.String(),
  line_status: Type.Union([Type.String(), Type.Null()]),
  reason: Type.String({
    description: 'why a second approver is needed: above_threshold or above_policy_max',
  }),
  status: Type.String({ description: 'open, approved or rejected' }),
  proposed_by: Type.String(),
  decided_by: Type.Union([Type.String(), Type.Null()]),
  reject_note: Type.Union([Type.String(), Type.Null()]),
  created_at: Type.String(),
  decided_at: Type.Union([Type.String(), Type.Null()]),
  /** Filled on the staff reads (list, one): the console shows people by name, customers masked. */
  proposed_by_name: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  decided_by_name: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  customer_name: Type.Optional(Type.Union([Type.String(), Type.Null()])),
});

export const proposalView = (p: Proposal) => ({
  id: p.id.toString(),
  customer_id: p.customerId.toString(),
  kind: p.kind,
  decision_id: p.decisionId === null ? null : p.decisionId.toString(),
  limit: money(p.limitMinor),
  line_status: p.lineStatus,
  reason: p.reason,
  status: p.status,
  proposed_by: p.proposedBy.toString(),
  decided_by: p.decidedBy === null ? null : p.decidedBy.toString(),
  reject_note: p.rejectNote,
  created_at: p.createdAt.toISOString(),
  decided_at: p.decidedAt ? p.decidedAt.toISOString() : null,
});

export const ContextView = Type.Object({
  line: Type.Union([
    Type.Object({ limit: Type.String(), used: Type.String(), status: Type.String() }),
    Type.Null(),
  ]),
  loans: Type.Array(
    Type.Object({
      id: Type.String(),
      principal: Type.String(),
      status: Type.String(),
      days_past_due: Type.Integer(),
      bucket: Type.String(),
    }),
  ),
  open_loans: Type.Integer(),
  max_days_past_due: Type.Integer(),
});

export const contextView = (c: CustomerCreditContext) => ({
  line: c.line && { limit: money(c.line.limitMinor), used: money(c.line.usedMinor), status: c.line.status },
  loans: c.loans.map((l) => ({
    id: l.id.toString(),
    principal: money(l.principalMinor),
    status: l.status,
    days_past_due: l.daysPastDue,
    bucket: l.bucket,
  })),
  open_loans: c.openLoans,
  max_days_past_due: c.maxDaysPastDue,
});

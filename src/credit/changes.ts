/**
 * Staff changes to credit, with maker-checker and the audit log (issue 14 items 4 and 5). A line
 * change or a review approval whose limit is above the configured amount, or above what the active
 * policy allows for the grade, becomes a proposal; a second staff member approves it. Every step —
 * applied, proposed, approved, rejected — writes its staff audit row in the same transaction.
 * Called by the credit-line, review and proposal routes; the one place these rules live.
 */
import { type SecondApproverReason, secondApproverReason } from '../domain/credit-approval.ts';
import { maxLineFor } from '../risk/model/line-policy.ts';
import { DEFAULT_POLICY, type Policy } from '../risk/model/policy.ts';
import { GRADES, type Grade } from '../risk/model/scorecard.ts';
import {
  type CreditLine,
  type CreditLineStatus,
  getCreditLine,
  setCreditLine,
} from '../store/credit-lines.ts';
import { closeProposal, getProposal, insertProposal, type Proposal } from '../store/credit-proposals.ts';
import { requireCustomer } from '../store/customers.ts';
import type { Queryable, TransactionSql } from '../store/db.ts';
import { latestGrade } from '../store/decisions.ts';
import { activePolicy } from '../store/policies.ts';
import { Refusal } from '../store/refusal.ts';
import { type ResolveResult, resolveReviewIn } from '../store/reviews.ts';
import { recordStaffAction } from '../store/staff-audit.ts';

const isGrade = (g: string): g is Grade => (GRADES as readonly string[]).includes(g);

export interface Checker {
  id: bigint;
  role: string;
}

/**
 * The policy's maximum line for a grade: its per-grade maximum where the policy has one, none for
 * a grade it does not lend to, and the overall maximum when the grade is unknown (no decision yet).
 */
export function policyMaxFor(policy: Policy, grade: string | null): bigint {
  if (grade === null || !isGrade(grade)) return BigInt(policy.line.maxLineMinor);
  if (policy.line.incomeMultipleBp[grade] === 0) return 0n;
  return maxLineFor(policy.line, grade);
}

async function reasonFor(
  sql: Queryable,
  limitMinor: bigint,
  thresholdMinor: bigint,
  grade: string | null,
): Promise<SecondApproverReason | undefined> {
  const policy = (await activePolicy(sql))?.policy ?? DEFAULT_POLICY;
  return secondApproverReason(limitMinor, { thresholdMinor, policyMaxMinor: policyMaxFor(policy, grade) });
}

const lineState = (l: CreditLine | null) =>
  l && { customerId: l.customerId, limitMinor: l.limitMinor, status: l.status };

async function applyLine(
  tx: TransactionSql,
  actor: Checker,
  customerId: bigint,
  change: { limitMinor?: bigint; status?: CreditLineStatus },
): Promise<CreditLine> {
  const before = await getCreditLine(tx, customerId);
  const after = await setCreditLine(tx, customerId, change);
  await recordStaffAction(tx, {
    actor,
    action: 'credit_line_changed',
    recordType: 'credit_line',
    recordId: customerId.toString(),
    before: lineState(before),
    after: lineState(after),
  });
  return after;
}

export type LineOutcome = { applied: CreditLine } | { proposed: Proposal };

/** PUT credit-line: applied at once, or a proposal when the new limit needs a second approver. */
export async function changeCreditLine(
  tx: TransactionSql,
  actor: Checker,
  customerId: bigint,
  change: { limitMinor?: bigint; status?: CreditLineStatus },
  thresholdMinor: bigint,
): Promise<LineOutcome> {
  const reason =
    change.limitMinor === undefined
      ? undefined
      : await reasonFor(tx, change.limitMinor, thresholdMinor, await latestGrade(tx, customerId));
  if (reason === undefined || change.limitMinor === undefined) {
    return { applied: await applyLine(tx, actor, customerId, change) };
  }
  await requireCustomer(tx, customerId);
  const proposal = await insertProposal(tx, {
    customerId,
    kind: 'line_change',
    decisionId: null,
    limitMinor: change.limitMinor,
    lineStatus: change.status ?? null,
    reason,
    proposedBy: actor.id,
  });
  await audited(tx, actor, 'credit_line_proposed', proposal, null);
  return { proposed: proposal };
}

export type ReviewOutcome = ResolveResult | { ok: true; proposed: Proposal };

/** A review resolution: a decline or a small approval at once, a large approval as a proposal. */
export async function resolveReviewAs(
  tx: TransactionSql,
  actor: Checker,
  review: { decisionId: bigint; grade: string | null },
  resolution: { approve: true; lineMinor: bigint } | { approve: false; reason: string },
  thresholdMinor: bigint,
): Promise<ReviewOutcome> {
  if (resolution.approve) {
    const reason = await reasonFor(tx, resolution.lineMinor, thresholdMinor, review.grade);
    if (reason !== undefined) {
      const [open] = await tx<{ customer_id: bigint }[]>`
        select customer_id from risk_reviews where decision_id = ${review.decisionId.toString()}::bigint
        and status = 'open' for update`;
      if (!open) return resolveReviewIn(tx, review.decisionId, actor.id, resolution);
      const existing = await tx`
        select 1 from credit_proposals where decision_id = ${review.decisionId.toString()}::bigint and status = 'open'`;
      if (existing.length > 0)
        throw new Refusal('PROPOSAL_PENDING', 'this application already has an open proposal');
      const proposal = await insertProposal(tx, {
        customerId: open.customer_id,
        kind: 'review_approval',
        decisionId: review.decisionId,
        limitMinor: resolution.lineMinor,
        lineStatus: null,
        reason,
        proposedBy: actor.id,
      });
      await audited(tx, actor, 'review_approval_proposed', proposal, null);
      return { ok: true, proposed: proposal };
    }
  }
  const done = await resolveReviewIn(tx, review.decisionId, actor.id, resolution);
  if (done.ok) {
    await recordStaffAction(tx, {
      actor,
      action: resolution.approve ? 'review_approved' : 'review_declined',
      recordType: 'credit_decision',
      recordId: review.decisionId.toString(),
      before: { status: 'open' },
      after: resolution.approve
        ? { status: 'approved', lineMinor: resolution.lineMinor }
        : { status: 'declined', reason: resolution.reason },
    });
  }
  return done;
}

async function audited(
  tx: TransactionSql,
  actor: Checker,
  action: string,
  after: Proposal,
  before: Proposal | null,
): Promise<void> {
  await recordStaffAction(tx, {
    actor,
    action,
    recordType: 'credit_proposal',
    recordId: after.id.toString(),
    before,
    after,
  });
}

/** Roles that may check each kind of proposal (the roles that may make the change at all). */
const CHECKER_ROLES: Record<Proposal['kind'], readonly string[]> = {
  line_change: ['risk', 'ops'],
  review_approval: ['risk'],
};

async function lockOpen(tx: TransactionSql, actor: Checker, id: bigint): Promise<Proposal> {
  const p = await getProposal(tx, id, true);
  if (!p) throw new Refusal('PROPOSAL_NOT_FOUND', 'no such proposal');
  if (!CHECKER_ROLES[p.kind].includes(actor.role))
    throw new Refusal('PROPOSAL_NOT_FOUND', 'no such proposal');
  if (p.status !== 'open') {
    throw new Refusal('PROPOSAL_ALREADY_DECIDED', `this proposal was already ${p.status}`, {
      status: p.status,
    });
  }
  if (p.proposedBy === actor.id) {
    throw new Refusal(
      'OWN_PROPOSAL',
      'a second staff member must decide this proposal, not the one who made it',
    );
  }
  return p;
}

/** The checker approves: the change is applied now, under the checker's name, and both are audited. */
export async function approveProposal(tx: TransactionSql, actor: Checker, id: bigint): Promise<Proposal> {
  const p = await lockOpen(tx, actor, id);
  if (p.kind === 'line_change') {
    await applyLine(tx, actor, p.customerId, {
      limitMinor: p.limitMinor,
      ...(p.lineStatus ? { status: p.lineStatus } : {}),
    });
  } else {
    const done = await resolveReviewIn(tx, p.decisionId!, actor.id, {
      approve: true,
      lineMinor: p.limitMinor,
    });
    if (!done.ok) throw new Refusal('PROPOSAL_ALREADY_DECIDED', 'the application was resolved meanwhile');
  }
  const closed = await closeProposal(tx, p, { status: 'approved', decidedBy: actor.id, note: null });
  await audited(tx, actor, 'proposal_approved', closed, p);
  return closed;
}

export async function rejectProposal(
  tx: TransactionSql,
  actor: Checker,
  id: bigint,
  note: string,
): Promise<Proposal> {
  const p = await lockOpen(tx, actor, id);
  const closed = await closeProposal(tx, p, { status: 'rejected', decidedBy: actor.id, note });
  await audited(tx, actor, 'proposal_rejected', closed, p);
  return closed;
}

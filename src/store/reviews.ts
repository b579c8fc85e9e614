/**
 * The manual review queue: every referred application, oldest first, until risk staff approve it
 * with a line or decline it with a reason. Resolving is a compare-and-set on status = 'open', so
 * two reviewers cannot both resolve one application.
 */
import type { Queryable, Sql, TransactionSql } from './db.ts';

export const REVIEW_PAGE_MAX = 200;

export interface ReviewItem {
  decisionId: bigint;
  customerId: bigint;
  status: 'open' | 'approved' | 'declined';
  grade: string | null;
  score: number | null;
  reasons: string[];
  suggestedLineMinor: bigint | null;
  createdAt: Date;
}

export async function listReviews(
  sql: Queryable,
  status: 'open' | 'approved' | 'declined',
  limit: number,
  afterId: bigint | null,
): Promise<ReviewItem[]> {
  const rows = await sql<
    {
      decision_id: bigint;
      customer_id: bigint;
      status: ReviewItem['status'];
      grade: string | null;
      score: number | null;
      reasons: string[];
      suggested: string | null;
      created_at: Date;
    }[]
  >`
    select r.decision_id, r.customer_id, r.status, d.grade, d.score, d.reasons,
           d.result->>'suggestedLineMinor' as suggested, r.created_at
    from risk_reviews r join credit_decisions d on d.customer_id = r.customer_id and d.id = r.decision_id
    where r.status = ${status} and r.decision_id > ${(afterId ?? 0n).toString()}::bigint
    order by r.decision_id limit ${Math.min(limit, REVIEW_PAGE_MAX)}`;
  return rows.map((r) => ({
    decisionId: r.decision_id,
    customerId: r.customer_id,
    status: r.status,
    grade: r.grade,
    score: r.score,
    reasons: r.reasons,
    suggestedLineMinor: r.suggested && /^\d+$/.test(r.suggested) ? BigInt(r.suggested) : null,
    createdAt: r.created_at,
  }));
}

export type ResolveResult =
  | { ok: true; customerId: bigint }
  | { ok: false; problem: 'not_found' | 'already_resolved' };

/** Approves (setting the line, never below what is used) or declines an open review. */
export async function resolveReview(
  sql: Sql,
  decisionId: bigint,
  reviewerId: bigint,
  resolution: { approve: true; lineMinor: bigint } | { approve: false; reason: string },
): Promise<ResolveResult> {
  return sql.begin((tx) => resolveReviewIn(tx, decisionId, reviewerId, resolution));
}

export async function resolveReviewIn(
  tx: TransactionSql,
  decisionId: bigint,
  reviewerId: bigint,
  resolution: { approve: true; lineMinor: bigint } | { approve: false; reason: string },
): Promise<ResolveResult> {
  const [row] = await tx<{ customer_id: bigint }[]>`
    update risk_reviews
    set status = ${resolution.approve ? 'approved' : 'declined'},
        line_minor = ${resolution.approve ? resolution.lineMinor.toString() : null}::bigint,
        reason = ${resolution.approve ? null : resolution.reason},
        reviewer_id = ${reviewerId.toString()}::bigint, resolved_at = now()
    where decision_id = ${decisionId.toString()}::bigint and status = 'open'
    returning customer_id`;
  if (!row) {
    const [exists] =
      await tx`select 1 from risk_reviews where decision_id = ${decisionId.toString()}::bigint`;
    return { ok: false, problem: exists ? 'already_resolved' : 'not_found' };
  }
  if (resolution.approve) {
    await tx`
      insert into credit_lines (customer_id, limit_minor)
      values (${row.customer_id.toString()}::bigint, ${resolution.lineMinor.toString()}::bigint)
      on conflict (customer_id) do update
        set limit_minor = greatest(excluded.limit_minor, credit_lines.used_minor), updated_at = excluded.updated_at`;
  }
  return { ok: true, customerId: row.customer_id };
}

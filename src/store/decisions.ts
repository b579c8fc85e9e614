/**
 * The decision log: every credit decision with everything it read (inputs), what it concluded
 * (result: points per feature, bins, reasons, rule hits, degradations, challenger scores) and the
 * model and policy version it used, so that it can be replayed exactly. Writing a decision also
 * sets the credit line (approve) or opens a review (refer) in the same statement: one round trip,
 * and never a line without its decision.
 */
import { invariant } from '../domain/errors.ts';
import type { Outcome } from '../risk/model/evaluate.ts';
import type { DecisionInputs } from '../risk/model/features.ts';
import type { Queryable } from './db.ts';

export interface NewDecision {
  customerId: bigint;
  outcome: Outcome;
  grade: string | null;
  score: number | null;
  lineMinor: bigint | null;
  modelId: bigint | null;
  policyVersion: number;
  inputs: DecisionInputs;
  result: Record<string, unknown>;
  reasons: string[];
  latencyMs: number;
}

export interface StoredDecision extends NewDecision {
  id: bigint;
  createdAt: Date;
  review: { status: string; lineMinor: bigint | null; reason: string | null } | null;
}

/**
 * The decision named a customer that does not exist. The decision path checks this first, but a
 * slow identity read (over its budget) skips that check, and the insert is what finds out.
 */
export function isUnknownCustomer(err: unknown): boolean {
  const e = err as { code?: unknown; constraint_name?: unknown };
  return e?.code === '23503' && e.constraint_name === 'credit_decisions_customer_id_fkey';
}

/** Decisions per statement at most (decisions arriving together share one: src/store/micro-batch.ts). */
export const DECISION_BATCH_MAX = 64;

/**
 * Records decisions in one statement (one round trip and one commit for all), each with its line
 * (approve) or review (refer), answering their ids in the same order. When a batch holds two
 * approvals for one customer, the later one sets the line, as two statements in order would.
 */
export async function recordDecisions(
  sql: Queryable,
  ds: readonly NewDecision[],
): Promise<{ id: bigint; createdAt: Date }[]> {
  invariant(ds.length >= 1 && ds.length <= DECISION_BATCH_MAX, 'decision batch size out of bounds');
  const items = ds.map((d) => ({
    customer_id: d.customerId.toString(),
    outcome: d.outcome,
    grade: d.grade,
    score: d.score,
    line_minor: d.lineMinor === null ? null : d.lineMinor.toString(),
    model_id: d.modelId === null ? null : d.modelId.toString(),
    policy_version: d.policyVersion,
    inputs: d.inputs,
    result: d.result,
    reasons: d.reasons,
    latency_ms: d.latencyMs,
  }));
  const rows = await sql<{ ord: number; id: bigint; created_at: Date }[]>`
    with src as (
      select fenqi_next_id() as id, e.ord::int as ord, e.v
      from jsonb_array_elements(${sql.json(items as never)}::jsonb) with ordinality as e(v, ord)
    ), d as (
      insert into credit_decisions (id, customer_id, outcome, grade, score, line_minor, model_id, policy_version,
                                    inputs, result, reasons, latency_ms)
      select id, (v->>'customer_id')::bigint, v->>'outcome', v->>'grade', (v->>'score')::int,
             (v->>'line_minor')::bigint, (v->>'model_id')::bigint, (v->>'policy_version')::int,
             v->'inputs', v->'result', array(select jsonb_array_elements_text(v->'reasons')),
             (v->>'latency_ms')::int
      from src order by ord
      returning id, customer_id, outcome, line_minor, created_at
    ), line as (
      insert into credit_lines (customer_id, limit_minor)
      select distinct on (d.customer_id) d.customer_id, d.line_minor
      from d join src using (id)
      where d.outcome = 'approve' and d.line_minor is not null
      order by d.customer_id, src.ord desc
      on conflict (customer_id) do update
        set limit_minor = greatest(excluded.limit_minor, credit_lines.used_minor), updated_at = excluded.updated_at
      returning customer_id
    ), review as (
      insert into risk_reviews (decision_id, customer_id)
      select id, customer_id from d where outcome = 'refer'
      returning decision_id
    )
    select src.ord, d.id, d.created_at from d join src using (id) order by src.ord`;
  invariant(rows.length === ds.length, 'a decision batch stored a different number of rows');
  return rows.map((r) => ({ id: r.id, createdAt: r.created_at }));
}

interface Row {
  id: bigint;
  customer_id: bigint;
  outcome: Outcome;
  grade: string | null;
  score: number | null;
  line_minor: bigint | null;
  model_id: bigint | null;
  policy_version: number;
  inputs: DecisionInputs;
  result: Record<string, unknown>;
  reasons: string[];
  latency_ms: number;
  created_at: Date;
  review_status: string | null;
  review_line_minor: bigint | null;
  review_reason: string | null;
}

const fromRow = (r: Row): StoredDecision => ({
  id: r.id,
  customerId: r.customer_id,
  outcome: r.outcome,
  grade: r.grade,
  score: r.score,
  lineMinor: r.line_minor,
  modelId: r.model_id,
  policyVersion: r.policy_version,
  inputs: r.inputs,
  result: r.result,
  reasons: r.reasons,
  latencyMs: r.latency_ms,
  createdAt: r.created_at,
  review: r.review_status
    ? { status: r.review_status, lineMinor: r.review_line_minor, reason: r.review_reason }
    : null,
});

export async function getDecision(sql: Queryable, id: bigint): Promise<StoredDecision | undefined> {
  const [row] = await sql<Row[]>`
    select d.*, r.status as review_status, r.line_minor as review_line_minor, r.reason as review_reason
    from credit_decisions d left join risk_reviews r on r.customer_id = d.customer_id and r.decision_id = d.id
    where d.id = ${id.toString()}::bigint`;
  return row && fromRow(row);
}

/** The grade of the customer's latest graded decision (null: never graded): the policy maximum's grade. */
export async function latestGrade(sql: Queryable, customerId: bigint): Promise<string | null> {
  const [row] = await sql<{ grade: string }[]>`
    select grade from credit_decisions
    where customer_id = ${customerId.toString()}::bigint and grade is not null
    order by created_at desc, id desc limit 1`;
  return row?.grade ?? null;
}

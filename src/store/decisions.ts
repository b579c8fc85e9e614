/**
 * The decision log: every credit decision with everything it read (inputs), what it concluded
 * (result: points per feature, bins, reasons, rule hits, degradations, challenger scores) and the
 * model and policy version it used, so that it can be replayed exactly. Writing a decision also
 * sets the credit line (approve) or opens a review (refer) in the same statement (the decision
 * log's trigger, migration 0230): one round trip, and never a line without its decision.
 */
import { invariant } from '../domain/errors.ts';
import type { Outcome } from '../risk/model/evaluate.ts';
import type { DecisionInputs } from '../risk/model/features.ts';
import type { Queryable } from './db.ts';
import type { IdGenerator } from './id-generator.ts';

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
 * Records decisions in one statement (one round trip and one commit for all), answering their ids
 * in the same order. Each decision's effect on its customer (an approval's line, a referral's
 * review) is written by the same statement, through the decision log's trigger (migration 0230);
 * of two approvals for one customer in one batch, the later sets the line.
 *
 * An INSERT ... VALUES naming each row's customer, so on Citus a batch of customers who share a
 * shard (the decision service groups batches by src/store/customer-routing.ts) runs on that shard
 * alone; an INSERT ... SELECT would go through the coordinator. The ids are made here
 * (IdGenerator), so no read-back is needed to answer them in order.
 */
export async function recordDecisions(
  sql: Queryable,
  ds: readonly NewDecision[],
  ids: IdGenerator,
): Promise<{ id: bigint; createdAt: Date }[]> {
  invariant(ds.length >= 1 && ds.length <= DECISION_BATCH_MAX, 'decision batch size out of bounds');
  const rows = ds.map((d) => ({
    id: ids.next(),
    customer_id: d.customerId,
    outcome: d.outcome,
    grade: d.grade,
    score: d.score,
    // nullable bigints as text: postgres.js names a prepared statement by its text and the types it
    // infers from the values (a bigint is int8, a null or a string is "unknown"), so a bigint that is
    // sometimes null would make a new statement for every mix of nulls in a batch: a Parse and an
    // extra round trip per batch, and a prepared statement kept per connection for each mix
    line_minor: d.lineMinor === null ? null : d.lineMinor.toString(),
    model_id: d.modelId === null ? null : d.modelId.toString(),
    policy_version: d.policyVersion,
    inputs: d.inputs,
    result: d.result,
    reasons: d.reasons,
    latency_ms: d.latencyMs,
  }));
  const stored = await sql<{ id: bigint; created_at: Date }[]>`
    insert into credit_decisions ${sql(rows as never, DECISION_COLUMNS)}
    returning id, created_at`;
  const createdAt = new Map(stored.map((r) => [r.id, r.created_at]));
  invariant(createdAt.size === ds.length, 'a decision batch stored a different number of rows');
  return rows.map(({ id }) => ({ id, createdAt: createdAt.get(id)! }));
}

const DECISION_COLUMNS = [
  'id',
  'customer_id',
  'outcome',
  'grade',
  'score',
  'line_minor',
  'model_id',
  'policy_version',
  'inputs',
  'result',
  'reasons',
  'latency_ms',
] as const;

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

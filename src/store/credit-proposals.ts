/**
 * Credit proposals (migrations/0101_credit_proposals.sql): what one staff member asked for and a
 * second must approve. Deciding is a compare-and-set on status = 'open', so two checkers cannot
 * both decide one proposal; the table refuses a decision by the proposer.
 */
import type { SecondApproverReason } from '../domain/credit-approval.ts';
import type { CreditLineStatus } from './credit-lines.ts';
import type { Queryable, TransactionSql } from './db.ts';

export type ProposalKind = 'line_change' | 'review_approval';
export type ProposalStatus = 'open' | 'approved' | 'rejected';
export const PROPOSAL_PAGE_MAX = 200;
export const REJECT_NOTE_MAX_LENGTH = 500;

export interface Proposal {
  id: bigint;
  customerId: bigint;
  kind: ProposalKind;
  decisionId: bigint | null;
  limitMinor: bigint;
  lineStatus: CreditLineStatus | null;
  reason: SecondApproverReason;
  status: ProposalStatus;
  proposedBy: bigint;
  decidedBy: bigint | null;
  rejectNote: string | null;
  createdAt: Date;
  decidedAt: Date | null;
}

interface Row {
  id: bigint;
  customer_id: bigint;
  kind: ProposalKind;
  decision_id: bigint | null;
  limit_minor: bigint;
  line_status: CreditLineStatus | null;
  reason: SecondApproverReason;
  status: ProposalStatus;
  proposed_by: bigint;
  decided_by: bigint | null;
  reject_note: string | null;
  created_at: Date;
  decided_at: Date | null;
}

const fromRow = (r: Row): Proposal => ({
  id: r.id,
  customerId: r.customer_id,
  kind: r.kind,
  decisionId: r.decision_id,
  limitMinor: r.limit_minor,
  lineStatus: r.line_status,
  reason: r.reason,
  status: r.status,
  proposedBy: r.proposed_by,
  decidedBy: r.decided_by,
  rejectNote: r.reject_note,
  createdAt: r.created_at,
  decidedAt: r.decided_at,
});

export async function insertProposal(
  tx: TransactionSql,
  p: {
    customerId: bigint;
    kind: ProposalKind;
    decisionId: bigint | null;
    limitMinor: bigint;
    lineStatus: CreditLineStatus | null;
    reason: SecondApproverReason;
    proposedBy: bigint;
  },
): Promise<Proposal> {
  const [row] = await tx<Row[]>`
    insert into credit_proposals (customer_id, kind, decision_id, limit_minor, line_status, reason, proposed_by)
    values (${p.customerId.toString()}::bigint, ${p.kind}, ${p.decisionId === null ? null : p.decisionId.toString()}::bigint,
      ${p.limitMinor.toString()}::bigint, ${p.lineStatus}, ${p.reason}, ${p.proposedBy.toString()}::bigint)
    returning *`;
  return fromRow(row!);
}

export async function getProposal(
  sql: Queryable,
  id: bigint,
  forUpdate = false,
): Promise<Proposal | undefined> {
  const [found] = await sql<Row[]>`select * from credit_proposals where id = ${id.toString()}::bigint`;
  if (!found || !forUpdate) return found && fromRow(found);
  // a row is locked through its customer: on a sharded database a lock is taken on one shard only
  const [row] = await sql<Row[]>`
    select * from credit_proposals
    where customer_id = ${found.customer_id.toString()}::bigint and id = ${id.toString()}::bigint for update`;
  return row && fromRow(row);
}

/** The open proposal for a referred application, if any. */
export async function openProposalForDecision(
  sql: Queryable,
  decisionId: bigint,
): Promise<Proposal | undefined> {
  const [row] = await sql<Row[]>`
    select * from credit_proposals where decision_id = ${decisionId.toString()}::bigint and status = 'open'`;
  return row && fromRow(row);
}

export async function listProposals(
  sql: Queryable,
  status: ProposalStatus,
  limit: number,
  beforeId: bigint | null,
): Promise<Proposal[]> {
  const rows = await sql<Row[]>`
    select * from credit_proposals
    where status = ${status} and ${beforeId === null ? sql`true` : sql`id < ${beforeId.toString()}::bigint`}
    order by id desc limit ${Math.min(limit, PROPOSAL_PAGE_MAX)}`;
  return rows.map(fromRow);
}

/** Marks an open proposal decided; the caller holds its row lock. */
export async function closeProposal(
  tx: TransactionSql,
  open: Pick<Proposal, 'customerId' | 'id'>,
  decision: { status: 'approved' | 'rejected'; decidedBy: bigint; note: string | null },
): Promise<Proposal> {
  const [row] = await tx<Row[]>`
    update credit_proposals set status = ${decision.status}, decided_by = ${decision.decidedBy.toString()}::bigint,
      reject_note = ${decision.note}, decided_at = now()
    where customer_id = ${open.customerId.toString()}::bigint and id = ${open.id.toString()}::bigint
      and status = 'open'
    returning *`;
  if (!row) throw new Error('proposal was not open under its row lock');
  return fromRow(row);
}

/** What a checker sees before approving: the customer's line, loans and days past due. */
export interface CustomerCreditContext {
  line: { limitMinor: bigint; usedMinor: bigint; status: string } | null;
  loans: { id: bigint; principalMinor: bigint; status: string; daysPastDue: number; bucket: string }[];
  maxDaysPastDue: number;
  openLoans: number;
}

/** Loans shown with a proposal: the newest, which is where any trouble is. */
export const CONTEXT_LOANS_MAX = 50;

export async function customerCreditContext(
  sql: Queryable,
  customerId: bigint,
): Promise<CustomerCreditContext> {
  const [line] = await sql<{ limit_minor: bigint; used_minor: bigint; status: string }[]>`
    select limit_minor, used_minor, status from credit_lines where customer_id = ${customerId.toString()}::bigint`;
  const loans = await sql<
    { id: bigint; principal_minor: bigint; status: string; days_past_due: number; bucket: string }[]
  >`
    select id, principal_minor, status, days_past_due, bucket from loans
    where customer_id = ${customerId.toString()}::bigint order by id desc limit ${CONTEXT_LOANS_MAX}`;
  const [worst] = await sql<{ dpd: number; open: number }[]>`
    select coalesce(max(days_past_due) filter (where status = 'active'), 0)::int as dpd,
           (count(*) filter (where status = 'active'))::int as open
    from loans where customer_id = ${customerId.toString()}::bigint`;
  return {
    line: line ? { limitMinor: line.limit_minor, usedMinor: line.used_minor, status: line.status } : null,
    loans: loans.map((l) => ({
      id: l.id,
      principalMinor: l.principal_minor,
      status: l.status,
      daysPastDue: l.days_past_due,
      bucket: l.bucket,
    })),
    maxDaysPastDue: worst?.dpd ?? 0,
    openLoans: worst?.open ?? 0,
  };
}

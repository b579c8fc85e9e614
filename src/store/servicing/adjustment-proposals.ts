/**
 * Charges and waivers above the staff limit, parked for a second staff member
 * (migrations/0117_adjustment_proposals.sql; the seam is src/servicing/approval.ts).
 */
import type { WaivableComponent } from '../../domain/adjustments.ts';
import type { Queryable, TransactionSql } from '../db.ts';
import { Refusal } from '../refusal.ts';

export interface AdjustmentProposal {
  id: bigint;
  customerId: bigint;
  loanId: bigint;
  kind: 'charge' | 'waiver';
  component: WaivableComponent;
  amountMinor: bigint;
  installment: number | null;
  reason: string;
  status: 'open' | 'approved' | 'rejected';
  proposedBy: bigint;
  decidedBy: bigint | null;
}

interface Row {
  id: bigint;
  customer_id: bigint;
  loan_id: bigint;
  kind: 'charge' | 'waiver';
  component: WaivableComponent;
  amount_minor: bigint;
  installment_number: bigint | null;
  reason: string;
  status: 'open' | 'approved' | 'rejected';
  proposed_by: bigint;
  decided_by: bigint | null;
}

const fromRow = (r: Row): AdjustmentProposal => ({
  id: BigInt(r.id),
  customerId: BigInt(r.customer_id),
  loanId: BigInt(r.loan_id),
  kind: r.kind,
  component: r.component,
  amountMinor: BigInt(r.amount_minor),
  installment: r.installment_number === null ? null : Number(r.installment_number),
  reason: r.reason,
  status: r.status,
  proposedBy: BigInt(r.proposed_by),
  decidedBy: r.decided_by === null ? null : BigInt(r.decided_by),
});

export async function insertAdjustmentProposal(
  tx: TransactionSql,
  p: Omit<AdjustmentProposal, 'id' | 'status' | 'decidedBy'>,
): Promise<AdjustmentProposal> {
  const [row] = await tx<Row[]>`
    insert into adjustment_proposals (customer_id, loan_id, kind, component, amount_minor, installment_number,
      reason, proposed_by)
    values (${p.customerId}, ${p.loanId}, ${p.kind}, ${p.component}, ${p.amountMinor}, ${p.installment},
      ${p.reason}, ${p.proposedBy})
    returning *`;
  return fromRow(row!);
}

/**
 * The open proposal, locked for its decision by `checker`: refused when there is none, when it is
 * decided already, or when the checker proposed it (a table CHECK refuses that too).
 */
export async function lockOpenProposal(
  tx: TransactionSql,
  id: bigint,
  checker: bigint,
): Promise<AdjustmentProposal> {
  const [found] = await tx<
    { customer_id: bigint }[]
  >`select customer_id from adjustment_proposals where id = ${id}`;
  // a row is locked through its customer: on a sharded database a lock is taken on one shard only
  const [row] = found
    ? await tx<Row[]>`
        select * from adjustment_proposals where customer_id = ${found.customer_id} and id = ${id} for update`
    : [];
  if (!row) throw new Refusal('PROPOSAL_NOT_FOUND', 'no such adjustment proposal');
  const p = fromRow(row);
  if (p.status !== 'open')
    throw new Refusal('PROPOSAL_ALREADY_DECIDED', `the proposal is ${p.status}`, { status: p.status });
  if (p.proposedBy === checker) throw new Refusal('OWN_PROPOSAL', 'nobody approves their own proposal');
  return p;
}

export async function decideProposal(
  tx: TransactionSql,
  open: Pick<AdjustmentProposal, 'customerId' | 'id'>,
  status: 'approved' | 'rejected',
  checker: bigint,
): Promise<void> {
  await tx`
    update adjustment_proposals set status = ${status}, decided_by = ${checker}, decided_at = now()
    where customer_id = ${open.customerId} and id = ${open.id} and status = 'open'`;
}

/** Largest page of GET /v1/adjustment-proposals. */
export const ADJUSTMENT_PROPOSAL_PAGE_MAX = 100;

export interface ListedAdjustmentProposal extends AdjustmentProposal {
  createdAt: Date;
  /** Seconds since it was proposed, by the database's clock. */
  ageS: number;
  proposerName: string;
}

/** Proposals in a status, newest first, a page of at most ADJUSTMENT_PROPOSAL_PAGE_MAX before a cursor. */
export async function listAdjustmentProposals(
  sql: Queryable,
  status: AdjustmentProposal['status'],
  limit: number,
  beforeId: bigint | null,
): Promise<ListedAdjustmentProposal[]> {
  const rows = await sql<(Row & { created_at: Date; age_s: number; proposer_name: string })[]>`
    select p.*, floor(extract(epoch from now() - p.created_at))::int as age_s, s.username as proposer_name
    from adjustment_proposals p join staff s on s.id = p.proposed_by
    where p.status = ${status} and ${beforeId === null ? sql`true` : sql`p.id < ${beforeId.toString()}::bigint`}
    order by p.id desc limit ${Math.min(limit, ADJUSTMENT_PROPOSAL_PAGE_MAX)}`;
  return rows.map((r) => ({
    ...fromRow(r),
    createdAt: r.created_at,
    ageS: Math.max(0, r.age_s),
    proposerName: r.proposer_name,
  }));
}

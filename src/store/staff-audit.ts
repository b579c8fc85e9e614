/**
 * The staff audit log (migrations/0100_staff_audit.sql): recordStaffAction() is the one writer,
 * called in the transaction of the action it records, as its last statement (it takes the chain
 * head's row lock, so appends are serialised; taking it last keeps that lock short and out of any
 * lock-order cycle with the action's own rows). verifyStaffAudit() recomputes the chain.
 */
import {
  type ChainCheck,
  type ChainFields,
  chainChecker,
  GENESIS_HASH,
  rowHash,
  type StoredRow,
  stateDigest,
} from '../audit/chain.ts';
import type { Queryable, Sql, TransactionSql } from './db.ts';

/** Who acted: a staff member under the role of their token, or the CLI (database credentials). */
export type StaffActor = { id: bigint; role: string } | null;

export interface StaffAction {
  actor: StaffActor;
  /** What was done, snake_case: 'staff_created', 'credit_line_changed', 'proposal_approved'... */
  action: string;
  /** Which record: its table or kind, and its id (never personal data: ids or fingerprints). */
  recordType: string;
  recordId: string;
  /** The record before and after; only their sha256 is stored. null: did not exist / gone. */
  before?: unknown;
  after?: unknown;
}

/** Rows read per page by verify and list. */
export const AUDIT_PAGE_ROWS = 1000;
export const AUDIT_LIST_MAX = 200;

export async function recordStaffAction(tx: TransactionSql, a: StaffAction): Promise<bigint> {
  const [head] = await tx<{ seq: bigint; row_hash: Buffer }[]>`
    select seq, row_hash from staff_audit_head where id = 1 for update`;
  if (!head) throw new Error('staff_audit_head has no row: migration 0100 did not run');
  const fields = {
    seq: head.seq + 1n,
    // milliseconds: what a JavaScript Date holds, so the stored time hashes the same when read back
    createdAt: new Date(),
    actorId: a.actor ? a.actor.id : null,
    actorRole: a.actor ? a.actor.role : 'cli',
    action: a.action,
    recordType: a.recordType,
    recordId: a.recordId,
    beforeSha256: stateDigest(a.before),
    afterSha256: stateDigest(a.after),
  };
  const prevHash = Buffer.from(head.row_hash);
  const hash = rowHash(prevHash, fields);
  await tx`
    insert into staff_audit_log (seq, created_at, actor_id, actor_role, action, record_type, record_id,
      before_sha256, after_sha256, prev_hash, row_hash)
    values (${fields.seq.toString()}::bigint, ${fields.createdAt}, ${fields.actorId === null ? null : fields.actorId.toString()}::bigint,
      ${fields.actorRole}, ${fields.action}, ${fields.recordType}, ${fields.recordId},
      ${fields.beforeSha256}, ${fields.afterSha256}, ${prevHash}, ${hash})`;
  await tx`update staff_audit_head set seq = ${fields.seq.toString()}::bigint, row_hash = ${hash}, updated_at = now()
    where id = 1`;
  return fields.seq;
}

/**
 * For an action that is not one database transaction (a COB run, a queue replay, a gateway
 * reconcile): the request is recorded in its own transaction, before the action when `before` the
 * action or with its outcome after it, so the trail shows who set it going.
 */
export async function recordStaffActionNow(sql: Sql, a: StaffAction): Promise<bigint> {
  return sql.begin((tx) => recordStaffAction(tx, a));
}

interface Row {
  seq: bigint;
  created_at: Date;
  actor_id: bigint | null;
  actor_role: string;
  action: string;
  record_type: string;
  record_id: string;
  before_sha256: Buffer | null;
  after_sha256: Buffer | null;
  prev_hash: Buffer;
  row_hash: Buffer;
}

const buf = (b: Buffer | Uint8Array | null) => (b === null ? null : Buffer.from(b));

/** What a listing shows of a row: who did what to which record, when. */
function entryOf(r: Row): AuditEntry {
  return {
    seq: BigInt(r.seq),
    createdAt: r.created_at,
    actorId: r.actor_id === null ? null : BigInt(r.actor_id),
    actorRole: r.actor_role,
    action: r.action,
    recordType: r.record_type,
    recordId: r.record_id,
  };
}

function fromRow(r: Row): StoredRow {
  return {
    ...entryOf(r),
    beforeSha256: buf(r.before_sha256),
    afterSha256: buf(r.after_sha256),
    prevHash: Buffer.from(r.prev_hash),
    rowHash: Buffer.from(r.row_hash),
  };
}

const COLUMNS =
  'seq, created_at, actor_id, actor_role, action, record_type, record_id, before_sha256, after_sha256, prev_hash, row_hash';

/**
 * Recomputes the whole chain, page by page in seq order, in one repeatable-read snapshot so that
 * appends made meanwhile neither break nor extend what is checked.
 */
export async function verifyStaffAudit(sql: Sql): Promise<ChainCheck> {
  return sql.begin('isolation level repeatable read read only', async (tx) => {
    const checker = chainChecker();
    let after = 0n;
    for (;;) {
      const rows = await tx.unsafe<Row[]>(
        `select ${COLUMNS} from staff_audit_log where seq > $1 order by seq limit ${AUDIT_PAGE_ROWS}`,
        [after.toString()],
      );
      let going = true;
      for (const r of rows) {
        going = checker.add(fromRow(r));
        if (!going) break;
      }
      if (!going || rows.length < AUDIT_PAGE_ROWS) break;
      after = BigInt(rows[rows.length - 1]!.seq);
    }
    const [head] = await tx<
      { seq: bigint; row_hash: Buffer }[]
    >`select seq, row_hash from staff_audit_head where id = 1`;
    return checker.end({
      seq: BigInt(head?.seq ?? 0n),
      rowHash: Buffer.from(head?.row_hash ?? GENESIS_HASH),
    });
  });
}

export type AuditEntry = Omit<ChainFields, 'beforeSha256' | 'afterSha256'>;

/** Newest first; `beforeSeq` is the last seq of the previous page. */
export async function listStaffAudit(
  sql: Queryable,
  limit: number,
  beforeSeq: bigint | null,
): Promise<AuditEntry[]> {
  const rows = await sql<Row[]>`
    select seq, created_at, actor_id, actor_role, action, record_type, record_id
    from staff_audit_log
    where ${beforeSeq === null ? sql`true` : sql`seq < ${beforeSeq.toString()}::bigint`}
    order by seq desc limit ${Math.min(limit, AUDIT_LIST_MAX)}`;
  return rows.map(entryOf);
}

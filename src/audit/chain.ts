/**
 * The staff audit log's hash chain. A row's hash covers its sequence number, the previous row's
 * hash and every field, in one canonical text, so a changed field, a deleted row or two rows
 * swapped all break the chain at the first row they touch. Pure: used by the writer and by
 * `fenqi audit verify`.
 */
import { createHash } from 'node:crypto';

/** The `prev_hash` of the first row. */
export const GENESIS_HASH = Buffer.alloc(32);

export interface ChainFields {
  seq: bigint;
  createdAt: Date;
  actorId: bigint | null;
  actorRole: string;
  action: string;
  recordType: string;
  recordId: string;
  beforeSha256: Buffer | null;
  afterSha256: Buffer | null;
}

const hex = (b: Buffer | null) => (b === null ? null : b.toString('hex'));

export function rowHash(prevHash: Buffer, f: ChainFields): Buffer {
  const canonical = JSON.stringify([
    f.seq.toString(),
    prevHash.toString('hex'),
    f.createdAt.toISOString(),
    f.actorId === null ? null : f.actorId.toString(),
    f.actorRole,
    f.action,
    f.recordType,
    f.recordId,
    hex(f.beforeSha256),
    hex(f.afterSha256),
  ]);
  return createHash('sha256').update(canonical).digest();
}

/** sha256 of a record as canonical JSON (keys sorted, bigints as text); null stays null. */
export function stateDigest(state: unknown): Buffer | null {
  if (state === null || state === undefined) return null;
  const canonical = (v: unknown): unknown => {
    if (typeof v === 'bigint') return v.toString();
    if (v instanceof Date) return v.toISOString();
    if (Buffer.isBuffer(v)) return v.toString('hex');
    if (Array.isArray(v)) return v.map(canonical);
    if (v && typeof v === 'object') {
      return Object.fromEntries(
        Object.keys(v)
          .sort()
          .map((k) => [k, canonical((v as Record<string, unknown>)[k])]),
      );
    }
    return v;
  };
  return createHash('sha256')
    .update(JSON.stringify(canonical(state)))
    .digest();
}

export interface StoredRow extends ChainFields {
  prevHash: Buffer;
  rowHash: Buffer;
}

export type ChainCheck =
  | { ok: true; rows: bigint; headSeq: bigint }
  | { ok: false; rows: bigint; firstBadSeq: bigint; problem: string };

/**
 * Checks rows fed in seq order (in pages, so a long log is never held whole) against each other
 * and, at the end, against the head (the last seq and hash the writer recorded). The first row
 * that does not follow from the one before it is named.
 */
export function chainChecker() {
  let prev: Buffer = GENESIS_HASH;
  let expectedSeq = 1n;
  let failure: ChainCheck | undefined;
  return {
    /** false once a bad row is found: stop reading. */
    add(row: StoredRow): boolean {
      if (failure) return false;
      const bad = (problem: string, seq = row.seq) => {
        failure = { ok: false, rows: expectedSeq - 1n, firstBadSeq: seq, problem };
        return false;
      };
      if (row.seq !== expectedSeq)
        return bad(`row ${expectedSeq} is missing (next is ${row.seq})`, expectedSeq);
      if (!row.prevHash.equals(prev)) return bad("prev_hash is not the previous row's hash");
      if (!rowHash(prev, row).equals(row.rowHash))
        return bad('row_hash does not match the row: it was changed');
      prev = row.rowHash;
      expectedSeq += 1n;
      return true;
    },
    end(head: { seq: bigint; rowHash: Buffer }): ChainCheck {
      if (failure) return failure;
      const last = expectedSeq - 1n;
      if (head.seq !== last || !head.rowHash.equals(prev)) {
        return {
          ok: false,
          rows: last,
          firstBadSeq: last + 1n,
          problem: `the chain ends at row ${last} but the head says ${head.seq}: newest rows were deleted`,
        };
      }
      return { ok: true, rows: last, headSeq: head.seq };
    },
  };
}

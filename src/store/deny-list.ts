/**
 * The deny list (risk_deny_list): phones and national ids whose applications are declined with
 * DENY_LISTED. Only the blind index of the normalised value is stored — the same HMAC the
 * customers table keeps — so the list can be matched against customers without the database ever
 * holding a number. Entries are shown by a fingerprint (the first 8 hex digits of the blind
 * index), never by the value. The decision path reads the table on every decision, so a change
 * applies to the next application in every process at once.
 */
import { blindIndex, type IndexedField } from './crypto.ts';
import { parseNationalId, parsePhone } from './customers.ts';
import type { Queryable, TransactionSql } from './db.ts';
import { recordAdminEvent } from './risk-admin-events.ts';

export type DenyKind = IndexedField;
export const DENY_REASON_MAX_LENGTH = 200;
/** Largest page of the list one request reads. */
export const DENY_LIST_PAGE_MAX = 200;
/** Tries at adding when a concurrent removal keeps taking away the entry the insert collided with. */
export const DENY_ADD_ATTEMPTS = 3;
/** Hex digits of the blind index shown to people: enough to tell entries apart, useless to reverse. */
export const FINGERPRINT_HEX_DIGITS = 8;

export interface DenyEntry {
  id: bigint;
  kind: DenyKind;
  fingerprint: string;
  reason: string;
  addedBy: bigint | null;
  createdAt: Date;
}

interface Row {
  id: bigint;
  kind: DenyKind;
  bidx: Buffer;
  reason: string;
  added_by: bigint | null;
  created_at: Date;
}

export const fingerprintOf = (bidx: Uint8Array): string =>
  Buffer.from(bidx).toString('hex').slice(0, FINGERPRINT_HEX_DIGITS);

const entry = (r: Row): DenyEntry => ({
  id: r.id,
  kind: r.kind,
  fingerprint: fingerprintOf(r.bidx),
  reason: r.reason,
  addedBy: r.added_by,
  createdAt: r.created_at,
});

/** What an entry is looked up by. Make it with denyKeyOf; it holds no plaintext. */
export interface DenyKey {
  kind: DenyKind;
  bidx: Buffer;
}

/**
 * The blind index of a phone or national id as a customer record would hold it, or undefined when
 * the value does not parse (the caller says which format it wanted).
 */
export function denyKeyOf(blindIndexKey: Buffer, kind: DenyKind, raw: string): DenyKey | undefined {
  const value = kind === 'phone' ? parsePhone(raw) : parseNationalId(raw);
  return value === undefined ? undefined : { kind, bidx: blindIndex(blindIndexKey, kind, value) };
}

const subject = (key: DenyKey) => `${key.kind} ${fingerprintOf(key.bidx)}`;

/** Adds an entry; an entry that exists is left as it is (its reason too) and answered with created false. */
export async function addDenyEntry(
  tx: TransactionSql,
  key: DenyKey,
  reason: string,
  addedBy: bigint | null,
  attempt = 1,
): Promise<{ entry: DenyEntry; created: boolean }> {
  const [inserted] = await tx<Row[]>`
    insert into risk_deny_list (kind, bidx, reason, added_by)
    values (${key.kind}, ${key.bidx}, ${reason}, ${addedBy === null ? null : addedBy.toString()}::bigint)
    on conflict (bidx, kind) do nothing
    returning id, kind, bidx, reason, added_by, created_at`;
  if (inserted) {
    await recordAdminEvent(tx, {
      action: 'deny_added',
      subject: subject(key),
      staffId: addedBy,
      detail: { reason },
    });
    return { entry: entry(inserted), created: true };
  }
  // read committed: the conflicting row is committed, so this sees it (unless removed meanwhile)
  const existing = await findDenyEntry(tx, key);
  if (!existing) {
    if (attempt >= DENY_ADD_ATTEMPTS) throw new Error('deny-list entry kept vanishing while being added');
    return addDenyEntry(tx, key, reason, addedBy, attempt + 1);
  }
  return { entry: existing, created: false };
}

/** Removes an entry; undefined when there was none. */
export async function removeDenyEntry(
  tx: TransactionSql,
  key: DenyKey,
  removedBy: bigint | null,
  reason: string,
): Promise<DenyEntry | undefined> {
  const [removed] = await tx<Row[]>`
    delete from risk_deny_list where bidx = ${key.bidx} and kind = ${key.kind}
    returning id, kind, bidx, reason, added_by, created_at`;
  if (!removed) return undefined;
  await recordAdminEvent(tx, {
    action: 'deny_removed',
    subject: subject(key),
    staffId: removedBy,
    detail: { reason, added_reason: removed.reason },
  });
  return entry(removed);
}

export async function findDenyEntry(sql: Queryable, key: DenyKey): Promise<DenyEntry | undefined> {
  const [row] = await sql<Row[]>`
    select id, kind, bidx, reason, added_by, created_at from risk_deny_list
    where bidx = ${key.bidx} and kind = ${key.kind}`;
  return row && entry(row);
}

/** Newest first; `beforeId` is the last id of the previous page. */
export async function listDenyEntries(
  sql: Queryable,
  limit: number,
  beforeId: bigint | null,
  kind?: DenyKind,
): Promise<DenyEntry[]> {
  const rows = await sql<Row[]>`
    select id, kind, bidx, reason, added_by, created_at from risk_deny_list
    where ${beforeId === null ? sql`true` : sql`id < ${beforeId.toString()}::bigint`}
      and ${kind === undefined ? sql`true` : sql`kind = ${kind}`}
    order by id desc limit ${limit}`;
  return rows.map(entry);
}

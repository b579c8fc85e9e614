/**
 * Versioned policy documents (src/risk/model/policy.ts). One version is active; a new version is an
 * insert, and every decision records the version it was made under. Rolling back is also an
 * insert (a copy of the old version), so versions only ever grow and a decision's version always
 * names the rules it was made with.
 */
import { checkPolicy, DEFAULT_POLICY, type Policy, parsePolicy } from '../risk/model/policy.ts';
import type { Queryable, Sql, TransactionSql } from './db.ts';
import { recordAdminEvent } from './risk-admin-events.ts';

export const POLICY_NOTE_MAX_LENGTH = 500;
/** Largest page of policy versions one request reads. */
export const POLICY_PAGE_MAX = 100;

export interface PolicyVersion {
  version: number;
  policy: Policy;
}

/** A version as listed: everything but the document. */
export interface PolicyVersionInfo {
  version: number;
  active: boolean;
  note: string;
  publishedBy: bigint | null;
  createdAt: Date;
}

export interface StoredPolicy extends PolicyVersionInfo {
  policy: Policy;
}

interface Row {
  version: number;
  active: boolean;
  note: string;
  published_by: bigint | null;
  created_at: Date;
  policy?: unknown;
}

const info = (r: Row): PolicyVersionInfo => ({
  version: r.version,
  active: r.active,
  note: r.note,
  publishedBy: r.published_by,
  createdAt: r.created_at,
});
const stored = (r: Row): StoredPolicy => ({ ...info(r), policy: parsePolicy(r.policy) });

export async function activePolicy(sql: Queryable): Promise<PolicyVersion | undefined> {
  const [row] = await sql<{ version: number; policy: unknown }[]>`
    select version, policy from risk_policy_versions where active`;
  return row && { version: row.version, policy: parsePolicy(row.policy) };
}

export async function getPolicy(sql: Queryable, version: number): Promise<PolicyVersion | undefined> {
  const [row] = await sql<{ version: number; policy: unknown }[]>`
    select version, policy from risk_policy_versions where version = ${version}`;
  return row && { version: row.version, policy: parsePolicy(row.policy) };
}

/** One version with who published it and why; `'active'` for the active one. */
export async function getPolicyVersion(
  sql: Queryable,
  version: number | 'active',
): Promise<StoredPolicy | undefined> {
  const [row] = await sql<Row[]>`
    select version, active, note, published_by, created_at, policy from risk_policy_versions
    where ${version === 'active' ? sql`active` : sql`version = ${version}`}`;
  return row && stored(row);
}

/** Newest first; `beforeVersion` is the last version of the previous page. */
export async function listPolicyVersions(
  sql: Queryable,
  limit: number,
  beforeVersion: number | null,
): Promise<PolicyVersionInfo[]> {
  const rows = await sql<Row[]>`
    select version, active, note, published_by, created_at from risk_policy_versions
    where ${beforeVersion === null ? sql`true` : sql`version < ${beforeVersion}`}
    order by version desc limit ${limit}`;
  return rows.map(info);
}

/** Inserts the default policy as version 1 if there is none; concurrent callers are harmless. */
export async function ensurePolicy(sql: Queryable): Promise<void> {
  await sql`
    insert into risk_policy_versions (version, policy, active, note)
    values (1, ${sql.json(DEFAULT_POLICY as never)}, true, 'default policy')
    on conflict do nothing`;
}

async function insertActive(
  tx: TransactionSql,
  policy: Policy,
  note: string,
  publishedBy: bigint | null,
): Promise<StoredPolicy> {
  await tx`update risk_policy_versions set active = false where active`;
  // read first, then insert: Citus cannot run an insert ... select from the same reference table
  // (the caller's exclusive lock keeps max + 1 unique)
  const [last] = await tx<{ version: number }[]>`
    select coalesce(max(version), 0)::int as version from risk_policy_versions`;
  const [row] = await tx<Row[]>`
    insert into risk_policy_versions (version, policy, active, note, published_by)
    values (${last!.version + 1}, ${tx.json(policy as never)}, true, ${note},
            ${publishedBy === null ? null : publishedBy.toString()}::bigint)
    returning version, active, note, published_by, created_at, policy`;
  return stored(row!);
}

/**
 * Stores a checked policy as a new version and makes it the active one, inside the caller's
 * transaction (the API's idempotency key shares it), with its audit event.
 */
export async function publishPolicyIn(
  tx: TransactionSql,
  policy: Policy,
  note: string,
  publishedBy: bigint | null,
): Promise<StoredPolicy> {
  const checked = checkPolicy(policy);
  // versions are max + 1: writers take turns (decisions only read, and are not blocked)
  await tx`lock table risk_policy_versions in exclusive mode`;
  const published = await insertActive(tx, checked, note, publishedBy);
  await recordAdminEvent(tx, {
    action: 'policy_published',
    subject: `policy ${published.version}`,
    staffId: publishedBy,
    detail: { note },
  });
  return published;
}

/** Stores a new policy version and makes it the active one. */
export async function publishPolicy(
  sql: Sql,
  policy: Policy,
  note = '',
  publishedBy: bigint | null = null,
): Promise<number> {
  return (await sql.begin((tx) => publishPolicyIn(tx, policy, note, publishedBy))).version;
}

export type ActivateResult =
  | { ok: true; policy: StoredPolicy; from: number }
  | { ok: false; problem: 'not_found' | 'already_active' };

/**
 * Rolls back to an earlier version by copying it into a NEW active version: versions only grow, and
 * a decision's version keeps naming the rules it was made with.
 */
export async function activatePolicyIn(
  tx: TransactionSql,
  version: number,
  note: string,
  activatedBy: bigint | null,
): Promise<ActivateResult> {
  await tx`lock table risk_policy_versions in exclusive mode`;
  const [source] = await tx<{ active: boolean; policy: unknown }[]>`
    select active, policy from risk_policy_versions where version = ${version}`;
  if (!source) return { ok: false, problem: 'not_found' };
  if (source.active) return { ok: false, problem: 'already_active' };
  const copy = checkPolicy(source.policy);
  const activated = await insertActive(tx, copy, note, activatedBy);
  await recordAdminEvent(tx, {
    action: 'policy_activated',
    subject: `policy ${activated.version}`,
    staffId: activatedBy,
    detail: { copied_from: version, note },
  });
  return { ok: true, policy: activated, from: version };
}

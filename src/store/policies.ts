/**
 * Versioned policy documents (src/risk/policy.ts). One version is active; a new version is an
 * insert, and every decision records the version it was made under. Rolling back is also an
 * insert (a copy of the old version), so versions only ever grow and a decision's version always
 * names the rules it was made with.
 */
import { DEFAULT_POLICY, type Policy, PolicyError, parsePolicy } from '../risk/policy.ts';
import { GRADES, type Grade } from '../risk/scorecard.ts';
import type { Queryable, Sql, TransactionSql } from './db.ts';
import { recordAdminEvent } from './risk-admin-events.ts';

/** Bounds a published policy must keep, beyond parsePolicy's shape checks (see checkPolicy). */
export const POLICY_RULES_MAX = 100;
export const POLICY_RULE_DESCRIPTION_MAX_LENGTH = 200;
/** Rule thresholds are counts, ages and days: anything beyond this is a typo. */
export const POLICY_RULE_VALUE_MAX = 1_000_000_000_000;
export const POLICY_MARGIN_POINTS_MAX = 100_000;
/** 100 times the monthly income. */
export const POLICY_INCOME_MULTIPLE_BP_MAX = 1_000_000;
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

/**
 * Everything a policy must be before it may go live: parsePolicy's shape checks plus the bounds the
 * decision path relies on (whole basis points, a line range that is a range, disjoint grade lists,
 * finite thresholds). Returns a copy holding only the policy's own fields, so nothing unknown is
 * stored. Throws PolicyError with the reason.
 */
export function checkPolicy(json: unknown): Policy {
  const p = parsePolicy(json);
  const fail = (why: string): never => {
    throw new PolicyError(`invalid policy: ${why}`);
  };
  if (p.rules.length > POLICY_RULES_MAX) fail(`at most ${POLICY_RULES_MAX} rules`);
  for (const r of p.rules) {
    if (typeof r.value === 'number' && !(Math.abs(r.value) <= POLICY_RULE_VALUE_MAX)) {
      fail(`rule ${r.code}: value must be a number within ±${POLICY_RULE_VALUE_MAX}`);
    }
    if (typeof r.description !== 'string' || r.description.length > POLICY_RULE_DESCRIPTION_MAX_LENGTH) {
      fail(
        `rule ${r.code}: description must be text of at most ${POLICY_RULE_DESCRIPTION_MAX_LENGTH} characters`,
      );
    }
  }
  for (const key of ['approveGrades', 'referGrades'] as const) {
    if (new Set(p[key]).size !== p[key].length) fail(`${key} lists a grade twice`);
  }
  const both = p.approveGrades.filter((g) => p.referGrades.includes(g));
  if (both.length > 0) fail(`grade ${both.join(', ')} is both approved and referred`);
  for (const source of ['score', 'bureau', 'velocity'] as const) {
    const d = p.degradation[source];
    if (!Number.isInteger(d.referMarginPoints) || Math.abs(d.referMarginPoints) > POLICY_MARGIN_POINTS_MAX) {
      fail(
        `degradation.${source}.referMarginPoints must be a whole number within ±${POLICY_MARGIN_POINTS_MAX}`,
      );
    }
    if (!Number.isInteger(d.lineFactorBp))
      fail(`degradation.${source}.lineFactorBp must be whole basis points`);
  }
  for (const g of GRADES) {
    const bp = p.line.incomeMultipleBp[g];
    if (bp < 0 || bp > POLICY_INCOME_MULTIPLE_BP_MAX) {
      fail(`line.incomeMultipleBp.${g} must be 0..${POLICY_INCOME_MULTIPLE_BP_MAX}`);
    }
  }
  if (BigInt(p.line.minLineMinor) > BigInt(p.line.maxLineMinor))
    fail('line.minLineMinor is above line.maxLineMinor');
  const degradation = (d: Policy['degradation']['score']) => ({
    referMarginPoints: d.referMarginPoints,
    lineFactorBp: d.lineFactorBp,
  });
  return {
    rules: p.rules.map((r) => ({
      code: r.code,
      fact: r.fact,
      op: r.op,
      value: r.value,
      action: r.action,
      whenMissing: r.whenMissing,
      description: r.description,
    })),
    approveGrades: [...p.approveGrades],
    referGrades: [...p.referGrades],
    degradation: {
      score: degradation(p.degradation.score),
      bureau: degradation(p.degradation.bureau),
      velocity: degradation(p.degradation.velocity),
    },
    line: {
      incomeMultipleBp: Object.fromEntries(GRADES.map((g) => [g, p.line.incomeMultipleBp[g]])) as Record<
        Grade,
        number
      >,
      minLineMinor: p.line.minLineMinor,
      maxLineMinor: p.line.maxLineMinor,
      roundMinor: p.line.roundMinor,
    },
  };
}

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
  const [row] = await tx<Row[]>`
    insert into risk_policy_versions (version, policy, active, note, published_by)
    select coalesce(max(version), 0) + 1, ${tx.json(policy as never)}, true, ${note},
           ${publishedBy === null ? null : publishedBy.toString()}::bigint
    from risk_policy_versions
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

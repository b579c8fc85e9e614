/**
 * Versioned policy documents (src/risk/policy.ts). One version is active; a new version is an
 * insert, and every decision records the version it was made under.
 */
import { DEFAULT_POLICY, type Policy, parsePolicy } from '../risk/policy.ts';
import type { Queryable, Sql } from './db.ts';

export interface PolicyVersion {
  version: number;
  policy: Policy;
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

/** Inserts the default policy as version 1 if there is none; concurrent callers are harmless. */
export async function ensurePolicy(sql: Queryable): Promise<void> {
  await sql`
    insert into risk_policy_versions (version, policy, active, note)
    values (1, ${sql.json(DEFAULT_POLICY as never)}, true, 'default policy')
    on conflict do nothing`;
}

/** Stores a new policy version and makes it the active one. */
export async function publishPolicy(sql: Sql, policy: Policy, note = ''): Promise<number> {
  parsePolicy(policy);
  return sql.begin(async (tx) => {
    await tx`lock table risk_policy_versions in exclusive mode`;
    await tx`update risk_policy_versions set active = false where active`;
    const [row] = await tx<{ version: number }[]>`
      insert into risk_policy_versions (version, policy, active, note)
      select coalesce(max(version), 0) + 1, ${tx.json(policy as never)}, true, ${note} from risk_policy_versions
      returning version`;
    return row!.version;
  });
}

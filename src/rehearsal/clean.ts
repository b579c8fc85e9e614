/**
 * `fenqi rehearse clean`: closes the rehearsal and empties the shadow schema of what plans and runs
 * put there (customers, orders, loans, the ledger's shadow entries, the catalogue copy), as the
 * schema's owner, because the shadow role may not truncate and the ledger is append-only for it.
 * The rehearsal's own record (its runs, samples and per-hop times) stays for its report. Settled shadow messages
 * are trimmed from the shadow stream; shadow cache keys expire on their own (every entry has a TTL,
 * and the shadow ACL user may not list keys). Running it twice changes nothing more.
 */

import { ORDER_SETTLER, ORDERS_STREAM } from '../queue/index.ts';
import type { Queue } from '../queue/queue.ts';
import type { Sql } from '../store/db.ts';
import { closeRehearsal } from '../store/rehearsals.ts';
import { SHADOW_SCHEMA } from './roles.ts';

/** Kept by clean: the rehearsals' records and the schema's bookkeeping. */
export const KEPT_SHADOW_TABLES = [
  'rehearsals',
  'rehearsal_runs',
  'rehearsal_samples',
  'rehearsal_hops',
  'rehearsal_schedules',
  'schema_migrations',
  'staff',
  'staff_audit_log',
] as const;

export async function cleanRehearsal(
  owner: Sql,
  shadowQueue: Queue | undefined,
  rehearsalId: string,
): Promise<{ tables: number; messagesTrimmed: number }> {
  const [schema] = await owner<{ s: string }[]>`select current_schema() as s`;
  if (schema?.s !== SHADOW_SCHEMA) {
    throw new Error(
      `clean runs only on the shadow schema (the owner's URL with search_path=${SHADOW_SCHEMA})`,
    );
  }
  await closeRehearsal(owner, rehearsalId);
  const tables = await owner<{ name: string }[]>`
    select tablename as name from pg_tables
    where schemaname = ${SHADOW_SCHEMA} and tablename <> all(${[...KEPT_SHADOW_TABLES]}::text[])
    order by tablename`;
  if (tables.length > 0) {
    const list = tables.map((t) => `${SHADOW_SCHEMA}."${t.name}"`).join(', ');
    await owner.unsafe(`truncate ${list}`);
  }
  const messagesTrimmed = shadowQueue
    ? await shadowQueue.trimAcked(ORDERS_STREAM, ORDER_SETTLER).catch(() => 0)
    : 0;
  return { tables: tables.length, messagesTrimmed };
}

/**
 * Work that one process at a time does per schema: relaying the outbox, sending due notifications.
 * A pass takes its work's lock inside its own transaction (pg_try_advisory_xact_lock, on the
 * coordinator under Citus), so the lock ends with the transaction: a committed pass, a failed one,
 * a SIGKILLed process (its session ends) all free it at once, and nothing can leak into the pool.
 * A pass that does not get the lock does nothing; its process stands by and polls again.
 *
 * Why not row locks: Citus refuses `FOR UPDATE` in a statement over several shards, and a claim of
 * "the oldest due rows" spans all of them; locking row by row through each customer would cost one
 * statement per row on the hot path (docs/scaling.md). One worker at a time needs no row locks.
 */
import type { TransactionSql } from './db.ts';

/**
 * The first half of each two-part advisory key (the second is the schema's hash, so the rehearsal's
 * shadow schema has its own relay and sender beside production's). Two-int keys never meet the
 * bigint keys of migrations, close of business and settlement (PostgreSQL keeps them apart).
 */
export const SOLE_WORK_LOCKS = {
  eventRelay: 16_140_001,
  notifierSend: 16_140_002,
} as const;
export type SoleWork = keyof typeof SOLE_WORK_LOCKS;

/** Takes `work`'s lock for the rest of the transaction; false when another pass holds it. */
export async function takeSoleWork(tx: TransactionSql, work: SoleWork): Promise<boolean> {
  const [row] = await tx<{ ok: boolean }[]>`
    select pg_try_advisory_xact_lock(${SOLE_WORK_LOCKS[work]}::int, hashtext(current_schema())) as ok`;
  return row?.ok === true;
}

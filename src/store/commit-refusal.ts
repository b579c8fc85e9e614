/**
 * The reason a Citus worker refused a commit, given back to the error the application sees.
 *
 * A deferred check (the ledger's "journal entry ... has no lines", SQLSTATE 23514) fires when the
 * transaction commits. On one PostgreSQL its error is the COMMIT's error. On Citus a transaction on
 * one shard is committed on the worker by a plain COMMIT (no two-phase commit), and when the worker
 * refuses, the coordinator reports the worker's error only as a WARNING and fails the COMMIT with
 * its own `could not commit transaction for shard N on at least one active node` (SQLSTATE XX000).
 * The refusal is the same (nothing of the transaction is kept), but its code and reason differ.
 * So the pool keeps the worker refusals it was warned of, oldest first, and when a transaction then
 * fails with Citus's commit error, gives that error the oldest refusal's code and reason, the
 * original message kept in brackets: callers and tests check one code on both. The notices carry
 * no connection, so the pool pairs them in order: on each connection the warning comes before its
 * COMMIT's error, and two transactions refused at once get their own reasons back unless their
 * errors arrive in the opposite order of their warnings (a pool remembering only the last warning
 * gave both the second reason, and the first none).
 */

/** Citus's error for a shard transaction a worker did not commit. */
export const CITUS_COMMIT_FAILED = /^could not commit transaction for shard \d+/;
/** Integrity constraint violations (23xxx): the checks a commit can be refused by. */
const INTEGRITY_VIOLATION_CLASS = '23';
/**
 * The warning and the error come from the same COMMIT, a few messages apart on one connection; a
 * warning older than this belongs to something else.
 */
const REFUSAL_NOTICE_TTL_MS = 2_000;
/** Refusals kept waiting for their commit's error at most; the oldest is dropped past it. */
export const REFUSALS_KEPT_MAX = 64;

export interface ServerNotice {
  severity?: string;
  code?: string;
  message?: string;
  where?: string;
}

interface Refusal {
  code: string;
  message: string;
  atMs: number;
}

export interface CommitRefusals {
  /** postgres.js's onnotice. */
  onNotice(notice: ServerNotice): void;
  /** The error a transaction failed with, with the worker's code and reason when Citus hid them. */
  restore<E>(err: E): E;
}

export function commitRefusals(nowMs: () => number = Date.now): CommitRefusals {
  const pending: Refusal[] = [];
  return {
    onNotice(notice) {
      const fromWorker = notice.where?.includes('while executing command on') ?? false;
      const integrity = notice.code?.startsWith(INTEGRITY_VIOLATION_CLASS) ?? false;
      if (notice.severity === 'WARNING' && fromWorker && integrity) {
        if (pending.length >= REFUSALS_KEPT_MAX) pending.shift();
        pending.push({ code: notice.code!, message: notice.message ?? '', atMs: nowMs() });
      }
    },
    restore(err) {
      const e = err as { code?: unknown; message?: unknown };
      if (e?.code !== 'XX000' || typeof e.message !== 'string' || !CITUS_COMMIT_FAILED.test(e.message)) {
        return err;
      }
      while (pending.length > 0 && nowMs() - pending[0]!.atMs > REFUSAL_NOTICE_TTL_MS) pending.shift();
      const refusal = pending.shift();
      if (!refusal) return err;
      return Object.assign(err as object, {
        code: refusal.code,
        message: `${refusal.message} (${e.message})`,
      }) as typeof err;
    },
  };
}

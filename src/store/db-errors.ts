/**
 * Which database errors say "the database cannot answer right now" (connection lost or refused,
 * server shutting down, serialization failure, deadlock, out of resources) rather than "this
 * request is wrong". Callers retry the first kind later (workers) or answer 503 with Retry-After
 * (the API); anything else is a bug or a bad request.
 */
export function isTransientDatabaseError(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | null;
  const code = String(e?.code ?? '');
  // SQLSTATE 08 connection exception, 40 transaction rollback, 53 insufficient resources,
  // 57P operator intervention (admin shutdown, cannot connect now)
  if (/^(08|40|53|57P)/.test(code)) return true;
  // postgres.js and Node socket codes
  if (/^(ECONN|EPIPE|ETIMEDOUT|EHOSTUNREACH|CONNECT_TIMEOUT|CONNECTION_|ENOTFOUND)/.test(code)) return true;
  return /connection|terminat|timeout|ECONNRE/i.test(String(e?.message ?? ''));
}

/** SQLSTATE 57014: the statement ran past its statement_timeout (or was cancelled). */
export function isQueryCanceled(err: unknown): boolean {
  return (err as { code?: string } | null)?.code === '57014';
}

/**
 * A staff id that no staff row has (a token outliving its account): SQLSTATE 23503 on one of the
 * audit columns' foreign keys.
 */
export function isUnknownStaff(err: unknown): boolean {
  const e = err as { code?: string; constraint_name?: string } | null;
  return (
    e?.code === '23503' &&
    /_(reviewer_id|published_by|added_by|staff_id|actor_id|proposed_by|decided_by|assigned_to|collector_id|changed_by)_fkey$/.test(
      e.constraint_name ?? '',
    )
  );
}

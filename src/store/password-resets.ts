/**
 * The SQL of forgot-password and of ended sessions (migration 0201). A reset code is kept only as
 * an HMAC (auth/password-reset.ts holds the key); asking for a new code retires the older ones, so
 * one code at most is live per customer. Revocations say "tokens issued before this instant are no
 * longer accepted" (auth/revocations.ts reads them).
 */
import { timingSafeEqual } from 'node:crypto';
import type { Queryable, TransactionSql } from './db.ts';

/** Retires the customer's live codes and stores a new one; answers its id. */
export async function storeResetCode(
  tx: TransactionSql,
  customerId: bigint,
  codeHmac: Buffer,
  ttlMs: number,
): Promise<bigint> {
  await tx`update password_reset_codes set used_at = now()
    where customer_id = ${customerId} and used_at is null`;
  const [row] = await tx<{ id: bigint }[]>`
    insert into password_reset_codes (customer_id, code_hmac, expires_at)
    values (${customerId}, ${codeHmac}, now() + make_interval(secs => ${ttlMs / 1000}))
    returning id`;
  return row!.id;
}

export type CodeCheck = 'accepted' | 'wrong' | 'none';

/**
 * Checks a code against the customer's live one (unused, unexpired, tries left), under its row
 * lock: the right code is used up, a wrong one spends a try. 'none' when there is no live code.
 */
export async function checkResetCode(
  tx: TransactionSql,
  customerId: bigint,
  codeHmac: Buffer,
  maxAttempts: number,
): Promise<CodeCheck> {
  const [live] = await tx<{ id: bigint; code_hmac: Buffer }[]>`
    select id, code_hmac from password_reset_codes
    where customer_id = ${customerId} and used_at is null and expires_at > now() and attempts < ${maxAttempts}
    order by id desc limit 1 for update`;
  if (!live) return 'none';
  if (timingSafeEqual(Buffer.from(live.code_hmac), codeHmac)) {
    await tx`update password_reset_codes set used_at = now() where customer_id = ${customerId} and id = ${live.id}`;
    return 'accepted';
  }
  await tx`update password_reset_codes set attempts = attempts + 1
    where customer_id = ${customerId} and id = ${live.id}`;
  return 'wrong';
}

/** Ends every session the customer had before `at` (a token issued earlier is refused). */
export async function revokeCredentials(
  tx: TransactionSql,
  customerId: bigint,
  at: Date,
  reason: 'password_reset',
): Promise<void> {
  await tx`insert into credential_revocations (customer_id, revoked_at, reason)
    values (${customerId}, ${at}, ${reason}) on conflict do nothing`;
}

/** The latest revocation per customer since `since`, at most `limit` customers. */
export async function revocationsSince(
  sql: Queryable,
  since: Date,
  limit: number,
): Promise<{ customerId: bigint; revokedAt: Date }[]> {
  const rows = await sql<{ customer_id: bigint; revoked_at: Date }[]>`
    select customer_id, max(revoked_at) as revoked_at from credential_revocations
    where revoked_at > ${since} group by customer_id limit ${limit}`;
  return rows.map((r) => ({ customerId: BigInt(r.customer_id), revokedAt: r.revoked_at }));
}

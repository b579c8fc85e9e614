/**
 * Client idempotency keys. The key row is inserted in the same transaction as the effect it
 * guards: a concurrent request with the same key blocks on the uncommitted row and, once the first
 * commits, finds its stored answer. The answer is kept with a hash of the request so the same key
 * sent with a different request is recognised.
 */
import { createHash } from 'node:crypto';
import { PLATFORM_CUSTOMER_ID } from './citus.ts';
import type { Queryable, TransactionSql } from './db.ts';

export const IDEMPOTENCY_KEY_MAX_LENGTH = 128;
export const IDEMPOTENCY_KEY_PATTERN = /^[A-Za-z0-9_.:-]{1,128}$/;

export type Claim =
  | { kind: 'new' }
  | { kind: 'replay'; statusCode: number; response: unknown }
  /** The first request has started but has no final answer yet (a disbursement in flight). */
  | { kind: 'pending'; response: unknown }
  | { kind: 'mismatch' };

/** A stable hash of what was asked: JSON with sorted keys, so key order does not matter. */
export function requestHash(method: string, url: string, body: unknown): Buffer {
  const canonical = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(canonical);
    if (value && typeof value === 'object') {
      return Object.fromEntries(
        Object.keys(value as object)
          .sort()
          .map((k) => [k, canonical((value as Record<string, unknown>)[k])]),
      );
    }
    return value;
  };
  return createHash('sha256')
    .update(`${method} ${url}\n${JSON.stringify(canonical(body ?? null))}`)
    .digest();
}

/** Scopes are `${role}:${id}`; a customer's keys are stored with the customer (one shard). */
const CUSTOMER_SCOPE_PREFIX = 'customer:';

/** The customer whose rows (and shard) a key of this scope lives with; merchants' and staff's keys live with the platform. */
export function scopeCustomerId(scope: string): bigint {
  if (!scope.startsWith(CUSTOMER_SCOPE_PREFIX)) return PLATFORM_CUSTOMER_ID;
  const id = scope.slice(CUSTOMER_SCOPE_PREFIX.length);
  if (!/^[1-9][0-9]{0,18}$/.test(id)) throw new Error(`malformed customer idempotency scope ${scope}`);
  return BigInt(id);
}

export async function claimKey(tx: TransactionSql, scope: string, key: string, hash: Buffer): Promise<Claim> {
  const customerId = scopeCustomerId(scope).toString();
  const inserted = await tx`
    insert into idempotency_keys (customer_id, scope, key, request_hash)
    values (${customerId}::bigint, ${scope}, ${key}, ${hash})
    on conflict (customer_id, scope, key) do nothing returning 1`;
  if (inserted.length === 1) return { kind: 'new' };
  // Read committed: the insert above waited for any concurrent holder, so this sees its result.
  const [row] = await tx<{ request_hash: Buffer; status_code: number | null; response: unknown }[]>`
    select request_hash, status_code, response from idempotency_keys
    where customer_id = ${customerId}::bigint and scope = ${scope} and key = ${key} for update`;
  if (!row) return claimKey(tx, scope, key, hash);
  if (!Buffer.from(row.request_hash).equals(hash)) return { kind: 'mismatch' };
  if (row.status_code === null) return { kind: 'pending', response: row.response };
  return { kind: 'replay', statusCode: row.status_code, response: row.response };
}

/**
 * Records the answer (statusCode null: started, not final; `response` then says what to resume).
 * `onlyIfPending` records a final answer only over a pending one, so of two requests that finish
 * the same deferred effect the first answer stays.
 */
export async function saveAnswer(
  sql: Queryable,
  scope: string,
  key: string,
  statusCode: number | null,
  response: unknown,
  onlyIfPending = false,
): Promise<void> {
  await sql`
    update idempotency_keys set status_code = ${statusCode}, response = ${sql.json(response as never)}
    where customer_id = ${scopeCustomerId(scope).toString()}::bigint and scope = ${scope} and key = ${key}
      ${onlyIfPending ? sql`and status_code is null` : sql``}`;
}

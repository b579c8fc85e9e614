/**
 * Merchants and their API keys. A key is 32 random bytes shown once at creation; only its sha256
 * is stored, so a database leak does not hand out working keys. (A fast hash is enough here: the
 * key has 256 bits of entropy, there is nothing to brute-force.)
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Queryable } from './db.ts';

export const API_KEY_PREFIX = 'fq_';
export const API_KEY_BYTES = 32;
/** base64url of 32 bytes is 43 characters; anything longer is not one of ours. */
export const API_KEY_MAX_LENGTH = API_KEY_PREFIX.length + 43;
export const MERCHANT_NAME_MAX_LENGTH = 100;

export function newApiKey(): string {
  return API_KEY_PREFIX + randomBytes(API_KEY_BYTES).toString('base64url');
}

export function apiKeyHash(key: string): Buffer {
  return createHash('sha256').update(key).digest();
}

export interface Merchant {
  id: bigint;
  name: string;
  status: 'active' | 'suspended';
  createdAt: Date;
}

interface MerchantRow {
  id: bigint;
  name: string;
  status: 'active' | 'suspended';
  created_at: Date;
}

const toMerchant = (row: MerchantRow): Merchant => ({
  id: row.id,
  name: row.name,
  status: row.status,
  createdAt: row.created_at,
});

/** Creates a merchant and returns its API key: the only time the key exists outside the caller. */
export async function createMerchant(
  sql: Queryable,
  name: string,
): Promise<{ merchant: Merchant; apiKey: string }> {
  const apiKey = newApiKey();
  const [row] = await sql<MerchantRow[]>`
    insert into merchants (name, api_key_hash) values (${name}, ${apiKeyHash(apiKey)})
    returning id, name, status, created_at`;
  return { merchant: toMerchant(row!), apiKey };
}

export async function getMerchant(sql: Queryable, id: bigint): Promise<Merchant | undefined> {
  const [row] = await sql<MerchantRow[]>`
    select id, name, status, created_at from merchants where id = ${id.toString()}::bigint`;
  return row && toMerchant(row);
}

/** The active merchant holding a key with this hash. */
export async function merchantIdByKeyHash(sql: Queryable, hash: Buffer): Promise<bigint | undefined> {
  const [row] = await sql<{ id: bigint }[]>`
    select id from merchants where api_key_hash = ${hash} and status = 'active'`;
  return row?.id;
}

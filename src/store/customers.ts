/**
 * Customers: registration, look-up by phone, the decrypted profile, the bank card, and the
 * re-encryption of their fields under a new data key. Personal fields are encrypted here, on the
 * way in, and decrypted here, on the way out; nothing above this module sees ciphertext and
 * nothing below it sees plaintext.
 */
import {
  blindIndex,
  type FieldCrypto,
  type FieldPlace,
  normaliseNationalId,
  normalisePhone,
} from './crypto.ts';
import type { Queryable } from './db.ts';
import { Refusal } from './refusal.ts';

/** Encrypted columns of `customers`, each holding one personal field. */
export const CUSTOMER_ENCRYPTED_COLUMNS = [
  'phone_enc',
  'national_id_enc',
  'legal_name_enc',
  'bank_card_enc',
] as const;
export type CustomerEncryptedColumn = (typeof CUSTOMER_ENCRYPTED_COLUMNS)[number];

export const LEGAL_NAME_MAX_LENGTH = 64;
export const BANK_CARD_MIN_DIGITS = 12;
export const BANK_CARD_MAX_DIGITS = 19;

// ---------------------------------------------------------------------------------------------
// Formats

/** A mainland mobile number: 11 digits starting with 1 (after dropping spaces, dashes and +86). */
export function parsePhone(raw: string): string | undefined {
  const phone = normalisePhone(raw);
  return /^1\d{10}$/.test(phone) ? phone : undefined;
}

const ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const ID_CHECK_CHARS = '10X98765432';

/** The ISO 7064 MOD 11-2 check character of the first 17 digits of a national id number. */
export function nationalIdCheckChar(first17: string): string {
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += Number(first17[i]) * ID_WEIGHTS[i]!;
  return ID_CHECK_CHARS[sum % 11]!;
}

/** An 18-character resident id number with a real birth date and a valid check character. */
export function parseNationalId(raw: string): string | undefined {
  const id = normaliseNationalId(raw);
  if (!/^[1-9]\d{16}[\dX]$/.test(id)) return undefined;
  const year = Number(id.slice(6, 10));
  const month = Number(id.slice(10, 12));
  const day = Number(id.slice(12, 14));
  const birth = new Date(Date.UTC(year, month - 1, day));
  const real =
    birth.getUTCFullYear() === year && birth.getUTCMonth() === month - 1 && birth.getUTCDate() === day;
  if (!real || year < 1900 || birth.getTime() > Date.now()) return undefined;
  return nationalIdCheckChar(id) === id[17] ? id : undefined;
}

/** A person's name as written on their id: trimmed, 1-64 characters, no control characters. */
export function parseLegalName(raw: string): string | undefined {
  const name = raw.trim().normalize('NFC');
  if (name.length === 0 || [...name].length > LEGAL_NAME_MAX_LENGTH) return undefined;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
  return /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(name) ? undefined : name;
}

/** Card digits only (spaces and dashes dropped), 12-19 of them. */
export function parseBankCard(raw: string): string | undefined {
  const card = raw.replace(/[\s-]/g, '');
  const pattern = new RegExp(`^\\d{${BANK_CARD_MIN_DIGITS},${BANK_CARD_MAX_DIGITS}}$`);
  return pattern.test(card) ? card : undefined;
}

/** Only the last four digits are ever shown to the customer again (privacy/masking.ts). */
export { ownBankCard as maskBankCard } from '../privacy/masking.ts';

// ---------------------------------------------------------------------------------------------
// Rows

export interface NewCustomer {
  phone: string;
  nationalId: string;
  legalName: string;
  bankCard?: string | undefined;
  passwordHash: string;
}

export type CreateCustomerResult =
  | { ok: true; id: bigint }
  | { ok: false; conflict: 'phone' | 'national_id' };

const place = (column: CustomerEncryptedColumn, rowId: bigint): FieldPlace => ({
  table: 'customers',
  column,
  rowId,
});

function isUniqueViolation(err: unknown, constraint: string): boolean {
  const e = err as { code?: string; constraint_name?: string };
  return e?.code === '23505' && e.constraint_name === constraint;
}

/**
 * Inserts a customer. The id is taken first because it is part of every field's associated data.
 * fenqi_register_customer() (migration 0104) claims the phone and national id in
 * customer_identities (keyed by blind index, so two concurrent registrations of one phone cannot
 * both succeed: the second waits for the first and finds it taken) and inserts the customer, in
 * one statement. Inputs must already be parsed (parsePhone, parseNationalId...).
 */
export async function createCustomer(
  sql: Queryable,
  crypto: FieldCrypto,
  customer: NewCustomer,
): Promise<CreateCustomerResult> {
  const [row] = await sql<{ id: bigint }[]>`select fenqi_next_id() as id`;
  const id = row!.id;
  const { cipher, blindIndexKey } = crypto;
  try {
    await sql`
      select fenqi_register_customer(${id.toString()}::bigint,
        ${blindIndex(blindIndexKey, 'phone', customer.phone)},
        ${blindIndex(blindIndexKey, 'national_id', customer.nationalId)},
        ${cipher.encrypt(customer.phone, place('phone_enc', id))},
        ${cipher.encrypt(customer.nationalId, place('national_id_enc', id))},
        ${cipher.encrypt(customer.legalName, place('legal_name_enc', id))},
        ${customer.bankCard ? cipher.encrypt(customer.bankCard, place('bank_card_enc', id)) : null}::bytea,
        ${customer.passwordHash})`;
  } catch (err) {
    if (isUniqueViolation(err, 'customer_identities_phone')) return { ok: false, conflict: 'phone' };
    if (isUniqueViolation(err, 'customer_identities_national_id'))
      return { ok: false, conflict: 'national_id' };
    throw err;
  }
  return { ok: true, id };
}

export interface CustomerLogin {
  id: bigint;
  passwordHash: string;
  status: string;
}

/**
 * The customer a (parsed) phone number belongs to, found through its blind index: first its claim
 * in customer_identities (sharded by blind index), then the customer by id, so on Citus log-in is
 * two single-shard reads instead of one that asks every shard.
 */
export async function findCustomerByPhone(
  sql: Queryable,
  crypto: FieldCrypto,
  phone: string,
): Promise<CustomerLogin | undefined> {
  const bidx = blindIndex(crypto.blindIndexKey, 'phone', phone);
  const [claim] = await sql<{ customer_id: bigint }[]>`
    select customer_id from customer_identities where bidx = ${bidx} and kind = 'phone'`;
  if (!claim) return undefined;
  const rows = await sql<{ id: bigint; password_hash: string; status: string }[]>`
    select id, password_hash, status from customers
    where id = ${claim.customer_id.toString()}::bigint and phone_bidx = ${bidx}`;
  const row = rows[0];
  return row && { id: row.id, passwordHash: row.password_hash, status: row.status };
}

export async function updateCustomerPasswordHash(sql: Queryable, id: bigint, passwordHash: string) {
  await sql`update customers set password_hash = ${passwordHash} where id = ${id.toString()}::bigint`;
}

export interface CustomerProfile {
  id: bigint;
  phone: string;
  nationalId: string;
  legalName: string;
  bankCard: string | null;
  status: string;
  createdAt: Date;
}

interface CustomerRow {
  id: bigint;
  phone_enc: Buffer;
  national_id_enc: Buffer;
  legal_name_enc: Buffer;
  bank_card_enc: Buffer | null;
  status: string;
  created_at: Date;
}

/** Refuses with CUSTOMER_NOT_FOUND when no customer has this id (a token may outlive its customer). */
export async function requireCustomer(sql: Queryable, customerId: bigint): Promise<void> {
  const [row] = await sql`select 1 from customers where id = ${customerId.toString()}::bigint`;
  if (!row) throw new Refusal('CUSTOMER_NOT_FOUND', 'no such customer');
}

export async function getCustomer(
  sql: Queryable,
  crypto: FieldCrypto,
  id: bigint,
): Promise<CustomerProfile | undefined> {
  const [row] = await sql<CustomerRow[]>`
    select id, phone_enc, national_id_enc, legal_name_enc, bank_card_enc, status, created_at
    from customers where id = ${id.toString()}::bigint`;
  if (!row) return undefined;
  const { cipher } = crypto;
  return {
    id: row.id,
    phone: cipher.decrypt(row.phone_enc, place('phone_enc', row.id)),
    nationalId: cipher.decrypt(row.national_id_enc, place('national_id_enc', row.id)),
    legalName: cipher.decrypt(row.legal_name_enc, place('legal_name_enc', row.id)),
    bankCard: row.bank_card_enc && cipher.decrypt(row.bank_card_enc, place('bank_card_enc', row.id)),
    status: row.status,
    createdAt: row.created_at,
  };
}

/** Sets the bank card; false when there is no such customer. */
export async function setBankCard(
  sql: Queryable,
  crypto: FieldCrypto,
  id: bigint,
  card: string,
): Promise<boolean> {
  const enc = crypto.cipher.encrypt(card, place('bank_card_enc', id));
  const result = await sql`update customers set bank_card_enc = ${enc} where id = ${id.toString()}::bigint`;
  return result.count === 1;
}

// ---------------------------------------------------------------------------------------------
// Key rotation

/**
 * SQL predicate: some encrypted column of the row is under another key than `keyId`. The key id is
 * bytes 1-2 of the stored value (see crypto.ts), so this needs no decryption and no extra column.
 */
function notUnderKey(sql: Queryable, keyId: number) {
  const under = (column: CustomerEncryptedColumn) =>
    sql`(get_byte(${sql(column)}, 1) * 256 + get_byte(${sql(column)}, 2)) <> ${keyId}`;
  return sql`(${under('phone_enc')} or ${under('national_id_enc')} or ${under('legal_name_enc')}
              or (bank_card_enc is not null and ${under('bank_card_enc')}))`;
}

/** Customers with at least one field not under `keyId`. */
export async function countCustomersNotUnderKey(sql: Queryable, keyId: number): Promise<number> {
  const [row] = await sql<
    { n: bigint }[]
  >`select count(*)::bigint as n from customers where ${notUnderKey(sql, keyId)}`;
  return Number(row!.n);
}

/** How many stored values are under each key id, over every encrypted column. */
export async function countFieldsByKey(sql: Queryable): Promise<Map<number, number>> {
  const rows = await sql<{ key_id: number; n: bigint }[]>`
    select key_id, count(*)::bigint as n from (
      select get_byte(v, 1) * 256 + get_byte(v, 2) as key_id
      from customers, lateral (values (phone_enc), (national_id_enc), (legal_name_enc), (bank_card_enc)) f(v)
      where v is not null) k
    group by key_id order by key_id`;
  return new Map(rows.map((r) => [Number(r.key_id), Number(r.n)]));
}

export interface RotationBatch {
  /** Customers whose fields were re-encrypted. */
  rows: number;
  fields: number;
  /** The highest id seen: the next batch starts after it. */
  lastId: bigint | undefined;
}

/**
 * Re-encrypts, under the current key, every field not already under it, for the next `batchSize`
 * customers after `afterId` that need it. Rows are locked so a concurrent bank-card change is not
 * overwritten with the old value. Run inside a transaction (pass its `tx`).
 */
export async function reencryptCustomerBatch(
  tx: Queryable,
  crypto: FieldCrypto,
  afterId: bigint,
  batchSize: number,
): Promise<RotationBatch> {
  const { cipher } = crypto;
  const current = cipher.currentKeyId;
  const rows = await tx<CustomerRow[]>`
    select id, phone_enc, national_id_enc, legal_name_enc, bank_card_enc
    from customers
    where id > ${afterId.toString()}::bigint and ${notUnderKey(tx, current)}
    order by id
    limit ${batchSize}
    for update`;
  let fields = 0;
  for (const row of rows) {
    const update: Partial<Record<CustomerEncryptedColumn, Buffer>> = {};
    for (const column of CUSTOMER_ENCRYPTED_COLUMNS) {
      const stored = row[column];
      if (!stored || cipher.keyIdOf(stored) === current) continue;
      const at = place(column, row.id);
      update[column] = cipher.encrypt(cipher.decrypt(stored, at), at);
      fields++;
    }
    const columns = Object.keys(update) as CustomerEncryptedColumn[];
    await tx`update customers set ${tx(update, ...columns)} where id = ${row.id.toString()}::bigint`;
  }
  return { rows: rows.length, fields, lastId: rows.at(-1)?.id };
}

/** Customers' legal names, decrypted, for a page of staff listings (one query for the page). */
export async function legalNamesOf(
  sql: Queryable,
  crypto: FieldCrypto,
  ids: readonly bigint[],
): Promise<Map<bigint, string>> {
  if (ids.length === 0) return new Map();
  const rows = await sql<{ id: bigint; legal_name_enc: Buffer }[]>`
    select id, legal_name_enc from customers where id = any(${ids.map(String)}::bigint[])`;
  return new Map(
    rows.map((r) => [
      BigInt(r.id),
      crypto.cipher.decrypt(r.legal_name_enc, place('legal_name_enc', BigInt(r.id))),
    ]),
  );
}

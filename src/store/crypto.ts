/**
 * Field-level encryption of personal data and the blind index used to find it again.
 *
 * A stored value is one bytea:
 *   [version 1 byte = 0x01][key id 2 bytes, big-endian][nonce 12 bytes][ciphertext][GCM tag 16 bytes]
 * AES-256-GCM under the data key named by the key id. The associated data binds the value to its
 * place — the header, the table, the column and the row id — so a ciphertext copied to another row
 * or column (or given another key id) fails authentication instead of decrypting.
 *
 * The blind index is HMAC-SHA256 over a normalised value under a separate key, with the field's name
 * in the input, so equal values in one field give equal indexes (look-up, uniqueness) while the
 * database never sees the value and the two fields' indexes cannot be compared with each other.
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { invariant } from '../domain/errors.ts';

export const FIELD_FORMAT_VERSION = 0x01;
export const NONCE_BYTES = 12;
export const TAG_BYTES = 16;
export const HEADER_BYTES = 1 + 2 + NONCE_BYTES;
export const KEY_BYTES = 32;
export const MAX_KEY_ID = 0xffff;

/** Where a value lives; part of the associated data. */
export interface FieldPlace {
  table: string;
  column: string;
  rowId: bigint;
}

/** A value that fails to decrypt: wrong key, wrong place, or tampered bytes. Never carries the data. */
export class DecryptError extends Error {
  override name = 'DecryptError';
}

export interface FieldCipher {
  /** The key id new values are encrypted under (the highest configured). */
  readonly currentKeyId: number;
  encrypt(plaintext: string, place: FieldPlace): Buffer;
  decrypt(stored: Uint8Array, place: FieldPlace): string;
  /** The key id written in a stored value's header. */
  keyIdOf(stored: Uint8Array): number;
}

function associatedData(header: Buffer, place: FieldPlace): Buffer {
  invariant(
    /^[a-z_]+$/.test(place.table) && /^[a-z_]+$/.test(place.column),
    'field place names are identifiers',
  );
  return Buffer.concat([header, Buffer.from(`fenqi-field:${place.table}.${place.column}:${place.rowId}`)]);
}

export function keyIdOf(stored: Uint8Array): number {
  if (stored.length < HEADER_BYTES + TAG_BYTES || stored[0] !== FIELD_FORMAT_VERSION) {
    throw new DecryptError('not an encrypted field of a known format');
  }
  return (stored[1]! << 8) | stored[2]!;
}

export function createFieldCipher(dataKeys: ReadonlyMap<number, Buffer>): FieldCipher {
  invariant(dataKeys.size > 0, 'at least one data key is configured');
  for (const [id, key] of dataKeys) {
    invariant(Number.isInteger(id) && id >= 1 && id <= MAX_KEY_ID, `data key id ${id} fits two bytes`);
    invariant(key.length === KEY_BYTES, `data key ${id} is ${KEY_BYTES} bytes`);
  }
  const currentKeyId = Math.max(...dataKeys.keys());

  return {
    currentKeyId,
    keyIdOf,
    encrypt(plaintext, place) {
      const key = dataKeys.get(currentKeyId)!;
      const header = Buffer.alloc(HEADER_BYTES);
      header[0] = FIELD_FORMAT_VERSION;
      header.writeUInt16BE(currentKeyId, 1);
      randomBytes(NONCE_BYTES).copy(header, 3);
      const cipher = createCipheriv('aes-256-gcm', key, header.subarray(3), { authTagLength: TAG_BYTES });
      cipher.setAAD(associatedData(header, place));
      const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return Buffer.concat([header, body, cipher.getAuthTag()]);
    },
    decrypt(stored, place) {
      const bytes = Buffer.from(stored.buffer, stored.byteOffset, stored.byteLength);
      const keyId = keyIdOf(bytes);
      const key = dataKeys.get(keyId);
      if (!key) throw new DecryptError(`data key ${keyId} is not configured (FENQI_DATA_KEYS)`);
      const header = bytes.subarray(0, HEADER_BYTES);
      const decipher = createDecipheriv('aes-256-gcm', key, header.subarray(3), { authTagLength: TAG_BYTES });
      decipher.setAAD(associatedData(header, place));
      decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
      try {
        const body = bytes.subarray(HEADER_BYTES, bytes.length - TAG_BYTES);
        return Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8');
      } catch {
        throw new DecryptError(
          `field ${place.table}.${place.column} of row ${place.rowId} failed authentication`,
        );
      }
    },
  };
}

/** Fields with a blind index; the name is mixed into the HMAC input. */
export type IndexedField = 'phone' | 'national_id' | 'bank_card';

/**
 * Digits only: "+86 138-0013-8000", "13800138000" and the full-width "１３８…" a phone keyboard may
 * type must find (and count, and register) the same customer, so NFKC comes first.
 */
export function normalisePhone(raw: string): string {
  const digits = raw.normalize('NFKC').replace(/\D/g, '');
  return digits.length === 13 && digits.startsWith('86') ? digits.slice(2) : digits;
}

/** Trimmed, with the check character X in upper case. */
export function normaliseNationalId(raw: string): string {
  return raw.trim().toUpperCase();
}

export function blindIndex(key: Buffer, field: IndexedField, normalised: string): Buffer {
  invariant(key.length >= KEY_BYTES, 'blind index key is at least 32 bytes');
  return createHmac('sha256', key).update(`fenqi-bidx:${field}:`).update(normalised).digest();
}

/** The keys the identity store needs; built once per process (services.ts). */
export interface FieldCrypto {
  cipher: FieldCipher;
  blindIndexKey: Buffer;
}

export function createFieldCrypto(config: {
  dataKeys: Map<number, Buffer>;
  blindIndexKey: Buffer;
}): FieldCrypto {
  return { cipher: createFieldCipher(config.dataKeys), blindIndexKey: config.blindIndexKey };
}

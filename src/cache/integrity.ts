/**
 * Cache entries that gate access (which merchant an API key belongs to) must not be forgeable by
 * whoever can write to Redis: their names carry an HMAC of the identifier under a server secret
 * (so a name cannot be made for a chosen key), and their values carry an HMAC bound to the name
 * (so a value cannot be changed, or copied from another entry). An entry that fails is a miss: the
 * caller asks the database, the system of record. The secret never goes to the cache.
 */
import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';

const SECRET_INFO = 'fenqi-cache-integrity-v1';
const SECRET_BYTES = 32;
/** Between a value and its MAC; a value may contain it (the MAC is taken from the last one). */
const SEAL_SEPARATOR = '.';

export interface CacheIntegrity {
  /**
   * The hex HMAC of namespace and identifier, for a key name (cache/keys.ts builds the name): the
   * same in every process holding the secret, and unguessable for a chosen identifier without it.
   */
  keyDigest(namespace: string, identifier: string): string;
  /** The value with its MAC, bound to the key name it is stored under. */
  seal(keyName: string, value: string): string;
  /** The value, or undefined when it was not sealed under this name with our secret. */
  open(keyName: string, sealed: string): string | undefined;
}

const mac = (secret: Buffer, keyName: string, value: string) =>
  createHmac('sha256', secret).update(keyName).update('\n').update(value).digest();

/** Built once per process (services.ts) from the token secret, with its own derived key. */
export function createCacheIntegrity(tokenSecret: Buffer): CacheIntegrity {
  const secret = Buffer.from(hkdfSync('sha256', tokenSecret, Buffer.alloc(0), SECRET_INFO, SECRET_BYTES));
  return {
    keyDigest: (namespace, identifier) =>
      createHmac('sha256', secret).update(`${namespace}\n`).update(identifier).digest('hex'),
    seal: (keyName, value) => `${value}${SEAL_SEPARATOR}${mac(secret, keyName, value).toString('base64url')}`,
    open(keyName, sealed) {
      const at = sealed.lastIndexOf(SEAL_SEPARATOR);
      if (at < 0) return undefined;
      const value = sealed.slice(0, at);
      const given = Buffer.from(sealed.slice(at + 1), 'base64url');
      const expected = mac(secret, keyName, value);
      return given.length === expected.length && timingSafeEqual(given, expected) ? value : undefined;
    },
  };
}

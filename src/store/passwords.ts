/**
 * Password hashing with argon2id. Parameters are OWASP's recommended minimum for argon2id
 * (19 MiB, two passes, one lane): about 30 ms on one core here, which keeps login and
 * registration cheap for us and an offline guess at a leaked hash expensive.
 * A hash made under older parameters is upgraded at the next successful login (needsRehash).
 */
import argon2 from 'argon2';

export const ARGON2_PARAMS = {
  type: argon2.argon2id,
  memoryCost: 19_456, // KiB
  timeCost: 2,
  parallelism: 1,
} as const;

/** Length bounds, in characters; the upper bound caps the hashing work one request can ask for. */
export const PASSWORD_MIN_LENGTH = 8;
export const PASSWORD_MAX_LENGTH = 128;

export function hashPassword(password: string): Promise<string> {
  return argon2.hash(password, ARGON2_PARAMS);
}

/** False for a wrong password and for a stored hash that is not an argon2 hash. */
export async function verifyPassword(hash: string, password: string): Promise<boolean> {
  try {
    return await argon2.verify(hash, password);
  } catch {
    return false;
  }
}

export function passwordNeedsRehash(hash: string): boolean {
  try {
    return argon2.needsRehash(hash, ARGON2_PARAMS);
  } catch {
    return true;
  }
}

let dummyHash: Promise<string> | undefined;

/**
 * Verifies against a hash nobody's password matches, so a login for an unknown user costs the
 * same as one with a wrong password and the response time does not tell which it was.
 */
export async function burnPasswordCheck(password: string): Promise<void> {
  dummyHash ??= hashPassword('fenqi-no-such-user-dummy-password');
  await verifyPassword(await dummyHash, password);
}

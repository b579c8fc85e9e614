/**
 * Forgot-password (issue 17): a one-time numeric code sent by SMS, valid for a short time and for a
 * few tries. Pure rules; auth/password-reset.ts applies them, store/password-resets.ts keeps only
 * an HMAC of each code.
 */
import { invariant } from './errors.ts';

export const RESET_CODE_DIGITS = 6;
/** How long a code may be used after it is sent. */
export const RESET_CODE_TTL_MS = 10 * 60_000;
/** Wrong codes a reset may be tried with before it is spent (a new code must be asked for). */
export const RESET_CODE_MAX_ATTEMPTS = 5;

/** A code of RESET_CODE_DIGITS digits from `randomInt` (crypto's, in the service). */
export function newResetCode(randomInt: (maxExclusive: number) => number): string {
  const code = String(randomInt(10 ** RESET_CODE_DIGITS)).padStart(RESET_CODE_DIGITS, '0');
  invariant(/^\d+$/.test(code) && code.length === RESET_CODE_DIGITS, 'a reset code is six digits');
  return code;
}

/** A code as typed: digits only (full-width digits and spaces forgiven), or undefined. */
export function parseResetCode(raw: string): string | undefined {
  const digits = raw.normalize('NFKC').replace(/\s+/g, '');
  return new RegExp(`^\\d{${RESET_CODE_DIGITS}}$`).test(digits) ? digits : undefined;
}

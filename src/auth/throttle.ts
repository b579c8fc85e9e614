/**
 * Who may try a password, and how often (docs/security.md, "Log-in throttling"). Every attempt is
 * counted in PostgreSQL before its password is checked (so 41 concurrent attempts check at most
 * the cap), against three subjects:
 *
 *   - identifier + client address: LOGIN_PAIR_MAX_ATTEMPTS per window, then 429 until the window
 *     ends — a short lock that caps guessing from one place;
 *   - identifier alone, from anywhere: LOGIN_IDENTIFIER_BACKOFF — free attempts, then an exponential
 *     wait capped at a few minutes, never a hard lock; an address the identifier has logged in from
 *     before is spared it, so a stranger cannot keep the owner out;
 *   - client address alone: LOGIN_ADDRESS_MAX_ATTEMPTS per window across identifiers (spraying).
 *
 * A success gives its attempts back. Registration is limited per address the same way
 * (REGISTRATION_ADDRESS_MAX_ATTEMPTS), so the `PHONE_TAKEN` answers cannot be harvested in bulk,
 * and so are forgot-password codes, asked for and tried (RESET_*).
 * Subjects and the logged identifier are HMACs under a key derived from the blind-index key.
 */
import { createHmac, hkdfSync } from 'node:crypto';
import {
  type BackoffRule,
  countInWindow,
  forget,
  giveBack,
  isKnownSource,
  purgeKnownSourceBatch,
  purgeThrottleBatch,
  rememberSource,
  reserveWithBackoff,
} from '../store/auth-throttle.ts';
import type { Queryable } from '../store/db.ts';

export const LOGIN_PAIR_MAX_ATTEMPTS = 10;
export const LOGIN_PAIR_WINDOW_MS = 15 * 60_000;
export const LOGIN_ADDRESS_MAX_ATTEMPTS = 200;
export const LOGIN_ADDRESS_WINDOW_MS = 15 * 60_000;
export const LOGIN_IDENTIFIER_BACKOFF: BackoffRule = {
  windowMs: 24 * 60 * 60_000,
  freeAttempts: 20,
  baseMs: 1_000,
  maxMs: 5 * 60_000,
};
/** How long a successful log-in's address is spared the per-identifier backoff. */
export const KNOWN_SOURCE_REMEMBER_MS = 30 * 24 * 60 * 60_000;
export const REGISTRATION_ADDRESS_MAX_ATTEMPTS = 10;
export const REGISTRATION_ADDRESS_WINDOW_MS = 60 * 60_000;
/**
 * Forgot-password (auth/password-reset.ts): codes asked for per phone and per address, and codes
 * tried per phone+address and per address. Counted whether or not the phone has an account, so the
 * limits say nothing about who is registered.
 */
export const RESET_REQUEST_PHONE_MAX = 5;
export const RESET_REQUEST_ADDRESS_MAX = 20;
export const RESET_REQUEST_WINDOW_MS = 60 * 60_000;
export const RESET_CONFIRM_PAIR_MAX = 10;
export const RESET_CONFIRM_ADDRESS_MAX = 50;
export const RESET_CONFIRM_WINDOW_MS = 15 * 60_000;
/** Past the longest window no counter means anything: its next attempt starts a fresh window. */
export const THROTTLE_LONGEST_WINDOW_MS = Math.max(
  LOGIN_PAIR_WINDOW_MS,
  LOGIN_ADDRESS_WINDOW_MS,
  LOGIN_IDENTIFIER_BACKOFF.windowMs,
  REGISTRATION_ADDRESS_WINDOW_MS,
  RESET_REQUEST_WINDOW_MS,
  RESET_CONFIRM_WINDOW_MS,
);
/** Rows one purge statement deletes (short locks, short statements). */
export const THROTTLE_PURGE_BATCH_ROWS = 1_000;
/** Statements per table per purge: a backlog larger than this waits for the next close. */
export const THROTTLE_PURGE_MAX_BATCHES = 100;

export interface PurgeLimits {
  batchRows: number;
  maxBatches: number;
}

export interface ThrottlePurge {
  throttleRows: number;
  knownSources: number;
}

/**
 * Deletes the throttle rows past their longest window and the known sources no longer remembered,
 * in bounded batches (each its own statement). Run by close of business (src/cob/run.ts).
 */
export async function purgeExpiredThrottles(
  sql: Queryable,
  limits: PurgeLimits = { batchRows: THROTTLE_PURGE_BATCH_ROWS, maxBatches: THROTTLE_PURGE_MAX_BATCHES },
): Promise<ThrottlePurge> {
  const drain = async (batch: () => Promise<number>) => {
    let total = 0;
    for (let i = 0; i < limits.maxBatches; i++) {
      const deleted = await batch();
      total += deleted;
      if (deleted < limits.batchRows) break;
    }
    return total;
  };
  return {
    throttleRows: await drain(() => purgeThrottleBatch(sql, THROTTLE_LONGEST_WINDOW_MS, limits.batchRows)),
    knownSources: await drain(() => purgeKnownSourceBatch(sql, limits.batchRows)),
  };
}

/** Hex characters of the keyed digest that stands for an identifier in log lines. */
export const LOG_DIGEST_HEX_CHARS = 16;

const KEY_INFO = 'fenqi-auth-throttle-v1';

/** A normalised log-in identifier: `phone:<digits>` or `staff:<username>`. */
export type LoginIdentifier = `${'phone' | 'staff'}:${string}`;

export type Admission =
  | { allowed: true }
  | { allowed: false; limit: 'identifier+address' | 'address' | 'identifier'; retryAfterS: number };

const secondsUntil = (at: Date | null, nowMs = Date.now()) =>
  Math.max(1, Math.ceil(((at?.getTime() ?? nowMs) - nowMs) / 1000));

export class AuthThrottle {
  private readonly key: Buffer;

  constructor(
    private readonly sql: Queryable,
    blindIndexKey: Buffer,
  ) {
    this.key = Buffer.from(hkdfSync('sha256', blindIndexKey, Buffer.alloc(0), KEY_INFO, 32));
  }

  private subject(kind: string, ...parts: string[]): Buffer {
    const mac = createHmac('sha256', this.key).update(kind);
    for (const part of parts) mac.update('\n').update(part);
    return mac.digest();
  }

  /** What log lines carry instead of the identifier: stable, and useless without the key. */
  logDigest(identifier: LoginIdentifier): string {
    return this.subject('log', identifier).toString('hex').slice(0, LOG_DIGEST_HEX_CHARS);
  }

  /** Counts this attempt against each subject in turn, stopping at the first that refuses it. */
  async admitLogin(identifier: LoginIdentifier, address: string): Promise<Admission> {
    const pair = await countInWindow(
      this.sql,
      this.subject('pair', identifier, address),
      LOGIN_PAIR_WINDOW_MS,
    );
    if (pair.attempts > LOGIN_PAIR_MAX_ATTEMPTS)
      return { allowed: false, limit: 'identifier+address', retryAfterS: secondsUntil(pair.windowEndsAt) };
    const byAddress = await countInWindow(
      this.sql,
      this.subject('address', address),
      LOGIN_ADDRESS_WINDOW_MS,
    );
    if (byAddress.attempts > LOGIN_ADDRESS_MAX_ATTEMPTS)
      return { allowed: false, limit: 'address', retryAfterS: secondsUntil(byAddress.windowEndsAt) };
    if (await isKnownSource(this.sql, this.subject('known', identifier, address))) return { allowed: true };
    const global = await reserveWithBackoff(
      this.sql,
      this.subject('identifier', identifier),
      LOGIN_IDENTIFIER_BACKOFF,
    );
    if (!global.allowed)
      return { allowed: false, limit: 'identifier', retryAfterS: secondsUntil(global.blockedUntil) };
    return { allowed: true };
  }

  /** The right password: this identifier's counts start over, and its address becomes known. */
  async loginSucceeded(identifier: LoginIdentifier, address: string): Promise<void> {
    await forget(this.sql, [
      this.subject('pair', identifier, address),
      this.subject('identifier', identifier),
    ]);
    await giveBack(this.sql, this.subject('address', address));
    await rememberSource(this.sql, this.subject('known', identifier, address), KNOWN_SOURCE_REMEMBER_MS);
  }

  /** Counts a registration from this address before it is tried; refused past the cap. */
  async admitRegistration(address: string): Promise<Admission> {
    const count = await countInWindow(
      this.sql,
      this.subject('register', address),
      REGISTRATION_ADDRESS_WINDOW_MS,
    );
    if (count.attempts > REGISTRATION_ADDRESS_MAX_ATTEMPTS)
      return { allowed: false, limit: 'address', retryAfterS: secondsUntil(count.windowEndsAt) };
    return { allowed: true };
  }

  /** Counts a request for a reset code, per phone then per address; refused past either cap. */
  async admitResetRequest(identifier: LoginIdentifier, address: string): Promise<Admission> {
    return this.admitEach([
      [
        'identifier',
        this.subject('reset-request', identifier),
        RESET_REQUEST_PHONE_MAX,
        RESET_REQUEST_WINDOW_MS,
      ],
      [
        'address',
        this.subject('reset-request-address', address),
        RESET_REQUEST_ADDRESS_MAX,
        RESET_REQUEST_WINDOW_MS,
      ],
    ]);
  }

  /** Counts a code tried, per phone+address then per address; refused past either cap. */
  async admitResetConfirm(identifier: LoginIdentifier, address: string): Promise<Admission> {
    return this.admitEach([
      [
        'identifier+address',
        this.subject('reset-confirm', identifier, address),
        RESET_CONFIRM_PAIR_MAX,
        RESET_CONFIRM_WINDOW_MS,
      ],
      [
        'address',
        this.subject('reset-confirm-address', address),
        RESET_CONFIRM_ADDRESS_MAX,
        RESET_CONFIRM_WINDOW_MS,
      ],
    ]);
  }

  private async admitEach(
    rules: readonly [Exclude<Admission, { allowed: true }>['limit'], Buffer, number, number][],
  ): Promise<Admission> {
    for (const [limit, subject, max, windowMs] of rules) {
      const count = await countInWindow(this.sql, subject, windowMs);
      if (count.attempts > max)
        return { allowed: false, limit, retryAfterS: secondsUntil(count.windowEndsAt) };
    }
    return { allowed: true };
  }

  /** A registration that created an account gives its attempt back: only refusals stay counted. */
  async registrationSucceeded(address: string): Promise<void> {
    await giveBack(this.sql, this.subject('register', address));
  }
}

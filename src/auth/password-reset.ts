/**
 * Forgot-password (issue 17; docs/security.md, "Forgot password"): a customer asks for a one-time
 * code by phone and sets a new password with it.
 *
 *   - No enumeration: asking answers the same whether or not the phone has an account, and the work
 *     that differs (storing and sending the code) runs after the answer; a wrong, expired or unknown
 *     code is one answer (INVALID_CODE) for every phone.
 *   - The code: RESET_CODE_DIGITS digits from the CSPRNG, stored only as an HMAC under a key derived
 *     from the blind-index key (the database alone cannot test guesses), valid RESET_CODE_TTL_MS and
 *     RESET_CODE_MAX_ATTEMPTS tries; a new code retires the old one; a used code is spent.
 *   - Sent as a security SMS through the notifier's provider interface (notify/providers.ts), at
 *     once: quiet hours and the marketing opt-out do not apply (domain/notifications.ts).
 *   - Limits per phone and per address (auth/throttle.ts) on asking and on trying.
 *   - A reset ends every earlier session (auth/revocations.ts).
 *   - Logs carry neither the phone nor the code.
 */
import { createHmac, hkdfSync, randomInt } from 'node:crypto';
import { PASSWORD_RESET_MESSAGE, renderMessage } from '../domain/notifications.ts';
import {
  newResetCode,
  parseResetCode,
  RESET_CODE_MAX_ATTEMPTS,
  RESET_CODE_TTL_MS,
} from '../domain/password-reset.ts';
import type { Logger } from '../logger.ts';
import type { MessageProvider } from '../notify/providers.ts';
import type { FieldCrypto } from '../store/crypto.ts';
import { findCustomerByPhone, updateCustomerPasswordHash } from '../store/customers.ts';
import type { Sql } from '../store/db.ts';
import { getPreferences } from '../store/notifications.ts';
import { checkResetCode, revokeCredentials, storeResetCode } from '../store/password-resets.ts';
import { hashPassword } from '../store/passwords.ts';
import type { CredentialRevocations } from './revocations.ts';

const KEY_INFO = 'fenqi-password-reset-code-v1';

export interface PasswordResetDeps {
  sql: Sql;
  crypto: FieldCrypto;
  /** The SMS provider, read at each send (a test may replace it). */
  sms: () => MessageProvider;
  revocations: CredentialRevocations;
  logger: Pick<Logger, 'info' | 'warn'>;
}

export class PasswordResets {
  private readonly key: Buffer;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly deps: PasswordResetDeps) {
    this.key = Buffer.from(hkdfSync('sha256', deps.crypto.blindIndexKey, Buffer.alloc(0), KEY_INFO, 32));
  }

  private codeHmac(customerId: bigint, code: string): Buffer {
    return createHmac('sha256', this.key).update(`${customerId}:${code}`).digest();
  }

  /**
   * Starts sending a code to this (parsed) phone if it belongs to an active customer, and returns
   * at once: the caller answers the same either way.
   */
  requestCode(phone: string): void {
    const task = this.sendCode(phone).catch((err: Error) => {
      this.deps.logger.warn({ err: err.message }, 'password reset code not sent');
    });
    this.inFlight.add(task);
    void task.finally(() => this.inFlight.delete(task));
  }

  /** Resolves when every code asked for so far has been handled (tests, shutdown). */
  async settled(): Promise<void> {
    await Promise.all([...this.inFlight]);
  }

  private async sendCode(phone: string): Promise<void> {
    const { sql, crypto } = this.deps;
    const customer = await findCustomerByPhone(sql, crypto, phone);
    if (!customer || customer.status !== 'active') return;
    const code = newResetCode(randomInt);
    const id = await sql.begin((tx) =>
      storeResetCode(tx, customer.id, this.codeHmac(customer.id, code), RESET_CODE_TTL_MS),
    );
    const { language } = await getPreferences(sql, customer.id);
    const text = renderMessage(PASSWORD_RESET_MESSAGE.name, language, {
      code,
      minutes: RESET_CODE_TTL_MS / 60_000,
    });
    const outcome = await this.deps
      .sms()
      .send({ messageId: id, customerId: customer.id, channel: 'sms', text });
    if (outcome.status === 'failed')
      this.deps.logger.warn({ reason: outcome.reason, resetId: id.toString() }, 'password reset SMS failed');
  }

  /**
   * Sets a new password when the code is this phone's live code; false otherwise (unknown phone,
   * wrong, expired, spent or retired code: one answer). On success every earlier session ends.
   */
  async confirm(phone: string, rawCode: string, newPassword: string): Promise<boolean> {
    const { sql, crypto } = this.deps;
    const code = parseResetCode(rawCode);
    const customer = await findCustomerByPhone(sql, crypto, phone);
    if (!code || !customer || customer.status !== 'active') return false;
    const check = await sql.begin((tx) =>
      checkResetCode(tx, customer.id, this.codeHmac(customer.id, code), RESET_CODE_MAX_ATTEMPTS),
    );
    if (check !== 'accepted') return false;
    const hash = await hashPassword(newPassword);
    const at = new Date();
    await sql.begin(async (tx) => {
      await updateCustomerPasswordHash(tx, customer.id, hash);
      await revokeCredentials(tx, customer.id, at, 'password_reset');
    });
    this.deps.revocations.noteRevoked(customer.id, at.getTime());
    return true;
  }
}

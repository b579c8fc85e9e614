/**
 * Ended sessions (issue 17, forgot-password): after a password reset, access tokens the customer
 * was issued before it are refused. Tokens are stateless (api/auth.ts), so each API process keeps
 * the revocations of the last token lifetime in memory and reads new ones from PostgreSQL at most
 * every REVOCATION_POLL_MS: one small query per process, not one per request. The process that
 * made the reset knows it at once; the others within REVOCATION_POLL_MS. Older revocations are
 * forgotten: every token issued before them has expired.
 *
 * When the read fails the process keeps what it knew and tries again with the next request (a
 * database outage fails the customer's requests anyway); it is logged without any personal field.
 */
import type { Logger } from '../logger.ts';
import type { Queryable } from '../store/db.ts';
import { revocationsSince } from '../store/password-resets.ts';

/** How stale a process's view of revocations may be. */
export const REVOCATION_POLL_MS = 2_000;
/** Customers' revocations one read takes at most (resets within one token lifetime). */
export const REVOCATIONS_READ_MAX = 100_000;

export class CredentialRevocations {
  private revokedAtMs = new Map<bigint, number>();
  private readAtMs = Number.NEGATIVE_INFINITY;
  private reading: Promise<void> | undefined;

  constructor(
    private readonly sql: Queryable,
    private readonly tokenTtlMs: number,
    private readonly logger: Pick<Logger, 'warn'>,
  ) {}

  /** A revocation this process just wrote: in force here at once. */
  noteRevoked(customerId: bigint, atMs: number): void {
    this.revokedAtMs.set(customerId, Math.max(atMs, this.revokedAtMs.get(customerId) ?? 0));
  }

  /** True when the customer's sessions were ended after this token was issued. */
  async isRevoked(customerId: bigint, issuedAtMs: number, nowMs = Date.now()): Promise<boolean> {
    if (nowMs - this.readAtMs >= REVOCATION_POLL_MS) await this.refresh(nowMs);
    return this.revokedInView(customerId, issuedAtMs);
  }

  /**
   * isRevoked without waiting: the answer while this process's view is fresh (read within
   * REVOCATION_POLL_MS), undefined when a read is due (then ask isRevoked). Lets the hot path
   * authenticate a request without a promise.
   */
  revokedNow(customerId: bigint, issuedAtMs: number, nowMs = Date.now()): boolean | undefined {
    if (nowMs - this.readAtMs >= REVOCATION_POLL_MS) return undefined;
    return this.revokedInView(customerId, issuedAtMs);
  }

  private revokedInView(customerId: bigint, issuedAtMs: number): boolean {
    const at = this.revokedAtMs.get(customerId);
    return at !== undefined && issuedAtMs < at;
  }

  private refresh(nowMs: number): Promise<void> {
    this.reading ??= (async () => {
      const cutoffMs = nowMs - this.tokenTtlMs;
      try {
        const rows = await revocationsSince(this.sql, new Date(cutoffMs), REVOCATIONS_READ_MAX);
        const next = new Map<bigint, number>();
        for (const [id, at] of this.revokedAtMs) if (at > cutoffMs) next.set(id, at);
        for (const r of rows)
          next.set(r.customerId, Math.max(r.revokedAt.getTime(), next.get(r.customerId) ?? 0));
        this.revokedAtMs = next;
        this.readAtMs = nowMs;
      } catch (err) {
        this.logger.warn({ err: (err as Error).message }, 'reading credential revocations failed');
      } finally {
        this.reading = undefined;
      }
    })();
    return this.reading;
  }
}

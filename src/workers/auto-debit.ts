/**
 * The automatic-debit worker: on each tick it schedules first attempts for installments due today
 * (business clock), resolves attempts whose outcome is unknown by asking the gateway (a timeout, or
 * a worker that died mid-charge: the same attempt id, never a new charge), then claims attempts due
 * now in a bounded batch and charges them. The SQL and the once-only application of an outcome are
 * in store/auto-debit.ts.
 */
import { GatewayTimeout } from '../payments/gateway.ts';
import type { Platform } from '../platform.ts';
import { AWARE } from '../rehearsal/context.ts';
import { onWorkerSide } from '../rehearsal/worker-context.ts';
import {
  applyDebitOutcome,
  type ClaimedAttempt,
  claimDueAttempts,
  markUnknown,
  scheduleDueDebits,
  unresolvedAttempts,
} from '../store/auto-debit.ts';
import type { Worker } from './worker.ts';

export const DEBIT_POLL_MS = 1_000;
export const DEBIT_BATCH_SIZE = 100;
export const DEBIT_CURRENCY = 'CNY';

export interface DebitStats {
  charged: number;
  succeeded: number;
  failed: number;
  unknown: number;
  resolved: number;
}

export class AutoDebitWorker implements Worker {
  readonly name = 'auto-debit';
  /**
   * On the shadow side it charges the shadow schema's installments through the shadow side's
   * payment gateway simulator only (services.ts), as the open rehearsal's work; with none open it waits.
   */
  readonly rehearsal = AWARE;
  readonly stats: DebitStats = { charged: 0, succeeded: 0, failed: 0, unknown: 0, resolved: 0 };
  private stopping = false;
  private readonly running: Promise<void>;

  /** `now` is the wall clock of the same-day retry; a simulation (the month test) drives it. */
  constructor(
    private readonly platform: Platform,
    autoStart = true,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.running = autoStart ? this.loop() : Promise.resolve();
  }

  /** One pass: schedule, resolve, charge. Answers how many attempts it charged or resolved. */
  tick(): Promise<number> {
    return onWorkerSide(this.platform, 0, () => this.pass());
  }

  private async pass(): Promise<number> {
    const { sql } = this.platform.db;
    const today = await this.platform.services.clock.today();
    await scheduleDueDebits(sql, today, this.now());
    let done = 0;
    for (const a of await unresolvedAttempts(sql, DEBIT_BATCH_SIZE)) {
      const known = await this.platform.services.collection.status(a.id);
      // `unknown` at the gateway: the charge never reached it (the worker died first); the same id
      // is charged, which the gateway takes at most once
      if (known.status === 'unknown') {
        if (a.status === 'sending') await this.charge(a, today);
        continue;
      }
      await this.apply(a, known, today);
      this.stats.resolved++;
      done++;
    }
    for (const a of await claimDueAttempts(sql, today, this.now(), DEBIT_BATCH_SIZE)) {
      if (this.stopping) break;
      await this.charge(a, today);
      done++;
    }
    return done;
  }

  private async charge(a: ClaimedAttempt, today: string): Promise<void> {
    const { collection, crypto } = this.platform.services;
    const cardToken = crypto.cipher.decrypt(a.tokenEnc, {
      table: 'payment_cards',
      column: 'token_enc',
      rowId: a.cardId,
    });
    this.stats.charged++;
    try {
      const outcome = await collection.charge({
        attemptId: a.id,
        customerId: a.customerId,
        cardToken,
        amountMinor: a.amountMinor,
        currency: DEBIT_CURRENCY,
      });
      await this.apply(a, outcome, today);
    } catch (err) {
      if (!(err instanceof GatewayTimeout)) throw err;
      this.stats.unknown++;
      await markUnknown(this.platform.db.sql, a);
    }
  }

  private async apply(a: ClaimedAttempt, outcome: Parameters<typeof applyDebitOutcome>[2], today: string) {
    const applied = await applyDebitOutcome(
      this.platform.db.sql,
      a,
      outcome,
      today,
      this.now(),
      this.platform.config.debitSameDayRetryMs,
    );
    if (applied === 'succeeded') this.stats.succeeded++;
    if (applied === 'failed') this.stats.failed++;
  }

  private async loop(): Promise<void> {
    while (!this.stopping) {
      let done = 0;
      try {
        done = await this.tick();
      } catch (err) {
        this.platform.logger.warn({ err: (err as Error).message }, 'auto-debit pass failed; will retry');
      }
      if (done === 0 && !this.stopping) await new Promise((r) => setTimeout(r, DEBIT_POLL_MS));
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.running;
  }
}

export async function startAutoDebit(platform: Platform): Promise<Worker | undefined> {
  if (!platform.config.autoDebitEnabled) return undefined;
  return new AutoDebitWorker(platform);
}

/**
 * Money in and out for the month on the business clock (month.test.ts): the automatic-debit worker,
 * the outbox relay and the notifier, driven pass by pass (not on their own timers) so the month
 * decides when each runs. The notifier reads a simulated wall clock (business time of day), so
 * quiet hours and the daily cap are those of the simulated day, not of the machine running the test.
 * `expectedReminders` says, from the installments and the debits, which reminders close of business
 * owes: the rule of store/reminders.ts restated, so the test counts what COB wrote against it.
 */
import assert from 'node:assert/strict';
import { addDays, daysBetween } from '../../src/domain/dates.ts';
import { DUE_SOON_DAYS, OVERDUE_NOTICE_DAYS } from '../../src/domain/events.ts';
import { SimulatedMessageProvider } from '../../src/notify/providers.ts';
import { SimulatedCollectionGateway } from '../../src/payments/collection.ts';
import type { Platform } from '../../src/platform.ts';
import { AutoDebitWorker } from '../../src/workers/auto-debit.ts';
import { EventRelay, RELAY_BATCH_SIZE } from '../../src/workers/event-relay.ts';
import { Notifier } from '../../src/workers/notifier.ts';

/** Bounds on the passes one drain may take (a loop that never ends is a failure, not a hang). */
const DRAIN_PASSES_MAX = 1_000;
/** The month's simulated wall clock is in the business time zone, China Standard Time. */
export const BUSINESS_ZONE = 'Asia/Shanghai';
const BUSINESS_UTC_OFFSET = '+08:00';

/** A business date at a time of day (HH:MM) in the business time zone. */
export function at(date: string, hhmm: string): Date {
  return new Date(`${date}T${hhmm}:00${BUSINESS_UTC_OFFSET}`);
}

/** The workers of money in and out on one platform, with the simulators they talk to. */
export class MoneyDesk {
  readonly gateway = new SimulatedCollectionGateway({
    seed: 16,
    insufficientFundsRate: 0.2,
    cardBlockedRate: 0.1,
    timeoutRate: 0.15,
  });
  readonly sms = new SimulatedMessageProvider({ seed: 1, failureRate: 0.03 });
  readonly push = new SimulatedMessageProvider({ seed: 2, failureRate: 0.03 });
  readonly debits: AutoDebitWorker;
  readonly relay: EventRelay;
  readonly notifier: Notifier;
  /** What the debit worker and the notifier believe the time is. */
  now = new Date(0);
  relayed = 0;
  /** Sends the notifier held (quiet hours) in passes run inside quiet hours. */
  heldInQuietHours = 0;

  constructor(platform: Platform) {
    assert.equal(platform.config.businessTimeZone, BUSINESS_ZONE);
    platform.services.collection = this.gateway;
    platform.services.messaging = { sms: this.sms, push: this.push };
    this.debits = new AutoDebitWorker(platform, false, () => this.now);
    this.relay = new EventRelay(platform, RELAY_BATCH_SIZE, false);
    this.notifier = new Notifier(platform, false, () => this.now);
  }

  /** Automatic debit at `when` until nothing is left to charge or resolve. */
  async debit(when: Date): Promise<void> {
    this.now = when;
    for (let i = 0; (await this.debits.tick()) > 0; i++) assert.ok(i < DRAIN_PASSES_MAX);
  }

  /** Relays every outbox event and has the notifier take them all, at `when`. */
  async takeEvents(when: Date): Promise<void> {
    this.now = when;
    let relayed = 0;
    for (let n = await this.relay.relayOnce(); n > 0; n = await this.relay.relayOnce()) relayed += n;
    this.relayed += relayed;
    const stats = this.notifier.stats;
    const target = stats.events + stats.rejected + relayed;
    for (let i = 0; stats.events + stats.rejected < target; i++) {
      assert.ok(i < DRAIN_PASSES_MAX, 'the notifier takes every relayed event');
      // no more than is waiting, so the pull returns at once instead of waiting out its expiry
      await this.notifier.intakeOnce(target - stats.events - stats.rejected);
    }
  }

  /** Sends what is due at `when`; answers how many went out and how many were held. */
  async send(when: Date, quiet: boolean): Promise<{ sent: number; held: number }> {
    this.now = when;
    const { sent, deferred } = this.notifier.stats;
    for (let i = 0; (await this.notifier.sendOnce()) > 0; i++) assert.ok(i < DRAIN_PASSES_MAX);
    const out = { sent: this.notifier.stats.sent - sent, held: this.notifier.stats.deferred - deferred };
    if (quiet) {
      assert.equal(out.sent, 0, `nothing is sent at ${when.toISOString()} (quiet hours)`);
      this.heldInQuietHours += out.held;
    }
    return out;
  }
}

export interface InstallmentFact {
  loanId: bigint;
  number: number;
  dueDate: string;
  /** Principal, interest and fee of the installment. */
  amountMinor: bigint;
  /** What was paid of it before the month's reminders (early payments), or 0. */
  paidEarlyMinor: bigint;
  /** The business date it was paid in full (by a debit), null if never; 'early' if before any reminder. */
  paidOn: string | 'early' | null;
}

/**
 * The reminders close of business owes over the closes `firstClose..lastClose`: closing C reports
 * the day C + 1, so an installment due on D gets "due soon" from the close of D - 4, "due today"
 * from the close of D - 1 and "overdue day N" from the close of D + N - 1, each only if it was still
 * unpaid at that close. One line per reminder: loan:number:type:days[:amount before due].
 */
export function expectedReminders(
  installments: readonly InstallmentFact[],
  firstClose: string,
  lastClose: string,
): string[] {
  const out: string[] = [];
  const closes = daysBetween(firstClose, lastClose);
  for (const i of installments) {
    if (i.paidOn === 'early') continue;
    const owes = (close: string) => i.paidOn === null || i.paidOn > close;
    const notice = (offset: number, type: string, days: number, amount?: bigint) => {
      const close = addDays(i.dueDate, offset - 1);
      const inMonth = daysBetween(firstClose, close) >= 0 && daysBetween(firstClose, close) <= closes;
      if (inMonth && owes(close))
        out.push(`${i.loanId}:${i.number}:${type}:${days}${amount === undefined ? '' : `:${amount}`}`);
    };
    const beforeDue = i.amountMinor - i.paidEarlyMinor;
    notice(-DUE_SOON_DAYS, 'installment.due_soon', DUE_SOON_DAYS, beforeDue);
    notice(0, 'installment.due_today', 0, beforeDue);
    for (const n of OVERDUE_NOTICE_DAYS) notice(n, 'installment.overdue', n);
  }
  return out.sort();
}

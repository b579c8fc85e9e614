/**
 * The daily merchant settlement (T+1), a step of close of business and `fenqi settle --date`:
 *   1. build: one settlement per merchant for the sales date, with its lines (store/settlement.ts);
 *   2. pay: every settlement still unpaid (this date's and any earlier one that failed or whose
 *      outcome is unknown) through the payout rail, idempotent by settlement id;
 *   3. reconcile: write the date's reconciliation file (CSV), rewritten on every run.
 *
 * Never paid twice: an attempt is committed as `paying` before the rail is called; a settlement
 * found `paying` (a timeout, or a process killed mid-call) is resolved by asking the rail its status
 * and only sent again when the rail never received it, under the same settlement id, which the rail
 * refuses to pay twice. A refused payout is retried up to SETTLEMENT_PAYOUT_ATTEMPTS_PER_RUN times a
 * run, and again at every later run until paid.
 *
 * Event: `settlement.paid` is written to the outbox at SETTLEMENT_PAID_EVENT_SEAM below, inside
 * the transaction that records the payment, so the fact and its event commit together.
 */
import { addDays, isDate } from '../domain/dates.ts';
import { domainEvent } from '../domain/events.ts';
import { CNY } from '../domain/money.ts';
import {
  PLATFORM_CUSTOMER_ID,
  SETTLEMENT_LAG_DAYS,
  SETTLEMENT_PAYOUT_ATTEMPTS_PER_RUN,
} from '../domain/settlement.ts';
import { type PayoutRail, PayoutTimeout } from '../payments/payouts.ts';
import type { Sql } from '../store/db.ts';
import { emitEvents } from '../store/outbox.ts';
import {
  type BuiltSettlement,
  buildSettlements,
  claimPayout,
  openSettlements,
  recordFailed,
  recordPaid,
  type SettlementRow,
} from '../store/settlement.ts';
import { writeReconciliation } from './reconciliation.ts';

/** Open settlements read per page while paying. */
export const SETTLEMENT_PAY_PAGE = 500;

export interface SettlementOptions {
  /** The sales date to settle, YYYY-MM-DD; paid on its value date, the next day. */
  date: string;
  /** Where the reconciliation file goes; none written without it. */
  reconciliationDir?: string;
}

export interface SettlementSummary {
  date: string;
  valueDate: string;
  built: number;
  /** Of those built: to pay, carried (returns beyond sales) and empty. */
  carried: number;
  empty: number;
  paid: number;
  paidMinor: bigint;
  failed: number;
  /** Payouts sent whose outcome is still unknown (resolved at the next run). */
  unknown: number;
  reconciliationFile: string | null;
}

type PayResult = 'paid' | 'failed' | 'unknown';

export async function runSettlement(
  sql: Sql,
  rail: PayoutRail,
  options: SettlementOptions,
): Promise<SettlementSummary> {
  if (!isDate(options.date)) throw new Error(`a settlement date is YYYY-MM-DD, not ${options.date}`);
  const date = options.date;
  const valueDate = addDays(date, SETTLEMENT_LAG_DAYS);
  const built: BuiltSettlement[] = await sql.begin((tx) => buildSettlements(tx, date, valueDate));
  const summary: SettlementSummary = {
    date,
    valueDate,
    built: built.length,
    carried: built.filter((b) => b.status === 'carried').length,
    empty: built.filter((b) => b.status === 'empty').length,
    paid: 0,
    paidMinor: 0n,
    failed: 0,
    unknown: 0,
    reconciliationFile: null,
  };
  let after = 0n;
  for (;;) {
    const page = await openSettlements(sql, after, SETTLEMENT_PAY_PAGE);
    if (page.length === 0) break;
    for (const s of page) {
      const result = await paySettlement(sql, rail, s, valueDate);
      if (result === 'paid') {
        summary.paid++;
        summary.paidMinor += s.net_minor;
      } else if (result === 'failed') summary.failed++;
      else summary.unknown++;
    }
    after = page[page.length - 1]!.id;
  }
  if (options.reconciliationDir) {
    summary.reconciliationFile = await writeReconciliation(sql, options.reconciliationDir, date);
  }
  return summary;
}

/** One settlement to a final state if the rail allows: resolve an unknown outcome, then send. */
async function paySettlement(
  sql: Sql,
  rail: PayoutRail,
  s: SettlementRow,
  valueDate: string,
): Promise<PayResult> {
  if (s.status === 'paying') {
    const known = await rail.status(s.id).catch((err: unknown) => {
      if (err instanceof PayoutTimeout) return null;
      throw err;
    });
    if (known === null) return 'unknown';
    if (known.status === 'paid')
      return (await markPaid(sql, s.id, known.reference, valueDate)) ? 'paid' : 'unknown';
    if (known.status === 'failed') await recordFailed(sql, s.id, known.reason);
    // 'unknown': the rail never received it, so sending it (same id) cannot pay twice
    if (known.status === 'unknown') await recordFailed(sql, s.id, 'not_received');
  }
  for (let attempt = 0; attempt < SETTLEMENT_PAYOUT_ATTEMPTS_PER_RUN; attempt++) {
    const claimed = await sql.begin((tx) => claimPayout(tx, s.id));
    if (!claimed) return 'unknown';
    let outcome: Awaited<ReturnType<PayoutRail['send']>>;
    try {
      outcome = await rail.send({
        settlementId: claimed.id,
        merchantId: claimed.merchant_id,
        amountMinor: claimed.net_minor,
        currency: CNY.code,
        valueDate: claimed.value_date,
      });
    } catch (err) {
      if (err instanceof PayoutTimeout) return 'unknown';
      throw err;
    }
    if (outcome.status === 'paid') {
      return (await markPaid(sql, s.id, outcome.reference, valueDate)) ? 'paid' : 'unknown';
    }
    await recordFailed(sql, s.id, outcome.reason);
  }
  return 'failed';
}

async function markPaid(sql: Sql, id: bigint, reference: string, paidOn: string): Promise<boolean> {
  return sql.begin(async (tx) => {
    const recorded = await recordPaid(tx, id, reference, paidOn);
    // SETTLEMENT_PAID_EVENT_SEAM: the event commits with the payment it reports, or not at all
    if (recorded) {
      await emitEvents(tx, [
        domainEvent('settlement.paid', PLATFORM_CUSTOMER_ID, `settlement:${id}:paid`, {
          settlement_id: id.toString(),
          merchant_id: recorded.merchantId.toString(),
          net_minor: recorded.netMinor.toString(),
          paid_on: paidOn,
        }),
      ]);
    }
    return recorded !== null;
  });
}

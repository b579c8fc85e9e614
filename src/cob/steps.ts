/**
 * The steps close of business runs after the loans of a date are closed: the merchant settlement of
 * the date's sales (paid T+1; src/settlement/run.ts) and, on the eve of a statement cycle (or until
 * that cycle's run completes), the customers' monthly statements (src/statements/run.ts). Each step
 * is idempotent and resumable on its own, so runCob runs them even for a date already closed: a
 * close killed between its loans and its steps finishes them when rerun.
 */
import type { Config } from '../config.ts';
import type { PayoutRail } from '../payments/payouts.ts';
import type { Platform } from '../platform.ts';
import { runSettlement } from '../settlement/run.ts';
import { statementsAfterClose } from '../statements/run.ts';
import type { Sql } from '../store/db.ts';

/** A step's result as JSON-ready figures (amounts as strings of minor units). */
export type CobStepResult = Record<string, string | number | null>;

export interface CobStep {
  readonly name: string;
  run(date: string): Promise<CobStepResult>;
}

export interface CobStepParts {
  sql: Sql;
  /** Read at each run, so a process's rail may be replaced (platform.services.payouts). */
  payouts: () => PayoutRail;
  config: Pick<Config, 'statementCycleDay' | 'settlementDir'>;
}

export function settlementStep(parts: CobStepParts): CobStep {
  return {
    name: 'merchant_settlement',
    async run(date) {
      const s = await runSettlement(parts.sql, parts.payouts(), {
        date,
        reconciliationDir: parts.config.settlementDir,
      });
      return {
        value_date: s.valueDate,
        built: s.built,
        carried: s.carried,
        empty: s.empty,
        paid: s.paid,
        paid_minor: s.paidMinor.toString(),
        failed: s.failed,
        unknown: s.unknown,
        reconciliation_file: s.reconciliationFile,
      };
    },
  };
}

export function statementStep(parts: CobStepParts): CobStep {
  return {
    name: 'statements',
    async run(date) {
      const s = await statementsAfterClose(parts.sql, date, parts.config.statementCycleDay);
      return { cycle_start: s.cycleStart, cycle_end: s.cycleEnd, written: s.written, total: s.total };
    },
  };
}

/** Every step of a platform's close, in order. */
export function closeOfBusinessSteps(parts: CobStepParts): CobStep[] {
  return [settlementStep(parts), statementStep(parts)];
}

/** A platform's steps: its database, its payout rail (platform.services.payouts), its configuration. */
export function platformCobSteps(platform: Platform): CobStep[] {
  return closeOfBusinessSteps({
    sql: platform.db.sql,
    payouts: () => platform.services.payouts,
    config: platform.config,
  });
}

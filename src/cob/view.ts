/**
 * A close's summary as JSON (amounts as decimal strings of minor units, counts as numbers): what
 * `fenqi cob --json` prints and what POST/GET /v1/ops/cob answer, one shape for both.
 */
import type { Bucket } from '../domain/delinquency.ts';
import type { CobSummary } from './run.ts';
import type { CobStepResult } from './steps.ts';

export interface CobSummaryJson {
  cob: string;
  ran: boolean;
  resumed: boolean;
  attempts: number;
  loans_total: number;
  loans_done: number;
  installments_overdue: number;
  accrual_entries: number;
  interest_accrued_minor: string;
  late_fee_entries: number;
  late_fees_minor: string;
  loans_written_off: number;
  written_off_minor: string;
  buckets: Record<Bucket, number>;
  seconds: number;
  loans_per_s: number;
  steps: { name: string; result: CobStepResult }[];
}

export function cobSummaryJson(s: CobSummary): CobSummaryJson {
  return {
    cob: s.date,
    ran: s.ran,
    resumed: s.resumed,
    attempts: s.attempts,
    loans_total: s.loansTotal,
    loans_done: s.loansDone,
    installments_overdue: s.installmentsOverdue,
    accrual_entries: s.accrualEntries,
    interest_accrued_minor: s.interestAccruedMinor.toString(),
    late_fee_entries: s.lateFeeEntries,
    late_fees_minor: s.lateFeesMinor.toString(),
    loans_written_off: s.loansWrittenOff,
    written_off_minor: s.writtenOffMinor.toString(),
    buckets: s.buckets,
    seconds: Number(s.seconds.toFixed(3)),
    loans_per_s: Math.round(s.loansPerS),
    steps: s.steps,
  };
}

export function cobSummaryFromJson(j: CobSummaryJson): CobSummary {
  return {
    date: j.cob,
    ran: j.ran,
    resumed: j.resumed,
    attempts: j.attempts,
    loansTotal: j.loans_total,
    loansDone: j.loans_done,
    installmentsOverdue: j.installments_overdue,
    accrualEntries: j.accrual_entries,
    interestAccruedMinor: BigInt(j.interest_accrued_minor),
    lateFeeEntries: j.late_fee_entries,
    lateFeesMinor: BigInt(j.late_fees_minor),
    loansWrittenOff: j.loans_written_off,
    writtenOffMinor: BigInt(j.written_off_minor),
    buckets: j.buckets,
    seconds: j.seconds,
    loansPerS: j.loans_per_s,
    steps: j.steps ?? [],
  };
}

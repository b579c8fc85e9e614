/**
 * The wire shape of a quote, shared by `fenqi quote --json` and the HTTP routes so both print the
 * same thing: amounts as decimal strings in the currency's decimals (never JSON numbers, which
 * readers parse as floats), the APR as a percentage string.
 */
import { formatAmount } from './money.ts';
import type { Schedule } from './schedule.ts';

export interface InstallmentJson {
  number: number;
  due_date: string;
  principal: string;
  interest: string;
  fee: string;
  total: string;
  balance: string;
}

export interface QuoteJson {
  start_date: string;
  down_payment: string;
  upfront_fee: string;
  amount_financed: string;
  installments: InstallmentJson[];
  total_interest: string;
  total_fees: string;
  total_payable: string;
  apr: string;
}

export function scheduleToJson(schedule: Schedule): QuoteJson {
  const money = (minor: bigint): string => formatAmount(minor, schedule.terms.rounding.decimals);
  return {
    start_date: schedule.terms.startDate,
    down_payment: money(schedule.downPaymentMinor),
    upfront_fee: money(schedule.upfrontFeeMinor),
    amount_financed: money(schedule.amountFinancedMinor),
    installments: schedule.installments.map((i) => ({
      number: i.number,
      due_date: i.dueDate,
      principal: money(i.principalMinor),
      interest: money(i.interestMinor),
      fee: money(i.feeMinor),
      total: money(i.totalMinor),
      balance: money(i.balanceMinor),
    })),
    total_interest: money(schedule.totalInterestMinor),
    total_fees: money(schedule.totalFeesMinor),
    total_payable: money(schedule.totalPayableMinor),
    apr: schedule.apr.percent,
  };
}

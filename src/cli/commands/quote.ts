import type { Command } from 'commander';
import { UsageError } from '../usage-error.ts';

interface QuoteFlags {
  principal: string;
  rate: string;
  tenor: string;
  ratePer: string;
  method: string;
  every: string;
  unit: string;
  basis: string;
  start?: string;
  rounding: string;
  decimals: string;
  multiple: string;
  downPaymentPercent: string;
  upfrontFee: string;
  upfrontFeePercent: string;
  upfrontFeeMode: string;
  installmentFee: string;
  installmentFeePercent: string;
  aprCap?: string;
  json?: boolean;
}

function wholeNumber(flag: string, text: string, min: number, max: number): number {
  const value = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!(value >= min && value <= max))
    throw new UsageError(`${flag} must be a whole number from ${min} to ${max}`);
  return value;
}

function choice<T extends string>(flag: string, text: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(text)) {
    throw new UsageError(`${flag} must be one of ${allowed.join(', ')}, not '${text}'`);
  }
  return text as T;
}

export function register(program: Command): void {
  program
    .command('quote')
    .description('print the repayment schedule and APR of an installment loan (no server needed)')
    .requiredOption('--principal <amount>', 'price or cash amount before any down payment, e.g. 12000.00')
    .requiredOption('--rate <percent>', 'nominal interest rate in percent, e.g. 24')
    .requiredOption('--tenor <n>', 'number of installments after any down payment')
    .option('--rate-per <period>', 'the rate is per year|month', 'year')
    .option('--method <method>', 'annuity|equal-principal|flat', 'annuity')
    .option('--every <n>', 'an installment every n units', '1')
    .option('--unit <unit>', 'day|week|month', 'month')
    .option('--basis <basis>', 'interest basis 30/360|actual/365|actual/360', '30/360')
    .option('--start <date>', 'start date YYYY-MM-DD (default: today, UTC)')
    .option('--rounding <mode>', 'half-up|half-even', 'half-up')
    .option('--decimals <n>', 'currency decimals', '2')
    .option('--multiple <minor>', 'round amounts to multiples of this many minor units', '1')
    .option('--down-payment-percent <percent>', 'share of the principal paid on the start date', '0')
    .option('--upfront-fee <amount>', 'fixed fee charged once', '0')
    .option(
      '--upfront-fee-percent <percent>',
      'fee charged once, percent of the amount after down payment',
      '0',
    )
    .option(
      '--upfront-fee-mode <mode>',
      'deducted (paid on the start date) | financed (added to the loan)',
      'deducted',
    )
    .option('--installment-fee <amount>', 'fixed fee with every installment', '0')
    .option(
      '--installment-fee-percent <percent>',
      'fee with every installment, percent of the amount financed',
      '0',
    )
    .option('--apr-cap <percent>', 'refuse the quote (exit 2) when its APR is above this percentage')
    .option('--json', 'print one JSON object instead of a table')
    .action(async (flags: QuoteFlags) => {
      const d = await import('../../domain/index.ts');
      const asUsage = (err: unknown): never => {
        if (err instanceof d.DomainError) throw new UsageError(err.message);
        throw err;
      };
      try {
        const decimals = wholeNumber('--decimals', flags.decimals, 0, d.MAX_DECIMALS);
        const amount = (flag: string, text: string): bigint => {
          const value = d.parseAmount(text, decimals);
          if (value < 0n) throw new UsageError(`${flag} must not be negative`);
          return value;
        };
        const percent = (flag: string, text: string): ReturnType<typeof d.parsePercent> => {
          try {
            return d.parsePercent(text);
          } catch {
            throw new UsageError(`${flag} must be a non-negative percentage like 24 or 1.5, not '${text}'`);
          }
        };
        const startDate = flags.start ?? d.todayUtc();
        if (!d.isDate(startDate))
          throw new UsageError(`--start must be a date YYYY-MM-DD, not '${startDate}'`);
        const schedule = d.buildSchedule({
          principalMinor: amount('--principal', flags.principal),
          rate: {
            fraction: percent('--rate', flags.rate),
            per: choice('--rate-per', flags.ratePer, d.RATE_PERS),
          },
          tenor: wholeNumber('--tenor', flags.tenor, 1, d.MAX_TENOR),
          startDate,
          method: choice('--method', flags.method, d.METHODS),
          frequency: {
            every: wholeNumber('--every', flags.every, 1, 366),
            unit: choice('--unit', flags.unit, d.FREQUENCY_UNITS),
          },
          basis: choice('--basis', flags.basis, d.BASES),
          rounding: {
            mode: choice('--rounding', flags.rounding, d.ROUNDING_MODES),
            decimals,
            multipleMinor: BigInt(wholeNumber('--multiple', flags.multiple, 1, 1_000_000_000)),
          },
          downPayment: percent('--down-payment-percent', flags.downPaymentPercent),
          fees: {
            upfrontMinor: amount('--upfront-fee', flags.upfrontFee),
            upfrontRate: percent('--upfront-fee-percent', flags.upfrontFeePercent),
            upfrontMode: choice('--upfront-fee-mode', flags.upfrontFeeMode, d.UPFRONT_FEE_MODES),
            installmentMinor: amount('--installment-fee', flags.installmentFee),
            installmentRate: percent('--installment-fee-percent', flags.installmentFeePercent),
          },
        });
        // Without a product there is no cap to enforce unless asked: the CLI is the staff's calculator,
        // and products (validateProduct, quote) carry their own cap, 24% by default.
        if (flags.aprCap !== undefined) d.checkAprCap(schedule, percent('--apr-cap', flags.aprCap));

        const money = (minor: bigint): string => d.formatAmount(minor, decimals);
        if (flags.json) {
          process.stdout.write(`${JSON.stringify(d.scheduleToJson(schedule))}\n`);
          return;
        }
        process.stdout.write(renderTable(schedule, money));
      } catch (err) {
        asUsage(err);
      }
    });
}

type Schedule = import('../../domain/index.ts').Schedule;

const DEFAULT_CAP_PERCENT = 24;

function renderTable(schedule: Schedule, money: (minor: bigint) => string): string {
  const aboveDefaultCap = schedule.apr.fraction * 100 > DEFAULT_CAP_PERCENT + 1e-10;
  const header = ['#', 'due date', 'principal', 'interest', 'fee', 'total', 'balance'];
  const rows: string[][] = [];
  if (schedule.downPaymentMinor > 0n) {
    const f = schedule.terms.fees;
    const fee = f.upfrontMode === 'deducted' ? schedule.upfrontFeeMinor : 0n;
    rows.push(['down', schedule.downPaymentDate, money(schedule.downPaymentMinor), '', money(fee), '', '']);
  }
  for (const i of schedule.installments) {
    rows.push([
      String(i.number),
      i.dueDate,
      money(i.principalMinor),
      money(i.interestMinor),
      money(i.feeMinor),
      money(i.totalMinor),
      money(i.balanceMinor),
    ]);
  }
  const totalInstallments = schedule.installments.reduce((sum, i) => sum + i.totalMinor, 0n);
  const totalFeesInRows = schedule.installments.reduce((sum, i) => sum + i.feeMinor, 0n);
  rows.push([
    'total',
    '',
    money(schedule.totalPrincipalMinor),
    money(schedule.totalInterestMinor),
    money(totalFeesInRows),
    money(totalInstallments),
    '',
  ]);
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((cell, c) => (c === 1 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!)))
      .join('  ')
      .trimEnd();
  const out = [
    `amount financed ${money(schedule.amountFinancedMinor)}   down payment ${money(schedule.downPaymentMinor)}` +
      `   upfront fee ${money(schedule.upfrontFeeMinor)} (${schedule.terms.fees.upfrontMode})`,
    '',
    line(header),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.slice(0, -1).map(line),
    line(widths.map((w) => '-'.repeat(w))),
    line(rows.at(-1)!),
    '',
    `total interest ${money(schedule.totalInterestMinor)}   total fees ${money(schedule.totalFeesMinor)}` +
      `   total payable ${money(schedule.totalPayableMinor)}   APR ${schedule.apr.percent}%` +
      (aboveDefaultCap ? ` (above the ${DEFAULT_CAP_PERCENT}% default cap of products)` : ''),
  ];
  return `${out.join('\n')}\n`;
}

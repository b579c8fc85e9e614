/**
 * Monthly statements, the rules (pure): which cycle a date falls in (the cycle day is configurable,
 * FENQI_STATEMENT_CYCLE_DAY), and what a customer's bill for a cycle says from the facts the store
 * reads: every installment due in the cycle and everything still owed from before it (the total
 * due), and for the record the payments received and charges made in the previous cycle.
 */
import { addDays, addMonths, isDate } from './dates.ts';
import { invariant } from './errors.ts';

/** The day of the month a cycle starts when none is configured. */
export const DEFAULT_STATEMENT_CYCLE_DAY = 1;
/** The last allowed cycle day: every month has it. */
export const MAX_STATEMENT_CYCLE_DAY = 28;

export interface Cycle {
  /** First and last day of the cycle (one calendar month from the cycle day). */
  readonly start: string;
  readonly end: string;
  /** The cycle before: its payments and charges are reported on this statement. */
  readonly previousStart: string;
}

export function checkCycleDay(day: number): number {
  invariant(Number.isInteger(day) && day >= 1 && day <= MAX_STATEMENT_CYCLE_DAY, 'a cycle day is 1..28');
  return day;
}

/** The cycle that contains `date`. */
export function cycleContaining(date: string, cycleDay: number): Cycle {
  invariant(isDate(date), 'a cycle is found for a date');
  checkCycleDay(cycleDay);
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  const thisMonth = `${y}-${String(m).padStart(2, '0')}-${String(cycleDay).padStart(2, '0')}`;
  const start = d >= cycleDay ? thisMonth : addMonths(thisMonth, -1);
  return { start, end: addDays(addMonths(start, 1), -1), previousStart: addMonths(start, -1) };
}

/**
 * The cycle a close of `closedDate` bills: the one containing the day the close opens (D + 1), so
 * the close of the eve of a cycle day issues that cycle's bill before its first due date.
 */
export const cycleBilledAfterClose = (closedDate: string, cycleDay: number): Cycle =>
  cycleContaining(addDays(closedDate, 1), cycleDay);

export interface OwedInstallment {
  readonly loanId: bigint;
  readonly number: number;
  readonly dueDate: string;
  /** Still owed on it, per component. */
  readonly principalMinor: bigint;
  readonly interestMinor: bigint;
  readonly feeMinor: bigint;
  readonly penaltyMinor: bigint;
}

export interface Movement {
  readonly loanId: bigint;
  readonly date: string;
  readonly amountMinor: bigint;
}

export interface StatementFacts {
  /** Unpaid installments of open loans due on or before the cycle's end. */
  readonly owed: readonly OwedInstallment[];
  /** Payments received in the previous cycle (not reversed). */
  readonly payments: readonly Movement[];
  /** Charges made in the previous cycle (already inside the installments' fees). */
  readonly charges: readonly Movement[];
}

export type StatementLineKind = 'installment' | 'past_due' | 'payment' | 'charge';

export interface StatementLine {
  readonly kind: StatementLineKind;
  readonly date: string;
  readonly loanId: bigint;
  readonly installmentNumber: number | null;
  readonly principalMinor: bigint;
  readonly interestMinor: bigint;
  readonly feeMinor: bigint;
  readonly penaltyMinor: bigint;
  readonly amountMinor: bigint;
}

export interface Statement {
  readonly cycle: Cycle;
  readonly dueDate: string;
  readonly principalDueMinor: bigint;
  readonly interestDueMinor: bigint;
  readonly feeDueMinor: bigint;
  readonly penaltyDueMinor: bigint;
  readonly pastDueMinor: bigint;
  readonly totalDueMinor: bigint;
  readonly paymentsReceivedMinor: bigint;
  readonly chargesMinor: bigint;
  readonly lines: readonly StatementLine[];
}

const owedOf = (i: OwedInstallment) => i.principalMinor + i.interestMinor + i.feeMinor + i.penaltyMinor;

/**
 * The bill for `cycle`, or null when there is nothing to say (nothing owed, nothing paid, nothing
 * charged). Its due date is the last due date of the cycle's installments (the cycle's start when
 * only arrears are owed): paying the total by then clears the bill.
 */
export function buildStatement(cycle: Cycle, facts: StatementFacts): Statement | null {
  const owed = facts.owed.filter((i) => i.dueDate <= cycle.end && owedOf(i) > 0n);
  if (owed.length === 0 && facts.payments.length === 0 && facts.charges.length === 0) return null;
  const sum = (f: (i: OwedInstallment) => bigint, of: readonly OwedInstallment[] = owed) =>
    of.reduce((s, i) => s + f(i), 0n);
  const inCycle = owed.filter((i) => i.dueDate >= cycle.start);
  const statement: Statement = {
    cycle,
    dueDate: inCycle.reduce((last, i) => (i.dueDate > last ? i.dueDate : last), cycle.start),
    principalDueMinor: sum((i) => i.principalMinor),
    interestDueMinor: sum((i) => i.interestMinor),
    feeDueMinor: sum((i) => i.feeMinor),
    penaltyDueMinor: sum((i) => i.penaltyMinor),
    pastDueMinor: sum(
      owedOf,
      owed.filter((i) => i.dueDate < cycle.start),
    ),
    totalDueMinor: sum(owedOf),
    paymentsReceivedMinor: facts.payments.reduce((s, p) => s + p.amountMinor, 0n),
    chargesMinor: facts.charges.reduce((s, c) => s + c.amountMinor, 0n),
    lines: statementLines(cycle, owed, facts),
  };
  invariant(
    statement.totalDueMinor ===
      statement.principalDueMinor +
        statement.interestDueMinor +
        statement.feeDueMinor +
        statement.penaltyDueMinor,
    'a statement total is its components',
  );
  return statement;
}

/** Installments by due date (arrears first), then the previous cycle's payments and charges. */
function statementLines(
  cycle: Cycle,
  owed: readonly OwedInstallment[],
  facts: StatementFacts,
): StatementLine[] {
  const installmentLines: StatementLine[] = [...owed]
    .sort((a, b) =>
      a.dueDate === b.dueDate
        ? Number(a.loanId - b.loanId) || a.number - b.number
        : a.dueDate < b.dueDate
          ? -1
          : 1,
    )
    .map((i) => ({
      kind: i.dueDate < cycle.start ? 'past_due' : 'installment',
      date: i.dueDate,
      loanId: i.loanId,
      installmentNumber: i.number,
      principalMinor: i.principalMinor,
      interestMinor: i.interestMinor,
      feeMinor: i.feeMinor,
      penaltyMinor: i.penaltyMinor,
      amountMinor: owedOf(i),
    }));
  const movement =
    (kind: 'payment' | 'charge') =>
    (m: Movement): StatementLine => {
      invariant(m.amountMinor > 0n, `a ${kind} on a statement is positive`);
      return {
        kind,
        date: m.date,
        loanId: m.loanId,
        installmentNumber: null,
        principalMinor: 0n,
        interestMinor: 0n,
        feeMinor: 0n,
        penaltyMinor: 0n,
        amountMinor: m.amountMinor,
      };
    };
  return [
    ...installmentLines,
    ...facts.payments.map(movement('payment')),
    ...facts.charges.map(movement('charge')),
  ];
}

export interface NextPayment {
  readonly date: string;
  readonly amountMinor: bigint;
  /** The date has passed: the amount is overdue. */
  readonly overdue: boolean;
  readonly items: readonly { loanId: bigint; installmentNumber: number; amountMinor: bigint }[];
}

/** The earliest due date with anything unpaid, and everything owed on it across loans. */
export function nextPayment(owed: readonly OwedInstallment[], today: string): NextPayment | null {
  const open = owed.filter((i) => owedOf(i) > 0n);
  if (open.length === 0) return null;
  const date = open.reduce((first, i) => (i.dueDate < first ? i.dueDate : first), open[0]!.dueDate);
  const items = open
    .filter((i) => i.dueDate === date)
    .map((i) => ({ loanId: i.loanId, installmentNumber: i.number, amountMinor: owedOf(i) }));
  return { date, amountMinor: items.reduce((s, i) => s + i.amountMinor, 0n), overdue: date < today, items };
}

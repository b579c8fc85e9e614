/**
 * Statements, the SQL: the facts a bill is built from (store -> domain/statements.ts), writing a
 * batch of bills (once per customer and cycle: the unique key makes a rerun write nothing), the run
 * row that carries the keyset cursor over customers, and the customer's reads.
 */
import type { Cycle, Movement, OwedInstallment, Statement, StatementLineKind } from '../domain/statements.ts';
import type { Queryable, TransactionSql } from './db.ts';

const ids = (values: readonly bigint[]) => values.map(String);

/** Unpaid installments of the customers' open loans due on or before `through`. */
export async function owedInstallments(
  sql: Queryable,
  customerIds: readonly bigint[],
  through: string | null,
): Promise<Map<bigint, OwedInstallment[]>> {
  const rows = await sql<
    {
      customer_id: bigint;
      loan_id: bigint;
      number: number;
      due_date: string;
      p: bigint;
      i: bigint;
      f: bigint;
      pen: bigint;
    }[]
  >`
    select i.customer_id, i.loan_id, i.number, i.due_date::text,
      i.principal_minor - i.paid_principal_minor as p, i.interest_minor - i.paid_interest_minor as i,
      i.fee_minor - i.paid_fee_minor as f, i.penalty_minor - i.paid_penalty_minor as pen
    from installments i join loans l on l.customer_id = i.customer_id and l.id = i.loan_id
    where i.customer_id = any(${ids(customerIds)}::bigint[]) and l.status = 'active'
      and i.status in ('due', 'overdue') and (${through}::date is null or i.due_date <= ${through}::date)
    order by i.customer_id, i.due_date, i.loan_id, i.number`;
  const out = new Map<bigint, OwedInstallment[]>();
  for (const r of rows) {
    const list = out.get(r.customer_id) ?? [];
    list.push({
      loanId: r.loan_id,
      number: r.number,
      dueDate: r.due_date,
      principalMinor: r.p,
      interestMinor: r.i,
      feeMinor: r.f,
      penaltyMinor: r.pen,
    });
    out.set(r.customer_id, list);
  }
  return out;
}

/** Payments received (not reversed) and charges made in [from, to], per customer. */
export async function movements(
  sql: Queryable,
  customerIds: readonly bigint[],
  from: string,
  to: string,
): Promise<{ payments: Map<bigint, Movement[]>; charges: Map<bigint, Movement[]> }> {
  const rows = await sql<
    { kind: string; customer_id: bigint; loan_id: bigint; date: string; amount: bigint }[]
  >`
    select 'payment' as kind, customer_id, loan_id, business_date::text as date, amount_minor as amount
    from repayments
    where customer_id = any(${ids(customerIds)}::bigint[]) and status = 'posted'
      and business_date between ${from}::date and ${to}::date
    union all
    select 'charge', customer_id, loan_id, business_date::text, amount_minor
    from loan_adjustments
    where customer_id = any(${ids(customerIds)}::bigint[]) and kind = 'charge'
      and business_date between ${from}::date and ${to}::date
    order by 2, 4, 3`;
  const payments = new Map<bigint, Movement[]>();
  const charges = new Map<bigint, Movement[]>();
  for (const r of rows) {
    const into = r.kind === 'payment' ? payments : charges;
    const list = into.get(r.customer_id) ?? [];
    list.push({ loanId: r.loan_id, date: r.date, amountMinor: r.amount });
    into.set(r.customer_id, list);
  }
  return { payments, charges };
}

export interface StatementRun {
  status: 'running' | 'completed';
  cursor_customer_id: bigint;
  statements: bigint;
}

/** The cycle's run row, made on first use, locked for this transaction (one batch at a time). */
export async function lockStatementRun(tx: TransactionSql, cycle: Cycle): Promise<StatementRun> {
  await tx`insert into statement_runs (cycle_start, cycle_end) values (${cycle.start}::date, ${cycle.end}::date)
    on conflict (cycle_start) do nothing`;
  const [run] = await tx<StatementRun[]>`
    select status, cursor_customer_id, statements from statement_runs
    where cycle_start = ${cycle.start}::date for update`;
  return run!;
}

export async function statementRun(sql: Queryable, cycleStart: string): Promise<StatementRun | undefined> {
  const [run] = await sql<StatementRun[]>`
    select status, cursor_customer_id, statements from statement_runs where cycle_start = ${cycleStart}::date`;
  return run;
}

export async function nextCustomers(tx: TransactionSql, afterId: bigint, limit: number): Promise<bigint[]> {
  const rows = await tx<
    { id: bigint }[]
  >`select id from customers where id > ${afterId} order by id limit ${limit}`;
  return rows.map((r) => r.id);
}

export async function advanceStatementRun(
  tx: TransactionSql,
  cycle: Cycle,
  cursor: bigint,
  written: number,
  completed: boolean,
): Promise<void> {
  await tx`update statement_runs set cursor_customer_id = ${cursor}, statements = statements + ${written},
      status = ${completed ? 'completed' : 'running'},
      finished_at = ${completed ? new Date() : null}::timestamptz
    where cycle_start = ${cycle.start}::date`;
}

/** Writes the bills (one per customer and cycle; one already there is kept); how many were new. */
export async function insertStatements(
  tx: TransactionSql,
  bills: readonly { customerId: bigint; statement: Statement }[],
): Promise<{ customerId: bigint; id: bigint }[]> {
  if (bills.length === 0) return [];
  const col = <T>(f: (s: Statement) => T) => bills.map((b) => f(b.statement));
  const made = await tx<{ customer_id: bigint; id: bigint }[]>`
    insert into statements (customer_id, cycle_start, cycle_end, due_date, principal_due_minor, interest_due_minor,
      fee_due_minor, penalty_due_minor, past_due_minor, total_due_minor, payments_received_minor, charges_minor)
    select * from unnest(${ids(bills.map((b) => b.customerId))}::bigint[], ${col((s) => s.cycle.start)}::date[],
      ${col((s) => s.cycle.end)}::date[], ${col((s) => s.dueDate)}::date[],
      ${col((s) => s.principalDueMinor.toString())}::bigint[], ${col((s) => s.interestDueMinor.toString())}::bigint[],
      ${col((s) => s.feeDueMinor.toString())}::bigint[], ${col((s) => s.penaltyDueMinor.toString())}::bigint[],
      ${col((s) => s.pastDueMinor.toString())}::bigint[], ${col((s) => s.totalDueMinor.toString())}::bigint[],
      ${col((s) => s.paymentsReceivedMinor.toString())}::bigint[], ${col((s) => s.chargesMinor.toString())}::bigint[])
    on conflict (customer_id, cycle_start) do nothing
    returning customer_id, id`;
  const idOf = new Map(made.map((m) => [m.customer_id, m.id]));
  const lines = bills.flatMap((b) => {
    const id = idOf.get(b.customerId);
    return id === undefined ? [] : b.statement.lines.map((l) => ({ customerId: b.customerId, id, l }));
  });
  if (lines.length > 0) {
    const lc = <T>(f: (x: (typeof lines)[number]) => T) => lines.map(f);
    await tx`
      insert into statement_lines (customer_id, statement_id, kind, line_date, loan_id, installment_number,
        principal_minor, interest_minor, fee_minor, penalty_minor, amount_minor)
      select * from unnest(${lc((x) => x.customerId.toString())}::bigint[], ${lc((x) => x.id.toString())}::bigint[],
        ${lc((x) => x.l.kind)}::text[], ${lc((x) => x.l.date)}::date[], ${lc((x) => x.l.loanId.toString())}::bigint[],
        ${lc((x) => (x.l.installmentNumber === null ? null : String(x.l.installmentNumber)))}::bigint[],
        ${lc((x) => x.l.principalMinor.toString())}::bigint[], ${lc((x) => x.l.interestMinor.toString())}::bigint[],
        ${lc((x) => x.l.feeMinor.toString())}::bigint[], ${lc((x) => x.l.penaltyMinor.toString())}::bigint[],
        ${lc((x) => x.l.amountMinor.toString())}::bigint[])`;
  }
  return made.map((m) => ({ customerId: m.customer_id, id: m.id }));
}

export interface StatementRow {
  id: bigint;
  customer_id: bigint;
  cycle_start: string;
  cycle_end: string;
  due_date: string;
  principal_due_minor: bigint;
  interest_due_minor: bigint;
  fee_due_minor: bigint;
  penalty_due_minor: bigint;
  past_due_minor: bigint;
  total_due_minor: bigint;
  payments_received_minor: bigint;
  charges_minor: bigint;
  created_at: Date;
}

export interface StatementLineRow {
  id: bigint;
  kind: StatementLineKind;
  line_date: string;
  loan_id: bigint;
  installment_number: bigint | null;
  principal_minor: bigint;
  interest_minor: bigint;
  fee_minor: bigint;
  penalty_minor: bigint;
  amount_minor: bigint;
}

const COLUMNS = `id, customer_id, cycle_start::text, cycle_end::text, due_date::text, principal_due_minor,
  interest_due_minor, fee_due_minor, penalty_due_minor, past_due_minor, total_due_minor,
  payments_received_minor, charges_minor, created_at`;

/** A customer's statements, newest cycle first, before `beforeId` (the page cursor). */
export async function listStatements(
  sql: Queryable,
  customerId: bigint,
  beforeId: bigint | null,
  limit: number,
): Promise<StatementRow[]> {
  return sql<StatementRow[]>`
    select ${sql.unsafe(COLUMNS)} from statements
    where customer_id = ${customerId} and (${beforeId}::bigint is null or id < ${beforeId}::bigint)
    order by id desc limit ${limit}`;
}

export async function getStatement(
  sql: Queryable,
  customerId: bigint,
  id: bigint,
): Promise<{ statement: StatementRow; lines: StatementLineRow[] } | undefined> {
  const [statement] = await sql<StatementRow[]>`
    select ${sql.unsafe(COLUMNS)} from statements where customer_id = ${customerId} and id = ${id}`;
  if (!statement) return undefined;
  const lines = await sql<StatementLineRow[]>`
    select id, kind, line_date::text, loan_id, installment_number, principal_minor, interest_minor, fee_minor,
      penalty_minor, amount_minor
    from statement_lines where customer_id = ${customerId} and statement_id = ${id} order by id`;
  return { statement, lines };
}

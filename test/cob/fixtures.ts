/**
 * Loans for close-of-business tests and the bench, written with direct SQL and booked the way the
 * ledger books them (src/domain/postings.ts: principal and interest receivable against money in
 * transit and unearned interest), so these tests do not wait on the order and loan code paths.
 */
import { type LoanProduct, quote, type Schedule, validateProduct } from '../../src/domain/index.ts';
import { loanBookingPostings, type Posting, repaymentPostings } from '../../src/domain/postings.ts';
import type { Sql, TransactionSql } from '../../src/store/db.ts';

/** A cash product with due dates every 30 days, so days past due are exact arithmetic. */
export function testProductInput(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    code: 'COB-TEST',
    name: 'COB test product',
    kind: 'cash',
    tenors: [3, 6, 12],
    rateBp: 1800,
    method: 'equal-principal',
    every: 30,
    unit: 'day',
    basis: '30/360',
    graceDays: 3,
    minPrincipalMinor: '10000',
    maxPrincipalMinor: '10000000',
    lateFee: { fixedMinor: '1000', bpPerDay: 5, capMinor: '20000' },
    ...overrides,
  };
}

const jsonSafe = (value: unknown): unknown =>
  JSON.parse(JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)));

/** Inserts a product; `extraTerms` are stored beside the validated ones (e.g. writeOffDpd). */
export async function insertTestProduct(
  sql: Sql,
  input: Record<string, unknown>,
  extraTerms: Record<string, unknown> = {},
): Promise<{ id: bigint; product: LoanProduct }> {
  const product = validateProduct(input);
  const terms = { ...(jsonSafe(product) as Record<string, unknown>), ...extraTerms };
  const [row] = await sql<{ id: bigint }[]>`
    insert into loan_products (code, kind, active, apr_cap_bp, terms)
    values (${product.code}, ${product.kind}, true, ${product.aprCapBp}, ${sql.json(terms as never)})
    returning id`;
  return { id: row!.id, product };
}

export async function postPosting(
  tx: TransactionSql,
  eventKey: string,
  businessDate: string,
  ref: { customerId: bigint; loanId: bigint },
  posting: Posting,
): Promise<void> {
  const lines = posting.lines;
  await tx`
    with e as (
      insert into journal_entries (kind, business_date, customer_id, loan_id, event_key)
      values (${posting.kind}, ${businessDate}::date, ${ref.customerId.toString()}::bigint,
        ${ref.loanId.toString()}::bigint, ${eventKey})
      returning id)
    insert into journal_lines (entry_id, account_code, customer_id, loan_id, debit_minor, credit_minor)
    select e.id, l.a, ${ref.customerId.toString()}::bigint, ${ref.loanId.toString()}::bigint, l.d, l.c
    from e cross join unnest(${lines.map((l) => l.account)}::text[],
      ${lines.map((l) => l.debitMinor.toString())}::bigint[], ${lines.map((l) => l.creditMinor.toString())}::bigint[])
      as l(a, d, c)`;
}

let customerSerial = 0;

async function insertCustomer(tx: TransactionSql, usedMinor: bigint, limitMinor: bigint): Promise<bigint> {
  customerSerial += 1;
  const tag = `${process.pid}:${Date.now()}:${customerSerial}`;
  const [row] = await tx<{ id: bigint }[]>`
    insert into customers (phone_enc, phone_bidx, national_id_enc, national_id_bidx, legal_name_enc, password_hash)
    values ('\\x00'::bytea, decode(md5(${`p:${tag}`}), 'hex'), '\\x00'::bytea, decode(md5(${`n:${tag}`}), 'hex'),
      '\\x00'::bytea, 'not-a-hash')
    returning id`;
  await tx`
    insert into credit_lines (customer_id, limit_minor, used_minor)
    values (${row!.id.toString()}::bigint, ${limitMinor.toString()}::bigint, ${usedMinor.toString()}::bigint)`;
  return row!.id;
}

export interface TestLoan {
  loanId: bigint;
  customerId: bigint;
  schedule: Schedule;
}

/**
 * An active cash loan from the product's own schedule, booked in the ledger; its first
 * `paidInstallments` installments are repaid in full (with a repayment entry).
 */
export async function createTestLoan(
  sql: Sql,
  p: {
    productId: bigint;
    product: LoanProduct;
    principalMinor: bigint;
    tenor: number;
    startDate: string;
    paidInstallments?: number;
  },
): Promise<TestLoan> {
  const schedule = quote(p.product, {
    principalMinor: p.principalMinor,
    tenor: p.tenor,
    startDate: p.startDate,
  });
  const paid = schedule.installments.slice(0, p.paidInstallments ?? 0);
  const paidPrincipal = paid.reduce((s, i) => s + i.principalMinor, 0n);
  return sql.begin(async (tx) => {
    const customerId = await insertCustomer(
      tx,
      schedule.amountFinancedMinor - paidPrincipal,
      schedule.amountFinancedMinor * 10n,
    );
    const [loan] = await tx<{ id: bigint }[]>`
      insert into loans (customer_id, product_id, kind, principal_minor, tenor, start_date, apr_percent, status)
      values (${customerId.toString()}::bigint, ${p.productId.toString()}::bigint, 'cash',
        ${schedule.amountFinancedMinor.toString()}::bigint, ${p.tenor}, ${p.startDate}::date, ${schedule.apr.percent},
        'active')
      returning id`;
    const loanId = loan!.id;
    const inst = schedule.installments;
    const isPaid = inst.map((i) => (i.number <= paid.length ? 1 : 0));
    await tx`
      insert into installments (loan_id, number, customer_id, due_date, principal_minor, interest_minor, fee_minor,
        paid_principal_minor, paid_interest_minor, paid_fee_minor, status, paid_at)
      select ${loanId.toString()}::bigint, x.n, ${customerId.toString()}::bigint, x.d::date, x.p, x.i, x.f,
        case when x.paid = 1 then x.p else 0 end, case when x.paid = 1 then x.i else 0 end,
        case when x.paid = 1 then x.f else 0 end, case when x.paid = 1 then 'paid' else 'due' end,
        case when x.paid = 1 then now() end
      from unnest(${inst.map((i) => i.number)}::int[], ${inst.map((i) => i.dueDate)}::text[],
        ${inst.map((i) => i.principalMinor.toString())}::bigint[], ${inst.map((i) => i.interestMinor.toString())}::bigint[],
        ${inst.map((i) => i.feeMinor.toString())}::bigint[], ${isPaid}::int[]) as x(n, d, p, i, f, paid)`;
    const ref = { customerId, loanId };
    await postPosting(
      tx,
      `test:loan:${loanId}:booking`,
      p.startDate,
      ref,
      loanBookingPostings(ref, {
        amountFinancedMinor: schedule.amountFinancedMinor,
        disbursedMinor: schedule.disbursedMinor,
        upfrontFeeMinor: schedule.upfrontFeeMinor,
        totalInterestMinor: schedule.totalInterestMinor,
        totalInstallmentFeesMinor: schedule.totalFeesMinor - schedule.upfrontFeeMinor,
        counterpart: 'transit',
      }),
    );
    if (paid.length > 0) {
      await postPosting(
        tx,
        `test:loan:${loanId}:repaid`,
        p.startDate,
        ref,
        repaymentPostings(ref, {
          principalMinor: paidPrincipal,
          interestMinor: paid.reduce((s, i) => s + i.interestMinor, 0n),
          feeMinor: paid.reduce((s, i) => s + i.feeMinor, 0n),
          penaltyMinor: 0n,
          excessMinor: 0n,
        }),
      );
    }
    return { loanId, customerId, schedule };
  });
}

export interface SeedOptions {
  loans: number;
  /** The business date the seed describes: installments due before it are paid, or not (delinquent). */
  asOf: string;
  productId: bigint;
  /** One loan in this many is delinquent (nothing paid since its start). */
  delinquentEvery?: number;
  tenor?: number;
  principalMinor?: bigint;
  interestPerInstallmentMinor?: bigint;
  /** Skip the per-line balance trigger while seeding (bench only; the books are checked after). */
  withoutTriggers?: boolean;
}

/**
 * Many loans in a few set-based statements: a customer, a credit line, a loan of `tenor` monthly
 * installments, its booking and a repayment entry each. Performing loans started up to 150 days
 * ago and paid everything due; delinquent ones started up to 240 days ago and paid nothing.
 */
export async function seedLoans(sql: Sql, o: SeedOptions): Promise<void> {
  const tenor = o.tenor ?? 6;
  const principalEach = o.principalMinor ?? 600_000n;
  const interestEach = o.interestPerInstallmentMinor ?? 4_500n;
  const every = o.delinquentEvery ?? 10;
  const tag = `${process.pid}:${Date.now()}`;
  const slice = principalEach / BigInt(tenor);
  await sql.begin(async (tx) => {
    if (o.withoutTriggers) await tx`set local session_replication_role = replica`;
    await tx`
      create temp table seed on commit drop as
      select g, fenqi_next_id() as customer_id, fenqi_next_id() as loan_id, fenqi_next_id() as booking_id,
        fenqi_next_id() as repaid_id, (g % ${every} = 0) as delinquent,
        (${o.asOf}::date - case when g % ${every} = 0 then (g * 7) % 240 else (g * 7) % 150 end) as start_date
      from generate_series(1, ${o.loans}) g`;
    await tx`
      insert into customers (id, phone_enc, phone_bidx, national_id_enc, national_id_bidx, legal_name_enc, password_hash)
      select customer_id, '\\x00'::bytea, decode(md5(${tag} || ':p:' || g), 'hex'), '\\x00'::bytea,
        decode(md5(${tag} || ':n:' || g), 'hex'), '\\x00'::bytea, 'not-a-hash'
      from seed`;
    await tx`
      insert into loans (id, customer_id, product_id, kind, principal_minor, tenor, start_date, apr_percent, status)
      select loan_id, customer_id, ${o.productId.toString()}::bigint, 'cash', ${principalEach.toString()}::bigint,
        ${tenor}, start_date, '18.00', 'active'
      from seed`;
    await tx`
      insert into installments (loan_id, number, customer_id, due_date, principal_minor, interest_minor, fee_minor,
        paid_principal_minor, paid_interest_minor, status, paid_at)
      select s.loan_id, k, s.customer_id, d.due, d.p, ${interestEach.toString()}::bigint, 0,
        case when d.paid then d.p else 0 end, case when d.paid then ${interestEach.toString()}::bigint else 0 end,
        case when d.paid then 'paid' else 'due' end, case when d.paid then now() end
      from seed s cross join generate_series(1, ${tenor}) k
      cross join lateral (select (s.start_date + make_interval(months => k))::date as due,
        case when k = ${tenor} then ${principalEach.toString()}::bigint - ${slice.toString()}::bigint * (${tenor} - 1)
          else ${slice.toString()}::bigint end as p) d0
      cross join lateral (select d0.due, d0.p, (d0.due < ${o.asOf}::date and not s.delinquent) as paid) d`;
    await tx`
      insert into credit_lines (customer_id, limit_minor, used_minor)
      select s.customer_id, ${(principalEach * 2n).toString()}::bigint,
        sum(i.principal_minor - i.paid_principal_minor)
      from seed s join installments i on i.loan_id = s.loan_id
      group by s.customer_id`;
    const interestTotal = (interestEach * BigInt(tenor)).toString();
    await tx`
      insert into journal_entries (id, kind, business_date, customer_id, loan_id, event_key)
      select booking_id, 'cash_loan', start_date, customer_id, loan_id, 'seed:loan:' || loan_id || ':booking'
      from seed`;
    await tx`
      insert into journal_lines (entry_id, account_code, customer_id, loan_id, debit_minor, credit_minor)
      select s.booking_id, l.account, s.customer_id, s.loan_id, l.d, l.c
      from seed s cross join (values
        ('1100', ${principalEach.toString()}::bigint, 0::bigint),
        ('1110', ${interestTotal}::bigint, 0::bigint),
        ('1200', 0::bigint, ${principalEach.toString()}::bigint),
        ('2300', 0::bigint, ${interestTotal}::bigint)) as l(account, d, c)`;
    await tx`
      create temp table seed_paid on commit drop as
      select s.repaid_id, s.customer_id, s.loan_id, s.start_date, sum(i.paid_principal_minor)::bigint as p,
        sum(i.paid_interest_minor)::bigint as i
      from seed s join installments i on i.loan_id = s.loan_id
      where i.status = 'paid' group by s.repaid_id, s.customer_id, s.loan_id, s.start_date`;
    await tx`
      insert into journal_entries (id, kind, business_date, customer_id, loan_id, event_key)
      select repaid_id, 'repayment', start_date, customer_id, loan_id, 'seed:loan:' || loan_id || ':repaid'
      from seed_paid`;
    await tx`
      insert into journal_lines (entry_id, account_code, customer_id, loan_id, debit_minor, credit_minor)
      select s.repaid_id, l.account, s.customer_id, s.loan_id, l.d, l.c
      from seed_paid s cross join lateral (values
        ('1000', s.p + s.i, 0::bigint), ('1100', 0::bigint, s.p), ('1110', 0::bigint, s.i)) as l(account, d, c)`;
  });
}

export interface BooksCheck {
  debitsMinor: bigint;
  creditsMinor: bigint;
  unbalancedEntries: number;
  /** Loans whose receivable accounts differ from what their installments say is owed. */
  loanMismatches: number;
}

/** Debits equal credits, every entry balances, every loan's sub-ledger equals its installments. */
export async function checkBooks(sql: Sql): Promise<BooksCheck> {
  const [totals] = await sql<{ d: bigint; c: bigint }[]>`
    select coalesce(sum(debit_minor), 0)::bigint as d, coalesce(sum(credit_minor), 0)::bigint as c
    from journal_lines`;
  const [unbalanced] = await sql<{ n: number }[]>`
    select count(*)::int as n from (
      select e.id from journal_entries e left join journal_lines l on l.customer_id = e.customer_id and l.entry_id = e.id
      group by e.customer_id, e.id
      having coalesce(sum(l.debit_minor), 0) <> coalesce(sum(l.credit_minor), 0) or count(l.id) < 2) x`;
  const [mismatches] = await sql<{ n: number }[]>`
    with sub as (
      select loan_id, account_code, sum(debit_minor - credit_minor) as bal from journal_lines
      where account_code in ('1100', '1110', '1120', '1130') group by loan_id, account_code),
    owed as (
      select i.loan_id, c.account_code, sum(c.owed) as bal
      from installments i cross join lateral (values
        ('1100', i.principal_minor - i.paid_principal_minor), ('1110', i.interest_minor - i.paid_interest_minor),
        ('1120', i.fee_minor - i.paid_fee_minor), ('1130', i.penalty_minor - i.paid_penalty_minor))
        as c(account_code, owed)
      where i.status <> 'written_off' group by i.loan_id, c.account_code)
    select count(*)::int as n from sub full join owed using (loan_id, account_code)
    where coalesce(sub.bal, 0) <> coalesce(owed.bal, 0)`;
  return {
    debitsMinor: totals!.d,
    creditsMinor: totals!.c,
    unbalancedEntries: unbalanced!.n,
    loanMismatches: mismatches!.n,
  };
}

/**
 * Every row that the close can touch, in a stable order and without generated ids or clocks, so
 * two databases that were copies before can be compared after.
 */
export async function snapshot(sql: Sql): Promise<Record<string, unknown[]>> {
  const q = async (text: string) =>
    (await sql.unsafe(text)).map((r) =>
      JSON.stringify(r, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)),
    );
  return {
    loans: await q(
      `select id, status, days_past_due, bucket, closed_at is not null as closed from loans order by id`,
    ),
    installments: await q(
      `select loan_id, number, status, penalty_minor, paid_penalty_minor from installments order by loan_id, number`,
    ),
    entries: await q(
      `select event_key, kind, business_date::text, customer_id, loan_id from journal_entries order by event_key`,
    ),
    lines: await q(`
      select e.event_key, l.account_code, l.customer_id, l.loan_id, l.debit_minor, l.credit_minor
      from journal_lines l join journal_entries e on e.customer_id = l.customer_id and e.id = l.entry_id
      order by e.event_key, l.account_code, l.debit_minor, l.credit_minor`),
    creditLines: await q(
      `select customer_id, limit_minor, used_minor, status from credit_lines order by customer_id`,
    ),
    marks: await q(
      `select loan_id, customer_id, last_closed_date::text from loan_cob_marks order by loan_id`,
    ),
    runs: await q(`
      select business_date::text, status, cursor_loan_id, loans_done, installments_overdue, accrual_entries,
        interest_accrued_minor, late_fee_entries, late_fees_minor, loans_written_off, written_off_minor
      from cob_runs order by business_date`),
  };
}

/** Every column of every table the close can touch, timestamps included: for "nothing changed". */
export async function fullSnapshot(sql: Sql): Promise<Record<string, string[]>> {
  const tables = [
    'loans',
    'installments',
    'journal_entries',
    'journal_lines',
    'credit_lines',
    'loan_cob_marks',
    'cob_runs',
  ];
  const out: Record<string, string[]> = {};
  for (const table of tables) {
    const rows = await sql.unsafe(`select * from ${table} order by 1, 2`);
    out[table] = rows.map((r) => JSON.stringify(r, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)));
  }
  return out;
}

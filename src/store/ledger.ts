/**
 * Writes journal entries and proves the books. Entries are posted inside the caller's transaction
 * (so they commit or roll back with the money movement they record) and once per event key: a
 * retried event finds its key taken and posts nothing. `postEntries` is the only writer of
 * journal_entries and journal_lines (repayments, orders, the batch settler, close of business,
 * disbursements).
 */
import { invariant } from '../domain/index.ts';
import type { Posting } from '../domain/postings.ts';
import { RECEIVABLE_ACCOUNTS } from '../domain/postings.ts';
import { PLATFORM_CUSTOMER_ID } from './citus.ts';
import type { Queryable, TransactionSql } from './db.ts';
import type { IdGenerator } from './id-generator.ts';

export const MAX_EVENT_KEY_LENGTH = 200;
/** Discrepancies listed in a check report; the counts are always complete. */
export const CHECK_REPORT_LIMIT = 50;

export interface EntryInput {
  readonly eventKey: string;
  readonly businessDate: string;
  readonly customerId: bigint | null;
  readonly loanId: bigint | null;
  readonly posting: Posting;
}

const text = (v: bigint | null) => (v === null ? null : v.toString());

/** Every entry is whole and balanced before it reaches the database (whose trigger checks again). */
function assertPostable(entries: readonly EntryInput[]): void {
  for (const entry of entries) {
    if (entry.eventKey.length === 0 || entry.eventKey.length > MAX_EVENT_KEY_LENGTH) {
      throw new Error(`event key must be 1..${MAX_EVENT_KEY_LENGTH} characters`);
    }
    let balanceMinor = 0n;
    for (const line of entry.posting.lines) balanceMinor += line.debitMinor - line.creditMinor;
    invariant(balanceMinor === 0n, `journal entry ${entry.eventKey} balances`);
    invariant(entry.posting.lines.length >= 2, `journal entry ${entry.eventKey} has two lines or more`);
  }
}

/**
 * The one journal writer: posts `entries` in one statement, each once per event key (per customer:
 * event keys name their customer's event, so a key is never posted for two customers). An entry
 * whose key is already in the ledger is skipped with its lines; the keys actually posted come back,
 * so a caller changes balances only for those. With `ids` the entry and line ids are made in
 * process (the batch settler's hot path) instead of by the database. Every line carries its
 * entry's customer, platform legs too (per-shard platform sub-accounts), and an entry about no one
 * customer belongs to the platform (PLATFORM_CUSTOMER_ID): an entry and its lines live on one shard.
 */
export async function postEntries(
  tx: TransactionSql,
  entries: readonly EntryInput[],
  ids?: IdGenerator,
): Promise<Set<string>> {
  if (entries.length === 0) return new Set();
  assertPostable(entries);
  const owner = (e: EntryInput) => (e.customerId ?? PLATFORM_CUSTOMER_ID).toString();
  const lines = entries.flatMap((e) =>
    e.posting.lines.map((line) => ({ key: e.eventKey, customerId: owner(e), line })),
  );
  const entryIds = ids ? entries.map(() => ids.next().toString()) : entries.map(() => null);
  const lineIds = ids ? lines.map(() => ids.next().toString()) : lines.map(() => null);
  const rows = await tx<{ event_key: string }[]>`
    with e as (
      insert into journal_entries (id, kind, business_date, customer_id, loan_id, event_key)
      select coalesce(x.id, fenqi_next_id()), x.kind, x.business_date, x.customer_id, x.loan_id, x.event_key
      from unnest(${entryIds}::bigint[], ${entries.map((e) => e.posting.kind)}::text[],
        ${entries.map((e) => e.businessDate)}::date[], ${entries.map(owner)}::bigint[],
        ${entries.map((e) => text(e.loanId))}::bigint[], ${entries.map((e) => e.eventKey)}::text[])
        as x(id, kind, business_date, customer_id, loan_id, event_key)
      on conflict (customer_id, event_key) do nothing
      returning id, customer_id, event_key
    ), l as (
      insert into journal_lines (id, entry_id, account_code, customer_id, loan_id, debit_minor, credit_minor)
      select coalesce(x.id, fenqi_next_id()), e.id, x.account_code, x.customer_id, x.loan_id, x.debit_minor,
        x.credit_minor
      from unnest(${lineIds}::bigint[], ${lines.map((l) => l.key)}::text[],
        ${lines.map((l) => l.line.account)}::text[], ${lines.map((l) => l.customerId)}::bigint[],
        ${lines.map((l) => text(l.line.loanId))}::bigint[],
        ${lines.map((l) => l.line.debitMinor.toString())}::bigint[],
        ${lines.map((l) => l.line.creditMinor.toString())}::bigint[])
        as x(id, event_key, account_code, customer_id, loan_id, debit_minor, credit_minor)
      join e on e.event_key = x.event_key and e.customer_id = x.customer_id
    )
    select event_key from e`;
  return new Set(rows.map((r) => r.event_key));
}

/** Balance of one account for one loan, debit-positive (the loan's customer's shard). */
export async function loanAccountBalance(
  tx: Queryable,
  customerId: bigint,
  loanId: bigint,
  account: string,
): Promise<bigint> {
  const [row] = await tx<{ balance: bigint }[]>`
    select coalesce(sum(debit_minor - credit_minor), 0)::bigint as balance
    from journal_lines where customer_id = ${customerId} and loan_id = ${loanId} and account_code = ${account}`;
  return row?.balance ?? 0n;
}

export interface LedgerCheck {
  ok: boolean;
  entries: number;
  lines: number;
  totalDebitsMinor: string;
  totalCreditsMinor: string;
  unbalancedEntries: { entryId: string; debitsMinor: string; creditsMinor: string; lines: number }[];
  unbalancedEntryCount: number;
  receivableLinesWithoutLoan: number;
  loansChecked: number;
  loanMismatches: {
    loanId: string;
    component: string;
    ledgerMinor: string;
    installmentsMinor: string;
  }[];
  loanMismatchCount: number;
  creditLinesChecked: number;
  creditLineMismatches: { customerId: string; usedMinor: string; outstandingPrincipalMinor: string }[];
  creditLineMismatchCount: number;
  accountBalances: { account: string; name: string; balanceMinor: string }[];
}

const asText = (n: bigint | undefined) => (n ?? 0n).toString();

/**
 * Totals, and the entries that do not balance or have fewer than two lines. The entry count is a
 * statement of its own: a distributed database (Citus) runs no subquery in a select list.
 */
async function entryChecks(sql: Queryable) {
  const [entryCount] = await sql<{ n: bigint }[]>`select count(*)::bigint as n from journal_entries`;
  const [lineTotals] = await sql<{ lines: bigint; debits: bigint; credits: bigint }[]>`
    select count(*)::bigint as lines,
           coalesce(sum(debit_minor), 0)::bigint as debits,
           coalesce(sum(credit_minor), 0)::bigint as credits
    from journal_lines`;
  const unbalanced = await sql<{ entry_id: bigint; debits: bigint; credits: bigint; lines: bigint }[]>`
    select e.id as entry_id, coalesce(sum(l.debit_minor), 0)::bigint as debits,
           coalesce(sum(l.credit_minor), 0)::bigint as credits, count(l.id)::bigint as lines
    from journal_entries e left join journal_lines l on l.customer_id = e.customer_id and l.entry_id = e.id
    group by e.id
    having coalesce(sum(l.debit_minor), 0) <> coalesce(sum(l.credit_minor), 0) or count(l.id) < 2
    order by e.id`;
  const [orphans] = await sql<{ n: bigint }[]>`
    select count(*)::bigint as n from journal_lines
    where account_code in ${sql(RECEIVABLE_ACCOUNTS as string[])} and loan_id is null`;
  const totals = lineTotals && { ...lineTotals, entries: entryCount?.n ?? 0n };
  return { totals, unbalanced, orphans: Number(orphans?.n ?? 0n) };
}

/** Each loan's receivable accounts against what its installments say is owed, per component. */
async function loanMismatches(sql: Queryable) {
  return sql<{ loan_id: bigint; component: string; ledger: bigint; installments: bigint }[]>`
    with sub as (
      select loan_id,
        sum(case when account_code = '1100' then debit_minor - credit_minor else 0 end) as principal,
        sum(case when account_code = '1110' then debit_minor - credit_minor else 0 end) as interest,
        sum(case when account_code = '1120' then debit_minor - credit_minor else 0 end) as fee,
        sum(case when account_code = '1130' then debit_minor - credit_minor else 0 end) as penalty
      from journal_lines
      where account_code in ('1100', '1110', '1120', '1130') and loan_id is not null
      group by loan_id
    ), owed as (
      select i.loan_id,
        sum(i.principal_minor - i.paid_principal_minor) as principal,
        sum(i.interest_minor - i.paid_interest_minor) as interest,
        sum(i.fee_minor - i.paid_fee_minor) as fee,
        sum(i.penalty_minor - i.paid_penalty_minor) as penalty
      from installments i join loans l on l.customer_id = i.customer_id and l.id = i.loan_id
      where l.status <> 'cancelled' and i.status <> 'written_off'
      group by i.loan_id
    ), joined as (
      select coalesce(sub.loan_id, owed.loan_id) as loan_id,
        coalesce(sub.principal, 0) as lp, coalesce(owed.principal, 0) as ip,
        coalesce(sub.interest, 0) as li, coalesce(owed.interest, 0) as ii,
        coalesce(sub.fee, 0) as lf, coalesce(owed.fee, 0) as if_,
        coalesce(sub.penalty, 0) as lpen, coalesce(owed.penalty, 0) as ipen
      from sub full join owed on owed.loan_id = sub.loan_id
    )
    select loan_id, c.component, c.ledger::bigint, c.installments::bigint
    from joined cross join lateral (values
      ('principal', lp, ip), ('interest', li, ii), ('fee', lf, if_), ('penalty', lpen, ipen)
    ) as c(component, ledger, installments)
    where c.ledger <> c.installments
    order by loan_id, c.component`;
}

/** Each credit line's used amount against the principal still owed on its open loans. */
async function creditLineMismatches(sql: Queryable) {
  return sql<{ customer_id: bigint; used: bigint; outstanding: bigint }[]>`
    with owed as (
      select l.customer_id, sum(i.principal_minor - i.paid_principal_minor) as outstanding
      from loans l join installments i on i.customer_id = l.customer_id and i.loan_id = l.id
      where l.status in ('pending_disbursement', 'active') and i.status <> 'written_off'
      group by l.customer_id
    )
    select c.customer_id, c.used_minor as used, coalesce(owed.outstanding, 0)::bigint as outstanding
    from credit_lines c left join owed on owed.customer_id = c.customer_id
    where c.used_minor <> coalesce(owed.outstanding, 0)
    union all
    select owed.customer_id, 0::bigint, owed.outstanding::bigint
    from owed left join credit_lines c on c.customer_id = owed.customer_id
    where c.customer_id is null
    order by 1`;
}

/** Every account's balance in its natural sign: assets and expenses debit-positive, the rest credit-positive. */
async function accountBalances(sql: Queryable): Promise<LedgerCheck['accountBalances']> {
  const balances = await sql<{ code: string; name: string; type: string; balance: bigint }[]>`
    select a.code, a.name, a.type, coalesce(sum(l.debit_minor - l.credit_minor), 0)::bigint as balance
    from ledger_accounts a left join journal_lines l on l.account_code = a.code
    group by a.code, a.name, a.type order by a.code`;
  return balances.map((b) => ({
    account: b.code,
    name: b.name,
    balanceMinor: (b.type === 'asset' || b.type === 'expense' ? b.balance : -b.balance).toString(),
  }));
}

/**
 * Proves the books: debits equal credits overall and per entry; each loan's receivable accounts
 * equal, component by component, what its installments say is owed (cancelled loans and
 * written-off installments owe nothing); each credit line's used amount equals the principal
 * still owed on its open loans.
 */
export async function checkLedger(sql: Queryable): Promise<LedgerCheck> {
  const { totals, unbalanced, orphans } = await entryChecks(sql);
  const loans = await loanMismatches(sql);
  const [loanCount] = await sql<{ n: bigint }[]>`select count(*)::bigint as n from loans`;
  const lines = await creditLineMismatches(sql);
  const [lineCount] = await sql<{ n: bigint }[]>`select count(*)::bigint as n from credit_lines`;
  const debits = totals?.debits ?? 0n;
  const credits = totals?.credits ?? 0n;
  const result: LedgerCheck = {
    ok: false,
    entries: Number(totals?.entries ?? 0n),
    lines: Number(totals?.lines ?? 0n),
    totalDebitsMinor: asText(debits),
    totalCreditsMinor: asText(credits),
    unbalancedEntries: unbalanced.slice(0, CHECK_REPORT_LIMIT).map((r) => ({
      entryId: r.entry_id.toString(),
      debitsMinor: r.debits.toString(),
      creditsMinor: r.credits.toString(),
      lines: Number(r.lines),
    })),
    unbalancedEntryCount: unbalanced.length,
    receivableLinesWithoutLoan: orphans,
    loansChecked: Number(loanCount?.n ?? 0n),
    loanMismatches: loans.slice(0, CHECK_REPORT_LIMIT).map((r) => ({
      loanId: r.loan_id.toString(),
      component: r.component,
      ledgerMinor: r.ledger.toString(),
      installmentsMinor: r.installments.toString(),
    })),
    loanMismatchCount: loans.length,
    creditLinesChecked: Number(lineCount?.n ?? 0n),
    creditLineMismatches: lines.slice(0, CHECK_REPORT_LIMIT).map((r) => ({
      customerId: r.customer_id.toString(),
      usedMinor: r.used.toString(),
      outstandingPrincipalMinor: r.outstanding.toString(),
    })),
    creditLineMismatchCount: lines.length,
    accountBalances: await accountBalances(sql),
  };
  result.ok =
    debits === credits &&
    result.unbalancedEntryCount === 0 &&
    result.receivableLinesWithoutLoan === 0 &&
    result.loanMismatchCount === 0 &&
    result.creditLineMismatchCount === 0;
  return result;
}

/**
 * Writes journal entries and proves the books. An entry is posted inside the caller's transaction
 * (so it commits or rolls back with the money movement it records) and once per event key: a
 * retried event finds its key taken and posts nothing.
 */
import type { Posting } from '../domain/postings.ts';
import { RECEIVABLE_ACCOUNTS } from '../domain/postings.ts';
import type { Queryable, TransactionSql } from './db.ts';

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

/**
 * Entries not about one customer (drills) belong to the platform, customer 0: every entry and its
 * lines live with one customer, on one shard (migration 0080).
 */
export const PLATFORM_CUSTOMER_ID = 0n;

/**
 * Posts one entry; false when its event key was already posted (nothing is written again). Every
 * line carries the entry's customer, platform legs too, so the entry is written on one shard.
 */
export async function postEntry(tx: TransactionSql, entry: EntryInput): Promise<boolean> {
  if (entry.eventKey.length === 0 || entry.eventKey.length > MAX_EVENT_KEY_LENGTH) {
    throw new Error(`event key must be 1..${MAX_EVENT_KEY_LENGTH} characters`);
  }
  const lines = entry.posting.lines;
  const text = (v: bigint | null) => (v === null ? null : v.toString());
  const customerId = (entry.customerId ?? PLATFORM_CUSTOMER_ID).toString();
  const rows = await tx`
    with e as (
      insert into journal_entries (kind, business_date, customer_id, loan_id, event_key)
      values (${entry.posting.kind}, ${entry.businessDate}, ${customerId}::bigint, ${entry.loanId}, ${entry.eventKey})
      on conflict (customer_id, event_key) do nothing
      returning id
    )
    insert into journal_lines (entry_id, account_code, customer_id, loan_id, debit_minor, credit_minor)
    select e.id, l.account_code, ${customerId}::bigint, l.loan_id::bigint, l.debit_minor::bigint, l.credit_minor::bigint
    from e cross join unnest(
      ${lines.map((l) => l.account)}::text[],
      ${lines.map((l) => text(l.loanId))}::text[],
      ${lines.map((l) => l.debitMinor.toString())}::text[],
      ${lines.map((l) => l.creditMinor.toString())}::text[]
    ) as l(account_code, loan_id, debit_minor, credit_minor)
    returning entry_id`;
  return rows.length > 0;
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

/**
 * Proves the books: debits equal credits overall and per entry; each loan's receivable accounts
 * equal, component by component, what its installments say is owed (cancelled loans and
 * written-off installments owe nothing); each credit line's used amount equals the principal
 * still owed on its open loans.
 */
export async function checkLedger(sql: Queryable): Promise<LedgerCheck> {
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
  const mismatches = await sql<
    { loan_id: bigint; component: string; ledger: bigint; installments: bigint }[]
  >`
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
  const [loanCount] = await sql<{ n: bigint }[]>`select count(*)::bigint as n from loans`;
  const lineMismatches = await sql<{ customer_id: bigint; used: bigint; outstanding: bigint }[]>`
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
  const [lineCount] = await sql<{ n: bigint }[]>`select count(*)::bigint as n from credit_lines`;
  const balances = await sql<{ code: string; name: string; type: string; balance: bigint }[]>`
    select a.code, a.name, a.type, coalesce(sum(l.debit_minor - l.credit_minor), 0)::bigint as balance
    from ledger_accounts a left join journal_lines l on l.account_code = a.code
    group by a.code, a.name, a.type order by a.code`;

  const totals = lineTotals && { ...lineTotals, entries: entryCount?.n ?? 0n };
  const debits = totals?.debits ?? 0n;
  const credits = totals?.credits ?? 0n;
  const result: LedgerCheck = {
    ok: false,
    entries: Number(totals?.entries ?? 0n),
    lines: Number(totals?.lines ?? 0n),
    totalDebitsMinor: debits.toString(),
    totalCreditsMinor: credits.toString(),
    unbalancedEntries: unbalanced.slice(0, CHECK_REPORT_LIMIT).map((r) => ({
      entryId: r.entry_id.toString(),
      debitsMinor: r.debits.toString(),
      creditsMinor: r.credits.toString(),
      lines: Number(r.lines),
    })),
    unbalancedEntryCount: unbalanced.length,
    receivableLinesWithoutLoan: Number(orphans?.n ?? 0n),
    loansChecked: Number(loanCount?.n ?? 0n),
    loanMismatches: mismatches.slice(0, CHECK_REPORT_LIMIT).map((r) => ({
      loanId: r.loan_id.toString(),
      component: r.component,
      ledgerMinor: r.ledger.toString(),
      installmentsMinor: r.installments.toString(),
    })),
    loanMismatchCount: mismatches.length,
    creditLinesChecked: Number(lineCount?.n ?? 0n),
    creditLineMismatches: lineMismatches.slice(0, CHECK_REPORT_LIMIT).map((r) => ({
      customerId: r.customer_id.toString(),
      usedMinor: r.used.toString(),
      outstandingPrincipalMinor: r.outstanding.toString(),
    })),
    creditLineMismatchCount: lineMismatches.length,
    // Natural sign: assets and expenses debit-positive, the rest credit-positive.
    accountBalances: balances.map((b) => ({
      account: b.code,
      name: b.name,
      balanceMinor: (b.type === 'asset' || b.type === 'expense' ? b.balance : -b.balance).toString(),
    })),
  };
  result.ok =
    debits === credits &&
    result.unbalancedEntryCount === 0 &&
    result.receivableLinesWithoutLoan === 0 &&
    result.loanMismatchCount === 0 &&
    result.creditLineMismatchCount === 0;
  return result;
}

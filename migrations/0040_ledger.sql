-- The double-entry ledger. Every money movement is one journal entry of two or more lines whose
-- debits equal its credits; a deferred constraint trigger refuses a commit that would leave any
-- entry unbalanced, so the books balance at every commit whatever code wrote them.

create table ledger_accounts (
  code text primary key,
  name text not null,
  type text not null check (type in ('asset', 'liability', 'equity', 'income', 'expense')),
  created_at timestamptz not null default now()
);

insert into ledger_accounts (code, name, type) values
  ('1000', 'Cash at bank (settlement account)', 'asset'),
  ('1100', 'Loans receivable: principal', 'asset'),
  ('1110', 'Loans receivable: interest', 'asset'),
  ('1120', 'Loans receivable: fees', 'asset'),
  ('1130', 'Loans receivable: penalties', 'asset'),
  ('1200', 'Disbursements in transit', 'asset'),
  ('2100', 'Payable to merchants', 'liability'),
  ('2200', 'Customer credit balances (overpayments)', 'liability'),
  ('3000', 'Equity', 'equity'),
  ('4100', 'Interest income', 'income'),
  ('4200', 'Fee income', 'income'),
  ('4300', 'Penalty income', 'income'),
  ('5100', 'Credit losses (write-offs)', 'expense');

create table journal_entries (
  id bigint primary key default fenqi_next_id(),
  kind text not null,          -- disbursement, merchant_settlement, repayment, accrual, late_fee, write_off...
  business_date date not null,
  customer_id bigint,
  loan_id bigint,
  -- a journal entry is written once per event, whoever retries it
  event_key text not null unique,
  created_at timestamptz not null default now()
);
create index journal_entries_customer_id_idx on journal_entries (customer_id);
create index journal_entries_loan_id_idx on journal_entries (loan_id);

create table journal_lines (
  id bigint primary key default fenqi_next_id(),
  entry_id bigint not null references journal_entries (id),
  account_code text not null references ledger_accounts (code),
  customer_id bigint,
  loan_id bigint,
  debit_minor bigint not null default 0,
  credit_minor bigint not null default 0,
  created_at timestamptz not null default now(),
  constraint journal_line_one_side check (
    debit_minor >= 0 and credit_minor >= 0 and (debit_minor = 0) <> (credit_minor = 0))
);
create index journal_lines_entry_id_idx on journal_lines (entry_id);
create index journal_lines_account_code_idx on journal_lines (account_code);
create index journal_lines_loan_id_idx on journal_lines (loan_id);
create index journal_lines_customer_id_idx on journal_lines (customer_id);

create or replace function journal_entry_balances() returns trigger
language plpgsql as $$
declare
  debits bigint;
  credits bigint;
  line_count integer;
begin
  select coalesce(sum(debit_minor), 0), coalesce(sum(credit_minor), 0), count(*)
    into debits, credits, line_count
    from journal_lines where entry_id = new.entry_id;
  if debits <> credits or line_count < 2 then
    raise exception 'journal entry % does not balance: debits % credits % in % lines',
      new.entry_id, debits, credits, line_count using errcode = '23514';
  end if;
  return null;
end;
$$;

create constraint trigger journal_lines_balance
  after insert or update or delete on journal_lines
  deferrable initially deferred
  for each row execute function journal_entry_balances();

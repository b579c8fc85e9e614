-- Interest is booked as a receivable when a loan is created (per installment, so the loan's
-- sub-ledger always equals what its installments say is owed) against unearned interest; the
-- close of business moves it to income as it is earned. See docs/ledger.md.
insert into ledger_accounts (code, name, type) values ('2300', 'Unearned interest', 'liability')
  on conflict (code) do nothing;

-- The balance check must also look at the old row: on DELETE there is no NEW.
create or replace function journal_entry_balances() returns trigger
language plpgsql as $$
declare
  target bigint := case when tg_op = 'DELETE' then old.entry_id else new.entry_id end;
  debits bigint;
  credits bigint;
  line_count integer;
begin
  select coalesce(sum(debit_minor), 0), coalesce(sum(credit_minor), 0), count(*)
    into debits, credits, line_count
    from journal_lines where entry_id = target;
  if debits <> credits or line_count < 2 then
    raise exception 'journal entry % does not balance: debits % credits % in % lines',
      target, debits, credits, line_count using errcode = '23514';
  end if;
  return null;
end;
$$;

-- An entry written with no lines at all would escape the per-line trigger.
create or replace function journal_entry_has_lines() returns trigger
language plpgsql as $$
begin
  if not exists (select 1 from journal_lines where entry_id = new.id) then
    raise exception 'journal entry % has no lines', new.id using errcode = '23514';
  end if;
  return null;
end;
$$;

create constraint trigger journal_entries_have_lines
  after insert on journal_entries
  deferrable initially deferred
  for each row execute function journal_entry_has_lines();

-- The books are append-only: a mistake is corrected by a reversing entry, never by an edit.
create or replace function ledger_append_only() returns trigger
language plpgsql as $$
begin
  raise exception 'the ledger is append-only: % on % refused; post a reversing entry', tg_op, tg_table_name
    using errcode = '42501';
end;
$$;

create trigger journal_entries_append_only before update or delete on journal_entries
  for each row execute function ledger_append_only();
create trigger journal_lines_append_only before update or delete on journal_lines
  for each row execute function ledger_append_only();

-- The balance check, per statement instead of per line. Every writer inserts an entry's lines in
-- one statement (src/store/ledger.ts, order-batch.ts, cob.ts), so the books can be checked once
-- per INSERT over its transition table: one set-based query instead of one query per line at
-- commit, which dominated batch settlement. It is also stricter: an entry must be written whole,
-- and a later statement cannot add lines to it (the ledger is append-only; correct by reversal).

drop trigger if exists journal_lines_balance on journal_lines;

create or replace function journal_lines_balance_per_statement() returns trigger
language plpgsql as $$
declare
  bad record;
begin
  select n.entry_id, n.debits, n.credits, n.lines, n.stored into bad
  from (
    select entry_id, sum(debit_minor) as debits, sum(credit_minor) as credits, count(*) as lines,
      (select count(*) from journal_lines j where j.entry_id = new_lines.entry_id) as stored
    from new_lines group by entry_id
  ) n
  where n.debits <> n.credits or n.lines < 2 or n.stored <> n.lines
  limit 1;
  if found then
    raise exception 'journal entry % does not balance or is not written whole: debits % credits % in % lines (% stored)',
      bad.entry_id, bad.debits, bad.credits, bad.lines, bad.stored using errcode = '23514';
  end if;
  return null;
end;
$$;

create trigger journal_lines_balance_per_statement
  after insert on journal_lines
  referencing new table as new_lines
  for each statement execute function journal_lines_balance_per_statement();
